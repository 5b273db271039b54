"""Units for back-of-the-envelope estimates: one pint registry, parsing with clear errors, humane formatting.

Conventions (the course's, stated once): decimal prefixes unless a binary unit is named
(1 KB = 1 kB = 1,000 B; 1 KiB = 1,024 B), lower-case ``b``/``bit`` for bits and ``B``/``byte`` for bytes,
1 day = 86,400 s. Countable things (users, messages, requests, ...) are units of their own, so that
"messages per second" and "bytes per second" cannot be mixed up silently.
"""

from __future__ import annotations

import math
import re
from numbers import Real
from pathlib import Path
from typing import Any

import pint

from .errors import CourseInputError

__all__ = ["ureg", "u", "Quantity", "q", "as_quantity", "fmt", "COUNT_UNITS"]



def _registry() -> pint.UnitRegistry:
    """pint's default units, except that a bit is information, not a pure number, and ``b`` is a bit.

    pint ships ``bit = []`` (dimensionless), which would let "15 TB" equal "120 trillion"; here bits and
    bytes carry the ``[information]`` dimension, so a rate in bytes can never pass for a count. ``b``
    (and so ``kb``, ``Mb``, ``Gb``, ``Tb``; ``bps``, ``Mbps``, ``Gbit/s``) are bits, as engineers write
    them, not barns and gilberts.
    """
    folder = Path(pint.__file__).parent
    text = (folder / "default_en.txt").read_text(encoding="utf-8")
    constants = (folder / "constants_en.txt").read_text(encoding="utf-8")
    text = text.replace("@import constants_en.txt", constants)
    if "\nbit = []\n" not in text:  # pragma: no cover - guards a pint upgrade
        raise RuntimeError("pint's definition of 'bit' changed; review course/units.py")
    text = text.replace("\nbit = []\n", "\nbit = [information] = b\n")
    # Engineers write b, kb, Mb, Gb, Tb for bits; pint reads b as a barn and Gb as a gilbert.
    for line in ("barn = 1e-28 * meter ** 2 = b", "gilbert = 1 / (4 * π) * biot_turn = Gb"):
        if line not in text:  # pragma: no cover - guards a pint upgrade
            raise RuntimeError(f"pint's definition {line!r} changed; review course/units.py")
        text = text.replace(line, line.rsplit(" = ", 1)[0])
    registry = pint.UnitRegistry(None, on_redefinition="raise", cache_folder=None)
    registry.load_definitions(text.splitlines())
    return registry


ureg = _registry()
u = ureg
Quantity = ureg.Quantity

#: Countable things, each its own dimension: (name, symbol, aliases). pint adds the plurals itself.
COUNT_UNITS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("user", "user", ()),
    ("message", "msg", ()),
    ("request", "req", ("query",)),
    ("url", "url", ()),
    ("connection", "conn", ()),
    ("server", "server", ("machine",)),
    ("title", "title", ("video",)),
    ("stream", "stream", ("viewer",)),
    ("session", "sess", ()),
    ("click", "click", ("redirect",)),
    ("rating", "rating", ()),
)

for _name, _symbol, _aliases in COUNT_UNITS:
    _alias = "".join(f" = {a}" for a in _aliases)
    ureg.define(f"{_name} = [{_name}] = {_symbol if _symbol != _name else '_'}{_alias}")

# Capital-K kilobytes are what interview books write; they mean 1,000 bytes here.
ureg.define("KB = kilobyte")
ureg.define("Kbit = kilobit = Kb")
ureg.define("Kbps = kilobit / second")
ureg.define("QPS = request / second = qps")

_COUNT_WORDS = {"K": 1e3, "k": 1e3, "M": 1e6, "bn": 1e9, "B": 1e9, "tn": 1e12, "T": 1e12}
_SCALED = re.compile(r"^\s*([-+]?[\d_.,]*\d(?:[eE][-+]?\d+)?)\s*(K|k|M|bn|B|tn|T)\s+(?=[A-Za-z/])")


def q(value: Any, unit: str | None = None) -> Quantity:
    """Make a quantity: ``q("100 M user")``, ``q("500 GB/day")``, ``q(57870, "msg/s")``.

    Counts may carry K, M, bn (or B) and tn before a unit (``"5 bn msg/day"``); digits may use ``_``
    or ``,``. Anything that is not a quantity raises one clear :class:`CourseInputError`.
    """
    __tracebackhide__ = True
    if unit is not None:
        if isinstance(value, bool) or not isinstance(value, Real):
            raise CourseInputError(f"expected a number to go with {unit!r}, got {value!r}")
        return Quantity(float(value), _parse_unit(unit))
    if isinstance(value, Quantity):
        return value
    if isinstance(value, bool):
        raise CourseInputError(f"expected a quantity, got {value!r}")
    if isinstance(value, Real):
        return Quantity(float(value), "")
    if not isinstance(value, str):
        raise CourseInputError(f"expected a quantity such as '100 M user', got {type(value).__name__} {value!r}")
    text = value.strip()
    if not text:
        raise CourseInputError("expected a quantity such as '100 M user', got an empty string")
    scale = 1.0
    m = _SCALED.match(text)
    if m:
        number, word = m.group(1), m.group(2)
        scale = _COUNT_WORDS[word]
        text = f"{number} {text[m.end():]}"
    text = re.sub(r"(?<=\d)[_,](?=\d)", "", text)
    try:
        parsed = ureg.parse_expression(text)
    except Exception as exc:  # pint raises several unrelated types for bad text
        raise CourseInputError(
            f"could not read {value!r} as a quantity ({_short(exc)}); write a number and a unit, "
            "such as '100 M user', '500 GB/day' or '10 KB/conn'"
        ) from None
    if not isinstance(parsed, Quantity):
        parsed = Quantity(float(parsed), "")
    if not math.isfinite(float(parsed.magnitude)):
        raise CourseInputError(f"{value!r} is not a finite quantity")
    return parsed * scale


