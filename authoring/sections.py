"""The parts every session shares, in the fixed order: problem and timeline → requirements → estimation
→ high-level design → detailed design → deep dive → wrap-up. A session spec calls these with its own data."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from course.api import assert_api
from course.architecture import assert_architecture
from course.schema import assert_schema

from course.timeline import minutes_of

from .cases import CaseSource, assumptions_case, choice_case, curveball_cases, estimate_cases, text_cases

from .cells import BEGIN, END, Cell, answer, code, md, tests, written


@dataclass(frozen=True)
class Estimate:
    """One estimation function: its name, docstring, solution body and expected values per scenario."""

    name: str
    doc: str
    body: str
    expected: Mapping[str, str]  # scenario label -> "57870.37 msg/s"


@dataclass(frozen=True)
class Curveball:
    """The interviewer's change of one requirement, after the high-level design.

    ``changes`` maps assumptions to their new values (text quantities, as the interviewer says them);
    ``shown`` are the estimates re-run before and after; ``figure`` is the one graded on the changed
    assumptions (``judge``: its comparator, default ±2 %), in a check section titled ``label`` (name its
    skill: "storage after the curveball"). ``options``/``correct``/``why`` ask what breaks first; ``plan``
    is the model answer of what to change (graded by a person).
    """

    prompt: str
    changes: Mapping[str, str]
    shown: Sequence[str]
    figure: str
    label: str
    options: Mapping[str, str]
    correct: str
    why: str
    plan: str
    judge: object | None = None


def header(session_id: str, title: str, level: str, problem: str, how_long: str = "45 minutes") -> list[Cell]:
    """Title, the problem as the interviewer states it, how the notebook works, set-up and the clock."""
    return [
        md(f"# {title}\n\n*Mock interview · {level} · {how_long}*"),
        md(f"## The problem\n\n> {problem}", locked=True, cell_id="problem"),
        md(
            """
            ### How this notebook works
            Run the cells from top to bottom. Each **answer cell** (marked `YOUR CODE HERE` or
            `YOUR ANSWER HERE`) is followed by a **check cell**: it gives instant feedback on the sample
            scenario. Passing it means *public checks passed*; at grading, hidden checks run your code on
            other scenarios, so compute from the assumptions rather than typing numbers in. Written answers
            are graded by a person.

            Work as you would at the whiteboard: say your assumptions, label your units, and keep an eye on
            the clock below.
            """
        ),
        code(
            f"""
            from course.units import u, q, fmt
            from course.assumptions import Assumptions
            from course.checks import expect_equal, public_checks_passed
            from course.architecture import architecture_editor, assert_architecture, show_architecture
            from course.schema import assert_schema
            from course.api import assert_api
            from course import cards, evidence
            from course.content import load_session

            SESSION = load_session({session_id!r})
            check, check_assumptions = SESSION.check, SESSION.check_assumptions  # figures from the session's data
            evidence.start(SESSION)  # what you do here feeds the wrap-up's suggested level (never the grade)
            """,
            cell_id="setup",
            locked=True,
        ),
        md("### The clock\nPress play to start the 45-minute interview clock. It runs in real time; **fast** runs one "
           "minute per second, to walk the phases. The phase tells you what the interviewer expects now."),
        code("from course.timeline import timeline\ntimeline()"),
    ]


def requirements(fields: Mapping[str, tuple[str, str]], sample: Mapping[str, str], points: float = 2) -> list[Cell]:
    """Ask the interviewer, then pin the assumptions in code (graded against the sample clarifications)."""
    sample_solution = f"{BEGIN}\nassumptions = Assumptions(\n" + "".join(
        f"    {name}={value!r},\n" for name, value in sample.items()
    ) + f")\n{END}"
    table = ["| name | unit | meaning |", "|---|---|---|"]
    table += [f"| `{name}` | {unit or 'plain number'} | {what} |" for name, (unit, what) in fields.items()]
    visible = ["check_assumptions(assumptions)", 'public_checks_passed("the assumptions")']
    grading = assumptions_case(sample, {name: unit for name, (unit, _) in fields.items()})
    return [
        md(
            f"""
            ## 1 · Requirements (minutes {minutes_of('Requirements')})
            Never design before you know the scale and the scope. Ask the interviewer below: type a
            question and press **Ask**. Only the questions you ask get answered, as in a real interview.
            """
        ),
        code("from course.interviewer import interviewer\ninterviewer(SESSION.clarifications)"),
        md(
            "### Pin the assumptions\n"
            "Write down what the interviewer told you as an `Assumptions` object, with units. Every estimate "
            "below is a function of it, so a what-if later is one changed line.\n\n" + "\n".join(table)
        ),
        answer("assumptions", sample_solution,
               stub="assumptions = Assumptions(\n" + "".join(f"    {name}=...,  # {unit or 'plain number'}\n"
                                                        for name, (unit, _) in fields.items()) + ")"),
        tests("test_assumptions", points, "\n".join(visible), [grading],
              data={"assumptions": dict(sample), "units": {name: unit for name, (unit, _) in fields.items()}}),
    ]


def _estimate_defs(items: Sequence[Estimate]) -> list[str]:
    """``def name(a: Assumptions):`` with the docstring and the solution region, one per estimate."""
    return [
        f"def {item.name}(a: Assumptions):\n"
        f'    """{item.doc}"""\n'
        f"    {BEGIN}\n"
        + "\n".join(f"    {line}" for line in item.body.strip().splitlines())
        + f"\n    {END}"
        for item in items
    ]


def estimates(grade_id: str, title: str, intro: str, items: Sequence[Estimate],
              hidden: Mapping[str, Mapping[str, str]], points: float, *, sample: Mapping[str, str],
              whole_numbers: Mapping[str, str] | None = None, keep: Sequence[str] = (),
              judges: Mapping[str, object] | None = None) -> list[Cell]:
    """Estimation functions of the assumptions: visible checks on the sample in the notebook; at grading,
    every function on the sample and on a fresh scenario shaped like each of ``hidden``'s.

    Functions named in ``whole_numbers`` return a plain int (a code length, a count of shards), checked
    exactly; ``whole_numbers[name]`` is the hint a wrong answer shows. ``keep`` names assumptions the
    fresh scenarios do not change; ``judges`` gives a function its own comparator (``course.grading.compare``).
    """
    whole = dict(whole_numbers or {})
    unknown = set(whole) - {item.name for item in items}
    if unknown:
        raise ValueError(f"whole_numbers names no estimate of this group: {sorted(unknown)}")

    visible = "\n".join(f"check({item.name!r}, {item.name}(assumptions))" for item in items)
    grading = estimate_cases([item.name for item in items], sample, hidden, whole_numbers=whole, keep=keep,
                             judges=judges)
    return [
        md(f"### {title}\n{textwrap.dedent(intro).strip()}"),
        answer(grade_id, "\n\n\n".join(_estimate_defs(items))),
        tests(f"test_{grade_id}", points, visible + f"\npublic_checks_passed({title.lower()!r})", [grading],
              data={"expected": {item.name: item.expected["sample"] for item in items},
                    "whole_numbers": {name: whole[name] for name in whole}}),
    ]


def multiple_choice(grade_id: str, prompt: str, options: Mapping[str, str], correct: str, why: str,
                    points: float = 1) -> list[Cell]:
    """A 'spot the error' question: the visible check validates the form, the hidden one the choice."""
    listing = "\n".join(f"- **{key}**: {text}" for key, text in options.items())
    keys = sorted(options)
    return [
        md(f"{textwrap.dedent(prompt).strip()}\n\n{listing}\n\nSet `{grade_id}` to the letter of your choice."),
        answer(grade_id, f'{BEGIN}\n{grade_id} = {correct!r}\n{END}',
               stub=f'{grade_id} = ""  # {", ".join(repr(k) for k in keys)}'),
        tests(
            f"test_{grade_id}",
            points,
            f"""
            assert {grade_id} in {keys!r}, f"choose one of {keys}, got {{{grade_id}!r}}"
            print("Answer recorded: " + {grade_id} + ". The explanation is in the feedback after grading.")
            """,
            [choice_case(grade_id, why)],
        ),
    ]


def deep_dive(questions: Sequence[tuple[str, str, str]], points: float = 2) -> list[Cell]:
    """Follow-up questions: a written answer each (graded by a person), model key points after answering."""
    cells = [
        md(
            f"""
            ## 5 · Deep dive (minutes {minutes_of('Deep dive')})
            The interviewer now pushes on the hard parts. Answer each question in the string below it:
            a few sentences or bullet points, as you would say them aloud. Then run the next cell: once
            you have written something, it reveals the key points a strong answer covers, so you can
            compare. A person grades these answers.
            """
        )
    ]
    for grade_id, question, model in questions:
        cells += [
            md(f"**{question}**"),
            written(grade_id, points, model),
            code(f"SESSION.key_points({grade_id!r}, {grade_id})"),
        ]
    return cells


def wrap_up() -> list[Cell]:
    """Self-assessment against the rubric, beside a level suggested from what the student did."""
    return [
        md(
            f"""
            ## 6 · Wrap-up (minutes {minutes_of('Wrap-up')})
            Rate yourself honestly on the four dimensions interviewers use (25 % each). Beside your rating,
            the notebook suggests a level from what you did here: the topics you found without the list,
            the checks you passed first time, the key points your deep-dive answers covered and the time
            each phase took, with its reasons. Neither is a grade.
            """
        ),
        code("from course.rubric import rubric_widget\nrubric_widget(SESSION)"),
    ]


def _call(function: str, first: str, kwargs: Mapping[str, object]) -> str:
    """``function(first, key=value, ...)`` with one argument per line when it is long."""
    args = [first] + [f"{key}={value!r}" for key, value in kwargs.items()]
    one_line = f"{function}({', '.join(args)})"
    if len(one_line) <= 100:
        return one_line
    return f"{function}(\n" + "".join(f"    {a},\n" for a in args) + ")"


def text_answer(var: str, solution: str, stub: str) -> Cell:
    """An answer written as text in a string (a diagram, DDL, an API listing)."""
    return answer(var, f'{var} = """\n{BEGIN}\n{textwrap.dedent(solution).strip()}\n{END}\n"""', stub=stub)


def estimation_intro() -> list[Cell]:
    return [
        md(
            f"""
            ## 2 · Back-of-the-envelope estimation (minutes {minutes_of('Estimation')})
            Estimate from the assumptions, with units: pint keeps you honest (`fmt()` prints a value the
            way you would say it). Use 86,400 s per day: the 10⁵ s shortcut makes every rate 13.6 % low, and fails the checks.
            """
        )
    ]


def reference_card(card: str, intro: str = "The figures worth knowing by heart, computed rather than copied.") -> list[Cell]:
    return [md(f"### Reference card\n{intro}"), code(f"cards.{card}()")]


def curveball(spec: Curveball, *, sample: Mapping[str, str], scenarios: Mapping[str, Mapping[str, str]],
              points: float = 2) -> list[Cell]:
    """The curveball, right after the high-level design: the candidate makes the interviewer's change in code, re-runs their own estimates on
    it, says what breaks first (autograded) and what to change (written). Graded: ``figure(after_curveball(a))``
    on the sample and on fresh scenarios shaped like ``scenarios``, against the reference."""
    change = ", ".join(f"{name}=q({value!r})" for name, value in spec.changes.items())
    solution = (
        "def after_curveball(a: Assumptions) -> Assumptions:\n"
        '    """The assumptions once the interviewer\'s change is made: a copy, with `a.replace(name=new value)`."""\n'
        f"    {BEGIN}\n    return a.replace({change})\n    {END}"
    )
    shown = ", ".join(spec.shown)
    visible = (f"from course.curveball import curveball\n"
               f"curveball(SESSION, assumptions, after_curveball, [{shown}])\n"
               f"public_checks_passed({spec.label!r})")
    grading = curveball_cases("after_curveball", spec.figure, spec.changes, sample, scenarios,
                              spec.judge or quantity_judge())
    return [
        md(f"""
            ### The curveball
            Before you go deeper, the interviewer changes the brief:

            > {textwrap.dedent(spec.prompt).strip()}

            Do not start over. Write `after_curveball(a)`: your assumptions with that change made. The check
            re-runs your own estimates on both, and shows which figure moves and by how much.
            """),
        answer("after_curveball", solution),
        tests("test_curveball", points, visible, [grading],
              data={"curveball": {"prompt": textwrap.dedent(spec.prompt).strip(), "changes": dict(spec.changes)}}),
        *multiple_choice("breaks_first", "**What breaks first?** With the change, which part of your design "
                         "gives way before the others?", spec.options, spec.correct, spec.why),
        md("**What would you change in the design, and why?** A few sentences or bullet points, as you would "
           "say them aloud; then run the next cell to compare with the key points."),
        written("curveball_plan", 2, spec.plan),
        code("SESSION.key_points('curveball_plan', curveball_plan)"),
    ]


