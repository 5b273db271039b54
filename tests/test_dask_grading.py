"""``python -m course grade --scheduler``: a class graded on a real Dask cluster, exactly as local processes grade it.

A ``dask scheduler`` and two ``dask worker`` processes (each a nanny and one single-threaded worker
process), started from the venv on loopback, grade a small class of Session 1 that holds a student whose
kernel dies, one who kills the grading process every time (``worker.CRASH_HOOK``), and one whose notebook
sleeps: while a worker grades that one, the test SIGKILLs the worker. The same class graded by local
processes is the reference: every student gets the same score and status, student by student; the
killed worker's student is graded again on another worker, the repeat killer is the student's failure.

Then the command itself is SIGKILLed while a worker grades a long sleeper, and a run is started at once: the
orphaned grading (a running Dask task cannot be interrupted) and the new one never overlap.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from course import submissions
from course.demo import make_course
from course.grading import dask_engine, runner, worker
from course.grading.runner import WORKER_DIED

from .grading_class import (
    SESSION, append_to_answer, autograded_answer_ids, copy_class, grade, journal, middle_answer, new_class,
    processes_mentioning, read_csv, require, sandbox_available, submit,
)

DASK = Path(sys.executable).parent / "dask"
KILLER = "killer"    # takes its grading process down each time it is graded
SLEEPER = "sleeper"  # sleeps in a cell: the test kills the worker grading it
SLEEP = 5            # seconds
LONG_SLEEP = 12      # seconds: the sleeper whose command is killed while it is graded


def _start(argv: list[str], log: Path, env: dict, cwd: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two workers (nanny + one single-threaded process each) on 127.0.0.1; yields a client.

    The workers get the test hook that makes ``KILLER``'s grading kill its worker process (SIGKILL).
    """
    from distributed import Client

    require(DASK.exists(), f"{DASK} is missing: install the course's dependencies (dask[distributed])")
    base = tmp_path_factory.mktemp("dask")
    env = {k: v for k, v in os.environ.items() if k != "COURSE_DB_URL"}
    scheduler_file = base / "scheduler.json"
    procs = [_start([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                     "--scheduler-file", str(scheduler_file)], base / "scheduler.log", env, base)]
    client = None
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline and procs[0].poll() is None:
            time.sleep(0.1)
        assert scheduler_file.exists(), (base / "scheduler.log").read_text()
        address = json.loads(scheduler_file.read_text())["address"]
        # The workers run where no course is (their cwd): the task names the course folder.
        worker_env = {**env, worker.CRASH_HOOK: KILLER}
        for i in range(2):
            procs.append(_start([str(DASK), "worker", address, "--nworkers", "1", "--nthreads", "1", "--host",
                                 "127.0.0.1", "--no-dashboard", "--memory-limit", "0", "--name", f"w{i}",
                                 "--local-directory", str(base / f"w{i}")], base / f"worker{i}.log", worker_env, base))
        client = Client(address, timeout=60, set_as_default=False)  # workers join while the class is made
        yield {"address": address, "client": client, "logs": base}
    finally:
        if client is not None:
            client.close()
        for proc in reversed(procs):
            _stop(proc)


def _grading(client, student: str) -> str | None:
    """The address of the worker executing ``student``'s task (once its grader is loaded), or None."""
    def executing(dask_worker) -> list[str]:  # a local function is pickled by value: workers cannot import tests/
        engine = sys.modules.get("course.grading.dask_engine")
        if engine is None or engine._loaded is None:
            return []  # nbgrader not loaded yet in this worker process: it is not grading anyone
        return [str(ts.key) for ts in dask_worker.state.tasks.values() if ts.state == "executing"]

    running = client.run(executing, on_error="ignore")
    return next((address for address, keys in running.items() if any(f"-{student}-" in k for k in keys)), None)


def _command(course: Path, address: str, stdout, stderr) -> subprocess.Popen:
    """``python -m course grade SESSION --scheduler ADDRESS`` started in ``course``, as an instructor would."""
    env = {k: v for k, v in os.environ.items() if k not in ("COURSE_DB_URL", "COURSE_DASK_SCHEDULER")}
    return subprocess.Popen([sys.executable, "-m", "course", "grade", SESSION, "--scheduler", address],
                            cwd=course, env=env, stdout=stdout, stderr=stderr)