def as_quantity(value: Any, *, name: str = "value") -> Quantity:
    """Coerce a student's answer (quantity, number or text) to a quantity, naming it in any error."""
    __tracebackhide__ = True
    try:
        return q(value)
    except CourseInputError as exc:
        raise CourseInputError(f"{name}: {exc}") from None


def _parse_unit(unit: str) -> pint.Unit:
    try:
        return ureg.parse_units(unit)
    except Exception as exc:
        raise CourseInputError(f"unknown unit {unit!r} ({_short(exc)})") from None


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:120]


# ---------------------------------------------------------------------------------------------------
# Humane formatting: "57.9 K msg/s", "15 TB", "8.3 Tbps".

_DECIMAL = ((1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K"), (1.0, ""))
_COUNTS = ((1e12, "tn"), (1e9, "bn"), (1e6, "M"), (1e3, "K"), (1.0, ""))
_TIMES = {"second": "s", "minute": "min", "hour": "h", "day": "day", "week": "week", "year": "year"}

_INFO = ureg.byte.dimensionality
_TIME = ureg.second.dimensionality


def _scaled(value: float, table: tuple[tuple[float, str], ...]) -> tuple[float, str]:
    size = abs(value)
    for factor, prefix in table:
        if size >= factor * 0.9995:
            return value / factor, prefix
    return value, ""


def _num(x: float, digits: int) -> str:
    if x == 0:
        return "0"
    if abs(x) >= 10 ** digits or (float(x).is_integer() and abs(x) < 1e6):
        return f"{x:,.0f}"
    text = f"{x:.{digits}g}"
    return text if "e" not in text else f"{x:.{digits}g}"


def _per_time(qty: Quantity) -> str | None:
    """The time unit a rate was written per ('day' for GB/day), or None when it is not a rate."""
    for name, power in qty.unit_items():
        if power == -1 and ureg(name).dimensionality == _TIME:
            base = ureg.get_name(name)
            for unit in _TIMES:
                if ureg(base).to(unit).magnitude == 1:
                    return unit
            return "second"
    return None


def _uses_bits(qty: Quantity) -> bool:
    return any(("bit" in name or "baud" in name or name.endswith("bps")) for name, _ in qty.unit_items())


_DURATIONS = ("second", "minute", "hour", "day", "week", "month", "year")


def _duration(qty: Quantity, digits: int) -> str:
    """A duration in the unit it was written in, spelled out: ``30 days``, ``5 years``, ``1,825 days``."""
    items = list(qty.unit_items())
    name = ureg.get_name(items[0][0]) if len(items) == 1 and items[0][1] == 1 else "second"
    if name not in _DURATIONS:
        name = "second"
    number = float(qty.to(name).magnitude)
    shown = _num(number, digits) if abs(number) < 1e6 else f"{number:,.0f}"
    return f"{shown} {name}" + ("" if abs(number) == 1 else "s")


def fmt(value: Any, digits: int = 3) -> str:
    """Format a quantity the way an interviewer writes it on the whiteboard.

    Bytes use decimal prefixes (``15 TB``, ``500 GB/day``), bit rates become bps (``8.33 Tbps``), counts
    use K/M/bn/tn (``57.9 K msg/s``, ``5 bn msg/day``); a rate keeps the time unit it was written per;
    a duration is spelled out in its own unit (``30 days``, ``5 years``).
    A quantity of any other shape falls back to pint's compact form.
    """
    qty = as_quantity(value)
    dims = qty.dimensionality
    per = _per_time(qty)
    if qty.dimensionless:
        number, word = _scaled(float(qty.to("").magnitude), _COUNTS)
        return f"{_num(number, digits)} {word}".strip()
    if dims == _INFO:
        unit, label = ("bit", "bit") if _uses_bits(qty) else ("B", "B")
        number, prefix = _scaled(float(qty.to(unit).magnitude), _DECIMAL)
        return f"{_num(number, digits)} {prefix}{label}"
    if dims == _INFO / _TIME:
        if _uses_bits(qty):
            number, prefix = _scaled(float(qty.to("bit/s").magnitude), _DECIMAL)
            return f"{_num(number, digits)} {prefix}bps"
        per = per or "second"
        number, prefix = _scaled(float(qty.to(f"B/{per}").magnitude), _DECIMAL)
        return f"{_num(number, digits)} {prefix}B/{_TIMES[per]}"
    if dims == _TIME:
        return _duration(qty, digits)
    for name, symbol, _ in COUNT_UNITS:
        base = ureg(name)
        if dims == base.dimensionality:
            number, word = _scaled(float(qty.to(name).magnitude), _COUNTS)
            return " ".join(p for p in (_num(number, digits), word, symbol) if p)
        if dims == (base / ureg.second).dimensionality:
            per = per or "second"
            number, word = _scaled(float(qty.to(f"{name}/{per}").magnitude), _COUNTS)
            return " ".join(p for p in (_num(number, digits), word, f"{symbol}/{_TIMES[per]}") if p)
    return f"{float(qty.magnitude):.{digits}g} {qty.units:~P}"