#: The cells every session's curveball has: the build checks each session for them.
CURVEBALL_CELLS = ("after_curveball", "test_curveball", "breaks_first", "curveball_plan")


def quantity_judge() -> object:
    """±2 % on a quantity, with the course's diagnosis (the default judge of a curveball figure)."""
    from course.grading.compare import quantity

    return quantity(0.02)


def high_level_design(*, title: str, looks_for: Sequence[str], solution: str, visible: Mapping[str, object],
                      hidden: Mapping[str, object], points: float = 3,
                      sketch: str = "Mobile App [client] -> Load Balancer [lb x2]") -> list[Cell]:
    """Section 3: the architecture as text, drawn, with structural checks (stricter ones hidden). The
    :func:`curveball` follows it in every session (the build refuses a session without one)."""
    bullets = "\n".join(f"- {item}" for item in looks_for)
    return [
        md(
            f"## 3 · High-level design (minutes {minutes_of('High-level design')})\n"
            "Draw the system as text, one connection per line: `A [kind xN] -> B`, with `<->` for two-way "
            "links and `xN` for N replicas. Sketch in the editor (it redraws as you type), then write the "
            "final version in the answer cell: that text is what is graded.\n\n"
            f"What the checks look for:\n{bullets}"
        ),
        code(f"architecture_editor({sketch!r})"),
        text_answer("architecture", solution,
                    "# YOUR ANSWER HERE: one connection per line, e.g.  Mobile App [client] -> Load Balancer [lb x2]"),
        code(f"show_architecture(architecture, title={title!r})"),
        tests(
            "test_architecture", points,
            _call("assert_architecture", "architecture", visible) + '\npublic_checks_passed("the architecture")',
            [text_cases("architecture", [(assert_architecture, visible), (assert_architecture, hidden)])],
        ),
    ]


