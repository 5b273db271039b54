"""Case sources the shared sections attach to their test cells (see ``course.grading.cases``).

Each function returns a *case source*: a function of a random generator giving the test cell's cases.
The grader calls it with a generator drawn from its secret and the submission, so every hidden scenario
is new for every submission; expected values come from the reference solution, in the grader.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from course.grading.cases import Case, CaseSource, Comparator, fresh_scenario, ref, scenario_input, step
from course.grading.compare import assumptions, exact, quantity, text_check


def assumptions_case(sample: Mapping[str, str], units: Mapping[str, str]) -> CaseSource:
    """The pinned assumptions match what the interviewer said."""
    def on(scenario: Mapping[str, str]) -> Case:
        return Case("value", "assumptions", label="assumptions", compare=assumptions(scenario, units),
                    reference=False, retarget=on)

    case = on(sample)
    return lambda rng: [case]


def estimate_cases(names: Sequence[str], sample: Mapping[str, str], templates: Mapping[str, Mapping[str, str]],
                   *, whole_numbers: Mapping[str, str] | None = None, rel: float = 0.02,
                   keep: Sequence[str] = (), judges: Mapping[str, Comparator] | None = None) -> CaseSource:
    """Each estimate function on the sample scenario and on one fresh scenario per template.

    Functions named in ``whole_numbers`` must return a plain ``int`` equal to the reference's (the value
    is the hint a wrong answer shows); the others a quantity within ``rel``. Assumptions named in ``keep``
    keep their template's value in the fresh scenarios (a constant of the problem, not a figure);
    ``judges`` gives a function its own comparator (e.g. ``compare.ceiling`` for a count rounded up).
    """
    whole = dict(whole_numbers or {})

    def source(rng: random.Random) -> list[Case]:
        scenarios = [("the sample scenario", dict(sample), False)]
        scenarios += [(f"a new scenario ({index + 1})", fresh_scenario(template, rng, keep=keep), True)
                      for index, template in enumerate(templates.values())]
        cases = []
        for name in names:
            compare = (judges or {}).get(name) or (exact(whole[name]) if name in whole else quantity(rel))
            for where, values, hidden in scenarios:
                cases.append(_call_case(name, values, where, compare, hidden, retarget=not hidden))
        return cases

    return source


def _call_case(name: str, values: Mapping[str, str], where: str, compare: Comparator, hidden: bool, *,
               retarget: bool) -> Case:
    """``name(Assumptions(**values))``; a visible one can be asked on a practice round's scenario instead."""
    again = (lambda s: _call_case(name, s, "this practice round's scenario", compare, False, retarget=True)) \
        if retarget else None
    return Case("call", name, args=(scenario_input(values),), label=f"{name} on {where}", group=name,
                compare=compare, hidden=hidden, scenario=values, retarget=again)


def choice_case(variable: str, why: str) -> CaseSource:
    """A multiple-choice letter, equal to the reference's."""
    case = Case("value", variable, label=variable, compare=exact(f"{why}"))
    return lambda rng: [case]


def text_cases(variable: str, checks: Sequence[tuple[Callable[..., Any], Mapping[str, Any]]], *,
               label: str | None = None) -> CaseSource:
    """A text answer judged by the course's checkers in the grader: ``[(assert_schema, {...}), ...]``.

    All of them form one answer: the points come only when every check passes.
    """
    cases = [Case("value", variable, label=label or variable, group=variable,
                  compare=text_check(checker, **kwargs), reference=False, hidden=index > 0)
             for index, (checker, kwargs) in enumerate(checks)]
    return lambda rng: list(cases)


def fixed(*cases: Case) -> CaseSource:
    """Cases that are the same for every submission (the visible examples)."""
    return lambda rng: list(cases)


def curveball_cases(after: str, figure: str, changes: Mapping[str, str], sample: Mapping[str, str],
                    templates: Mapping[str, Mapping[str, str]], compare: Comparator, *,
                    keep: Sequence[str] = ()) -> CaseSource:
    """``figure(after(a))`` on the sample scenario and on one fresh scenario per template: the student's
    change of the assumptions and their own estimate, composed, against the reference's.

    ``changes`` are absolute new values (text quantities): the scenario each case is judged on is the
    changed one (for a comparator that recomputes from it, such as ``compare.ceiling``).
    """
    def case(values: Mapping[str, str], where: str, hidden: bool) -> Case:
        changed = {**values, **changes}
        again = None if hidden else (lambda s: case(s, "this practice round's scenario", False))
        return Case("script", label=f"{figure}({after}(a)) on {where}", group=f"{figure} after the curveball",
                    steps=(step(after, scenario_input(values), let="changed", keep=False), step(figure, ref("changed"))),
                    compare=_single(compare), hidden=hidden, scenario=changed, retarget=again)

    def source(rng: random.Random) -> list[Case]:
        cases = [case(sample, "the sample scenario", False)]
        cases += [case(fresh_scenario(template, rng, keep=keep), f"a new scenario ({index + 1})", True)
                  for index, template in enumerate(templates.values())]
        return cases

    return source


def _single(compare: Comparator) -> Comparator:
    """A comparator of one value, for a script whose one result (or the error that stopped it) is the answer."""
    def one(value: Any) -> Any:
        return value[0] if isinstance(value, list) and len(value) == 1 else value

    return lambda expected, got, case: compare(one(expected), one(got), case)
