"""Warm grading kernels (``course.grading.pool``): faster, and nothing crosses from one student to the next.

One grading process (``--jobs 1``) grades, in this order: a **writer**, who leaves something behind in
every place a kernel can write (a global, a module attribute, a builtin, a ``sys.modules`` entry, an
environment variable, files in its home, working folder, ``/tmp`` and ``/dev/shm``); a **reader**, whose
answers exist only if it sees none of it (so its score proves what it saw); a **control**, who writes the
same things and reads them in its own kernel (it sees them all: the reader's check is real); and a
second reader after the control. The reader's kernel was started, warm, while the writer ran.

The same class graded with warm kernels off gives the same scores, and each reader observes exactly the
same namespace, history, files and environment: the warm-up changes nothing a student's code can see
but ``sys.modules``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from course import submissions
from course.grading import pool, sandbox

from .grading_class import (
    SESSION, autograded_answer_ids, autograded_nb, copy_class, grade, journal, new_class, read_csv, require,
    sandbox_available, submit,
)

pytestmark = pytest.mark.e2e

CHANNELS = ["builtin", "cwd file", "environment", "global", "home file", "module attribute", "shm file",
            "sys.modules", "tmp file"]
LEAK = '''
import builtins as _builtins, os as _os, sys as _sys, types as _types
import course.units as _units
LEAKED_GLOBAL = "from the writer"
_units.LEAKED_ATTRIBUTE = "from the writer"
_builtins.LEAKED_BUILTIN = "from the writer"
_sys.modules["leaked_module"] = _types.ModuleType("leaked_module")
_os.environ["LEAKED_ENV"] = "from the writer"
for _path in (_os.path.expanduser("~/leaked.txt"), "leaked.txt", "/tmp/leaked.txt", "/dev/shm/leaked.txt"):
    with open(_path, "w") as _handle:
        _handle.write("from the writer")
'''
PROBE = '''
import builtins as _builtins, json as _json, os as _os, sys as _sys
import course.units as _units
_SEEN = sorted(name for name, seen in {
    "global": "LEAKED_GLOBAL" in globals(),
    "module attribute": hasattr(_units, "LEAKED_ATTRIBUTE"),
    "builtin": hasattr(_builtins, "LEAKED_BUILTIN"),
    "sys.modules": "leaked_module" in _sys.modules,
    "environment": "LEAKED_ENV" in _os.environ,
    "home file": _os.path.exists(_os.path.expanduser("~/leaked.txt")),
    "cwd file": _os.path.exists("leaked.txt"),
    "tmp file": _os.path.exists("/tmp/leaked.txt"),
    "shm file": _os.path.exists("/dev/shm/leaked.txt"),
}.items() if seen)
_VIEW = {"names": sorted(globals()), "execution_count": get_ipython().execution_count, "inputs": len(In),
         "outputs": len(Out), "cwd": _os.getcwd(), "cwd_files": sorted(_os.listdir(".")),
         "home_files": sorted(_os.listdir(_os.path.expanduser("~"))), "tmp_files": sorted(  # the grader's connection-file folder is mounted there, named per kernel
             "sdl-kernel-*" if n.startswith("sdl-kernel-") else n for n in _os.listdir("/tmp")),
         "environment": dict(sorted(_os.environ.items())), "hooks": sorted(
             f"{event}:{getattr(f, '__qualname__', f)}" for event, fs in get_ipython().events.callbacks.items()
             for f in fs)}
print("WARM-PROBE " + _json.dumps({"seen": _SEEN, "view": _VIEW}, sort_keys=True))
'''


def _solutions(cls: dict) -> dict[str, str]:
    return {submissions.grade_id(c): submissions.strip_markers(c.source) for c in cls["source"].cells
            if submissions.grade_id(c)}


def writer(cls: dict):
    """The perfect notebook, leaving traces everywhere from its last autograded answer."""
    nb = submissions.fill(cls["release"], cls["source"])
    last = autograded_answer_ids(cls)[-1]
    return submissions.replace_answer(nb, last, _solutions(cls)[last] + "\n" + LEAK)


def reader(cls: dict, leak_first: bool = False):
    """Every autograded answer is the solution, run only if the first answer cell saw no trace."""
    nb = submissions.fill(cls["release"], cls["source"])
    solutions = _solutions(cls)
    ids = autograded_answer_ids(cls)
    for index, gid in enumerate(ids):
        guarded = f"if not _SEEN:\n    exec({solutions[gid]!r})\n"
        text = ((LEAK if leak_first else "") + PROBE + guarded) if index == 0 else guarded
        nb = submissions.replace_answer(nb, gid, text)
    return nb


STUDENTS = {"a_writer": writer, "b_reader": reader, "c_control": lambda cls: reader(cls, leak_first=True),
            "d_reader": reader}


def probe_of(course: Path, student: str) -> dict:
    for cell in autograded_nb(course, student).cells:
        for output in cell.get("outputs", []):
            text = output.get("text", "")
            if output.get("output_type") == "stream" and "WARM-PROBE " in text:
                return json.loads(text.split("WARM-PROBE ", 1)[1].splitlines()[0])
    raise AssertionError(f"{student}: the probe printed nothing")


def leftovers(worker_pids: set[int]) -> list[str]:
    """Sandbox folders and cgroups of these grading processes still on the machine."""
    import tempfile

    places = [Path(tempfile.gettempdir()), *(parent for _, parent in sandbox.cgroup_support().values())]
    return sorted(str(p) for place in places for pid in worker_pids for p in place.glob(f"sdl-kernel-{pid}-*"))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    ok, why = sandbox_available()
    require(ok, why)
    cls = new_class(tmp_path_factory.mktemp("warm") / "template")
    for student, make in STUDENTS.items():
        submit(cls["dir"], student, make(cls))
    results = {"cls": cls}
    for mode, env in (("warm", {"COURSE_WARM_KERNELS": "1"}), ("cold", {"COURSE_WARM_KERNELS": "0"})):
        course = copy_class(cls["dir"], tmp_path_factory.mktemp(mode) / "course", list(STUDENTS))
        run = grade(course, "--jobs", "1", env=env)
        assert run.returncode == 0, run.stdout + run.stderr
        entries = {entry["student"]: entry for entry in journal(course)}
        results[mode] = {"dir": course, "rows": read_csv(course), "journal": entries,
                         "probes": {s: probe_of(course, s) for s in STUDENTS if s != "a_writer"},
                         "leftovers": leftovers({entry["worker"] for entry in entries.values()})}
    return results


def test_the_reader_sees_nothing_of_the_student_before_it(graded):
    warm = graded["warm"]
    assert warm["journal"]["b_reader"]["kernel"]["pool"] == "warm"  # its kernel started while the writer ran
    assert warm["probes"]["b_reader"]["seen"] == []
    assert warm["probes"]["d_reader"]["seen"] == []
    rows = warm["rows"]
    assert rows["b_reader"]["score"] == rows["b_reader"]["max_score"] == rows["a_writer"]["score"]
    assert rows["d_reader"]["score"] == rows["d_reader"]["max_score"]


def test_the_control_proves_the_reader_would_see_every_trace(graded):
    """Leaked in its own kernel, every trace is seen, and the guarded answers then earn nothing."""
    warm = graded["warm"]
    assert warm["probes"]["c_control"]["seen"] == CHANNELS
    assert float(warm["rows"]["c_control"]["score"]) == 0.0


def test_every_student_gets_a_new_kernel_warm_after_the_first(graded):
    kernels = [graded["warm"]["journal"][s]["kernel"] for s in sorted(STUDENTS)]
    assert [k["pool"] for k in kernels] == ["none", "warm", "warm", "warm"]
    pids = [k["pid"] for k in kernels]
    assert all(pids) and len(set(pids)) == len(pids)
    assert [graded["cold"]["journal"][s]["kernel"]["pool"] for s in sorted(STUDENTS)] == ["off"] * 4


def test_scores_and_what_a_student_observes_equal_grading_with_warm_kernels_off(graded):
    warm, cold = graded["warm"], graded["cold"]
    for student in STUDENTS:
        assert (warm["rows"][student]["score"], warm["rows"][student]["status"]) == \
            (cold["rows"][student]["score"], cold["rows"][student]["status"]), student
    for student, probe in warm["probes"].items():  # namespace, In/Out, count, files, environment, hooks
        other = cold["probes"][student]
        differs = {key: (probe["view"][key], other["view"].get(key)) for key in probe["view"]
                   if probe["view"][key] != other["view"].get(key)}
        assert (probe["seen"], differs) == (other["seen"], {}), student
    for student in STUDENTS:  # the autograded notebooks' execution counts too
        counts = [c.get("execution_count") for c in autograded_nb(warm["dir"], student).cells if c.cell_type == "code"]
        assert counts == [c.get("execution_count") for c in autograded_nb(cold["dir"], student).cells
                          if c.cell_type == "code"], student


def test_no_warm_kernel_or_sandbox_is_left_behind(graded):
    assert graded["warm"]["leftovers"] == []
    assert graded["cold"]["leftovers"] == []


# --- a warm kernel that died before its student came --------------------------------------------------

KILL_SCRIPT = textwrap.dedent('''
    import json, os, signal, sys, time
    from pathlib import Path
    from course.grading import pool, sandbox, worker
    from course.grading.runner import _ensure_assignment, configured_db_url

    def children(pid):
        found = []
        for proc in Path("/proc").iterdir():
            try:
                if proc.name.isdigit() and int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(proc.name))
            except (OSError, ValueError):
                continue
        return found

    course, session = Path(sys.argv[1]), sys.argv[2]
    os.chdir(course)
    sandbox.prepare()
    url = configured_db_url(course)
    worker.init(str(course), url, True)
    _ensure_assignment(course, url, worker.grading_config(course, url, sandbox=True), session)
    outcomes = [worker.grade(session, "a_writer")]
    warm = pool.get_pool().warm
    assert warm is not None, "no warm kernel after the first student"
    cpu = warm.km._cgroups.dirs.get("cpu") if warm.km._cgroups else None
    shares = (cpu / "cpu.shares").read_text().strip() if cpu and (cpu / "cpu.shares").exists() else None
    todo, killed = [warm.km.sandbox_pid], []
    while todo:  # the kernel itself, the python process deepest in the sandbox, dies (as if out of memory)
        pid = todo.pop()
        todo += children(pid)
        if b"ipykernel_launcher" in Path(f"/proc/{pid}/cmdline").read_bytes() and not children(pid):
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    deadline = time.monotonic() + 30
    while warm.km.provisioner.process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    outcomes.append(worker.grade(session, "b_reader"))
    outcomes.append(worker.grade(session, "d_reader"))
    print("RESULT " + json.dumps({"outcomes": outcomes, "history": list(pool.get_pool().history), "killed": killed,
                                  "waiting_shares": shares}))
''')


def test_a_warm_kernel_that_died_is_replaced_not_handed_to_a_student(graded, tmp_path):
    course = copy_class(graded["cls"]["dir"], tmp_path / "course", ["a_writer", "b_reader", "d_reader"])
    env = {**os.environ, "COURSE_WARM_KERNELS": "1", "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    env.pop("COURSE_DB_URL", None)
    run = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(course), SESSION], capture_output=True, text=True,
                         timeout=600, env=env, cwd=course)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    result = json.loads(run.stdout.split("RESULT ", 1)[1].splitlines()[0])
    assert result["killed"], "found no warm kernel to kill"
    assert result["waiting_shares"] in (None, "2")  # a waiting warm kernel runs only on otherwise idle CPU
    first, replaced, next_one = result["outcomes"]
    assert result["history"] == ["none", "died", "warm"]
    assert replaced["kernel"]["pool"] == "died" and replaced["status"] == "graded"
    assert next_one["kernel"]["pool"] == "warm" and next_one["status"] == "graded"
    assert replaced["kernel"]["pid"] not in (first["kernel"]["pid"], next_one["kernel"]["pid"])
    assert probe_of(course, "b_reader")["seen"] == []
    from course.scores import assignment_scores

    scores = assignment_scores(f"sqlite:///{course / 'gradebook.db'}", "sysdesign-lab", SESSION)
    full = float(graded["warm"]["rows"]["b_reader"]["max_score"])
    assert scores["b_reader"].autograded == scores["d_reader"].autograded == full


FEEDBACK_SCRIPT = textwrap.dedent('''
    import json, os, sys
    from pathlib import Path
    from course.grading import worker
    from course.grading.runner import configured_db_url

    course, session = Path(sys.argv[1]), sys.argv[2]
    os.chdir(course)
    worker.init(str(course), configured_db_url(course), True)
    page = course / "feedback" / "b_reader" / session / f"{session}.html"
    api = worker._state["api"].generate_feedback(session, "b_reader", force=True)
    expected = page.read_text()
    results = [worker.generate_feedback(session, s)["success"] for s in ("a_writer", "b_reader", "b_reader")]
    print("RESULT " + json.dumps({"api": api["success"], "reused": results, "same": page.read_text() == expected}))
''')


def test_the_reused_feedback_converter_writes_what_nbgraders_api_writes(graded, tmp_path):
    """One converter per grading process, even for the same student twice in a row (graded again, alone)."""
    course = copy_class(graded["warm"]["dir"], tmp_path / "course", [])
    for folder in ("autograded", "submitted"):
        shutil.copytree(graded["warm"]["dir"] / folder, course / folder, dirs_exist_ok=True)
    shutil.copy(graded["warm"]["dir"] / "gradebook.db", course / "gradebook.db")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    env.pop("COURSE_DB_URL", None)
    run = subprocess.run([sys.executable, "-c", FEEDBACK_SCRIPT, str(course), SESSION], capture_output=True,
                         text=True, timeout=600, env=env, cwd=course)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    result = json.loads(run.stdout.split("RESULT ", 1)[1].splitlines()[0])
    assert result == {"api": True, "reused": [True, True, True], "same": True}


# --- the pool's own rules, without kernels ------------------------------------------------------------

class FakeKernelManager:
    has_kernel = False

    def __init__(self) -> None:
        self.discarded = False

    def discard_sandbox(self) -> None:
        self.discarded = True


def test_a_warm_kernel_of_another_recipe_is_destroyed_not_handed_out():
    warm_pool = pool.WarmPool()
    km = FakeKernelManager()
    warm_pool.warm = pool.WarmKernel(km, ("session1_chat",), client=None, msg_id="x", launched=time.perf_counter())
    taken = warm_pool.take(("session2_url_shortener",))
    assert taken.km is None and taken.outcome == "recipe changed"
    assert km.discarded and warm_pool.warm is None


def test_a_forked_copy_of_a_pool_never_touches_the_parents_kernel():
    warm_pool = pool.WarmPool(owner=os.getpid() + 1)  # as seen from a child forked after it was made
    km = FakeKernelManager()
    warm_pool.warm = pool.WarmKernel(km, ("k",), client=None, msg_id="x", launched=time.perf_counter())
    warm_pool.close()
    assert not km.discarded
    assert warm_pool.take(("k",)).km is None and not km.discarded


def test_a_waiting_kernel_gets_the_smallest_cpu_weight_and_the_usual_one_when_taken(tmp_path):
    limits = sandbox.Limits()
    for version, name, low, usual in ((1, "cpu.shares", "2", "1024"), (2, "cpu.weight", "1", "100")):
        parent = tmp_path / f"v{version}"
        parent.mkdir()
        cgroups = sandbox.KernelCgroups.create(limits, {"cpu": (version, parent)})
        assert cgroups.set_background(True)
        assert (cgroups.dirs["cpu"] / name).read_text() == low
        assert cgroups.set_background(False)
        assert (cgroups.dirs["cpu"] / name).read_text() == usual
    assert not sandbox.KernelCgroups({}).set_background(True)  # no cpu cgroup: nothing to do, no error


def test_the_warm_up_imports_what_the_source_notebook_imports(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("from course.units import u, q\nfrom course import cards, evidence\nimport math"),
        nbformat.v4.new_code_cell("%matplotlib inline\nimport pandas"),  # a magic: not Python, skipped
        nbformat.v4.new_code_cell("def f():\n    import json\n    from . import relative\n"),
    ])
    path = tmp_path / "source.ipynb"
    nbformat.write(nb, path)
    assert pool.setup_imports(path) == (
        ("course.units", False), ("course.units.u", True), ("course.units.q", True), ("course", False),
        ("course.cards", True), ("course.evidence", True), ("math", False), ("json", False))
    assert pool.setup_imports(tmp_path / "missing.ipynb") == ()
    code = pool.warmup_code(pool.setup_imports(path))
    assert code.startswith("exec(") and code.endswith(", {})")  # runs in a namespace of its own


def test_the_switch(monkeypatch):
    monkeypatch.delenv(pool.ENV_SWITCH, raising=False)
    assert pool.enabled() and not pool.enabled(default=False)
    monkeypatch.setenv(pool.ENV_SWITCH, "0")
    assert not pool.enabled()
    monkeypatch.setenv(pool.ENV_SWITCH, "1")
    assert pool.enabled(default=False)
