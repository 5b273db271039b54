"""Declarative grading cases: which answer, on which inputs or call sequence, compared how.

A session's spec (``authoring/sessions/<id>.py``) attaches to each test cell a *case source*: a
function of a random generator that returns the cell's :class:`Case` list. The grader draws the
generator from a secret and the submission (``course.grading.verify``), so hidden inputs are new for
every submission and never written anywhere the student's kernel can read. Expected values are not
part of a case: the grader computes them by running the same case on the reference solution, in its
own process.

Case kinds (what :mod:`course.grading.channel` evaluates in the kernel):

- ``value``: a variable's value (``assumptions``, a text answer such as ``architecture``);
- ``call``: a function called with plain inputs (``messages_per_second(<scenario>)``);
- ``script``: a sequence of calls on objects (``a = RangeAllocator(3)``, ``a.next_block()``...).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: ``compare(expected, got, case) -> None`` when right, else the sentence the student reads.
Comparator = Callable[[Any, Any, "Case"], "str | None"]
CaseSource = Callable[[random.Random], "list[Case]"]


@dataclass(frozen=True)
class Case:
    """One thing the grader asks the kernel, and how it judges the answer."""

    kind: str                                  # "value" | "call" | "script"
    name: str = ""                             # the variable or function
    args: tuple = ()                           # plain inputs (see course.grading.channel.decode)
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    steps: tuple = ()                          # script steps: {"let", "call", "args", "kwargs", "keep"}
    label: str = ""                            # what the feedback calls it
    group: str = ""                            # the partial-credit unit (default: name)
    compare: Comparator | None = None          # default: exact comparison with the reference
    hidden: bool = False                       # inputs the student never saw
    scenario: Mapping[str, str] | None = None  # the assumptions behind a figure (for the diagnosis)
    reference: bool = True                     # False: judged on its own (a text answer), no reference run
    #: The same case on another visible scenario (a practice round's), for cases on the sample scenario.
    retarget: Callable[[Mapping[str, str]], "Case"] | None = None

    def request(self) -> dict:
        """The JSON-able dict the channel evaluates."""
        out: dict[str, Any] = {"kind": self.kind, "name": self.name}
        if self.args:
            out["args"] = list(self.args)
        if self.kwargs:
            out["kwargs"] = dict(self.kwargs)
        if self.steps:
            out["steps"] = [dict(step) for step in self.steps]
        return out

    @property
    def unit(self) -> str:
        return self.group or self.name or self.label


def scenario_input(values: Mapping[str, str]) -> dict:
    """The channel input that builds ``Assumptions(**values)`` in the kernel (values as text with units)."""
    return {"$assumptions": {name: {"$text_q": str(value)} for name, value in values.items()}}


def step(call: str, *args: Any, let: str | None = None, keep: bool = True, **kwargs: Any) -> dict:
    """One step of a script case: ``let = call(*args, **kwargs)``; its result is compared when ``keep``."""
    out: dict[str, Any] = {"call": call, "args": list(args), "keep": keep}
    if kwargs:
        out["kwargs"] = kwargs
    if let:
        out["let"] = let
    return out


def ref(name: str) -> dict:
    """A script argument that is the object an earlier step stored with ``let=name``."""
    return {"$ref": name}


def as_tuple(*items: Any) -> dict:
    return {"$tuple": list(items)}


def as_bytes(data: bytes) -> dict:
    return {"$bytes": data.hex()}


def as_frame(rows: Sequence[Sequence[Any]], columns: Sequence[str]) -> dict:
    return {"$df": {"columns": list(columns), "data": [list(r) for r in rows]}}


# Fresh scenarios are made on the student's side too (practice rounds): one implementation.
from ..scenarios import fresh_scenario  # noqa: E402  (re-exported)


def draw(sources: Sequence[CaseSource], rng: random.Random, *,
         practice: Mapping[str, str] | None = None) -> list[Case]:
    """Every case of a test cell, drawn from its sources with ``rng``; with ``practice`` (a practice round's
    scenario), the cases on the sample scenario are asked on that one instead."""
    cases: list[Case] = []
    for source in sources:
        cases.extend(source(rng))
    if practice:
        cases = [case.retarget(practice) if case.retarget else case for case in cases]
    return cases
