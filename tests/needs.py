"""Tests that need a piece of the system (a browser, root, a proxy): skip loudly here, fail under CI=true.

On a contributor's machine a missing piece skips the test with the reason and the fix (``-ra`` prints
it in the summary). In CI (``CI=true``) the same test fails instead, so a broken set-up can never pass
as "skipped".
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def on_ci() -> bool:
    """True when ``CI`` is set to a true value (GitHub Actions, GitLab and most runners set ``CI=true``)."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def missing(reason: str) -> NoReturn:
    """Skip the test with ``reason``, or fail it when running in CI."""
    __tracebackhide__ = True
    if on_ci():
        pytest.fail(f"CI=true but this test cannot run: {reason}", pytrace=False)
    pytest.skip(f"NOT RUN: {reason}")