def _grade_killing_a_worker(client, course: Path, address: str) -> tuple[subprocess.CompletedProcess, dict]:
    """Run the command on the cluster; SIGKILL the worker process while it grades ``SLEEPER`` (once)."""
    out, err = course.parent / "dask-run.out", course.parent / "dask-run.err"
    with open(out, "w") as stdout, open(err, "w") as stderr:
        proc = _command(course, address, stdout, stderr)
    killed: dict = {}
    seen: dict[str, float] = {}
    deadline = time.monotonic() + 900
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
            if killed:
                continue
            try:
                holder = _grading(client, SLEEPER)
                if holder is None:
                    seen.clear()
                elif time.monotonic() - seen.setdefault(holder, time.monotonic()) >= 1.5:  # well inside its grading
                    pid = client.run(os.getpid, workers=[holder])[holder]
                    os.kill(pid, signal.SIGKILL)
                    killed = {"address": holder, "pid": pid}
            except Exception:  # noqa: BLE001 - a worker restarting under us: look again
                continue
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out.read_text(), err.read_text()), killed


@pytest.fixture(scope="module")
def graded(cluster, tmp_path_factory):
    ok, why = sandbox_available()
    require(ok, why)
    cls = new_class(tmp_path_factory.mktemp("dask-class") / "course")
    course, release, source, ids = cls["dir"], cls["release"], cls["source"], cls["ids"]
    perfect = submissions.fill(release, source)
    students = {
        "perfect": perfect,
        "partial": submissions.fill(release, source, ids[: len(ids) // 2]),
        "kernel_death": append_to_answer(perfect, middle_answer(cls), "import os\nos._exit(0)"),
        KILLER: perfect,
        SLEEPER: append_to_answer(perfect, autograded_answer_ids(cls)[0], f"import time\ntime.sleep({SLEEP})"),
    }
    for student, nb in students.items():
        submit(course, student, nb)
    local = copy_class(course, tmp_path_factory.mktemp("local-class") / "course", sorted(students))

    local_run = grade(local, "--jobs", "2", env={worker.CRASH_HOOK: KILLER})
    cluster["client"].wait_for_workers(2, timeout=120)
    start = time.monotonic()
    run, killed = _grade_killing_a_worker(cluster["client"], course, cluster["address"])
    elapsed = time.monotonic() - start
    leftovers = processes_mentioning(str(course))
    journal_before = journal(course)
    rerun = runner.grade(SESSION, course_dir=course, scheduler=cluster["address"], stream=io.StringIO())
    return {"dir": course, "cls": cls, "perfect_nb": perfect, "students": sorted(students), "run": run,
            "killed": killed, "elapsed": elapsed, "rows": read_csv(course), "local": read_csv(local),
            "local_run": local_run, "leftovers": leftovers, "journal": journal_before, "rerun": rerun,
            "logs": cluster["logs"]}


def _explain(graded) -> str:
    logs = "".join(f"\n--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(graded["logs"].glob("*.log")))
    return f"stdout:\n{graded['run'].stdout}\nstderr:\n{graded['run'].stderr}{logs}"


@pytest.mark.e2e
def test_the_run_went_to_the_cluster(graded):
    run = graded["run"]
    assert run.returncode == 1, _explain(graded)  # kernel_death and the killer fail, as locally
    assert "grading on the Dask cluster at" in run.stderr and "2 workers" in run.stderr
    assert "limits per kernel:" in run.stderr  # the workers' sandbox limits, as the local command prints them
    assert "the gradebook is a SQLite file" in run.stderr  # one machine here: allowed, with a warning
    began = {address for entry in graded["journal"]
             for address in [entry["dask_worker"], *entry.get("workers_lost", [])]}
    assert len(began) >= 3  # both workers, and the ones their nannies started after the kills


@pytest.mark.e2e
def test_scores_and_statuses_equal_a_local_run_student_by_student(graded):
    rows, local = graded["rows"], graded["local"]
    assert set(rows) == set(local) == set(graded["students"])
    for student in graded["students"]:
        assert (rows[student]["score"], rows[student]["status"]) == \
               (local[student]["score"], local[student]["status"]), student
    assert rows["perfect"]["status"] == "graded" and rows["perfect"]["score"] == rows["perfect"]["max_score"]
    assert rows["kernel_death"]["status"] == "failed: kernel died"
    assert rows[KILLER]["status"] == WORKER_DIED and rows[KILLER]["score"] == ""


@pytest.mark.e2e
def test_a_worker_killed_mid_grading_is_retried_on_another(graded):
    killed = graded["killed"]
    assert killed, "the test never saw the sleeper being graded: " + _explain(graded)
    entry = next(e for e in graded["journal"] if e["student"] == SLEEPER)
    assert entry["status"] == "graded"
    assert entry["workers_lost"] == [killed["address"]]
    assert entry["dask_worker"] != killed["address"]
    assert graded["rows"][SLEEPER]["score"] == graded["local"][SLEEPER]["score"] == graded["rows"][SLEEPER]["max_score"]
    assert f"{SLEEPER}: the Dask worker grading it was lost" in graded["run"].stderr


@pytest.mark.e2e
def test_a_submission_that_kills_its_worker_twice_is_the_students_failure(graded):
    entry = next(e for e in graded["journal"] if e["student"] == KILLER)
    assert entry["status"] == WORKER_DIED
    assert len(entry["workers_lost"]) == 2 and "died 2 times" in entry["detail"]


@pytest.mark.e2e
def test_each_student_is_recorded_once_with_feedback(graded):
    assert sorted(e["student"] for e in graded["journal"]) == graded["students"]
    for student in graded["students"]:
        if graded["rows"][student]["score"]:
            assert (graded["dir"] / "feedback" / student / SESSION / f"{SESSION}.html").exists(), student
    alone = [e for e in graded["journal"] if e.get("graded_alone")]
    assert [e["student"] for e in alone] == ["kernel_death"]  # its kernel died beside others: graded again alone


@pytest.mark.e2e
def test_no_kernel_is_left_running(graded):
    assert graded["leftovers"] == []


@pytest.mark.e2e
def test_a_rerun_grades_nobody_again(graded):
    rerun = graded["rerun"]
    assert rerun.graded_now == [] and rerun.skipped == graded["students"]
    assert journal(graded["dir"]) == graded["journal"]


# --- the command killed mid-run, and started again at once ----------------------------------------------------

_LOG_LINE = re.compile(r"sdl grading (began|ended) (\S+)/(\S+) at ([\d.]+) \(task (\S+)\)")


def _gradings(logs: Path, student: str, since: float) -> list[tuple[float, float]]:
    """(began, ended) of each grading of ``student`` the workers logged since ``since``, in order."""
    times: dict[str, dict[str, float]] = {}
    for log in logs.glob("worker*.log"):
        for kind, _, who, at, task in _LOG_LINE.findall(log.read_text(errors="replace")):
            if who == student and float(at) >= since:
                times.setdefault(task, {})[kind] = float(at)
    return sorted((t.get("began", float("nan")), t.get("ended", float("nan"))) for t in times.values())


@pytest.fixture(scope="module")
def stopped(cluster, graded, tmp_path_factory):
    """The command SIGKILLed while a worker grades a long sleeper (its lock held), then a run started at once."""
    client, address = cluster["client"], cluster["address"]
    course = copy_class(graded["dir"], tmp_path_factory.mktemp("stopped-class") / "course", ["perfect", "partial"])
    submit(course, SLEEPER, append_to_answer(graded["perfect_nb"], autograded_answer_ids(graded["cls"])[0],
                                             f"import time\ntime.sleep({LONG_SLEEP})"))
    lock = dask_engine.student_lock_name(str(course), SESSION, SLEEPER)

    def held(dask_scheduler, name):  # pickled by value, run on the scheduler
        return len(dask_scheduler.extensions["semaphores"].leases.get(name, {}))

    since = time.time()
    with open(course.parent / "killed-run.log", "w") as out:
        proc = _command(course, address, out, subprocess.STDOUT)
    orphan = None
    deadline = time.monotonic() + 600
    try:
        while proc.poll() is None and time.monotonic() < deadline and orphan is None:
            time.sleep(0.1)
            if client.run_on_scheduler(held, name=lock):  # the sleeper's grading has begun on a worker
                orphan = _grading(client, SLEEPER)
    finally:
        proc.kill()  # SIGKILL: no clean-up in the command, its client simply vanishes
        proc.wait()
    stream = io.StringIO()
    rerun = runner.grade(SESSION, course_dir=course, scheduler=address, stream=stream)
    return {"dir": course, "orphan": orphan, "rerun": rerun, "stream": stream.getvalue(), "journal": journal(course),
            "rows": read_csv(course), "gradings": _gradings(cluster["logs"], SLEEPER, since),
            "leftovers": processes_mentioning(str(course)),
            "killed_log": (course.parent / "killed-run.log").read_text()}


@pytest.mark.e2e
def test_a_run_started_while_a_killed_runs_grading_goes_on_never_overlaps_it(stopped, graded):
    assert stopped["orphan"], "the killed run never held the sleeper's lock: " + stopped["killed_log"]
    gradings = stopped["gradings"]
    assert len(gradings) == 2, gradings  # the orphan, finished unseen, and the new run's
    (began_1, ended_1), (began_2, ended_2) = gradings
    assert began_1 < ended_1 <= began_2 < ended_2, gradings
    entry = next(e for e in stopped["journal"] if e["student"] == SLEEPER)
    if entry["dask_worker"] != stopped["orphan"]:  # on another worker, the new grading waited for the lock
        assert entry["waited_for_earlier"] > 0
        assert f"{SLEEPER}: waited" in stopped["stream"] and "earlier run's grading" in stopped["stream"]


@pytest.mark.e2e
def test_after_a_killed_run_each_student_is_graded_once_with_the_right_score(stopped, graded):
    students = ["partial", "perfect", SLEEPER]
    assert sorted(e["student"] for e in stopped["journal"]) == students
    rows = stopped["rows"]
    assert {s: rows[s]["score"] for s in students} == {s: graded["local"][s]["score"] for s in students}
    assert rows[SLEEPER]["status"] == "graded" and rows[SLEEPER]["score"] == rows[SLEEPER]["max_score"]
    assert stopped["leftovers"] == []


def test_the_lock_serialises_gradings_of_one_student_and_not_of_two(monkeypatch):
    """In-process workers: two gradings of one student never overlap (the second waits); two students do."""
    import contextlib
    import threading

    from distributed import Client, LocalCluster

    intervals: dict[str, list[tuple[float, float]]] = {}
    guard = threading.Lock()

    def fake_grade(assignment: str, student: str) -> dict:
        began = time.monotonic()
        time.sleep(1.0)
        with guard:
            intervals.setdefault(student, []).append((began, time.monotonic()))
        return {"student": student, "status": "graded"}

    monkeypatch.setattr(dask_engine, "_load", lambda *args: None)
    monkeypatch.setattr(dask_engine, "_LOCK", contextlib.nullcontext())  # in one process: only the cluster lock
    monkeypatch.setattr(worker, "grade", fake_grade)
    with LocalCluster(n_workers=3, threads_per_worker=1, processes=False, dashboard_address=":0") as local, \
            Client(local, set_as_default=False) as client:
        futures = [client.submit(dask_engine.grade_task, "/srv/course", "sqlite://", False, SESSION, student,
                                 f"sdl-grade-{student}-{i}", key=f"sdl-grade-{student}-{i}", pure=False)
                   for i, student in enumerate(["ana", "ana", "bo"])]
        outcomes = client.gather(futures)
    (a1, a2), (b,) = sorted(intervals["ana"]), intervals["bo"]
    assert a1[1] <= a2[0], intervals  # one student: one grading after the other
    assert b[0] < max(a1[1], a2[1]) and min(a1[0], a2[0]) < b[1], intervals  # another student: alongside
    waited = [o.get("waited_for_earlier") for o in outcomes if o["student"] == "ana"]
    assert waited.count(None) == 1 and max(w for w in waited if w is not None) >= 0.5, outcomes  # ~1 s
    assert "waited_for_earlier" not in outcomes[2]


# --- without a cluster --------------------------------------------------------------------------------------

def test_an_unreachable_scheduler_is_a_clear_error(tmp_path):
    import dask

    course = make_course(tmp_path / "course")
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        with pytest.raises(runner.GradingError, match="cannot reach the Dask scheduler tcp://127.0.0.1:9"):
            runner.grade(SESSION, course_dir=course, scheduler="tcp://127.0.0.1:9")
    assert not (course / "autograded").exists()


def test_a_sqlite_gradebook_on_a_cluster_is_warned_about_and_a_server_is_not():
    warning = dask_engine.gradebook_warning("sqlite:////srv/course/gradebook.db?timeout=60")
    assert warning and "one disk" in warning and "PostgreSQL" in warning
    assert dask_engine.gradebook_warning("postgresql+psycopg://grader@db/gradebook") is None


def test_a_worker_without_the_course_folder_says_so(tmp_path):
    found = dask_engine._probe(str(tmp_path / "nowhere"), "sqlite://", use_sandbox=False)
    assert found["problems"] == [f"no course folder at {tmp_path / 'nowhere'} (mount it at the same path on every "
                                 "worker)"]
    assert found["secret"] == ""


def test_the_command_takes_the_scheduler_from_the_environment(monkeypatch):
    import argparse

    from course.grading import command

    seen = {}

    def fake_grade(assignment, **options):
        seen.update(options)
        raise runner.GradingError("stop here")

    monkeypatch.setattr(runner, "grade", fake_grade)
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    monkeypatch.setenv(command.SCHEDULER_ENV, "tcp://10.0.0.1:8786")
    assert command.run(parser.parse_args([SESSION])) == 2
    assert seen["scheduler"] == "tcp://10.0.0.1:8786"
    assert command.run(parser.parse_args([SESSION, "--scheduler", ""])) == 2  # '' grades locally
    assert seen["scheduler"] is None
