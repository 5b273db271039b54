"""The practice journal: every attempt at a session, kept on this machine across kernels.

An *attempt* is one evidence record (:class:`course.evidence.Recorder`): one kernel run of one session.
Working a session notebook outside grading appends *snapshots* of it to ``journal.jsonl`` in
``platformdirs.user_data_dir("sysdesign-lab")`` (``COURSE_JOURNAL_DIR`` names another folder), one JSON
line each (:func:`snapshot` lists the fields); readers keep the last snapshot per attempt (:func:`attempts`).

When: :func:`follow` (called by ``evidence.start`` in the set-up cell) listens to the record. After a cell
or a widget's click that changed it, a snapshot is written at once when a check try was counted or the
self-rating changed, otherwise at most one per :data:`THROTTLE_SECONDS`; the last one at kernel exit
(``atexit``: a shutdown or restart from JupyterLab). Only a killed kernel can miss the changes of its last
two seconds. Nothing is written before there is work to record (a check tried, a question asked or
answered, a rating), for a record with no session, or under grading (:func:`course.runtime.is_grading`).

Safety: the file is only ever appended to (:mod:`course.jsonl`: a torn line stays on its own, bad lines are
skipped and counted by the reader). A journal that cannot be written, or whose end is damaged, prints
one line under the next cell (once per kernel) and nothing else: no exception, no stderr, no failed check.

Command line: ``python -m course journal`` (a table), ``--json`` (the attempts as a JSON list), ``--path``.
"""

from __future__ import annotations

import argparse
import atexit
import json
import math
import os
import sys
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import evidence as _evidence
from . import jsonl
from .runtime import is_grading

__all__ = ["MISTAKE_LABELS", "VERSION", "THROTTLE_SECONDS", "journal_path", "attempts", "read", "snapshot",
           "follow", "table", "main"]

#: The snapshot format's version (the ``"v"`` of every line).
VERSION = 1
#: Snapshots of one attempt are at least this far apart, unless a check try was counted or a rating changed.
THROTTLE_SECONDS = 2.0
#: A short label for each mistake kind a failed check diagnoses (:attr:`course.checks.Diagnosis.kind`).
MISTAKE_LABELS: Mapping[str, str] = {
    "bits_bytes": "bits vs bytes (×8)",
    "unit_prefix": "unit prefix (×1000)",
    "binary_decimal": "binary vs decimal units",
    "time_unit": "time unit (per s / min / h / day)",
    "seconds_per_day": "10⁵ s/day shortcut",
    "seconds_per_month": "2.5 M s/month shortcut",
    "forgotten_peak": "forgotten peak factor",
    "forgotten_replication": "forgotten replication factor",
    "forgotten_factor": "forgotten scenario factor",
    "factor_misapplied": "scenario factor applied twice",
}
_TAIL_BYTES = 64 * 1024  # how much of the journal's end a kernel checks for damage before its first write


def journal_path() -> Path:
    """Where the journal is: ``$COURSE_JOURNAL_DIR/journal.jsonl``, else in the user's data folder."""
    folder = os.environ.get("COURSE_JOURNAL_DIR")
    if not folder:
        from platformdirs import user_data_dir

        folder = user_data_dir("sysdesign-lab", appauthor=False)
    return Path(folder).expanduser() / "journal.jsonl"


# ---------------------------------------------------------------------------------------------------
# Reading


def read(path: Path | None = None) -> tuple[list[dict], int]:
    """The last snapshot of every attempt, oldest first, and how many damaged lines were skipped."""
    entries, bad = jsonl.read(journal_path() if path is None else Path(path))
    latest: dict[str, dict] = {}
    for entry in entries:
        attempt = entry.get("attempt")
        if entry.get("v") == VERSION and isinstance(attempt, str) and isinstance(entry.get("session"), str):
            latest[attempt] = entry  # an attempt keeps the place of its first snapshot
    return sorted(latest.values(), key=lambda e: str(e.get("started", ""))), bad


def attempts(path: Path | None = None) -> list[dict]:
    """The last snapshot of every attempt in the journal (default: :func:`journal_path`), oldest first."""
    return read(path)[0]


# ---------------------------------------------------------------------------------------------------
# Writing


