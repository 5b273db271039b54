"""Adversarial fake students: every kind of attack on the grading measured in the course notes, and more.

Each adversary hands in the release with every answer filled in from the reference solution, except the
session's first estimation group, which is WRONG (ten times the right figure, computed from the
assumptions: the honest mistake of student ``wrong``). Then it adds code that tries to earn the points
of those wrong answers anyway: patched builtins and course modules, IPython hooks and transformers, a
swallowed or replaced probe, forged results, rigged objects, answers typed in or looked up from the
public repository's scenarios, stack inspection, a leak of the grader's inputs, huge or deeply nested
results. ``SESSION`` and :func:`student` keep Session 1's names for the tests that use one session.

Attacks on the machine and the files (fork bombs, disk, symlinks, shadowing packages) are in
``tests/test_limits.py``, ``tests/test_hygiene.py`` and ``tests/test_sandbox.py``.
"""

from __future__ import annotations

import copy
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

import nbformat

from course import submissions

SESSION = "session1_chat"


def first_group(spec, source) -> tuple[str, list[str]]:
    """The answer cell of the session's first estimation group and its function names."""
    names = list(spec.EXPECTED)
    gid = _group_of(source, names[0])
    return gid, [n for n in names if _group_of(source, n) == gid]


def _group_of(source, function_name: str) -> str:
    for cell in source.cells:
        if f"def {function_name}(" in cell.source and submissions.grade_id(cell):
            return submissions.grade_id(cell)
    raise KeyError(function_name)


def _solution(source, gid: str) -> str:
    cell = next(c for c in source.cells if submissions.grade_id(c) == gid)
    return submissions.strip_markers(cell.source)


def wrong_group(spec, source) -> str:
    """The reference answers of the first group, each returning ten times its right value."""
    gid, names = first_group(spec, source)
    text = _solution(source, gid)
    for name in names:
        text = text.replace(f"def {name}(", f"def _right_{name}(")
    text += "\n\n" + "\n\n".join(f"def {n}(a):\n    return _right_{n}(a) * 10" for n in names)
    return text


def hardcoded_group(spec, source) -> str:
    """The sample's figures typed in: right on the sample, wrong anywhere else."""
    _, names = first_group(spec, source)
    return "\n\n".join(f"def {n}(a):\n    return q({spec.EXPECTED[n]['sample']!r})" for n in names)


def lookup_group(spec, source) -> str:
    """A lookup table of the public repository's hidden scenarios: their expected figures when the inputs
    match one of them, the sample's otherwise."""
    gid, names = first_group(spec, source)
    key = next(iter(spec.SAMPLE))
    table = {label: spec.HIDDEN[label][key] for label in spec.HIDDEN}
    lines = ["_SCENARIOS = " + repr(table)]
    for n in names:
        lines.append(f"def {n}(a):\n"
                     f"    for label, value in _SCENARIOS.items():\n"
                     f"        if abs((a.{key} - q(value)).magnitude) < 1e-9 * abs(q(value).magnitude) + 1e-12:\n"
                     f"            return q({ {label: spec.EXPECTED[n][label] for label in spec.HIDDEN}!r}[label])\n"
                     f"    return q({spec.EXPECTED[n]['sample']!r})")
    return "\n\n".join(lines)


def rigged_group(spec, source) -> str:
    """Objects that claim to equal anything and to be pint quantities, or numpy floats."""
    _, names = first_group(spec, source)
    body = '''
class Rigged(float):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    __hash__ = float.__hash__
    @property
    def __class__(self): return type(q("1 s"))
    def to(self, *args): return self
    magnitude = property(lambda self: self)
    units = property(lambda self: q("1 s").units)


FakeFloat = type("float64", (), {"__module__": "numpy", "item": lambda self: Rigged(1), "tolist": lambda self: 1,
                                 "__eq__": lambda self, other: True, "ndim": 0})
'''
    body += "\n".join(f"def {n}(a):\n    return Rigged(1) if {i} % 2 else FakeFloat()" for i, n in enumerate(names))
    return body


def leaky_group(spec, source) -> str:
    """Wrong answers that print every input they get other than the sample's (so only the grader's new
    scenarios) and walk the stack above them."""
    gid, names = first_group(spec, source)
    key = next(iter(spec.SAMPLE))
    text = wrong_group(spec, source)
    return text + f'''


import sys as _sys
def _leak(a):
    if abs((a.{key} - q({spec.SAMPLE[key]!r})).magnitude) > 1e-9 * abs(q({spec.SAMPLE[key]!r}).magnitude):
        print("LEAK:", repr(a))
        frame = getattr(_sys, "_getframe")(1)
        while frame is not None:
            print("LEAK-FRAME:", sorted(frame.f_locals)[:20])
            frame = frame.f_back
''' + "\n".join(f"_real_{n} = {n}\ndef {n}(a, _f=_real_{n}):\n    _leak(a)\n    return _f(a)" for n in names)


@dataclass(frozen=True)
class Adversary:
    """A cheating student: the wrong answer it hands in, and the code it adds right after the set-up."""

    answer: Callable[..., str] = wrong_group
    code: str = ""


