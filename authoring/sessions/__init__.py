"""One module per session, named ``session<N>_<topic>.py``; each exposes ``ID`` and ``cells()``.

``SESSIONS`` maps every session id to its module, in course order (found by name, so adding a session
is adding a file).
"""

from __future__ import annotations

import importlib
import pkgutil
import re

_PATTERN = re.compile(r"session(\d+)_\w+$")


def _discover() -> dict:
    names = [m.name for m in pkgutil.iter_modules(__path__) if _PATTERN.match(m.name)]
    names.sort(key=lambda n: int(_PATTERN.match(n).group(1)))
    modules = [importlib.import_module(f"{__name__}.{n}") for n in names]
    return {module.ID: module for module in modules}


SESSIONS = _discover()