def detailed_design_intro() -> list[Cell]:
    return [md(f"## 4 · Detailed design (minutes {minutes_of('Detailed design')})\nNow the parts an interviewer drills into: the data, the API and the algorithms that make the design work.")]


def schema_design(*, heading: str, intro: str, solution: str, visible: Mapping[str, object],
                  hidden: Sequence[Mapping[str, object]], points: float = 3) -> list[Cell]:
    """The schema as MySQL-flavoured DDL, run in SQLite; query plans checked for index use."""
    grading = text_cases("schema_sql", [(assert_schema, visible), *((assert_schema, kwargs) for kwargs in hidden)])
    return [
        md(f"### {heading}\n{textwrap.dedent(intro).strip()}"),
        text_answer("schema_sql", solution, "-- YOUR ANSWER HERE: CREATE TABLE ... (...);"),
        tests("test_schema", points, _call("assert_schema", "schema_sql", visible) + '\npublic_checks_passed("the schema")',
              [grading]),
    ]


def api_design(*, intro: str, solution: str, visible: Mapping[str, object], hidden: Mapping[str, object],
               points: float = 2, example: str = "GET /v1/items/{id}  query: cursor, limit") -> list[Cell]:
    """The API, one endpoint per line, checked for the required operations and pagination."""
    return [
        md("### The API\nOne endpoint per line: `METHOD /path  query: a, b  body: c, d` (`WS` for a WebSocket).\n"
           + textwrap.dedent(intro).strip()),
        text_answer("api_spec", solution, f"# YOUR ANSWER HERE: one endpoint per line, e.g.  {example}"),
        tests("test_api", points, _call("assert_api", "api_spec", visible) + '\npublic_checks_passed("the API")',
              [text_cases("api_spec", [(assert_api, visible), (assert_api, hidden)])]),
    ]


