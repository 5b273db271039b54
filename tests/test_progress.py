"""The student's progress plots (course.progress) and ``python -m course progress``, on fixture journals."""

from __future__ import annotations

import io
import math
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from course import progress
from course.errors import CourseInputError
from course.evidence import SKILLS
from course.journal import MISTAKE_LABELS
from course.timeline import PHASES
from tests.test_plan import attempt, forgot_peak_three_times, write_journal

ROOT = Path(__file__).resolve().parent.parent
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def many(n: int) -> list[dict]:
    """``n`` attempts over the three sessions, storage missed first time in every other one."""
    sessions = ("session1_chat", "session2_url_shortener", "session3_netflix")
    return [attempt(sessions[i % 3], day=i + 1, scenario="sample" if i < 3 else f"practice round {i // 3}",
                    second_try=["storage"] if i % 2 else [], mistakes={"bits_bytes": i % 3})
            for i in range(n)]


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]


# --- the tables ---------------------------------------------------------------------------------------


def test_first_try_shares_count_each_skills_check_cells():
    table = progress.first_try_shares([attempt(second_try=["storage"]), attempt(day=2)])
    assert list(table.index) == list(SKILLS) and list(table.columns) == [1, 2]
    assert table.at["storage", 1] == 0.5 and table.at["storage", 2] == 1.0  # one of its two cells first time
    assert table.at["schema", 1] == 1.0
    bare = attempt()
    bare["sections"] = {}
    bare["skills"]["API"] = {"tries": 3, "passed_on": 3, "passing_now": True}
    bare["skills"]["design"] = {"tries": 0, "passed_on": None, "passing_now": False}
    table = progress.first_try_shares([bare])  # no sections: the skill as a whole
    assert table.at["API", 1] == 0.0 and table.at["traffic", 1] == 1.0 and math.isnan(table.at["design", 1])


def test_phase_minutes_follow_the_interview_and_mistakes_the_most_frequent_first():
    minutes = progress.phase_minutes([attempt(minutes={"Estimation": 9.5, "Requirements": 4.0}), attempt(day=2)])
    assert list(minutes.index) == [p.name for p in PHASES]
    assert minutes.at["Estimation", 1] == 9.5 and math.isnan(minutes.at["Deep dive", 1])
    assert minutes.at["Deep dive", 2] == 8.0
    counts = progress.mistake_counts(forgot_peak_three_times())
    assert list(counts.index) == ["forgotten_peak", "bits_bytes"]
    assert counts.loc["forgotten_peak"].tolist() == [2, 0, 1, 1]
    assert progress.mistake_counts([attempt()]).empty


def test_attempt_labels_name_the_session_and_the_round():
    assert progress.attempt_labels(forgot_peak_three_times()[:2]) == ["#1\nS1", "#2\nS1 r1"]
    round12 = attempt("session3_netflix", scenario="practice round 12")
    assert progress.attempt_labels([round12], first=7) == ["#7\nS3 r12"]


# --- the figure ---------------------------------------------------------------------------------------


def test_no_attempts_is_a_message_not_empty_axes():
    fig = progress.figure([])
    assert len(fig.axes) == 1 and not fig.axes[0].axison
    assert "No practice attempts yet" in texts(fig)
    assert png_size(progress.figure_png(fig))[0] > 500


@pytest.mark.parametrize("n", [1, 4, 20])
def test_the_three_plots_have_titles_and_labelled_axes(n):
    fig = progress.figure(many(n))
    skills, phases, mistakes = fig.axes
    assert skills.get_title(loc="left").startswith("(a) Checks passed on the first try, by skill")
    assert phases.get_title(loc="left").startswith("(b) Minutes per phase")
    assert mistakes.get_title(loc="left").startswith("(c) Mistakes")
    assert "attempt" in skills.get_xlabel()
    assert ("attempt" in mistakes.get_xlabel()) if n > 1 else not mistakes.axison  # 1: no mistakes, a note
    assert phases.get_xlabel() == "minutes"
    shown = min(n, progress.MAX_ATTEMPTS)
    assert [t.get_text() for t in skills.get_yticklabels()] == list(SKILLS)
    assert len(skills.get_xticklabels()) == shown
    assert skills.get_xticklabels()[-1].get_text().startswith(f"#{n}\n")
    assert [t.get_text() for t in phases.get_yticklabels()] == [p.name for p in PHASES]
    if n > 1:
        assert [t.get_text() for t in mistakes.get_yticklabels()] == [MISTAKE_LABELS["bits_bytes"]]
    assert all(ax.get_legend() is None and ax.name == "rectilinear" for ax in fig.axes)
    assert f"{n} attempt" in fig.get_suptitle()
    if n > progress.MAX_ATTEMPTS:
        assert f"attempts {n - shown + 1}–{n} of {n}" in skills.get_title(loc="left")
    assert png_size(progress.figure_png(fig))[0] >= 900


def test_the_minutes_plot_marks_the_plan_and_an_overrun():
    over = attempt(minutes={p.name: float(p.minutes) for p in PHASES} | {"Detailed design": 20.0})
    fig = progress.figure([attempt(), over])
    phases = fig.axes[1]
    labels = texts(fig)
    assert "20.0 min  (plan 12)" in labels and "5.0 min  (plan 5)" in labels
    colours = {round(bar.get_width(), 1): bar.get_facecolor() for bar in phases.patches}
    assert colours[20.0] != colours[5.0]  # an overrun stands out
    assert any("dots: attempts #1" in t for t in labels)


def test_no_mistakes_and_no_pyplot():
    plt = pytest.importorskip("matplotlib.pyplot")
    before = plt.get_fignums()
    fig = progress.figure([attempt()])
    assert "No unit or factor mistakes diagnosed in these attempts." in texts(fig)
    assert plt.get_fignums() == before  # the object API: nothing in pyplot's global state


def test_bad_input_is_one_clear_error():
    with pytest.raises(CourseInputError, match="list of journal attempts"):
        progress.figure({"session": "session1_chat"})


def test_show_progress_displays_one_png(monkeypatch, tmp_path):
    write_journal(tmp_path, many(3))
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *objs: shown.extend(objs))
    progress.show_progress(tmp_path / "journal.jsonl")
    assert len(shown) == 1 and shown[0].format == "png" and shown[0].data[:8] == PNG_SIGNATURE


# --- the command line ---------------------------------------------------------------------------------


def _run(args: list[str], journal_dir: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COURSE_JOURNAL_DIR": str(journal_dir), "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-m", "course", "progress", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_progress_writes_a_real_png_and_prints_its_path(tmp_path):
    write_journal(tmp_path / "journal", many(6))
    out = tmp_path / "plots" / "F.png"
    result = _run(["--out", str(out)], tmp_path / "journal", ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out) and result.stderr == ""
    data = out.read_bytes()
    width, height = png_size(data)
    assert width >= 1000 and height >= 1000 and len(data) > 50_000
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        image.verify()


def test_cli_progress_default_is_progress_png_here_even_with_no_attempts(tmp_path):
    result = _run([], tmp_path / "no-journal", tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / "progress.png")
    assert png_size((tmp_path / "progress.png").read_bytes())[0] > 500
    wrong = _run(["--out", str(tmp_path / "plots.svg")], tmp_path / "no-journal", tmp_path)
    assert wrong.returncode == 2 and ".png" in wrong.stderr and not (tmp_path / "plots.svg").exists()
