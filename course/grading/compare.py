"""Comparators: judge a plain result from the kernel against the reference's, in the grader's process.

Each comparator is ``compare(expected, got, case) -> None | str``: ``None`` when the answer is right,
otherwise the sentence the student reads (what was expected, what was got, the likely mistake). Values
are the plain data of :mod:`course.grading.channel`; nothing here ever sees a student's object.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
from collections.abc import Callable, Mapping
from typing import Any

from .cases import Case

MAX_TEXT_ANSWER = 50_000


def _kind(value: Any) -> str:
    if isinstance(value, dict) and len(value) == 1:
        return next(iter(value))
    return type(value).__name__


def show(value: Any, limit: int = 120) -> str:
    """A plain result as the student would write it (``(1, 'a')``, ``57,870 msg/s``)."""
    text = _python(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _python(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_python(v) for v in value) + "]"
    if isinstance(value, dict) and len(value) == 1:
        (tag, body), = value.items()
        if tag == "$tuple":
            inner = ", ".join(_python(v) for v in body)
            return f"({inner},)" if len(body) == 1 else f"({inner})"
        if tag == "$dict":
            return "{" + ", ".join(f"{_python(k)}: {_python(v)}" for k, v in body) + "}"
        if tag == "$set":
            return "{" + ", ".join(_python(v) for v in body) + "}" if body else "set()"
        if tag == "$range":
            return f"range({body[0]}, {body[1]})" if body[2] == 1 else f"range({body[0]}, {body[1]}, {body[2]})"
        if tag == "$q":
            return _quantity_text(body)
        if tag == "$raises":
            return f"an error ({body[0]}: {body[1]})" if body[1] else f"an error ({body[0]})"
        if tag == "$missing":
            return f"nothing: `{body}` is not defined (run the answer cell above)"
        if tag == "$other":
            return f"a {body}"
        if tag == "$toolarge":
            return "a value too large to send back"
        if tag == "$bytes":
            return f"bytes.fromhex({body!r})"
        if tag == "$float":
            return f"float({body!r})"
        if tag in ("$df", "$series", "$array", "$assumptions"):
            return f"a {tag[1:]}"
    return repr(value)


def _quantity_text(body: Any) -> str:
    from ..units import Quantity, fmt

    try:
        return fmt(Quantity(float(body[0]), str(body[1])))
    except Exception:  # noqa: BLE001 - a malformed quantity from the kernel
        return "a malformed quantity"


def _problem(got: Any) -> str | None:
    """The sentence for a result that is a failure in itself (an error, a missing name), else None."""
    kind = _kind(got)
    if kind == "$raises":
        name, message = got["$raises"][0], got["$raises"][1]
        if name == "NotImplementedError":
            return "still the `raise NotImplementedError()` stub: write your answer in the cell above"
        return f"raised {name}" + (f": {message}" if message else "")
    if kind == "$missing":
        return f"`{got['$missing']}` is not defined: run the answer cell above (is it still the stub?)"
    if kind == "$toolarge":
        return "the result is too large to check"
    return None


# -- numbers with units ------------------------------------------------------------------------------

def quantity(rel: float = 0.02) -> Callable[[Any, Any, Case], str | None]:
    """Within ``rel`` of the reference, in any compatible unit, with the course's mistake diagnosis."""

    def compare(expected: Any, got: Any, case: Case) -> str | None:
        from ..checks import CheckFailed, check

        problem = _problem(got)
        if problem:
            return f"{case.label}: {problem}"
        want = _to_quantity(expected)
        if want is None:
            return f"{case.label}: the reference gave no number (a course bug: tell the instructor)"
        have = _to_quantity(got)
        if have is None:
            return f"{case.label}: expected a number with units such as {show(expected)}, got {show(got)}"
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                check(case.label, have, want, rel=rel, scenario=case.scenario, quiet=True)
        except CheckFailed as exc:
            return str(exc)
        except Exception as exc:  # noqa: BLE001 - units that pint cannot compare
            return f"{case.label}: expected {show(expected)}, got {show(got)} ({type(exc).__name__})"
        return None

    return compare


