"""A fake class for the grading-command tests: a real session, released, with adversarial submissions.

Every student starts from the released notebook and the reference solution (``course.submissions``),
then misbehaves in one way: dies, hangs, exits, hands in broken JSON, or spies on the grader.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course import submissions
from course.demo import api_for, make_course

SESSION = "session1_chat"
ROOT = Path(__file__).resolve().parent.parent
# Per-cell limit for the tests: long enough for the slowest real cell on a loaded CI machine, short enough
# that the students who hang cost seconds, not the course's 20 s per cell.
CELL_TIMEOUT = 30


def require(ok: bool, reason: str) -> None:
    """Skip loudly when a system tool is missing; under CI=true that is a failure, never a skip."""
    if ok:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and {reason} (scripts/system-deps.sh installs it)")
    pytest.skip(f"SKIPPED LOUDLY: {reason}; run `make system-deps` (scripts/system-deps.sh)")


def sandbox_available() -> tuple[bool, str]:
    from course.grading.sandbox import SandboxUnavailable, check

    try:
        check()
    except SandboxUnavailable as exc:
        return False, str(exc)
    return True, ""


def new_class(target: Path, timeout: int = CELL_TIMEOUT, config: str = "") -> dict:
    """A course folder with ``SESSION`` released into its own gradebook; the release and source notebooks.

    ``config``: lines added to the course's ``nbgrader_config.py`` (e.g. a shorter time budget).
    """
    course = make_course(target)
    with open(course / "nbgrader_config.py", "a") as handle:
        handle.write(f"\nc.Execute.timeout = {timeout}  # grading tests: short per-cell limit\n{config}\n")
    api = api_for(course)
    result = api.generate_assignment(SESSION, force=True)
    assert result["success"], result.get("error")
    release = submissions.read(course / "release" / SESSION / f"{SESSION}.ipynb")
    source = submissions.read(course / "source" / SESSION / f"{SESSION}.ipynb")
    return {"dir": course, "release": release, "source": source, "ids": submissions.answer_ids(release)}


def submit(course: Path, student: str, nb_or_text) -> Path:
    path = course / "submitted" / student / SESSION / f"{SESSION}.ipynb"
    if isinstance(nb_or_text, str):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(nb_or_text)
        return path
    return submissions.write(nb_or_text, path)


def autograded_answer_ids(cls: dict) -> list[str]:
    """Answer cells checked by test cells (not the written answers a person grades), in order."""
    written = {submissions.grade_id(c) for c in cls["source"].cells
               if c.metadata.get("nbgrader", {}).get("grade") and c.metadata["nbgrader"].get("solution")}
    return [gid for gid in cls["ids"] if gid not in written]


def append_to_answer(nb, gid: str, code: str):
    cell = next(c for c in nb.cells if submissions.grade_id(c) == gid)
    return submissions.replace_answer(nb, gid, cell.source + "\n\n" + code)


def middle_answer(cls: dict) -> str:
    ids = autograded_answer_ids(cls)
    return ids[len(ids) // 2]


def points_before(cls: dict, gid: str) -> float:
    """Points of the test cells that come before answer cell ``gid`` (they run before it breaks)."""
    total = 0.0
    for cell in cls["release"].cells:
        if submissions.grade_id(cell) == gid:
            return total
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            total += meta["points"]
    raise KeyError(gid)


def grade(course: Path, *args: str, env: dict | None = None, timeout: int = 1800) -> subprocess.CompletedProcess:
    """Run ``python -m course grade SESSION`` in ``course`` (the real command, as an instructor does)."""
    run_env = {**os.environ, **(env or {})}
    for name in ("COURSE_DB_URL", "COURSE_DASK_SCHEDULER"):  # the local engine and SQLite unless the test says
        if not env or name not in env:
            run_env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "course", "grade", SESSION, *args], cwd=course, env=run_env,
                          capture_output=True, text=True, timeout=timeout)


def read_csv(course: Path) -> dict[str, dict]:
    import csv

    with open(course / "autograded" / f"{SESSION}.csv", newline="") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


def journal(course: Path) -> list[dict]:
    """The grading journal's complete entries (a line torn by a kill is skipped, as the command does)."""
    path = course / "autograded" / ".grading" / f"{SESSION}.jsonl"
    entries = []
    for line in path.read_text().splitlines() if path.exists() else []:
        try:
            entries.append(json.loads(line))
        except ValueError:
            continue
    return entries


def autograded_nb(course: Path, student: str):
    return nbformat.read(course / "autograded" / student / SESSION / f"{SESSION}.ipynb", as_version=4)


def copy_class(src: Path, dst: Path, students: list[str]) -> Path:
    """A copy of a class before grading, with only ``students``' submissions."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("submitted", "autograded", "feedback"))
    for student in students:
        shutil.copytree(src / "submitted" / student, dst / "submitted" / student)
    return dst


def _live_processes():
    """(pid, command line, working folder, state) of every other process /proc can still read."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = Path(os.readlink(proc / "cwd"))
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        yield proc.name, cmdline, cwd, state


def processes_working_in(folder: Path) -> list[str]:
    """Live processes (not zombies) whose working folder is ``folder`` or inside it: e.g. grading processes."""
    root = Path(folder).resolve()
    return [f"{pid}: {cmdline[:200]}" for pid, cmdline, cwd, state in _live_processes()
            if state != "Z" and (cwd == root or root in cwd.parents)]


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that mention ``text`` (e.g. a course folder): leftover kernels."""
    return [f"{pid}: {cmdline[:200]}" for pid, cmdline, _, _ in _live_processes() if text in cmdline]