def snapshot(evidence: _evidence.Evidence, *, scenario: str = "sample", checks: list[str] | None = None,
             suggested_level: str | None = None) -> dict:
    """One journal line for an attempt's evidence (gathered with the session).

    Its fields: ``v``, ``attempt`` (the record's id), ``session``, ``scenario`` (``"sample"`` or
    ``"practice round N"``), ``started`` and ``updated`` (ISO-8601, UTC), ``phase_minutes`` and
    ``clock_minutes``, ``topics``, ``skills`` and ``sections`` (tries, ``passed_on``, ``passing_now``),
    ``checks_passed`` (sections passing now), ``checks_first_try``, ``checks_total``, ``mistakes`` (kind →
    count), ``key_points``, ``self_rating`` (1–3 per dimension as :func:`course.rubric.score` takes it, None
    until rated; null before the first rating) and
    ``suggested_level``. ``checks``: the labels of the session's visible check sections
    (``sample["sections"]``), which the three ``checks_*`` count; default every section recorded.
    """
    sections = evidence.sections
    listed = list(sections) if checks is None else checks
    counted = [sections[label] for label in listed if label in sections]
    return {
        "v": VERSION,
        "attempt": evidence.attempt,
        "session": evidence.session_id,
        "scenario": scenario,
        "started": _iso(evidence.since),
        "updated": _iso(evidence.updated),
        "phase_minutes": _minutes(evidence.phase_minutes),
        "clock_minutes": _minutes(evidence.clock_minutes),
        "topics": {"total": evidence.topics_total, "found": evidence.topics_found,
                   "unaided": evidence.topics_unaided, "hint_opened": evidence.hint_opened,
                   "questions": evidence.questions_asked},
        "skills": {name: _tries(record) for name, record in evidence.skills.items()},
        "sections": {label: {"skill": record.skill, **_tries(record)} for label, record in sections.items()},
        "checks_passed": sum(record.passing_now for record in counted),
        "checks_first_try": sum(record.passed_on == 1 for record in counted),
        "checks_total": len(listed),
        "mistakes": dict(evidence.mistakes),
        "key_points": {"total": evidence.key_points_total, "covered": evidence.key_points_covered,
                       "best": evidence.key_points_best, "answered": evidence.questions_answered,
                       "questions": evidence.questions_total},
        "self_rating": None if evidence.self_rating is None else dict(evidence.self_rating),
        "suggested_level": suggested_level,
    }


def _iso(seconds: float | None) -> str | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="seconds")


def _minutes(minutes: Mapping[str, float]) -> dict[str, float]:
    return {phase: round(value, 2) for phase, value in minutes.items() if math.isfinite(value)}


def _tries(record: _evidence.SkillEvidence) -> dict[str, Any]:
    return {"tries": record.tries, "passed_on": record.passed_on, "passing_now": record.passing_now}


def _worked(evidence: _evidence.Evidence) -> bool:
    """Something worth an attempt: a check tried, a question asked or answered, a mistake, a rating."""
    return bool(any(s.tries for s in evidence.skills.values()) or evidence.questions_asked
                or evidence.questions_answered or evidence.mistakes or evidence.self_rating)


def _snapshot_of(recorder: _evidence.Recorder) -> dict | None:
    """The recorder's snapshot, or None while there is nothing to record."""
    if recorder.session_id is None:
        return None
    session = recorder.session
    found = recorder.summary(session)
    if not _worked(found):
        return None
    sample = getattr(session, "sample", None)
    listed = sample.get("sections") if isinstance(sample, Mapping) else None
    checks = [s["label"] for s in listed if isinstance(s, Mapping) and "label" in s] if listed else None
    scenario = getattr(session, "scenario", "sample")
    return snapshot(found, scenario=scenario if isinstance(scenario, str) else "sample", checks=checks,
                    suggested_level=_suggested_level(found))


def _suggested_level(found: _evidence.Evidence) -> str | None:
    if found.empty:
        return None
    try:
        from .rubric import suggest  # loaded by the wrap-up anyway; not by the command line

        return suggest(found).result.level
    except Exception:  # noqa: BLE001 - an attempt without its suggestion beats no attempt
        return None


@dataclass
class _Mark:
    """What was last written for one attempt, where, and when (monotonic seconds) it was last tried."""

    version: int = -1
    milestones: int = 0
    tried_at: float = -math.inf
    path: Path | None = None


_marks: weakref.WeakKeyDictionary[_evidence.Recorder, _Mark] = weakref.WeakKeyDictionary()
_checked: set[Path] = set()  # journals whose end this kernel checked for damage
_problem: str | None = None  # what to tell the student, once per kernel
_warned = False
_at_exit_registered = False


def follow() -> None:
    """Record this kernel's attempts in the journal (see the module docstring for when). Idempotent."""
    global _at_exit_registered
    if is_grading():
        return
    _evidence.listen(_on_change)
    if not _at_exit_registered:
        atexit.register(_flush_all)
        _at_exit_registered = True


def _on_change(recorder: _evidence.Recorder, after_cell: bool) -> None:
    """The evidence listener: a few microseconds unless a snapshot is due."""
    mark = _marks.get(recorder)
    if mark is None:
        mark = _marks[recorder] = _Mark(path=_resolve())
    if recorder.version != mark.version and (
            recorder.milestones != mark.milestones or time.monotonic() - mark.tried_at >= THROTTLE_SECONDS):
        _write(recorder, mark)
    if after_cell and _problem is not None and not _warned:
        _warn()


