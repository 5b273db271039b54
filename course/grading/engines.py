"""Where the grading command's students are graded: an engine runs ``course.grading.worker.grade`` for them.

The runner (``course.grading.runner``) owns everything around the grading itself, the same for every
engine: the journal, the progress bar, which failures are graded again alone, the CSV. An engine only
grades a list of students and hands each outcome back the moment it completes:

- :class:`LocalEngine` (the default): long-lived processes forked from the command (dying with it), one per core, each
  loaded once with ``worker.init``; a process that dies breaks the pool, which names the students it was
  grading (the in-flight markers) for the runner to grade again alone.
- ``course.grading.dask_engine.DaskEngine`` (``--scheduler``): one Dask task per student on a cluster,
  each Dask worker loaded once with the same ``worker.init``.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Protocol

from . import sandbox, worker

#: Called with each student and their outcome (an ``worker.Outcome`` dict) as soon as it is known.
Keep = Callable[[str, dict], None]

# Failures graded once more, alone, before they count: a neighbour (or the machine) may have caused them.
RETRY_ALONE = ("failed: kernel died",)
# ... and, where kernels share the CPU (no cpu cgroup), a timeout: a busy neighbour may have caused it.
RETRY_ALONE_UNISOLATED = ("failed: timed out", "failed: time budget")


class Engine(Protocol):
    """What the runner needs of an engine. ``with engine:`` spans the grading; ``close()`` ends the engine."""

    jobs: int                    # students graded at once (shown by the progress bar)
    retry: tuple[str, ...]       # statuses graded once more, alone, before they count
    note: Callable[[str], None]  # a line about the run for the progress bar (set by the runner)

    def __enter__(self) -> "Engine": ...

    def __exit__(self, *exc) -> None: ...

    def close(self) -> None: ...

    def grade_round(self, assignment: str, students: list[str], keep: Keep) -> list[str] | None:
        """Grade ``students``, calling ``keep`` with each outcome as it completes.

        None when every student came back. Otherwise the suspects: students whose grading process died
        under them, for the runner to grade again alone; any student neither kept nor a suspect (the local
        pool broke before reaching them) is handed to the next round.
        """

    def grade_alone(self, assignment: str, student: str) -> dict | None:
        """Grade one student with nothing else of this run beside it; None if its grading process died."""


def retry_statuses(cpu_isolated: bool) -> tuple[str, ...]:
    """The statuses graded again alone: a dead kernel always, timeouts too where kernels share the CPU."""
    return RETRY_ALONE if cpu_isolated else RETRY_ALONE + RETRY_ALONE_UNISOLATED


def _die_with_parent() -> None:
    """Have the kernel SIGKILL this process when the command that forked it dies (Linux ``PR_SET_PDEATHSIG``).

    Otherwise a command killed alone (``kill -9 PID``) leaves its grading processes finishing their students
    unseen, and a run started at once could grade one of them at the same moment. Their sandboxed kernels
    follow them (bwrap's ``--die-with-parent``).
    """
    import ctypes

    parent = os.getppid()
    try:
        if ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0) != 0:  # 1: PR_SET_PDEATHSIG
            return
    except (OSError, AttributeError):  # not Linux: the command's process group is what a Ctrl-C stops
        return
    if os.getppid() != parent:  # the command died before the request took effect
        os._exit(1)


def _init_local(*args) -> None:
    """A local grading process's initializer: die with the command, then ``worker.init(*args)``."""
    _die_with_parent()
    worker.init(*args)


class LocalEngine:
    """``jobs`` long-lived grading processes forked from this one (nbgrader loaded once in each)."""

    def __init__(self, course_dir: Path, db_url: str, use_sandbox: bool, jobs: int) -> None:
        self.course_dir, self.db_url, self.use_sandbox, self.jobs = course_dir, db_url, use_sandbox, jobs
        self.retry = retry_statuses(use_sandbox and "cpu" in sandbox.cgroup_support())
        self.note: Callable[[str], None] = lambda text: None
        self.context = multiprocessing.get_context("fork")  # workers inherit the loaded nbgrader
        self.in_flight: Path | None = None

    def __enter__(self) -> "LocalEngine":
        sys.stdout.flush()
        sys.stderr.flush()
        self.in_flight = Path(tempfile.mkdtemp(prefix=f"sdl-inflight-{os.getpid()}-"))
        return self

    def __exit__(self, *exc) -> None:
        if self.in_flight is not None:
            shutil.rmtree(self.in_flight, ignore_errors=True)

    def close(self) -> None:
        """Nothing to end: each round's pool is shut down with it."""

    def _pool(self, workers: int) -> ProcessPoolExecutor:
        for marker in self.in_flight.iterdir():
            marker.unlink(missing_ok=True)
        return ProcessPoolExecutor(max_workers=workers, mp_context=self.context, initializer=_init_local,
                                   initargs=(str(self.course_dir), self.db_url, self.use_sandbox, str(self.in_flight)))

    def grade_round(self, assignment: str, students: list[str], keep: Keep) -> list[str] | None:
        """Grade ``students`` on a fresh pool: None when all came back, else the students in flight when it broke."""
        with self._pool(min(self.jobs, len(students))) as executor:
            futures = {executor.submit(worker.grade, assignment, student): student for student in students}
            seen: set[str] = set()
            try:
                for future in as_completed(futures):
                    student = futures[future]
                    try:
                        outcome = future.result()
                    except BrokenProcessPool:
                        suspects = worker.in_flight(self.in_flight)
                        for other, name in futures.items():  # finished before the break: keep them
                            if name not in seen and name not in suspects and other.done() and not other.cancelled() \
                                    and other.exception() is None:
                                keep(name, other.result())
                        return suspects
                    seen.add(student)
                    keep(student, outcome)
            except BaseException:  # Ctrl-C: what finished is in the journal; the rest is graded by the next run
                executor.shutdown(wait=False, cancel_futures=True)
                raise
        return None

    def grade_alone(self, assignment: str, student: str) -> dict | None:
        """Grade one student on a pool of one; None if that process died too."""
        with self._pool(1) as executor:
            try:
                return executor.submit(worker.grade, assignment, student).result()
            except BrokenProcessPool:
                return None
            except BaseException:
                executor.shutdown(wait=False, cancel_futures=True)
                raise