#: Code added after the set-up cell: it runs before every answer and every check.
ADVERSARIES: dict[str, Adversary] = {
    "hardcoded": Adversary(hardcoded_group),
    "lookup_table": Adversary(lookup_group),
    "rigged_objects": Adversary(rigged_group),
    "leak_and_frames": Adversary(leaky_group),
    # Patch builtins and the course's checkers and units: the visible checks pass in the student's kernel.
    "patch_everything": Adversary(code='''
        import builtins, course.checks, course.assumptions, course.architecture
        builtins.abs = lambda x: 0.0
        builtins.round = lambda x, *digits: 0
        course.checks.check = course.checks.expect_equal = lambda *args, **kwargs: None
        course.checks.TOLERANCE = 1e9
        course.assumptions.require = lambda *args, **kwargs: None
        course.architecture.assert_architecture = lambda *args, **kwargs: None
        check = expect_equal = assert_architecture = assert_schema = assert_api = lambda *args, **kwargs: None
    '''),
    # Blank every later cell that mentions a check or the grader's probe.
    "input_transformer": Adversary(code='''
        def _blank(lines):
            return [] if any("check" in line or "probe" in line for line in lines) else lines
        get_ipython().input_transformers_cleanup.append(_blank)
    '''),
    # Forge the grader's result: after every cell, publish the channel's message with the sample's figures.
    "forged_results": Adversary(code='''
        import json, re
        from IPython.display import publish_display_data
        def _forge(result):
            source = getattr(result.info, "raw_cell", "") or ""
            if "__sdl_probe" not in source:
                return
            request = json.loads(eval(source.rsplit(", ", 1)[1].split(")\\n", 1)[0]))
            fake = [{"$q": [57870.37, "message / second"]} if case.get("kind") == "call" else "B"
                    for case in request.get("cases", [])]
            publish_display_data({"application/vnd.sysdesign-lab.probe+json": {"results": fake}})
        get_ipython().events.register("post_run_cell", _forge)
    '''),
    # Swallow what the grader's probe publishes.
    "swallow_display": Adversary(code='''
        import IPython.display
        IPython.display.publish_display_data = lambda *args, **kwargs: None
    '''),
    # Run every cell that mentions the probe as `pass`.
    "run_cell_replaced": Adversary(code='''
        ip = get_ipython()
        _real = ip.run_cell_async
        async def _run(raw_cell, *args, **kwargs):
            if "probe" in raw_cell or "check" in raw_cell:
                raw_cell = "pass"
            return await _real(raw_cell, *args, **kwargs)
        ip.run_cell_async = _run
        ip.should_run_async = lambda *args, **kwargs: True
    '''),
    # Swallow every error, and give every cell a result that nbgrader would read as full marks.
    "custom_exc_and_results": Adversary(code='''
        ip = get_ipython()
        ip.set_custom_exc((BaseException,), lambda *args, **kwargs: None)
        ip.events.register("pre_run_cell", lambda info: ip.displayhook("full marks please"))
    '''),
    # Swap the modules the channel builds inputs with for fakes.
    "sys_modules_swap": Adversary(code='''
        import sys, types
        for _name in ("course.units", "course.assumptions", "course.checks"):
            _fake = types.ModuleType(_name)
            _fake.__getattr__ = lambda name: (lambda *args, **kwargs: None)
            sys.modules[_name] = _fake
    '''),
    # A thread that keeps re-patching, and a tracer on every frame.
    "thread_and_trace": Adversary(code='''
        import sys, threading, time, course.checks
        def _keep_patching():
            while True:
                course.checks.check = lambda *args, **kwargs: None
                time.sleep(0.01)
        threading.Thread(target=_keep_patching, daemon=True).start()
        sys.settrace(lambda frame, event, arg: None)
    '''),
    # A huge result and a deeply nested one, to exhaust the grader.
    "huge_results": Adversary(answer=lambda spec, source: wrong_group(spec, source) + '''


def _huge(a):
    return list(range(3_000_000))
''' + "\n".join(f"{n} = _huge" if i == 0 else f"def {n}(a):\n    x = []\n    for _ in range(100_000):\n        x = [x]\n    return x"
                for i, n in enumerate(first_group(spec, source)[1]))),
}

GENERIC = list(ADVERSARIES)


def _code_cell(source: str, cell_id: str):
    cell = nbformat.v4.new_code_cell(textwrap.dedent(source).strip("\n"))
    cell["id"] = cell_id
    return cell


def submission(spec, release, source, name: str):
    """The notebook of fake student ``name`` (``perfect``, ``wrong``, ``untouched`` or an adversary)."""
    if name == "untouched":
        return copy.deepcopy(release)
    nb = submissions.fill(release, source)
    if name == "perfect":
        return nb
    adversary = ADVERSARIES.get(name, Adversary())
    gid, _ = first_group(spec, source)
    nb = submissions.replace_answer(nb, gid, textwrap.dedent(adversary.answer(spec, source)).strip("\n"))
    if adversary.code:
        nb = copy.deepcopy(nb)
        setup = next(i for i, c in enumerate(nb.cells) if c.get("id") == "setup")
        nb.cells.insert(setup + 1, _code_cell(adversary.code, "tamper"))
    return nb


def student(release, source, name: str):
    """Session 1's fake student ``name``."""
    from authoring.sessions import SESSIONS

    return submission(SESSIONS[SESSION], release, source, name)
