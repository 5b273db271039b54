"""The assumptions a candidate pins after the clarifying questions, as one immutable, unit-aware object.

Every estimate in a session is a function of an :class:`Assumptions`, so the same code answers the sample
scenario and any other (which is how the hidden tests grade it).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .errors import CourseInputError
from .units import Quantity, as_quantity, fmt, q

__all__ = ["Assumptions", "require"]


class Assumptions(Mapping[str, Any]):
    """Named assumptions with units: ``Assumptions(daily_active_users="100 M user", peak_factor=3)``.

    Values may be quantities, numbers or text (``"50 msg/user/day"``); text is parsed with the course's
    units. Read them as attributes (``a.daily_active_users``) or keys. Instances are immutable: use
    :meth:`replace` for a what-if.
    """

    __slots__ = ("_values",)

    def __init__(self, **values: Any) -> None:
        __tracebackhide__ = True
        if not values:
            raise CourseInputError("Assumptions() needs at least one named assumption, e.g. daily_active_users='100 M user'")
        parsed: dict[str, Any] = {}
        for name, value in values.items():
            if value is Ellipsis:
                raise CourseInputError(f"assumption {name!r} is still `...`: replace it with a value and a unit")
            parsed[name] = as_quantity(value, name=f"assumption {name!r}")
        object.__setattr__(self, "_values", parsed)

    def __getattr__(self, name: str) -> Any:
        __tracebackhide__ = True
        values = object.__getattribute__(self, "_values")
        try:
            return values[name]
        except KeyError:
            known = ", ".join(values) or "none"
            raise AttributeError(f"no assumption named {name!r}; the assumptions are: {known}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Assumptions are immutable; use .replace(name=value) for a what-if")

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def replace(self, **changes: Any) -> "Assumptions":
        """A copy with some assumptions changed (unknown names are refused, to catch typos)."""
        __tracebackhide__ = True
        unknown = set(changes) - set(self._values)
        if unknown:
            raise CourseInputError(f"unknown assumption(s) {sorted(unknown)}; known: {', '.join(self._values)}")
        return Assumptions(**{**self._values, **changes})

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={fmt(v)!r}" for k, v in self._values.items())
        return f"Assumptions({inner})"

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td><code>{k}</code></td><td>{fmt(v)}</td></tr>" for k, v in self._values.items())
        return f"<table><tr><th>assumption</th><th>value</th></tr>{rows}</table>"


def require(assumptions: Any, fields: Mapping[str, str]) -> None:
    """Check that ``assumptions`` has each field with units compatible with ``fields[name]`` (e.g. ``"msg/user/day"``).

    Raises AssertionError naming every missing or mis-dimensioned field, so the student fixes them at once.
    """
    __tracebackhide__ = True
    if not isinstance(assumptions, Assumptions):
        raise AssertionError(f"expected `assumptions = Assumptions(...)`, got {type(assumptions).__name__}")
    problems = []
    for name, unit in fields.items():
        if name not in assumptions:
            problems.append(f"missing {name!r} (in {unit})")
            continue
        want = q(1, unit) if unit else Quantity(1.0, "")
        have = assumptions[name]
        if have.dimensionality != want.dimensionality:
            problems.append(f"{name!r} is {fmt(have)}, which cannot be expressed in {unit or 'a plain number'}")
    if problems:
        raise AssertionError("assumptions: " + "; ".join(problems))