def ceiling(exact: Callable[[Mapping[str, str]], float], unit: str, rel: float = 0.02
            ) -> Callable[[Any, Any, Case], str | None]:
    """A whole count that rounds a ratio up (servers, shards), judged like :func:`quantity`, except that when
    the scenario's exact ratio (``exact(scenario)``, computed here in the grader) is a whole number n, both n
    and n + 1 pass: ``ceil`` of n computed in floating point gives either, depending on the order of the
    operations, and both are honest answers."""
    within = quantity(rel)

    def compare(expected: Any, got: Any, case: Case) -> str | None:
        message = within(expected, got, case)
        if message is None or not case.scenario:
            return message
        try:
            needed = float(exact(case.scenario))
        except Exception:  # noqa: BLE001 - not this scenario's shape: judged as usual
            return message
        have = _to_quantity(got)
        try:
            count = float(have.to(unit).magnitude) if have is not None else None
        except Exception:  # noqa: BLE001 - not a count of `unit`
            count = None
        whole = round(needed)
        on_edge = abs(needed - whole) <= 1e-9 * max(1.0, abs(needed))
        if count is not None and on_edge and any(abs(count - n) <= 1e-9 * max(1.0, n) for n in (whole, whole + 1)):
            return None
        return message

    return compare


def _to_quantity(value: Any):
    from ..units import Quantity

    if type(value) in (int, float) and type(value) is not bool:
        return Quantity(float(value), "")
    if _kind(value) == "$q":
        body = value["$q"]
        if not (isinstance(body, list) and len(body) == 2 and type(body[0]) in (int, float)
                and isinstance(body[1], str) and len(body[1]) < 200):
            return None
        try:
            result = Quantity(float(body[0]), body[1])
        except Exception:  # noqa: BLE001 - units the registry does not know
            return None
        return result if math.isfinite(result.magnitude) else None
    return None


# -- exact and approximate structures ----------------------------------------------------------------

def same(expected: Any, got: Any, *, rel: float = 0.0, abs_tol: float = 0.0) -> bool:
    """Deep equality of plain data with exact types (``True`` is not ``1``, ``7.0`` is not ``7``).

    Floats compare within ``rel``/``abs_tol``; an expected error matches any error of the same type
    that says something (its message may differ).
    """
    if type(expected) is not type(got):
        return False
    if isinstance(expected, float):
        return expected == got or math.isclose(expected, got, rel_tol=rel, abs_tol=abs_tol)
    if isinstance(expected, list):
        return len(expected) == len(got) and all(same(a, b, rel=rel, abs_tol=abs_tol) for a, b in zip(expected, got))
    if isinstance(expected, dict):
        if _kind(expected) == "$raises" and _kind(got) == "$raises":
            return (isinstance(got["$raises"], list) and len(got["$raises"]) == 2
                    and got["$raises"][0] == expected["$raises"][0] and bool(str(got["$raises"][1]).strip()))
        if expected.keys() != got.keys():
            return False
        return all(same(expected[k], got[k], rel=rel, abs_tol=abs_tol) for k in expected)
    return expected == got


def exact(hint: str | None = None) -> Callable[[Any, Any, Case], str | None]:
    """Equal to the reference, types included; an error of the same type where the reference raises."""
    return approx(0.0, 0.0, hint=hint)


def approx(rel: float = 1e-6, abs_tol: float = 1e-12, *, hint: str | None = None
           ) -> Callable[[Any, Any, Case], str | None]:
    """Like :func:`exact`, with floats (anywhere in the structure) within ``rel`` or ``abs_tol``."""

    def compare(expected: Any, got: Any, case: Case) -> str | None:
        if same(expected, got, rel=rel, abs_tol=abs_tol):
            return None
        if _kind(expected) != "$raises":
            problem = _problem(got)
            if problem and _kind(got) != "$raises":
                return f"{case.label}: {problem}"
        message = _difference(expected, got, case)
        return message + (f"\nHint: {hint}" if hint else "")

    return compare


