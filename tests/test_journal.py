"""The practice journal: Session 1 worked twice in real kernels leaves two attempts the command line lists;
the file survives a kill mid-write and corruption; an unwritable journal warns once and breaks nothing;
the mistake kinds of real failed checks are counted; nothing is written under grading."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import types
import weakref
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from course import evidence, journal, jsonl, submissions
from course.checks import diagnose
from course.content import load_session
from course.rubric import DIMENSIONS, RubricWidget, score
from tests.helpers import ROOT, release_nb, source_nb

SESSION_ID = "session1_chat"
SESSION = load_session(SESSION_ID)
EXPECTED = SESSION.sample["expected"]
LABELS = [s["label"] for s in SESSION.sample["sections"]]
SET_UP = f"""\
from course.units import q
from course.checks import public_checks_passed
from course import evidence
from course.content import load_session
SESSION = load_session({SESSION_ID!r})
check = SESSION.check
evidence.start(SESSION)
"""


@pytest.fixture(autouse=True)
def live(monkeypatch, tmp_path):
    """A student's kernel (no grading), a journal of its own, and the journal's per-kernel state afresh."""
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("COURSE_STATIC_WIDGETS", raising=False)
    monkeypatch.setenv("COURSE_JOURNAL_DIR", str(tmp_path / "journal"))
    monkeypatch.setattr(journal, "_marks", weakref.WeakKeyDictionary())
    monkeypatch.setattr(journal, "_checked", set())
    monkeypatch.setattr(journal, "_problem", None)
    monkeypatch.setattr(journal, "_warned", False)
    evidence.reset()
    yield tmp_path / "journal" / "journal.jsonl"
    evidence.reset()


def run(shell, code: str):
    result = shell.run_cell(code)
    if "evidence.start(" in code:
        evidence.install(shell)  # this shell, not IPython's global one
    return result


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")


def course_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "course", *args], cwd=ROOT, capture_output=True, text=True,
                          env=env or os.environ.copy(), timeout=120)


# ---------------------------------------------------------------------------------------------------
# The "done when": Session 1 worked twice, in real kernels


def _work(nb: nbformat.NotebookNode, *, allow_errors: bool) -> nbformat.NotebookNode:
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=allow_errors,
                   resources={"metadata": {"path": str(release_nb(SESSION_ID).parent)}}).execute()
    return nb


@pytest.fixture
def worked_twice(live):
    release = submissions.read(release_nb(SESSION_ID))
    source = submissions.read(source_nb(SESSION_ID))
    answers = submissions.answer_ids(release)
    done = _work(submissions.fill(release, source), allow_errors=False)
    half = _work(submissions.fill(release, source, answers[: len(answers) // 2]), allow_errors=True)
    return live, done, half


def test_working_session1_twice_leaves_two_attempts_the_command_line_lists(worked_twice):
    path, done, _ = worked_twice
    listed = course_cli("journal", "--json")
    assert listed.returncode == 0, listed.stderr
    full, half = json.loads(listed.stdout)  # oldest first
    assert full["session"] == half["session"] == SESSION_ID and full["attempt"] != half["attempt"]
    assert full["scenario"] == "sample" and full["started"] <= full["updated"] and full["started"] <= half["started"]
    assert full["checks_total"] == half["checks_total"] == len(LABELS)
    assert full["checks_passed"] > half["checks_passed"] > 0
    ran = {label for cell in done.cells for label in LABELS if f"public_checks_passed('{label}')" in cell.source
           or f'public_checks_passed("{label}")' in cell.source}
    assert full["checks_passed"] == full["checks_first_try"] == len(ran)  # every check cell passed at its first run
    assert {label for label, s in full["sections"].items() if s["passed_on"] == 1} == ran
    assert full["sections"]["traffic"] == {"skill": "traffic", "tries": 1, "passed_on": 1, "passing_now": True}
    assert full["skills"]["traffic"]["tries"] == 2  # the traffic and the connections sections
    # The half-done run: its first answers pass, the later ones are stubs, never tried.
    assert half["sections"]["the assumptions"]["passing_now"] and half["sections"]["ordering"]["tries"] == 0
    assert half["skills"]["schema"] == {"tries": 0, "passed_on": None, "passing_now": False}
    questions = len(SESSION.deep_dive)
    assert full["key_points"]["answered"] == full["key_points"]["questions"] == questions
    assert half["key_points"]["answered"] == 0
    assert full["suggested_level"] in ("L3", "L4", "L5-L6") and full["self_rating"] is None
    assert full["mistakes"] == {} and full["topics"]["total"] == len(SESSION.clarifications)
    # The wrap-up, the last cell, ran within the throttle of the ordering check: the exit snapshot has it.
    assert "Wrap-up" in full["phase_minutes"] and "Detailed design" in full["phase_minutes"]
    # Only whole lines, one attempt per kernel; the table names both.
    assert all(json.loads(line) for line in path.read_text().splitlines())
    table = course_cli("journal")
    rows = [line for line in table.stdout.splitlines() if SESSION_ID in line]
    assert len(rows) == 2 and f"{full['checks_passed']}/{len(LABELS)}" in rows[0]
    assert f"{half['checks_passed']}/{len(LABELS)}" in rows[1]
    assert course_cli("journal", "--path").stdout.strip() == str(path)


# ---------------------------------------------------------------------------------------------------
# Crash safety


APPENDER = textwrap.dedent("""\
    import itertools, sys
    from course import jsonl
    for i in itertools.count():
        jsonl.append(sys.argv[1], {"v": 1, "attempt": f"{i:032x}", "session": "session1_chat",
                                   "started": "2026-01-01T00:00:00+00:00", "pad": "x" * 3000}, durable=False)