def algorithm(grade_id: str, *, heading: str, intro: str, solution: str, visible: str,
              cases: Sequence[CaseSource], points: float = 3) -> list[Cell]:
    """The key algorithm: code with solution regions; visible examples in the notebook, and at grading the
    session's ``cases`` (fixed examples and random inputs or call sequences), judged against the reference."""
    return [
        md(f"### {heading}\n{textwrap.dedent(intro).strip()}"),
        answer(grade_id, solution),
        tests(f"test_{grade_id}", points, visible, cases),
    ]


def what_if(question: str, functions: Sequence[str], sliders: Mapping[str, tuple[float, float]]) -> list[Cell]:
    """The what-if explorer over the student's own estimation functions."""
    names = ", ".join(functions)
    slider_lines = "".join(f"\n        {k!r}: {v!r}," for k, v in sliders.items())
    return [
        md(f"### What if?\nMove the sliders: every figure is recomputed by *your* functions. {question}"),
        code(
            "from course.whatif import explore\n"
            f"explore(\n    assumptions,\n    {{f.__name__: f for f in ({names},)}},\n"
            f"    sliders={{{slider_lines}\n    }},\n)"
        ),
    ]


def with_checks(cells: Sequence[Cell], *, visible: str = "", cases: Sequence[CaseSource] = ()) -> list[Cell]:
    """A section's cells with more checks in its (last) test cell, for what the shared section has no option for.

    ``visible`` runs before the cell's ``public_checks_passed(...)`` line; ``cases`` join the cell's grading
    cases. Example: ``*with_checks(schema_design(...), cases=[text_cases("schema_sql", [(no_counter, {})])])``.
    """
    out = list(cells)
    index = max((i for i, c in enumerate(out) if c.metadata.get("nbgrader", {}).get("grade")
                 and not c.metadata["nbgrader"].get("solution")), default=None)
    if index is None:
        raise ValueError("with_checks: the section has no test cell")
    shown = out[index].source
    if visible:
        lines = shown.split("\n")
        at = max((i for i, text in enumerate(lines) if text.startswith("public_checks_passed(")), default=len(lines))
        shown = "\n".join([*lines[:at], textwrap.dedent(visible).strip("\n"), *lines[at:]])
    out[index] = replace(out[index], source=shown, cases=(*out[index].cases, *cases))
    return out
