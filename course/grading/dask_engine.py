"""Grading on a Dask cluster (``python -m course grade A --scheduler tcp://HOST:PORT``): one task per student.

A Dask worker grades exactly as a local grading process does: the task (:func:`grade_task`) calls
``worker.init`` once per worker process (for this course folder and gradebook; the sandbox is checked and
prepared first), then ``worker.grade``: the same sandbox, the same limits (the course's
``nbgrader_config.py``), the same verification outside the kernel. The command stays where it was started
and drives the run exactly as with local processes (``course.grading.runner``): it records each outcome in
the journal as its task completes, draws the progress bar and writes the CSV.

Each worker needs the course's venv (the task is pickled by reference to this module), bubblewrap, the
course folder at the same path (a shared filesystem: sources and ``.grading-secret`` read, ``autograded/``
and ``feedback/`` written) and the gradebook's URL (PostgreSQL when several machines write). Before
grading, :func:`probe` runs on every worker that has joined and the command refuses to start, naming the
worker, if one of them lacks any of it. A worker grades one student at a time (a lock): start workers
with ``--nthreads 1`` and one process per core (``--nworkers``).

**A worker lost mid-task** (killed, out of memory, its machine gone): Dask gives the task to another
worker. Each task counts the times its grading began, on the scheduler (a Dask ``Variable`` named after
the task): a submission whose grading began twice and never came back (it took two workers down) is not
graded a third time but recorded as ``failed: grading process died``. Should the scheduler give up first
(``KilledWorker``, when ``distributed.scheduler.allowed-failures`` is below 2; Dask's default is 3), the
student is graded again alone, as the local engine does with a student whose process died.

**A command stopped mid-run** (Ctrl-C, SIGKILL, its machine gone): the scheduler drops the tasks still
queued, but a task already running on a worker cannot be interrupted and finishes unseen. So that a run
started at once never grades a student while an earlier grading of them is still writing, each grading
holds a cluster-wide lock named after the course folder, the assignment and the student (a Dask ``Lock``,
whose lease the scheduler ends if its worker dies): the new grading waits for the old one, then grades,
and its outcome says how long it waited (``waited_for_earlier``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from distributed import Client, KilledWorker, Lock, Variable, as_completed, get_worker

if TYPE_CHECKING:
    from .engines import Keep

# The grader's modules (nbgrader: seconds of imports) are imported inside the functions: a worker unpickles
# this module's functions on its event loop, which must not stall; the imports then run in a task's thread.

# Under "distributed", so that the worker's log (Dask's logging set-up) shows which student it grades, and when.
log = logging.getLogger("distributed.worker.sdl_grading")

#: A student's grading may begin this many times, each on a worker that died under it, before it is theirs.
DEATHS = 2

_LOCK = threading.Lock()          # one grading at a time per worker process (worker.py keeps process state)
_loaded: tuple | None = None      # (course folder, gradebook, sandbox) this worker process was loaded for


# --- on the workers ---------------------------------------------------------------------------------------

def _load(course_dir: str, db_url: str, use_sandbox: bool) -> None:
    from . import sandbox, worker

    global _loaded
    if _loaded == (course_dir, db_url, use_sandbox):
        return
    if use_sandbox:
        sandbox.check()
        sandbox.prepare()
    worker.init(course_dir, db_url, use_sandbox)
    _loaded = (course_dir, db_url, use_sandbox)


def _began(name: str, here: str) -> list[str]:
    """The workers where this task's grading began before (they died under it); records this start."""
    variable = Variable(name)
    try:
        earlier = list(variable.get(timeout=0))
    except TimeoutError:
        earlier = []
    variable.set([*earlier, here])
    return earlier


def student_lock_name(course_dir: str, assignment: str, student: str) -> str:
    """The cluster-wide lock held while one student of one course's assignment is graded."""
    course = hashlib.sha256(str(Path(course_dir).resolve()).encode()).hexdigest()[:16]
    return f"sdl-grading-{course}-{assignment}-{student}"


def grade_task(course_dir: str, db_url: str, use_sandbox: bool, assignment: str, student: str, name: str,
               deaths: int = DEATHS) -> dict:
    """The Dask task: grade one student on this worker (``worker.grade``); an ``Outcome`` dict.

    Adds ``dask_worker`` (this worker's address), ``workers_lost`` when earlier attempts died, and
    ``waited_for_earlier`` (seconds) when an earlier grading of the student, by a run that was stopped, was
    still running. Once ``deaths`` attempts died, the student is not graded again: ``failed: grading process died``.
    """
    from . import sandbox, worker
    from .runner import WORKER_DIED

    here = get_worker().address
    with _LOCK:
        lost = _began(name, here)
        if len(lost) >= deaths:
            detail = (f"its grading process died {len(lost)} times while grading it (Dask workers "
                      f"{', '.join(lost)}); not graded again")
            return {**worker.Outcome(student, WORKER_DIED, detail).to_json(), "dask_worker": here,
                    "workers_lost": lost}
        try:
            _load(course_dir, db_url, use_sandbox)
        except sandbox.SandboxUnavailable as exc:
            raise RuntimeError(f"Dask worker {here} ({socket.gethostname()}) cannot grade: {exc}") from None
        extra: dict = {"dask_worker": here, **({"workers_lost": lost} if lost else {})}
        lock = Lock(student_lock_name(course_dir, assignment, student))
        if not lock.acquire(blocking=False):  # an earlier run's grading of this student is still running
            since = time.monotonic()
            lock.acquire()
            extra["waited_for_earlier"] = round(time.monotonic() - since, 1)
        log.info("sdl grading began %s/%s at %.3f (task %s)", assignment, student, time.time(), name)
        status = "failed: grader error"
        try:
            outcome = worker.grade(assignment, student)
            status = outcome["status"]
        finally:
            log.info("sdl grading ended %s/%s at %.3f (task %s): %s", assignment, student, time.time(), name, status)
            lock.release()
    return {**outcome, **extra}