""")


def test_a_kill_during_writes_loses_no_earlier_attempt_and_the_next_write_has_its_own_line(live, shell):
    live.parent.mkdir(parents=True)
    proc = subprocess.Popen([sys.executable, "-c", APPENDER, str(live)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while (not live.exists() or live.read_bytes().count(b"\n") < 300) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    whole = live.read_bytes().count(b"\n")
    assert whole >= 300
    with open(live, "ab") as handle:
        handle.write(b'{"v": 1, "attempt": "torn-by-a-kill", "sess')  # a write cut short
    before = live.read_bytes()
    run(shell, SET_UP)
    run(shell, "check('messages_per_second', q(SESSION.sample['expected']['messages_per_second']))\n"
               "public_checks_passed('traffic')")
    after = live.read_bytes()
    assert after.startswith(before)  # appended, never rewritten
    found, bad = journal.read(live)
    assert {f"{i:032x}" for i in range(whole)} <= {a["attempt"] for a in found}
    assert bad == 1  # the torn line (joined by the rest of a line the kill may have cut)
    last = json.loads(lines_of(live)[-2])
    assert last["session"] == SESSION_ID and last["sections"]["traffic"]["passed_on"] == 1
    assert found[-1]["attempt"] == last["attempt"] and len(found) == whole + 1


def test_a_corrupt_journal_keeps_its_attempts_warns_once_and_takes_new_lines(live, shell, capsys):
    live.parent.mkdir(parents=True)
    old = {"v": 1, "attempt": "a" * 32, "session": "session2_url_shortener", "started": "2026-01-01T00:00:00+00:00",
           "checks_passed": 3, "checks_total": 9}
    live.write_bytes(json.dumps(old).encode() + b"\n"
                     + b"\x00\x01 garbage \xfe\xff\n"  # garbage bytes
                     + b'{"v": 1, "attempt": "\xff\xfe", "session": "x"}\n'  # invalid UTF-8
                     + b'{"v": 1, "attempt": "bbbb", "se')  # a truncated last line
    before = live.read_bytes()
    run(shell, SET_UP)
    for _ in range(3):
        result = run(shell, "check('messages_per_second', q(SESSION.sample['expected']['messages_per_second']))\n"
                            "public_checks_passed('traffic')")
        assert result.success
    out = capsys.readouterr().out
    assert out.count("Practice journal") == 1 and "3 damaged lines" in out
    assert live.read_bytes().startswith(before)
    found, bad = journal.read(live)
    assert bad == 3
    assert [a["session"] for a in found] == ["session2_url_shortener", SESSION_ID]
    assert found[0] == old and found[1]["sections"]["traffic"]["tries"] == 3
    assert all(json.loads(line) for line in lines_of(live)[4:-1])  # every new snapshot is a whole line


def test_an_unwritable_journal_warns_once_in_a_real_kernel_and_every_cell_runs(live, monkeypatch):
    blocker = live.parent.parent / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("COURSE_JOURNAL_DIR", str(blocker / "journal"))  # unwritable, even for root
    nb = _work(submissions.fill(submissions.read(release_nb(SESSION_ID)), submissions.read(source_nb(SESSION_ID))),
               allow_errors=False)
    outputs = [o for cell in nb.cells for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    assert not [o for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    warnings = [o.text for o in outputs if o.output_type == "stream" and "Practice journal" in o.text]
    assert len(warnings) == 1 and warnings[0].count("Practice journal") == 1
    assert "cannot write" in warnings[0] and "COURSE_JOURNAL_DIR" in warnings[0]
    assert "Your work and checks are unaffected" in warnings[0]


def test_an_unwritable_journal_in_a_shell_warns_once_and_raises_nothing(live, shell, capsys, monkeypatch):
    blocker = live.parent.parent / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("COURSE_JOURNAL_DIR", str(blocker))
    assert run(shell, SET_UP).success
    for label in ("traffic", "traffic", "storage"):
        cell = f"check('messages_per_second', q('1 msg/s'))\npublic_checks_passed({label!r})"
        assert run(shell, cell).success is False
        assert run(shell, "1 + 1").success
    out = capsys.readouterr().out
    assert out.count("⚠ Practice journal: cannot write") == 1
    assert evidence.gather().skill("traffic").tries == 2  # the evidence goes on


# ---------------------------------------------------------------------------------------------------
# What an attempt records


def _snapshots(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_mistake_kinds_are_counted_from_real_failed_checks(live, shell):
    run(shell, SET_UP)
    wrong = {
        "ingress_bandwidth": "q(E['ingress_bandwidth']).to('MB/s') * 8",  # bits for bytes
        "storage_per_day": "q(E['storage_per_day']) * 1000",  # a unit prefix
        "peak_messages_per_second": "q(E['messages_per_second'])",  # the peak factor forgotten
        "replicated_storage": "q(E['history_storage'])",  # the replication factor forgotten
        "messages_per_second": "q(E['messages_per_second']) * 86400 / 1e5",  # 10^5 s per day
        "peak_egress_bandwidth": "q(E['egress_bandwidth']).to('MB/s') * 8",  # bits and no peak: 8/3
    }
    run(shell, "E = SESSION.sample['expected']")
    for name, got in wrong.items():
        assert not run(shell, f"check({name!r}, {got})\npublic_checks_passed('whatever')").success
    last = _snapshots(live)[-1]
    assert last["mistakes"] == {"bits_bytes": 2, "unit_prefix": 1, "forgotten_peak": 2, "forgotten_replication": 1,
                                "seconds_per_day": 1}
    assert set(last["mistakes"]) <= set(journal.MISTAKE_LABELS)


def test_every_kind_the_diagnosis_knows_has_a_label():
    factors = {"peak factor": 3, "replication factor": 3, "read write ratio": 2, "retention of 30 days": 30}
    ratios = [8, 1 / 8, 1000, 1e-6, 1.024, 60, 1 / 3600, 24, 1e5 / 86400, 2.592 / 2.5, 365, 1 / 2, 2, 30, 1 / 3]
    kinds = {k for r in ratios for d in diagnose(r, factors, about="x") for k in d.kinds}
    assert kinds == set(journal.MISTAKE_LABELS)
    assert all(label and len(label) <= 40 for label in journal.MISTAKE_LABELS.values())


def test_writes_are_throttled_unless_a_check_try_counts_and_the_rest_is_written_at_exit(live, shell, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(journal, "time", types.SimpleNamespace(monotonic=lambda: clock[0]))
    run(shell, SET_UP)
    run(shell, "x = 1")
    assert not live.exists()  # nothing worked on yet: no attempt
    for _ in range(2):  # each counted try is written at once
        run(shell, "check('messages_per_second', q('1 msg/s'))\npublic_checks_passed('traffic')")
    assert len(_snapshots(live)) == 2
    for _ in range(5):  # plain cells within the throttle: nothing more
        run(shell, "x = 2")
    assert len(_snapshots(live)) == 2
    clock[0] += journal.THROTTLE_SECONDS
    run(shell, "x = 3")
    run(shell, "x = 4")
    assert len(_snapshots(live)) == 3
    journal._flush_all()  # what atexit calls
    assert len(_snapshots(live)) == 4
    journal._flush_all()  # nothing changed since
    assert len(_snapshots(live)) == 4
    assert _snapshots(live)[-1]["updated"] >= _snapshots(live)[0]["updated"]


EXIT_SCRIPT = textwrap.dedent("""\
    from course import evidence, journal
    from course.content import load_session
    journal.THROTTLE_SECONDS = 3600  # only a milestone or the exit writes
    session = load_session("session1_chat")
    evidence.start(session)
    topics = [c.topic for c in session.clarifications]
    evidence.note_asked(topics, topics[:1])  # the first work: written at once
    evidence.note_hint(topics)
    evidence.note_asked(topics, topics[1:3])
