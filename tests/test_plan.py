"""The three-week plan (course.plan), its command line and the plan notebook, on fixture journals.

A fixture journal is what ``course.journal`` writes: one JSON line per attempt snapshot in
``$COURSE_JOURNAL_DIR/journal.jsonl``. :func:`attempt` builds one attempt the way the journal records it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import nbformat
import pytest

from authoring.build import render_plan
from authoring.sessions import SESSIONS
from course import plan, start
from course.errors import CourseInputError
from course.evidence import SKILLS
from course.timeline import PHASES

ROOT = Path(__file__).resolve().parent.parent
ESTIMATES = ("traffic", "storage", "bandwidth")  # two check cells each in the fixtures


def attempt(session: str = "session1_chat", *, day: int = 1, scenario: str = "sample", passed: int = 11,
            total: int = 12, second_try: Iterable[str] = (), mistakes: dict[str, int] | None = None,
            rating: dict[str, int] | None = None, minutes: dict[str, float] | None = None) -> dict:
    """One journal attempt on 2026-01-``day``: every skill passed first time but those in ``second_try``."""
    late = set(second_try)
    skills = {s: {"tries": 2 if s in late else 1, "passed_on": 2 if s in late else 1, "passing_now": True}
              for s in SKILLS}
    sections = {}
    for skill in SKILLS:
        for n in range(2 if skill in ESTIMATES else 1):
            first = skill not in late or n == 1  # a weak skill misses its first cell
            sections[f"{skill} {n + 1}"] = {"skill": skill, "tries": 1 if first else 2,
                                            "passed_on": 1 if first else 2, "passing_now": True}
    stamp = f"2026-01-{day:02d}T10:00:00+00:00"
    return {"v": 1, "attempt": hashlib.sha1(f"{session} {day} {scenario}".encode()).hexdigest()[:16],
            "session": session, "scenario": scenario, "started": stamp, "updated": stamp.replace(":00:00", ":45:00"),
            "phase_minutes": minutes if minutes is not None else {p.name: float(p.minutes) for p in PHASES},
            "clock_minutes": {}, "topics": {"total": 6, "found": 5, "unaided": 4, "hint_opened": False,
                                            "questions": 7},
            "skills": skills, "sections": sections, "checks_passed": passed, "checks_first_try": passed - len(late),
            "checks_total": total, "mistakes": dict(mistakes or {}),
            "key_points": {"total": 9, "covered": 5, "best": 6, "answered": 3, "questions": 3},
            "self_rating": rating, "suggested_level": "L4"}


def write_journal(folder: Path, attempts: Iterable[dict]) -> Path:
    """``folder/journal.jsonl`` holding these attempts (each preceded by an older, emptier snapshot)."""
    from course.journal import journal_path

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / journal_path().name  # the journal's file in $COURSE_JOURNAL_DIR
    lines = []
    for entry in attempts:
        lines.append(json.dumps({**entry, "checks_passed": 0, "mistakes": {}}))  # an earlier snapshot
        lines.append(json.dumps(entry))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def forgot_peak_three_times() -> list[dict]:
    """Session 1, then three practice rounds: the peak factor forgotten in 3 of the 4, the latest included."""
    return [attempt(day=1, mistakes={"forgotten_peak": 2}),
            attempt(day=2, scenario="practice round 1", mistakes={"bits_bytes": 1}),
            attempt(day=3, scenario="practice round 2", mistakes={"forgotten_peak": 1, "bits_bytes": 1}),
            attempt(day=4, scenario="practice round 3", mistakes={"forgotten_peak": 1})]


def status(result: plan.Plan, title: str) -> str:
    return next(s.status for s in result.days if s.day.title == title)


# --- the calendar -------------------------------------------------------------------------------------


def test_the_calendar_is_the_seeds_three_weeks():
    days = plan.CALENDAR
    assert sum(d.length for d in days) == 21
    for week in (1, 2, 3):
        mine = [d for d in days if d.week == week]
        assert [(d.first, d.last) for d in mine] == [(1, 2), (3, 4), (5, 6), (7, 7)]
        assert [d.kind for d in mine] == ["design"] * 3 + [{1: "review", 2: "peer mock", 3: "full mock"}[week]]
    assert [d.title for d in days if d.kind == "design"] == [
        "chat application", "URL shortener", "Twitter feed", "Instagram", "Uber", "Dropbox", "Netflix", "YouTube",
        "WhatsApp (group chats)"]


def test_every_built_session_has_exactly_one_day_in_course_order():
    assert plan.built_sessions() == tuple(SESSIONS)
    placed = [d.session for d in plan.CALENDAR if d.session]
    assert placed == list(SESSIONS), "a new session needs its day in course.plan.CALENDAR"


# --- the next step -----------------------------------------------------------------------------------


def test_no_attempts_starts_with_session_1():
    result = plan.build_plan([])
    assert result.next.session == "session1_chat"
    assert result.next.action == "Start with Session 1 (chat application)"
    assert result.next.notebook == "session1_chat/session1_chat.ipynb"
    assert [s.status for s in result.days if s.day.week == 1] == ["next", "later", "not built yet", "later"]
    assert status(result, "Instagram") == "not built yet"
    assert "Design Instagram" in next(s.note for s in result.days if s.day.title == "Instagram")
    assert result.attempts == 0


def test_session_1_done_well_sends_the_student_to_session_2():
    result = plan.build_plan([attempt(passed=11, total=12)])
    assert status(result, "chat application") == "done"
    assert status(result, "URL shortener") == "next"
    assert result.next.session == "session2_url_shortener"
    assert result.next.text == "Session 2 (URL shortener): it is next in the plan (week 1, days 3-4)"


def test_a_session_is_done_from_a_clear_majority_of_its_checks():
    assert status(plan.build_plan([attempt(passed=8, total=12)]), "chat application") == "done"  # 2/3
    below = plan.build_plan([attempt(passed=7, total=12)])
    assert status(below, "chat application") == "next"
    assert below.next.action == "Finish Session 1 (chat application)"
    assert below.next.reason == "7 of 12 checks pass so far; two thirds of them mark it done"


def test_a_peak_factor_forgotten_again_and_again_means_a_practice_round_first():
    result = plan.build_plan(forgot_peak_three_times())
    assert result.next.text == ("Redo Session 1 as a practice round (`python -m course practice session1_chat`): "
                                "you forgot the peak factor in 3 of your last 4 attempts")
    assert result.next.command == "python -m course practice session1_chat"
    assert status(result, "URL shortener") == "next"  # the calendar waits behind the redo
    assert result.next.then == "Session 2 (URL shortener), week 1, days 3-4"


def test_a_mistake_fixed_in_the_latest_attempt_no_longer_holds_the_plan_back():
    fixed = forgot_peak_three_times() + [attempt(day=5, scenario="practice round 4")]
    assert plan.build_plan(fixed).next.session == "session2_url_shortener"
    once = [attempt(day=1), attempt(day=2, scenario="practice round 1", mistakes={"forgotten_peak": 3})]
    assert plan.build_plan(once).next.session == "session2_url_shortener"  # one attempt is no pattern


def test_a_weak_storage_skill_is_the_focus_of_the_next_session():
    attempts = [attempt(day=1, second_try=["storage"]),
                attempt(day=2, scenario="practice round 1", second_try=["storage"]),
                attempt(day=3, scenario="practice round 2")]
    assert plan.weakest_skill(attempts) == ("storage", 1, 3)
    result = plan.build_plan(attempts)
    assert result.next.text == "Session 2 (URL shortener); focus on storage: passed first time in 1 of 3 attempts"


def test_an_attempt_of_a_design_that_is_not_built_is_left_out():
    twitter = attempt("session4_twitter_feed", day=2, passed=12, total=12, rating={"Communication": 3})
    result = plan.build_plan([attempt(day=1), twitter])
    assert result.ignored == 1 and result.attempts == 1
    assert status(result, "Twitter feed") == "not built yet"
    assert result.next.session == "session2_url_shortener"
    assert all(s.status == "not built yet" for s in result.days if s.day.kind == "design" and not s.day.session)


def test_review_and_mocks_are_rated_practice_rounds_after_the_days_before_them():
    rated = {"Communication": 3, "Problem solving": 2}
    early = attempt(day=1, scenario="practice round 1", rating=rated)  # before Session 2 was done: no review
    base = [attempt(day=1), early, attempt("session2_url_shortener", day=2)]
    result = plan.build_plan(base)
    assert status(result, "review and self-assessment") == "next"
    assert result.next.command == "python -m course practice session2_url_shortener"  # the latest session
    review = attempt("session2_url_shortener", day=3, scenario="practice round 1", rating=rated)
    result = plan.build_plan([*base, review])
    assert status(result, "review and self-assessment") == "done"
    assert status(result, "mock interview with a peer") == "next"
    assert result.next.action == "Mock interview with a peer"
    peer = attempt(day=4, scenario="practice round 2", rating=rated)
    result = plan.build_plan([*base, review, peer])
    assert status(result, "mock interview with a peer") == "done"
    assert result.next.session == "session3_netflix" and status(result, "Netflix") == "next"
    result = plan.build_plan([*base, review, peer, attempt("session3_netflix", day=5)])
    assert status(result, "complete mock interview") == "next"
    assert result.next.command == "python -m course practice session3_netflix"  # the hardest session
    full = attempt("session3_netflix", day=6, scenario="practice round 1", rating=rated)
    result = plan.build_plan([*base, review, peer, attempt("session3_netflix", day=5), full])
    assert "next" not in {s.status for s in result.days}
    assert result.next.action.startswith("Keep practising")


def test_every_mistake_the_journal_records_has_a_sentence():
    from course.journal import MISTAKE_LABELS

    assert plan.mistake_sentence("forgotten_peak") == "you forgot the peak factor"
    for kind in MISTAKE_LABELS:
        assert plan.mistake_sentence(kind).startswith(("you ", "a ")), kind
    assert plan.mistake_sentence("new_kind") == "the mistake “new_kind” came up"


def test_bad_input_is_one_clear_error():
    with pytest.raises(CourseInputError, match="list of journal attempts"):
        plan.build_plan("session1_chat")
    assert plan.build_plan([None, 3, attempt()]).attempts == 1  # junk lines are not attempts


def test_a_course_without_the_journal_says_so(monkeypatch):
    monkeypatch.setitem(sys.modules, "course.journal", None)
    monkeypatch.delattr("course.journal", raising=False)
    with pytest.raises(CourseInputError, match="practice journal"):
        plan.load_attempts()


def test_the_plan_reads_the_journal_file(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_JOURNAL_DIR", str(tmp_path))
    write_journal(tmp_path, forgot_peak_three_times())
    attempts = plan.load_attempts()
    assert len(attempts) == 4 and attempts[0]["mistakes"] == {"forgotten_peak": 2}  # the last snapshot
    assert plan.build_plan(attempts).next.session == "session1_chat"


def test_the_html_leads_with_the_next_step_and_escapes_text():
    html = plan.plan_html(plan.build_plan(forgot_peak_three_times()))
    assert html.index("Next: Redo Session 1") < html.index("Week 1")
    assert "<code>python -m course practice session1_chat</code>" in html
    assert html.count("course-plan-not-built-yet") == 6 and html.count("course-plan-done") == 1
    assert "Design Twitter&#x27;s home feed" in html
    first = plan.plan_html(plan.build_plan([]))
    assert "<a href='session1_chat/session1_chat.ipynb'>" in first


# --- the command line ---------------------------------------------------------------------------------


def _run(args: list[str], journal_dir: Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "COURSE_JOURNAL_DIR": str(journal_dir), "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-m", "course", *args], cwd=cwd or ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_cli_plan_names_the_next_session(tmp_path):
    empty = _run(["plan"], tmp_path / "none")
    assert empty.returncode == 0, empty.stderr
    assert "Next: Start with Session 1 (chat application)" in empty.stdout
    assert "no practice attempts recorded yet" in empty.stdout
    write_journal(tmp_path / "j", [attempt(day=1)])
    done = _run(["plan"], tmp_path / "j")
    assert done.returncode == 0, done.stderr
    assert "Next: Session 2 (URL shortener): it is next in the plan" in done.stdout
    lines = done.stdout.splitlines()
    assert any(line.startswith("  ✓ Day 1-2") and "Session 1 · Chat application" in line for line in lines)
    assert any(line.startswith("  → Day 3-4") and line.rstrip().endswith("next") for line in lines)
    assert sum("not built yet" in line for line in lines if line.startswith("  – ")) == 6
    assert done.stderr == ""


def test_cli_plan_json(tmp_path):
    write_journal(tmp_path, forgot_peak_three_times())
    result = _run(["plan", "--json"], tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["next"]["session"] == "session1_chat"
    assert data["next"]["command"] == "python -m course practice session1_chat"
    assert data["attempts"] == 4 and len(data["days"]) == 12
    assert [d["status"] for d in data["days"]][:2] == ["done", "next"]
    other = _run(["plan", "--journal", str(tmp_path / "missing.jsonl"), "--json"], tmp_path)
    assert json.loads(other.stdout)["next"]["session"] == "session1_chat" and json.loads(other.stdout)["attempts"] == 0


# --- the plan notebook --------------------------------------------------------------------------------


def test_the_released_plan_notebook_is_up_to_date():
    assert (ROOT / "release" / "plan.ipynb").read_text(encoding="utf-8") == render_plan(), "run: make release"
    nb = nbformat.reads(render_plan(), as_version=4)
    nbformat.validate(nb)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert "show_plan()" in code[0] and "show_progress()" in code[1]
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_start_copies_the_plan_notebook_once_and_never_overwrites_it(tmp_path):
    (tmp_path / "release" / "session1_chat").mkdir(parents=True)
    (tmp_path / "release" / "session1_chat" / "session1_chat.ipynb").write_text("{}")
    (tmp_path / "release" / "plan.ipynb").write_text(render_plan())
    work = start.prepare_workspace(tmp_path)
    assert (work / "plan.ipynb").read_text() == render_plan()
    assert (work / "session1_chat" / "session1_chat.ipynb").is_file()
    (work / "plan.ipynb").write_text("my notes")
    start.prepare_workspace(tmp_path)
    assert (work / "plan.ipynb").read_text() == "my notes"


def _executed(tmp_path: Path) -> nbformat.NotebookNode:
    """The released plan notebook, run in a kernel in ``tmp_path`` (the kernel inherits the environment)."""
    from nbclient import NotebookClient

    shutil.copy(ROOT / "release" / "plan.ipynb", tmp_path / "plan.ipynb")
    nb = nbformat.read(tmp_path / "plan.ipynb", as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    return nb


def _outputs(nb: nbformat.NotebookNode) -> list[dict]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


def test_the_plan_notebook_draws_the_plan_and_the_plots_from_a_journal(tmp_path, monkeypatch):
    write_journal(tmp_path / "journal", forgot_peak_three_times())
    monkeypatch.setenv("COURSE_JOURNAL_DIR", str(tmp_path / "journal"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    outputs = _outputs(_executed(tmp_path))
    assert not [o for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert not [o for o in outputs if o.output_type == "error"]
    html = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "Next: Redo Session 1 as a practice round" in html
    pictures = [o["data"]["image/png"] for o in outputs if "image/png" in o.get("data", {})]
    assert len(pictures) == 1 and len(pictures[0]) > 20_000  # base64 of a real figure
    assert not any("image/svg+xml" in o.get("data", {}) for o in outputs)
    assert not list(tmp_path.glob("practice*")), "running the plan must not start a practice round"


def test_the_plan_notebook_runs_under_nbval_with_an_empty_journal(tmp_path):
    """release/ is not in pytest's testpaths (tests/, source/): run nbval on the plan notebook here."""
    shutil.copy(ROOT / "release" / "plan.ipynb", tmp_path / "plan.ipynb")
    env = {**os.environ, "COURSE_JOURNAL_DIR": str(tmp_path / "empty"), "MPLBACKEND": "Agg"}
    env.pop("PYTEST_XDIST_WORKER", None)
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                             "--nbval-lax", "--nbval-current-env", "plan.ipynb"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "3 passed" in result.stdout, result.stdout[-2000:]