def _difference(expected: Any, got: Any, case: Case) -> str:
    if case.kind == "script" and isinstance(expected, list) and isinstance(got, list):
        for index, (want, have) in enumerate(zip(expected, got)):
            if not same(want, have, rel=1e-9, abs_tol=1e-12):
                call = _step_text(case, index)
                return f"{case.label}: {call}: expected {show(want)}, got {show(have)}"
        if len(expected) != len(got):
            extra = got[len(expected)] if len(got) > len(expected) else None
            if extra is not None and _kind(extra) == "$raises":
                return f"{case.label}: setting up failed: {show(extra)}"
            return f"{case.label}: expected {len(expected)} results, got {len(got)}"
    if _kind(expected) == "$raises":
        return f"{case.label}: expected an error ({expected['$raises'][0]} with a message), got {show(got)}"
    if type(expected) is not type(got) and not (_kind(expected) == _kind(got)):
        return f"{case.label}: expected {_type_word(expected)} like {show(expected)}, got {show(got)}"
    if type(expected) is int and type(got) is float or type(expected) is float and type(got) is int:
        return f"{case.label}: expected {_type_word(expected)} {show(expected)}, got {show(got)}"
    return f"{case.label}: expected {show(expected)}, got {show(got)}"


def _type_word(value: Any) -> str:
    kind = _kind(value)
    words = {"int": "a whole number (int)", "float": "a number", "str": "a string", "list": "a list",
             "bool": "True or False", "$tuple": "a tuple", "$dict": "a dict", "$q": "a quantity with units",
             "$range": "a range", "NoneType": "None"}
    return words.get(kind, f"a {kind.lstrip('$')}")


def _step_text(case: Case, index: int) -> str:
    kept = [s for s in case.steps if s.get("keep", True)]
    if index >= len(kept):
        return f"step {index + 1}"
    step = kept[index]
    args = ", ".join(show(a, 40) if not (isinstance(a, dict) and "$ref" in a) else a["$ref"] for a in step.get("args", []))
    return f"step {index + 1}, {step['call']}({args})"


# -- text answers --------------------------------------------------------------------------------------

def text_check(checker: Callable[..., Any], **kwargs: Any) -> Callable[[Any, Any, Case], str | None]:
    """A text answer (diagram, DDL, API listing) judged by one of the course's checkers, here in the grader.

    ``checker(text, **kwargs)`` raises with the student's message when the text falls short.
    """

    def compare(expected: Any, got: Any, case: Case) -> str | None:
        problem = _problem(got)
        if problem:
            return f"{case.label}: {problem}"
        if type(got) is not str:
            return f"{case.label}: expected text in a string, got {show(got)}"
        if len(got) > MAX_TEXT_ANSWER:
            return f"{case.label}: the text is {len(got):,} characters; keep it under {MAX_TEXT_ANSWER:,}"
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                checker(got, **kwargs)
        except (AssertionError, ValueError) as exc:
            return str(exc).strip() or f"{case.label}: does not pass ({type(exc).__name__})"
        except RecursionError:
            return f"{case.label}: the text is nested too deeply to check"
        except Exception as exc:  # noqa: BLE001 - a checker must never crash the grading of a cell
            return f"{case.label}: could not be checked ({type(exc).__name__}: {str(exc)[:200]})"
        return None

    return compare


# -- the assumptions ------------------------------------------------------------------------------------

def assumptions(expected_values: Mapping[str, str], units: Mapping[str, str], rel: float = 0.02
                ) -> Callable[[Any, Any, Case], str | None]:
    """An ``Assumptions`` with every field of ``expected_values`` (text with units), each within ``rel``."""

    def compare(expected: Any, got: Any, case: Case) -> str | None:
        from ..units import q

        problem = _problem(got)
        if problem:
            return f"{case.label}: {problem}"
        if _kind(got) != "$assumptions" or not isinstance(got["$assumptions"], dict):
            return f"{case.label}: expected `assumptions = Assumptions(...)`, got {show(got)}"
        fields = got["$assumptions"]
        problems = []
        for name, text in expected_values.items():
            if name not in fields:
                problems.append(f"missing {name!r} (in {units.get(name) or 'a plain number'})")
                continue
            have = _to_quantity(fields[name])
            want = q(text)
            if have is None:
                problems.append(f"{name!r} is not a number with units")
            elif have.dimensionality != want.dimensionality:
                problems.append(f"{name!r} cannot be expressed in {units.get(name) or 'a plain number'}")
            elif not math.isclose(float(have.to(want.units).magnitude), float(want.magnitude), rel_tol=rel):
                problems.append(f"{name!r} is not what the interviewer said (ask again)")
        return f"{case.label}: " + "; ".join(problems) if problems else None

    return compare


def encoded_size(value: Any) -> int:
    """Bytes of a plain value as JSON (what the grader accepts is bounded)."""
    return len(json.dumps(value, separators=(",", ":")))
