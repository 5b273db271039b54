"""The checkers hidden tests use: private copies that notebook code holds no reference to.

    from course.grading.verified import check as _check, expect_equal as _expect_equal

Any checker of ``course.checks``, ``course.assumptions``, ``course.architecture``, ``course.schema`` or
``course.api`` can be imported from here. Each one is the same code loaded a second time from its file
(:func:`course.grading.guard.private_modules`, made before the student's code ran when grading is
supervised) with its own copy of the builtins, so patching ``course.checks``, ``builtins`` or
``sys.modules`` changes nothing, even from inside the student's function while a check is calling it.

They differ from the public checkers in two ways the feedback needs: a failure says it was a hidden
check (``hidden check: messages_per_second (scenario 'small'): expected ...``), and a pass prints
nothing (a ✓ line would show hidden data to the student).
"""

from __future__ import annotations

import re
import types
from typing import Any

from ..checks import CheckFailed
from . import guard


def _without_inputs(message: str) -> str:
    """The message minus the hidden scenario's own values: "a forgotten peak factor (×2)" loses "(×2)"."""
    lines = message.split("\n")
    return "\n".join(_INPUTS.sub("", line) if line.startswith("Likely mistake:") else line for line in lines)


_INPUTS = re.compile(r" \(×[^)]*\)| \([\d.,]+ days\)")


def _hidden(function: Any) -> Any:
    def hidden_check(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        try:
            return function(*args, **kwargs)
        except AssertionError as exc:  # CheckFailed, and require()'s AssertionError
            raise CheckFailed(f"hidden check: {_without_inputs(str(exc))}") from None

    hidden_check.__name__ = hidden_check.__qualname__ = getattr(function, "__name__", "check")
    hidden_check.__doc__ = getattr(function, "__doc__", None)
    return hidden_check


def __getattr__(name: str) -> Any:
    """``verified.<name>``: the private copy of a course checker, wrapped as a hidden check."""
    if name.startswith("__"):
        raise AttributeError(name)
    for module_name, module in guard.private_modules().items():
        value = vars(module).get(name)
        if value is None:
            continue
        if name in getattr(module, "__all__", ()) or (
                not name.startswith("_") and getattr(value, "__module__", None) == module_name):
            # Made anew on every import: there is no cache for notebook code to fill with fakes.
            return _hidden(value) if isinstance(value, types.FunctionType) else value
    raise AttributeError(f"course.grading.verified has no checker named {name!r}")
