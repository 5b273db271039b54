"""Practice rounds: the same interview again, with new numbers.

``python -m course practice session1_chat`` (or ``practise_again("session1_chat")`` in the plan notebook)
copies the released notebook, unanswered, into ``work/practice/session1_chat-round<N>/`` beside a
``practice.json`` naming the round. In that folder, ``load_session`` gives the interviewer the round's
figures (:func:`course.scenarios.practice_scenario`: the same for everyone, new every round), and the
assumptions check compares with them.

The round's *expected* figures are never written anywhere: the reference computes them in a process of
its own (``course.grading.oracle``), asked one figure at a time when a check runs. That needs the
course's ``source/`` (a self-learner's clone has it; a class set-up does not, and then the round's
figures are verified by the self-check, ``python -m course selfcheck``, or by the grader). The
self-check of a practice notebook verifies it on the round's scenario, outside the kernel.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import select
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from .errors import CourseInputError

__all__ = ["PRACTICE_FILE", "round_here", "round_scenario", "practice_file", "new_round", "practise_again", "Oracle", "oracle", "main"]

ROOT = Path(__file__).resolve().parent.parent
PRACTICE_FILE = "practice.json"
ORACLE_TIMEOUT = 60.0  # seconds for one answer (the first one loads the reference: a few seconds)


def practice_file(notebook: str | Path) -> Path:
    """The ``practice.json`` beside a notebook (it may not exist)."""
    return Path(notebook).resolve().parent / PRACTICE_FILE


def round_here(session_id: str, folder: str | Path | None = None) -> int | None:
    """The practice round of ``session_id`` that ``folder`` (default: the kernel's working folder) holds,
    or None for the session itself. An unreadable or foreign ``practice.json`` is not a round."""
    path = Path(folder or os.getcwd()) / PRACTICE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    number = data.get("round") if isinstance(data, dict) else None
    if data.get("session") != session_id or not isinstance(number, int) or isinstance(number, bool) or number < 1:
        return None
    return number


def round_scenario(session_id: str, number: int, sample: dict | None = None) -> dict[str, str]:
    """The scenario of practice round ``number`` of a session, from its sample data (``sample``, read from
    ``course/data/<id>.sample.json`` when not given), keeping what the session keeps."""
    __tracebackhide__ = True
    from .content import DATA
    from .scenarios import practice_scenario

    if sample is None:
        try:
            sample = json.loads((DATA / f"{session_id}.sample.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise CourseInputError(f"no sample scenario for session {session_id!r}") from None
    return practice_scenario(session_id, number, sample["assumptions"], keep=sample.get("practice_keep", ()))


def _work(root: Path) -> Path:
    return root / "work"


def new_round(session_id: str, *, work: str | Path | None = None, root: Path = ROOT) -> Path:
    """Start the next practice round of a session; returns its notebook (a fresh copy of the release)."""
    __tracebackhide__ = True
    released = root / "release" / session_id / f"{session_id}.ipynb"
    if not released.is_file():
        known = sorted(p.name for p in (root / "release").iterdir() if p.is_dir()) if (root / "release").is_dir() else []
        raise CourseInputError(f"no session {session_id!r} to practise; the sessions are: {', '.join(known) or 'none'}")
    base = Path(work) if work else _work(root)
    folder_root = base / "practice"
    folder_root.mkdir(parents=True, exist_ok=True)
    number = 1
    while True:
        folder = folder_root / f"{session_id}-round{number}"
        try:
            folder.mkdir()
            break
        except FileExistsError:
            number += 1
    shutil.copy(released, folder / released.name)
    (folder / PRACTICE_FILE).write_text(json.dumps({"session": session_id, "round": number}) + "\n", encoding="utf-8")
    return folder / released.name


def practise_again(session_id: str, *, work: str | Path | None = None) -> Any:
    """For the plan notebook: start a new round and show a link to open it."""
    __tracebackhide__ = True
    from IPython.display import HTML

    here = Path(work or os.getcwd())
    notebook = new_round(session_id, work=here)
    relative = notebook.relative_to(here).as_posix()
    return HTML(f'<p>New practice round: <a href="{html.escape(relative)}" target="_blank">'
                f"<code>{html.escape(relative)}</code></a>. Open it, and ask the interviewer again: the numbers "
                "have changed.</p>")


class Oracle:
    """The reference's figures for a practice round, from ``python -m course.grading.oracle`` (one process
    per kernel, started on first use). :meth:`expected` gives None where there is no oracle."""

    def __init__(self, root: Path = ROOT) -> None:
        self.root = root
        self._process: subprocess.Popen | None = None
        self.unavailable = "" if (root / "source").is_dir() else "this machine has no reference solutions"

    def expected(self, session_id: str, name: str, scenario: dict[str, str]) -> Any:
        """The reference's plain value of estimate ``name`` on ``scenario``, or None (see :attr:`unavailable`)."""
        if self.unavailable:
            return None
        try:
            process = self._start()
            process.stdin.write(json.dumps({"session": session_id, "name": name, "scenario": scenario}) + "\n")
            process.stdin.flush()
            ready, _, _ = select.select([process.stdout], [], [], ORACLE_TIMEOUT)
            line = process.stdout.readline() if ready else ""
            reply = json.loads(line) if line else {"error": "no answer from the oracle"}
        except (OSError, ValueError) as exc:
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        if "value" not in reply:
            self.close()
            self.unavailable = str(reply.get("error") or "the oracle failed")
            return None
        return reply["value"]

    def _start(self) -> subprocess.Popen:
        if self._process is None or self._process.poll() is not None:
            env = {**os.environ, "MPLBACKEND": "Agg"}
            self._process = subprocess.Popen(
                [sys.executable, "-m", "course.grading.oracle", str(self.root)], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=str(self.root), env=env)
        return self._process

    def close(self) -> None:
        if self._process is not None:
            try:
                self._process.kill()
                self._process.wait(timeout=5)
            except Exception:  # noqa: BLE001
                pass
            self._process = None


_ORACLE: Oracle | None = None


def oracle() -> Oracle:
    """This kernel's oracle."""
    global _ORACLE
    if _ORACLE is None:
        _ORACLE = Oracle()
    return _ORACLE


def decode(value: Any) -> Any:
    """The oracle's plain value as the check wants it: a quantity for ``{"$q": ...}``, else as is."""
    if isinstance(value, dict) and "$q" in value:
        from .units import Quantity

        magnitude, units = value["$q"]
        return Quantity(magnitude, units)
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course practice", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("session", help="the session to practise again, e.g. session1_chat")
    parser.add_argument("--work", type=Path, help="the student's folder (default: work/ in the course)")
    args = parser.parse_args(argv)
    try:
        notebook = new_round(args.session, work=args.work)
    except CourseInputError as exc:
        print(f"practice: {exc}", file=sys.stderr)
        return 2
    print(f"New practice round: {notebook}")
    print("Open it in JupyterLab (make start) and ask the interviewer again: the numbers have changed.")
    print(f"Verify it with the hidden checks: python -m course selfcheck {notebook}")
    return 0
