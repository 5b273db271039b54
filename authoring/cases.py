"""Case sources the shared sections attach to their test cells (see ``course.grading.cases``).

Each function returns a *case source*: a function of a random generator giving the test cell's cases.
The grader calls it with a generator drawn from its secret and the submission, so every hidden scenario
is new for every submission; expected values come from the reference solution, in the grader.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from course.grading.cases import Case, CaseSource, Comparator, fresh_scenario, scenario_input
from course.grading.compare import assumptions, exact, quantity, text_check


def assumptions_case(sample: Mapping[str, str], units: Mapping[str, str]) -> CaseSource:
    """The pinned assumptions match what the interviewer said."""
    case = Case("value", "assumptions", label="assumptions", compare=assumptions(sample, units), reference=False)
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
                cases.append(Case("call", name, args=(scenario_input(values),), label=f"{name} on {where}",
                                  group=name, compare=compare, hidden=hidden, scenario=values))
        return cases

    return source


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
