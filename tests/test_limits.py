"""Limits, and no collateral: attackers graded beside honest students by the real command, sandboxed.

One class of Session 1 holds two honest students and one attacker per limit: a fork bomb, a disk filler,
a student printing 200 MB, a memory hog and a slow one (a short time budget for the test). It is graded
with two jobs. Each attacker's status names its limit and earns nothing for what did not run, the honest
students get exactly the scores they get graded alone, the grading processes stay small whatever the
kernels print, and a re-run changes nothing. A second class proves a grading process that dies
(SIGKILL through a test hook) costs nobody their row: the pool is rebuilt and the students in flight are
graded again, alone. The last tests are fast unit tests of the pieces.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from course import submissions
from course.grading import execute, runner, sandbox, worker

from .grading_class import (
    SESSION, append_to_answer, autograded_answer_ids, autograded_nb, copy_class, grade, journal, middle_answer,
    new_class, points_before, processes_mentioning, read_csv, require, sandbox_available, submit,
)

TIME_BUDGET = 45  # seconds per notebook in this class: an honest one needs about 10
FORK_BOMB = "import os\nwhile True:\n    os.fork()"
FILL_DISK = ("import os\nfor _i in range(1000):\n"
             "    with open(os.path.join(os.environ['HOME'], f'fill{_i}'), 'wb') as _f:\n"
             "        _f.write(b'x' * 2**20)")
PRINT_200MB = "for _ in range(200_000):\n    print('x' * 1000)"
MEMORY_HOG = "_hog = [bytearray(50 * 2**20) for _ in range(10_000)]"
SLOW = "import time\ntime.sleep(25)"
HONEST = ("perfect", "partial")
ATTACKERS = {"fork_bomb": "process limit", "disk_filler": "disk limit", "printer": "output limit",
             "memory_hog": "memory limit", "slow": "time budget"}


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    ok, why = sandbox_available()
    require(ok, why)
    cls = new_class(tmp_path_factory.mktemp("attacked") / "course",
                    config=f"c.GradingExecute.time_budget = {TIME_BUDGET}")
    course, release, source = cls["dir"], cls["release"], cls["source"]
    perfect = submissions.fill(release, source)
    middle = middle_answer(cls)
    answers = autograded_answer_ids(cls)
    slow = perfect
    for gid in answers[1:4]:  # three answers of 25 s each: the budget runs out in the second or third
        slow = append_to_answer(slow, gid, SLOW)
    students = {
        "perfect": perfect,
        "partial": submissions.fill(release, source, cls["ids"][: len(cls["ids"]) // 2]),
        "fork_bomb": append_to_answer(perfect, middle, FORK_BOMB),
        "disk_filler": append_to_answer(perfect, middle, FILL_DISK),
        "printer": append_to_answer(perfect, middle, PRINT_200MB),
        "memory_hog": append_to_answer(perfect, middle, MEMORY_HOG),
        "slow": slow,
    }
    for student, nb in students.items():
        submit(course, student, nb)
    alone = copy_class(course, tmp_path_factory.mktemp("alone") / "course", list(HONEST))
    disk_before = shutil.disk_usage(course).used

    run = grade(course, "--jobs", "2")
    rows = read_csv(course)
    disk_after = shutil.disk_usage(course).used
    leftovers = processes_mentioning(str(course))
    csv_before = (course / "autograded" / f"{SESSION}.csv").read_text()
    journal_before = journal(course)
    rerun = grade(course, "--jobs", "2")
    alone_run = grade(alone, "--jobs", "1")
    return {"cls": cls, "dir": course, "run": run, "rows": rows, "middle": middle, "answers": answers,
            "max": float(rows["perfect"]["max_score"]), "alone": read_csv(alone), "alone_run": alone_run,
            "rerun": rerun, "csv_before": csv_before, "journal_before": journal_before, "leftovers": leftovers,
            "disk_growth": disk_after - disk_before}


@pytest.mark.e2e
def test_the_command_finishes_with_a_row_for_everyone(attacked):
    assert attacked["run"].returncode == 1, attacked["run"].stderr  # the attackers failed
    assert set(attacked["rows"]) == {*HONEST, *ATTACKERS}
    assert "limits per kernel:" in attacked["run"].stderr


@pytest.mark.e2e
def test_honest_students_get_exactly_their_scores_graded_alone(attacked):
    rows, alone = attacked["rows"], attacked["alone"]
    for student in HONEST:
        assert rows[student]["status"] == "graded", rows[student]
        assert alone[student]["status"] == "graded", alone[student]
        assert rows[student]["score"] == alone[student]["score"], student
    assert float(rows["perfect"]["score"]) == attacked["max"]


@pytest.mark.e2e
@pytest.mark.parametrize("student", sorted(ATTACKERS))
def test_each_attacker_status_names_its_limit(attacked, student):
    assert attacked["rows"][student]["status"] == f"failed: {ATTACKERS[student]}"
    assert f"failed: {ATTACKERS[student]}" in runner.SUBMISSION_FAULTS  # the student's doing: a re-run keeps it


@pytest.mark.e2e
@pytest.mark.parametrize("student", ["fork_bomb", "printer"])
def test_a_kernel_stopped_at_a_limit_scores_what_ran_and_nothing_after(attacked, student):
    row = attacked["rows"][student]
    assert float(row["score"]) == points_before(attacked["cls"], attacked["middle"])
    nb = autograded_nb(attacked["dir"], student)
    after = False
    for cell in nb.cells:
        if submissions.grade_id(cell) == attacked["middle"]:
            after = True
        meta = cell.metadata.get("nbgrader", {})
        if after and meta.get("grade") and not meta.get("solution"):
            failures = [o for o in cell.outputs if o.get("ename") == execute.FAILURE_ENAME]
            assert failures and ATTACKERS[student] in failures[0]["evalue"], submissions.grade_id(cell)


@pytest.mark.e2e
def test_the_printer_output_was_capped_and_the_grader_stayed_small(attacked):
    nb = autograded_nb(attacked["dir"], "printer")
    stored = sum(len(json.dumps(o)) for cell in nb.cells for o in cell.get("outputs", []))
    assert stored < 2 * execute.OUTPUT_LIMIT  # 200 MB printed
    peaks = {entry["student"]: entry["peak_rss_mb"] for entry in journal(attacked["dir"])}
    assert max(peaks.values()) < 1024, peaks  # a grading process never held what the kernels printed


@pytest.mark.e2e
def test_a_kernel_that_survived_its_limit_kept_running(attacked):
    # The disk filler and the memory hog got an error in one answer; everything else still ran and scored.
    for student, error in (("disk_filler", "No space left on device"), ("memory_hog", "MemoryError")):
        nb = autograded_nb(attacked["dir"], student)
        errors = [f"{o.get('ename')}: {o.get('evalue')}" for cell in nb.cells for o in cell.get("outputs", [])
                  if o.get("output_type") == "error"]
        assert any(error in text for text in errors), (student, errors)
        assert not any(execute.FAILURE_ENAME in text for text in errors), (student, errors)
        assert float(attacked["rows"][student]["score"]) == attacked["max"]


@pytest.mark.e2e
def test_the_slow_student_ran_out_of_time_and_scored_what_ran(attacked):
    row = attacked["rows"]["slow"]
    assert float(row["score"]) < attacked["max"]
    assert float(row["score"]) >= points_before(attacked["cls"], attacked["answers"][1])
    nb = autograded_nb(attacked["dir"], "slow")
    failures = [o["evalue"] for cell in nb.cells for o in cell.get("outputs", [])
                if o.get("ename") == execute.FAILURE_ENAME]
    assert failures and all("time budget" in words for words in failures)


@pytest.mark.e2e
def test_nothing_a_student_wrote_reached_the_disk(attacked):
    assert attacked["disk_growth"] < 100 * 2**20  # the disk filler wrote 128 MiB in its sandbox's RAM
    autograded = attacked["dir"] / "autograded" / "disk_filler" / SESSION
    assert not any(p.name.startswith("fill") for p in autograded.iterdir())


@pytest.mark.e2e
def test_no_kernel_or_cgroup_is_left_behind(attacked):
    assert attacked["leftovers"] == []
    workers = {entry["worker"] for entry in journal(attacked["dir"])}
    for _, parent in sandbox.cgroup_support().values():
        assert [p for w in workers for p in parent.glob(f"sdl-kernel-{w}-*")] == []


@pytest.mark.e2e
def test_a_rerun_grades_nobody_again_and_changes_nothing(attacked):
    rerun = attacked["rerun"]
    assert f"0 graded in this run, {len(HONEST) + len(ATTACKERS)} already done" in rerun.stdout, rerun.stdout
    assert (attacked["dir"] / "autograded" / f"{SESSION}.csv").read_text() == attacked["csv_before"]
    assert journal(attacked["dir"]) == attacked["journal_before"]


# --- a grading process that dies ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def crashing(tmp_path_factory):
    ok, why = sandbox_available()
    require(ok, why)
    cls = new_class(tmp_path_factory.mktemp("crashing") / "course")
    course, release, source = cls["dir"], cls["release"], cls["source"]
    perfect = submissions.fill(release, source)
    half = submissions.fill(release, source, cls["ids"][: len(cls["ids"]) // 2])
    for student, nb in {"ann": perfect, "bob": half, "once": half, "always": perfect}.items():
        submit(course, student, nb)
    marker = tmp_path_factory.mktemp("hook") / "once-killed"
    hook = {worker.CRASH_HOOK: f"once@{marker},always"}
    run = grade(course, "--jobs", "2", env=hook)
    return {"dir": course, "run": run, "rows": read_csv(course), "marker": marker,
            "max": read_csv(course)["ann"]["max_score"]}


@pytest.mark.e2e
def test_a_dead_grading_process_does_not_abort_the_command(crashing):
    run = crashing["run"]
    assert crashing["marker"].exists()  # the hook did kill a worker
    assert run.returncode == 1, run.stderr  # "always" kills its worker every time
    assert "a grading process died" in run.stderr
    assert set(crashing["rows"]) == {"ann", "bob", "once", "always"}


@pytest.mark.e2e
def test_students_in_flight_are_graded_again_and_only_a_repeat_killer_fails(crashing):
    rows = crashing["rows"]
    assert rows["always"]["status"] == runner.WORKER_DIED and rows["always"]["score"] == ""
    for student in ("ann", "bob", "once"):
        assert rows[student]["status"] == "graded", rows[student]
    assert rows["ann"]["score"] == crashing["max"]
    assert rows["once"]["score"] == rows["bob"]["score"]  # the same notebook, graded on the second try
    students = [entry["student"] for entry in journal(crashing["dir"])]
    assert sorted(students) == ["always", "ann", "bob", "once"]  # each recorded once


# --- units ----------------------------------------------------------------------------------------------

def test_only_regular_released_files_are_mounted(tmp_path):
    folder = tmp_path / "source" / SESSION
    (folder / "sub").mkdir(parents=True)
    (folder / "__pycache__").mkdir()
    for name in ("data.csv", "helper.py", f"{SESSION}.ipynb", ".secret", "sub/more.txt", "__pycache__/x.pyc"):
        (folder / name).write_text("x")
    (folder / "link.txt").symlink_to("/etc/hostname")
    (folder / "linked").symlink_to(tmp_path)
    found = sandbox.released_files(folder)
    assert sorted(found) == ["data.csv", "helper.py", "sub/more.txt"]
    assert sandbox.released_files(tmp_path / "missing") == {}


def test_the_sandbox_argv_caps_every_writable_place(tmp_path):
    limits = sandbox.Limits(memory=2**30, processes=64, disk=32 * 2**20)
    argv = sandbox.bwrap_argv(["python", "-m", "ipykernel_launcher"], runtime=tmp_path / "run", assignment=SESSION,
                              released={"data.csv": tmp_path / "data.csv"}, limits=limits, env={"PATH": "/usr/bin"},
                              mpl_cache=(), bwrap=shutil.which("bwrap") or "bwrap")
    assert "--bind" not in argv  # nothing of the host is writable
    tmpfs = [argv[i + 1] for i, a in enumerate(argv) if a == "--tmpfs"]
    assert {"/home/student", "/tmp", "/dev/shm", sandbox.IPC_DIR, str(sandbox.GRADING_PACKAGE)} <= set(tmpfs)
    for i, a in enumerate(argv):
        if a == "--tmpfs":
            assert argv[i - 2] == "--size", argv[i + 1]  # each one size-capped
    assert argv[argv.index("--tmpfs", argv.index("/home/student") - 2) - 1] == str(limits.disk)
    remounted = [argv[i + 1] for i, a in enumerate(argv) if a == "--remount-ro"]
    assert str(sandbox.GRADING_PACKAGE) in remounted and "/dev" in remounted
    spec = argv[argv.index(sandbox.LAUNCHER) + 1]
    assert dict(item.split("=") for item in spec.split(",")) == {
        "RLIMIT_AS": str(2**30), "RLIMIT_NPROC": "64", "RLIMIT_FSIZE": str(sandbox.FILE_SIZE_LIMIT),
        "RLIMIT_NOFILE": str(sandbox.OPEN_FILES_LIMIT), "RLIMIT_CORE": "0"}
    assert argv[-3:] == ["python", "-m", "ipykernel_launcher"]
    assert argv[argv.index("OPENBLAS_NUM_THREADS") + 1] == "1"


def test_cgroups_get_their_caps_and_report_their_events(tmp_path):
    """The cgroup v1 and v2 files, written into plain folders standing in for the hierarchies."""
    limits = sandbox.Limits(memory=2**30, processes=50, cpus=0.5)
    v1 = {name: (1, tmp_path / "v1" / name) for name in ("pids", "memory", "cpu")}
    v2 = {name: (2, tmp_path / "v2") for name in ("pids", "memory", "cpu")}
    for _, parent in [*v1.values(), *v2.values()]:
        parent.mkdir(parents=True, exist_ok=True)
    one, two = sandbox.KernelCgroups.create(limits, v1), sandbox.KernelCgroups.create(limits, v2)
    assert (one.dirs["pids"] / "pids.max").read_text() == "50"
    assert (one.dirs["memory"] / "memory.limit_in_bytes").read_text() == str(limits.sandbox_memory())
    assert (one.dirs["cpu"] / "cpu.cfs_quota_us").read_text() == "50000"
    assert len(set(two.dirs.values())) == 1
    folder = two.dirs["pids"]
    assert (folder / "pids.max").read_text() == "50"
    assert (folder / "memory.max").read_text() == str(limits.sandbox_memory())
    assert (folder / "cpu.max").read_text() == "50000 100000"
    (folder / "pids.events").write_text("max 3\n")
    (folder / "memory.events").write_text("low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n")
    assert two.events() == {"processes": 3, "oom_kills": 1}
    (one.dirs["memory"] / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    assert one.events() == {"processes": 0, "oom_kills": 2}


def test_without_cgroups_the_limits_say_what_is_not_capped(monkeypatch):
    monkeypatch.setattr(sandbox, "cgroup_support", lambda: {})
    line, warnings = sandbox.describe_limits()
    if os.geteuid() == 0:
        assert "processes NOT capped" in line and any("RLIMIT_NPROC" in w for w in warnings)
    else:
        assert "128 processes (rlimit)" in line
    assert any("not CPU-isolated" in w for w in warnings)


def test_message_size_counts_text_data_and_each_message():
    stream = {"msg_type": "stream", "content": {"name": "stdout", "text": "x" * 1000}}
    assert execute.MESSAGE_OVERHEAD + 1000 <= execute.message_size(stream) < execute.MESSAGE_OVERHEAD + 1100
    display = {"msg_type": "display_data", "content": {"data": {"image/png": "a" * 5000, "text/plain": "b"}},
               "buffers": [b"z" * 300]}
    assert execute.message_size(display) >= 5301
    deep: list = []
    for _ in range(10_000):  # no recursion: a deeply nested payload is counted, not a crash
        deep = [deep]
    assert execute.message_size({"content": {"data": deep}}) > 10_000


def test_grading_config_replaces_any_execute_subclass(tmp_path):
    from nbgrader.preprocessors import SaveAutoGrades

    from course.demo import make_course

    course = make_course(tmp_path / "course")
    db = f"sqlite:///{tmp_path / 'gb.db'}"
    pipeline = worker.grading_config(course, db, sandbox=True).Autograde.autograde_preprocessors
    assert pipeline.count(execute.GradingExecute) == 1  # the course's own (verifying) Execute, swapped
    with open(course / "nbgrader_config.py", "a") as handle:
        handle.write("\nfrom nbgrader.preprocessors import Execute as _Execute, SaveAutoGrades as _Save\n"
                     "class CustomExecute(_Execute):\n    pass\n"
                     "c.Autograde.autograde_preprocessors = [CustomExecute, _Save]\n")
    config = worker.grading_config(course, db, sandbox=True)
    assert config.Autograde.autograde_preprocessors == [execute.GradingExecute, SaveAutoGrades]
    assert config.SandboxedKernelManager.released_root == str(Path(course).resolve() / "source")
    assert worker._is_execute("nbgrader.preprocessors.Execute") and not worker._is_execute("no.such.Thing")