""")


def test_the_last_snapshot_is_written_at_exit(live):
    done = subprocess.run([sys.executable, "-c", EXIT_SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout == done.stderr == "", done.stderr
    first, last = _snapshots(live)
    assert first["attempt"] == last["attempt"]
    assert first["topics"]["questions"] == 1 and not first["topics"]["hint_opened"]
    assert last["topics"] == {"total": len(SESSION.clarifications), "found": 3, "unaided": 1, "hint_opened": True,
                              "questions": 2}


def test_the_self_rating_and_the_suggested_level_are_recorded(live, shell):
    run(shell, SET_UP)
    run(shell, "check('messages_per_second', q(SESSION.sample['expected']['messages_per_second']))\n"
               "public_checks_passed('traffic')")
    assert _snapshots(live)[-1]["self_rating"] is None and _snapshots(live)[-1]["suggested_level"] == "L3"
    widget = RubricWidget(session=SESSION)
    widget.toggles["Communication"].value = 3  # a click: written at once, no cell needed
    assert _snapshots(live)[-1]["self_rating"] == {d.name: (3 if d.name == "Communication" else None)
                                                   for d in DIMENSIONS}
    for d in DIMENSIONS:
        widget.toggles[d.name].value = 2
    last = _snapshots(live)[-1]
    assert last["self_rating"] == {d.name: 2 for d in DIMENSIONS}
    assert score(last["self_rating"]).level == "L4"  # what the wrap-up showed, from the journal alone
    assert last["suggested_level"] == widget.suggestion.result.level


def test_an_attempt_is_one_record_a_new_session_or_restart_starts_another(live, shell):
    run(shell, SET_UP)
    run(shell, "check('messages_per_second', q('1 msg/s'))\npublic_checks_passed('traffic')")
    run(shell, SET_UP)  # the set-up cell again: the same attempt
    run(shell, "check('messages_per_second', q('1 msg/s'))\npublic_checks_passed('traffic')")
    run(shell, "SESSION = load_session('session2_url_shortener')\nevidence.start(SESSION)")
    run(shell, "SESSION.check('write_qps', q('1 req/s'))\npublic_checks_passed('traffic')")
    evidence.reset()  # what a kernel restart does
    run(shell, SET_UP)
    run(shell, "check('messages_per_second', q('1 msg/s'))\npublic_checks_passed('traffic')")
    found = journal.attempts(live)
    assert [(a["session"], a["sections"]["traffic"]["tries"]) for a in found] == [
        (SESSION_ID, 2), ("session2_url_shortener", 1), (SESSION_ID, 1)]
    assert len({a["attempt"] for a in found}) == 3


# ---------------------------------------------------------------------------------------------------
# Off under grading


@pytest.mark.parametrize("variable", ["NBGRADER_EXECUTION", "COURSE_STATIC_WIDGETS"])
def test_nothing_is_written_under_grading(live, shell, monkeypatch, variable):
    monkeypatch.setenv(variable, "autograde")
    run(shell, SET_UP)
    run(shell, "check('messages_per_second', q('1 msg/s'))\npublic_checks_passed('traffic')")
    journal._flush_all()
    assert not live.exists() and not live.parent.exists()


def test_nothing_is_written_by_the_autograders_kernel(live, monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    _work(submissions.fill(submissions.read(release_nb(SESSION_ID)), submissions.read(source_nb(SESSION_ID))),
          allow_errors=False)
    assert not live.parent.exists()


# ---------------------------------------------------------------------------------------------------
# Reading and the command line


def test_readers_take_each_attempts_last_snapshot_oldest_first(live):
    for attempt, started, passed in [("b", "2026-01-02T00:00:00+00:00", 1), ("a", "2026-01-01T00:00:00+00:00", 2),
                                     ("b", "2026-01-02T00:00:00+00:00", 5)]:
        jsonl.append(live, {"v": 1, "attempt": attempt, "session": "s", "started": started, "checks_passed": passed})
    jsonl.append(live, {"v": 2, "attempt": "c", "session": "s", "started": "2026-01-03T00:00:00+00:00"})  # later format
    jsonl.append(live, {"v": 1, "attempt": "d"})  # no session
    assert [(a["attempt"], a["checks_passed"]) for a in journal.attempts(live)] == [("a", 2), ("b", 5)]
    assert journal.attempts(live.parent / "missing.jsonl") == []


def test_the_table_names_the_top_mistake_and_says_when_there_is_nothing(live):
    empty = course_cli("journal")
    assert empty.returncode == 0 and "No practice attempt recorded yet" in empty.stdout
    assert json.loads(course_cli("journal", "--json").stdout) == []
    entry = {"v": 1, "attempt": "a", "session": "session1_chat", "scenario": "practice round 2",
             "started": "2026-01-01T09:30:00+00:00", "checks_passed": 7, "checks_total": 9, "checks_first_try": 4,
             "phase_minutes": {"Requirements": 4.4, "Estimation": 10.2}, "suggested_level": "L4",
             "mistakes": {"unit_prefix": 1, "forgotten_peak": 3, "bits_bytes": 3}}
    jsonl.append(live, entry)
    with open(live, "ab") as handle:
        handle.write(b"garbage\n")
    shown = course_cli("journal")
    row = shown.stdout.splitlines()[1]
    for text in ("session1_chat", "practice round 2", "7/9", "  4  ", "15", "L4", "bits vs bytes (×8) ×3"):
        assert text in row
    assert "1 damaged line" in shown.stderr
