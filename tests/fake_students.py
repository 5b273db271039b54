"""Adversarial fake students for Session 1: every kind of tampering measured in the course notes, and more.

Each student hands in the release with every answer filled in from the reference solution, except the
traffic estimates, which are WRONG (ten times too high, computed from the assumptions: an honest
mistake, student ``wrong``). The others add code that tries to get marks for those wrong answers anyway.
``ADVERSARIES[name]`` gives the cell the student adds (right after the set-up, so it runs before every
check), the rule the static scan must report, and the test cells it attacks.
"""

from __future__ import annotations

import copy
import textwrap
from dataclasses import dataclass

import nbformat

from course import submissions

SESSION = "session1_chat"
TRAFFIC = ["messages_per_second", "peak_messages_per_second", "read_qps", "peak_read_qps"]

WRONG_TRAFFIC = '''
def messages_per_second(a):
    return (a.daily_active_users * a.messages_per_user_per_day).to("msg/s") * 10


def peak_messages_per_second(a):
    return messages_per_second(a) * a.peak_factor


def read_qps(a):
    return messages_per_second(a) * a.read_write_ratio


def peak_read_qps(a):
    return read_qps(a) * a.peak_factor
'''

HARDCODED_TRAFFIC = '''
def messages_per_second(a):
    return q("57870.37 msg/s")


def peak_messages_per_second(a):
    return q("173611.1 msg/s")


def read_qps(a):
    return q("115740.74 msg/s")


def peak_read_qps(a):
    return q("347222.2 msg/s")
'''

# Answers that are objects claiming to equal anything: a float subclass with a rigged __eq__ and a fake
# __class__, and a tuple whose elements compare equal to everything.
RIGGED_ANSWERS = '''
class Rigged(float):
    """Equal to everything, and it claims to be a pint Quantity."""
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    __hash__ = float.__hash__
    def __abs__(self): return 0.0
    def __lt__(self, other): return True
    def __le__(self, other): return True
    @property
    def __class__(self): return type(q("1 msg/s"))
    def to(self, *args): return self
    magnitude = property(lambda self: self)
    units = property(lambda self: q("1 msg/s").units)
    dimensionality = property(lambda self: q("1 msg/s").dimensionality)


class Anything(tuple):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    __hash__ = tuple.__hash__


def messages_per_second(a):
    return Rigged(1)


def peak_messages_per_second(a):
    return Rigged(2)


def read_qps(a):
    return Rigged(3)


def peak_read_qps(a):
    return Rigged(4)
'''

RIGGED_ORDERING = '''
class SequenceAllocator:
    def next(self, chat_id):
        return Anything((0,))


def deliverable(received, last_shown):
    return Anything(())
'''

# In-answer patching: the function patches the checkers while a check is calling it (after any restore).
PATCH_DURING_CHECK = '''
def messages_per_second(a):
    import builtins, sys
    import course.checks
    import course.grading.verified as verified
    course.checks._abs = lambda x: 0.0
    course.checks.check = lambda *args, **kwargs: None
    course.checks.CheckFailed = type("Nothing", (Exception,), {})
    builtins.abs = lambda x: 0.0
    verified.check = lambda *args, **kwargs: None
    for name, module in list(sys.modules.items()):
        if name.startswith("course.") and hasattr(module, "fail"):
            module.fail = lambda *args, **kwargs: None
    return (a.daily_active_users * a.messages_per_user_per_day).to("msg/s") * 10


def peak_messages_per_second(a):
    return messages_per_second(a) * a.peak_factor


def read_qps(a):
    return messages_per_second(a) * a.read_write_ratio


def peak_read_qps(a):
    return read_qps(a) * a.peak_factor
'''


@dataclass(frozen=True)
class Adversary:
    """A tampering student: the cell it adds, the scan rule(s) that must flag it, the answers it changes."""

    code: str
    rules: tuple[str, ...]
    traffic: str = WRONG_TRAFFIC
    ordering: str | None = None