def _secret_digest(course_dir: str | Path) -> str:
    """A hash of the course's grading secret, to tell whether two machines see the same course; "" if unreadable."""
    from .verify import SECRET_FILE

    try:
        return hashlib.sha256((Path(course_dir) / SECRET_FILE).read_bytes()).hexdigest()
    except OSError:
        return ""


def _probe(course_dir: str, db_url: str, use_sandbox: bool) -> dict:
    from . import sandbox, worker

    found: dict = {"host": socket.gethostname(), "problems": [], "limits": "", "warnings": [],
                   "cpu_isolated": False, "secret": _secret_digest(course_dir)}
    if not (Path(course_dir) / "nbgrader_config.py").is_file():
        found["problems"].append(f"no course folder at {course_dir} (mount it at the same path on every worker)")
        return found
    if use_sandbox:
        try:
            sandbox.check()
        except sandbox.SandboxUnavailable as exc:
            found["problems"].append(str(exc))
        else:
            config = worker.grading_config(course_dir, db_url, sandbox=True)
            line, warnings = sandbox.describe_limits(sandbox.SandboxedKernelManager(config=config).limits)
            found.update(limits=line, warnings=warnings, cpu_isolated="cpu" in sandbox.cgroup_support())
    return found


async def probe(course_dir: str, db_url: str, use_sandbox: bool) -> dict:
    """Run on each worker (``Client.run``, in a thread): can it grade this course, and within which limits?"""
    return await asyncio.to_thread(_probe, course_dir, db_url, use_sandbox)


# --- in the command ---------------------------------------------------------------------------------------

def gradebook_warning(db_url: str) -> str | None:
    """The warning for a SQLite gradebook graded by a cluster; None for a database server."""
    if not db_url.startswith("sqlite"):
        return None
    return ("WARNING: the gradebook is a SQLite file: every Dask worker writes to it, which works only when all "
            "of them run on this machine (one disk). Workers on several machines need PostgreSQL: "
            "COURSE_DB_URL=postgresql+psycopg://USER@HOST/DB (see the README, Grading on a cluster).")


def connect(scheduler: str) -> Client:
    """A client of the scheduler at ``scheduler``: an address (``tcp://HOST:PORT``) or a scheduler file (JSON).

    Waits as long as Dask's ``distributed.comm.timeouts.connect`` says (30 s by default).
    """
    try:
        if Path(scheduler).is_file():
            return Client(scheduler_file=scheduler, set_as_default=False)
        return Client(scheduler, set_as_default=False)
    except (OSError, ValueError) as exc:
        from .runner import GradingError

        raise GradingError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None