def _resolve() -> Path | None:
    """The journal of a new attempt: it stays there, even at exit (None, and a warning, when there is none)."""
    try:
        return journal_path()
    except Exception as exc:  # noqa: BLE001 - no platformdirs, no home folder...
        _cannot_write("the journal", exc)
        return None


def _write(recorder: _evidence.Recorder, mark: _Mark, *, durable: bool = False) -> None:
    global _problem
    mark.tried_at, mark.milestones = time.monotonic(), recorder.milestones
    version = recorder.version
    entry = None if is_grading() else _snapshot_of(recorder)
    if entry is None or mark.path is None:
        mark.version = version
        return
    try:
        if mark.path not in _checked:
            _checked.add(mark.path)
            _, bad = jsonl.read(mark.path, last_bytes=_TAIL_BYTES)
            if bad and _problem is None:
                _problem = (f"Practice journal: {bad} damaged line{'s' if bad > 1 else ''} near the end of "
                            f"{mark.path} {'were' if bad > 1 else 'was'} skipped (an interrupted write?). "
                            "Nothing recorded before is lost, and this attempt is added after them.")
        jsonl.append(mark.path, entry, durable=durable)  # fsync (milliseconds) only at exit
        mark.version = version
    except (OSError, ValueError) as exc:
        _cannot_write(str(mark.path), exc)


def _cannot_write(where: str, exc: BaseException) -> None:
    global _problem
    if _problem is None or "damaged" in _problem:  # being unable to write matters more
        if isinstance(exc, OSError) and exc.strerror:
            reason = exc.strerror + (f": {exc.filename}" if exc.filename and str(exc.filename) != where else "")
        else:
            reason = f"{type(exc).__name__}: {exc}"
        _problem = (f"Practice journal: cannot write {where} ({reason}), so this attempt is not saved. Your "
                    "work and checks are unaffected. To keep a journal, make that folder writable or set "
                    "COURSE_JOURNAL_DIR to one that is, then restart the kernel.")


def _warn() -> None:
    """Tell the student once per kernel, on stdout (it shows under the cell; stderr never)."""
    global _warned
    _warned = True
    print(f"⚠ {_problem}")


def _flush_all() -> None:
    """At exit: the last snapshot of every attempt with changes not yet written."""
    if is_grading():
        return
    for recorder, mark in list(_marks.items()):
        try:
            if recorder.version != mark.version:
                _write(recorder, mark, durable=True)
        except Exception:  # noqa: BLE001 - never a traceback at kernel exit
            pass


# ---------------------------------------------------------------------------------------------------
# The command line


def table(found: list[dict]) -> str:
    """The attempts as a text table: when, session, scenario, checks passed/total, first try, minutes,
    suggested level and the most frequent mistake."""
    header = ("when", "session", "scenario", "checks", "first try", "minutes", "level", "top mistake")
    rows = [header] + [_row(entry) for entry in found]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)


def _row(entry: dict) -> tuple[str, ...]:
    try:
        when = datetime.fromisoformat(str(entry.get("started"))).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        when = "?"
    minutes = entry.get("phase_minutes") if isinstance(entry.get("phase_minutes"), dict) else {}
    total = sum(v for v in minutes.values() if isinstance(v, (int, float)))
    mistakes = entry.get("mistakes") if isinstance(entry.get("mistakes"), dict) else {}
    order = list(MISTAKE_LABELS)
    counts = [(-n, order.index(kind) if kind in order else len(order), kind)
              for kind, n in mistakes.items() if isinstance(n, int) and n > 0]
    top = ""
    if counts:
        n, _, kind = min(counts)  # the most frequent; on a tie, the first in MISTAKE_LABELS
        top = f"{MISTAKE_LABELS.get(kind, kind)} ×{-n}"
    return (when, str(entry.get("session", "?")), str(entry.get("scenario", "sample")),
            f"{entry.get('checks_passed', 0)}/{entry.get('checks_total', 0)}", str(entry.get("checks_first_try", 0)),
            f"{total:.0f}", str(entry.get("suggested_level") or "–"), top)


def main(argv: list[str] | None = None) -> int:
    """``python -m course journal [--json | --path]``."""
    parser = argparse.ArgumentParser(prog="python -m course journal",
                                     description="Every practice attempt recorded on this machine, oldest first.")
    parser.add_argument("--json", action="store_true",
                        help="print the attempts as a JSON list (each one's last snapshot)")
    parser.add_argument("--path", action="store_true", help="print where the journal is kept")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    path = journal_path()
    if args.path:
        print(path)
        return 0
    found, bad = read(path)
    if bad:
        print(f"{bad} damaged line{'s' if bad > 1 else ''} in {path} skipped.", file=sys.stderr)
    if args.json:
        print(json.dumps(found, indent=1, ensure_ascii=False))
    elif found:
        print(table(found))
    else:
        print(f"No practice attempt recorded yet in {path}.")
    return 0