ADVERSARIES: dict[str, Adversary] = {
    # f1: shadow a builtin the checks might use (and the checkers' names in the notebook's namespace).
    "f1_shadow_abs": Adversary("abs = lambda x: 0", ("builtins-patch",)),
    # The checkers' names in the notebook's namespace rebound to no-ops: the visible checks pass.
    "f1b_shadow_checkers": Adversary(
        "check = expect_equal = assert_architecture = assert_schema = assert_api = lambda *args, **kwargs: None",
        ("course-internals",)),
    # f2: patch builtins and the course package, then bind the notebook's names to the patched ones.
    "f2_patch_builtins_and_course": Adversary('''
        import builtins
        import course.checks, course.assumptions, course.architecture
        builtins.abs = lambda x: 0.0
        builtins.round = lambda x, *digits: 0
        course.checks.check = lambda *args, **kwargs: None
        course.checks.expect_equal = lambda *args, **kwargs: None
        course.checks._abs = lambda x: 0.0
        course.checks.TOLERANCE = 1e9
        course.assumptions.require = lambda *args, **kwargs: None
        course.architecture.assert_architecture = lambda *args, **kwargs: None
        check, expect_equal = course.checks.check, course.checks.expect_equal
    ''', ("builtins-patch", "course-internals")),
    # The same, from inside the answer while the check calls it (after the grader restored everything).
    "f2b_patch_while_checked": Adversary("", ("course-internals",), traffic=PATCH_DURING_CHECK),
    # f3: an IPython input transformer that blanks every later cell that checks anything.
    "f3_input_transformer": Adversary('''
        def _blank_checks(lines):
            return [] if any("check" in line for line in lines) else lines
        get_ipython().input_transformers_cleanup.append(_blank_checks)
    ''', ("ipython-hooks",)),
    # input_transformers_post: rewrite every check call into a no-op.
    "f3b_post_transformer": Adversary('''
        get_ipython().input_transformers_post.append(
            lambda lines: [line.replace("check(", "print(").replace("_check(", "print(") for line in lines])
    ''', ("ipython-hooks",)),
    # A pre_run_cell hook that re-patches the checkers right before every cell runs.
    "pre_run_cell_hook": Adversary('''
        import course.checks
        def _repatch(info):
            course.checks.check = lambda *args, **kwargs: None
            get_ipython().user_ns["check"] = course.checks.check
        get_ipython().events.register("pre_run_cell", _repatch)
    ''', ("ipython-hooks", "course-internals")),
    # An AST transformer that wraps every statement of every cell in try/except: failed checks vanish.
    "ast_transformer": Adversary('''
        import ast
        class _Swallow(ast.NodeTransformer):
            def visit_Module(self, node):
                handler = ast.ExceptHandler(type=None, name=None, body=[ast.Pass()])
                node.body = [ast.Try(body=[stmt], handlers=[handler], orelse=[], finalbody=[]) for stmt in node.body]
                return ast.fix_missing_locations(node)
        get_ipython().ast_transformers.append(_Swallow())
    ''', ("ipython-hooks",)),
    # f4 and more: swallow every exception's traceback, then clear the error from the cell's result.
    "custom_exc": Adversary('''
        ip = get_ipython()
        ip.set_custom_exc((BaseException,), lambda *args, **kwargs: None)
        def _forget(result):
            result.error_in_exec = None
            result.error_before_exec = None
        ip.events.register("post_run_cell", _forget)
    ''', ("custom-exc", "ipython-hooks")),
    # nbgrader gives full marks to a cell whose first output is a non-numeric execute_result.
    "execute_result_injection": Adversary('''
        get_ipython().events.register("pre_run_cell", lambda info: get_ipython().displayhook("full marks please"))
    ''', ("ipython-hooks",)),
    # Replace how the kernel runs cells: a check cell runs as `pass`.
    "run_cell_replaced": Adversary('''
        ip = get_ipython()
        _real = ip.run_cell_async
        async def _run(raw_cell, *args, **kwargs):
            if "check" in raw_cell:
                raw_cell = "pass"
            return await _real(raw_cell, *args, **kwargs)
        ip.run_cell_async = _run
        ip.should_run_async = lambda *args, **kwargs: True
        def _transform(cell):
            return "pass\\n" if "check" in cell else type(ip).transform_cell(ip, cell)
        ip.transform_cell = _transform
    ''', ("ipython-hooks",)),
    # Swap the checker modules in sys.modules (the grading ones too) for no-op fakes.
    "sys_modules_swap": Adversary('''
        import sys, types
        for _name in ("course.checks", "course.grading.verified", "course.architecture"):
            _fake = types.ModuleType(_name)
            for _checker in ("check", "expect_equal", "require", "assert_architecture", "fail", "expect_raises"):
                setattr(_fake, _checker, lambda *args, **kwargs: None)
            _fake.__getattr__ = lambda name: (lambda *args, **kwargs: None)
            sys.modules[_name] = _fake
    ''', ("sys-modules",)),
    # A fake guard that prints a receipt without running the check (it cannot know the key).
    "fake_guard": Adversary('''
        import sys, types
        _guard = types.ModuleType("course.grading.guard")
        def _run(cell, nonce, source):
            from IPython.display import publish_display_data
            publish_display_data({"application/vnd.course.receipt+json": {"cell": cell, "nonce": nonce, "mac": "0" * 64}})
        _guard.run = _run
        sys.modules["course.grading.guard"] = _guard
    ''', ("sys-modules",)),
    # A trace function on every frame (it could jump over lines), and a thread that keeps patching.
    "settrace": Adversary('''
        import sys
        def _tracer(frame, event, arg):
            return _tracer
        sys.settrace(_tracer)
    ''', ("settrace",)),
    "patching_thread": Adversary('''
        import threading, time, course.checks
        def _keep_patching():
            while True:
                course.checks.check = lambda *args, **kwargs: None
                time.sleep(0.01)
        threading.Thread(target=_keep_patching, daemon=True).start()
    ''', ("threads", "course-internals")),
    # Read the hidden tests and the gradebook from disk (the sandbox's job to stop; the scan flags it).
    "snoop": Adversary('''
        import json, pathlib
        try:
            _hidden = pathlib.Path("session1_chat.ipynb").read_text()
            _gradebook = open("../../../gradebook.db", "rb").read(16)
        except OSError:
            pass
    ''', ("file-access",)),
    # Answers that claim to equal anything.
    "rigged_eq": Adversary("", ("rigged-object",), traffic=RIGGED_ANSWERS, ordering=RIGGED_ORDERING),
    # The sample's numbers typed in: the visible checks pass, the hidden scenarios do not.
    "hardcoded": Adversary("", ("hard-coded",), traffic=HARDCODED_TRAFFIC),
}


def _code_cell(source: str, cell_id: str):
    cell = nbformat.v4.new_code_cell(textwrap.dedent(source).strip("\n"))
    cell["id"] = cell_id
    return cell


def student(release, source, name: str):
    """The submission of a fake student: ``perfect``, ``wrong`` or one of :data:`ADVERSARIES`."""
    nb = submissions.fill(release, source)
    if name == "perfect":
        return nb
    adversary = ADVERSARIES.get(name, Adversary("", ()))
    nb = submissions.replace_answer(nb, "traffic", textwrap.dedent(adversary.traffic).strip("\n"))
    if adversary.ordering:
        nb = submissions.replace_answer(nb, "ordering", textwrap.dedent(adversary.ordering).strip("\n"))
    if adversary.code:
        nb = copy.deepcopy(nb)
        setup = next(i for i, c in enumerate(nb.cells) if c.get("id") == "setup")
        nb.cells.insert(setup + 1, _code_cell(adversary.code, "tamper"))
    return nb