class DaskEngine:
    """Grades each student as a task on the cluster of ``client`` (see the module docstring)."""

    def __init__(self, client: Client, course_dir: Path, db_url: str, use_sandbox: bool, *,
                 stream: TextIO | None = None, owns_client: bool = True) -> None:
        from .engines import RETRY_ALONE, RETRY_ALONE_UNISOLATED

        self.client, self.course_dir, self.db_url, self.use_sandbox = client, course_dir, db_url, use_sandbox
        self.owns_client = owns_client
        self.stream = stream
        self.note: Callable[[str], None] = lambda text: None
        self.jobs = max(1, len(client.nthreads()))  # worker processes (each grades one student at a time)
        self.retry = RETRY_ALONE + RETRY_ALONE_UNISOLATED  # until the workers say their kernels get a core each

    @classmethod
    def connect(cls, scheduler: str | Client, course_dir: Path, db_url: str, use_sandbox: bool, *,
                stream: TextIO | None = None) -> "DaskEngine":
        """An engine on ``scheduler``: an address or scheduler file (:class:`GradingError` if it cannot be
        reached), or a connected ``Client`` (e.g. a Dask Gateway cluster's ``get_client()``), left open."""
        if isinstance(scheduler, Client):
            return cls(scheduler, course_dir, db_url, use_sandbox, stream=stream, owns_client=False)
        return cls(connect(scheduler), course_dir, db_url, use_sandbox, stream=stream)

    def _check_workers(self) -> bool:
        """Probe the workers; print their limits; True when every worker's kernels get a core of their own."""
        from .runner import GradingError
        from .verify import SECRET_FILE

        mine = _secret_digest(self.course_dir)
        found = self.client.run(probe, str(self.course_dir), self.db_url, self.use_sandbox, on_error="return")
        problems, limits, warnings = [], {}, {}
        for address, info in sorted(found.items()):
            if isinstance(info, BaseException):
                problems.append(f"{address}: {type(info).__name__}: {info} (run the worker from the course's venv)")
                continue
            where = f"{address} ({info['host']})"
            problems += [f"{where}: {problem}" for problem in info["problems"]]
            if mine and not info["secret"]:
                problems.append(f"{where}: cannot read {self.course_dir / SECRET_FILE} (the grader's user "
                                "must be able to)")
            elif mine and info["secret"] != mine:
                problems.append(f"{where}: its {SECRET_FILE} differs from this machine's: not the same "
                                "course folder")
            limits.setdefault(info["limits"], []).append(info["host"])
            for warning in info["warnings"]:
                warnings.setdefault(warning, []).append(info["host"])
        if problems:
            raise GradingError("some Dask workers cannot grade this course:\n  " + "\n  ".join(problems))
        stream = self.stream
        if stream is not None:
            hosts = sorted({info["host"] for info in found.values()})
            stream.write(f"grading on the Dask cluster at {self.client.scheduler.address}: {len(found)} workers "
                         f"on {len(hosts)} machines ({', '.join(hosts)})\n")
            for line, where in limits.items():
                if line:
                    stream.write(f"{line}" + (f" (on {', '.join(sorted(set(where)))})" if len(limits) > 1 else "")
                                 + "\n")
            for warning, where in warnings.items():
                stream.write(f"WARNING: on {', '.join(sorted(set(where)))}: {warning}\n")
        return all(info["cpu_isolated"] for info in found.values())

    def __enter__(self) -> "DaskEngine":
        """Check the workers that have joined (:class:`GradingError` if one cannot grade) before grading."""
        from .engines import retry_statuses

        if self.client.nthreads():
            self.retry = retry_statuses(self._check_workers())
        elif self.stream is not None:
            self.stream.write(f"no Dask worker has joined {self.client.scheduler.address} yet: the students wait "
                              "for workers\n")
        return self

    def __exit__(self, *exc) -> None:
        pass

    def close(self) -> None:
        """Disconnect from the scheduler (tasks still queued for this client are dropped), if it connected."""
        if self.owns_client:
            self.client.close()

    def _submit(self, assignment: str, student: str, deaths: int):
        name = f"sdl-grade-{student}-{uuid.uuid4().hex[:12]}"
        return self.client.submit(grade_task, str(self.course_dir), self.db_url, self.use_sandbox, assignment,
                                  student, name, deaths, key=name, pure=False)

    def _result(self, future, student: str) -> dict | None:
        """The task's outcome; None when the scheduler gave up on it (``KilledWorker``)."""
        try:
            return future.result()
        except KilledWorker:
            return None
        except Exception as exc:  # noqa: BLE001 - the grader's own trouble on a worker: stop, as locally
            from .runner import GradingError

            raise GradingError(f"grading {student} on the Dask cluster failed: {type(exc).__name__}: {exc}") from exc
        finally:
            try:
                Variable(future.key, client=self.client).delete()
            except Exception:  # noqa: BLE001 - a leftover counter on the scheduler is harmless
                pass

    def grade_round(self, assignment: str, students: list[str], keep: Keep) -> list[str] | None:
        """Submit every student, keep each outcome as it completes; None, or those the scheduler gave up on."""
        from .runner import WORKER_DIED

        futures = {self._submit(assignment, student, DEATHS): student for student in students}
        suspects: list[str] = []
        try:
            for future in as_completed(futures, loop=self.client.loop):
                student = futures[future]
                outcome = self._result(future, student)
                if outcome is None:
                    suspects.append(student)
                    continue
                if outcome.get("waited_for_earlier") is not None:
                    self.note(f"{student}: waited {outcome['waited_for_earlier']:.0f} s for an earlier run's grading "
                              "of this student, still running on the cluster, to finish")
                if outcome.get("workers_lost") and outcome["status"] != WORKER_DIED:
                    self.note(f"{student}: the Dask worker grading it was lost ({', '.join(outcome['workers_lost'])}); "
                              f"graded again on {outcome['dask_worker']}")
                keep(student, outcome)
        except BaseException:  # Ctrl-C, or a worker that cannot grade: what finished is in the journal
            self.client.cancel(list(futures))
            raise
        return suspects or None

    def grade_alone(self, assignment: str, student: str) -> dict | None:
        """Grade one student with no other task of this run on the cluster; None if its worker died under it."""
        future = self._submit(assignment, student, 1)
        try:
            outcome = self._result(future, student)
        except BaseException:
            self.client.cancel([future])
            raise
        if outcome is None or outcome.get("workers_lost"):
            return None
        return outcome
