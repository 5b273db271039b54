"""Practice rounds: new numbers for the same interview, checked by the reference outside the kernel.

- a round's scenario is new, shaped like the sample, the same for everyone and kept where the session keeps it;
- ``python -m course practice`` starts numbered rounds beside a ``practice.json``;
- the oracle (its own process) gives the reference's figure on a round's scenario, recomputed here by hand;
- in a round's folder the session's checks compare with the oracle, and the assumptions with the round;
- the self-check of a practice notebook verifies the round's scenario: the solution passes, the sample's
  assumptions and functions that return the sample's figures fail.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from authoring.sessions import SESSIONS
from course import practice
from course.checks import CheckFailed
from course.content import load_session
from course.practice import Oracle, new_round, round_here, round_scenario
from course.scenarios import practice_scenario
from course.units import q
from tests.helpers import source_nb

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("session_id", list(SESSIONS))
def test_a_round_has_new_figures_of_the_same_shape(session_id):
    spec = SESSIONS[session_id]
    rounds = [round_scenario(session_id, n) for n in (1, 2, 3)]
    for scenario in rounds:
        assert set(scenario) == set(spec.SAMPLE) and scenario != spec.SAMPLE
        for name, text in scenario.items():
            assert q(text).dimensionality == q(spec.SAMPLE[name]).dimensionality
            if name in spec.PRACTICE_KEEP:
                assert text == spec.SAMPLE[name]
    assert len({json.dumps(r, sort_keys=True) for r in rounds}) == 3  # new every round
    assert round_scenario(session_id, 2) == rounds[1]  # the same for everyone


def test_a_round_number_is_a_whole_number_from_one():
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError):
            practice_scenario("s", bad, {"x": "1 B"})


def test_rounds_are_numbered_folders_with_their_own_notebook(tmp_path):
    first = new_round("session1_chat", work=tmp_path)
    second = new_round("session1_chat", work=tmp_path)
    assert first == tmp_path / "practice" / "session1_chat-round1" / "session1_chat.ipynb"
    assert second.parent.name == "session1_chat-round2"
    assert first.read_bytes() == (ROOT / "release" / "session1_chat" / "session1_chat.ipynb").read_bytes()
    assert round_here("session1_chat", second.parent) == 2
    assert round_here("session2_url_shortener", second.parent) is None  # another session's round
    (tmp_path / "practice.json").write_text("{not json")
    assert round_here("session1_chat", tmp_path) is None


def test_the_command_starts_a_round_and_says_how_to_verify_it(tmp_path):
    result = subprocess.run([sys.executable, "-m", "course", "practice", "session2_url_shortener", "--work",
                             str(tmp_path)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "session2_url_shortener-round1" in result.stdout and "selfcheck" in result.stdout
    bad = subprocess.run([sys.executable, "-m", "course", "practice", "session9_nothing", "--work", str(tmp_path)],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert bad.returncode == 2 and "session1_chat" in bad.stderr and "Traceback" not in bad.stderr


def test_the_oracle_gives_the_reference_figure_of_a_round():
    oracle = Oracle()
    try:
        scenario = round_scenario("session1_chat", 4)
        got = practice.decode(oracle.expected("session1_chat", "peak_read_qps", scenario))
        by_hand = (q(scenario["daily_active_users"]) * q(scenario["messages_per_user_per_day"])
                   * q(scenario["read_write_ratio"]) * q(scenario["peak_factor"])).to("msg/s")
        assert got.to("msg/s").magnitude == pytest.approx(by_hand.magnitude, rel=1e-9)
        # Only the session's estimates can be asked, and a bad question does not kill the oracle for good.
        assert oracle.expected("session1_chat", "__import__", scenario) is None
        assert "not one of the session's estimates" in oracle.unavailable
    finally:
        oracle.close()


def test_without_reference_solutions_there_is_no_oracle(tmp_path):
    assert Oracle(root=tmp_path).expected("session1_chat", "read_qps", {}) is None


def test_a_round_folder_gives_the_interviewer_and_the_checks_its_numbers(tmp_path, monkeypatch, capsys):
    notebook = new_round("session1_chat", work=tmp_path)
    monkeypatch.chdir(notebook.parent)
    session = load_session("session1_chat")
    scenario = round_scenario("session1_chat", 1)
    assert session.scenario == "practice round 1"
    assert session.sample["assumptions"] == scenario
    scale = next(c for c in session.clarifications if c.topic == "Scale").answer
    assert "100 million" not in scale  # the interviewer's figure changed with the round
    from course.assumptions import Assumptions

    session.check_assumptions(Assumptions(**scenario))
    with pytest.raises(CheckFailed):
        session.check_assumptions(Assumptions(**SESSIONS["session1_chat"].SAMPLE))
    a = Assumptions(**scenario)
    right = (a.daily_active_users * a.messages_per_user_per_day).to("msg/s")
    session.check("messages_per_second", right)
    assert "✓ messages_per_second" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match="peak"):
        session.check("peak_messages_per_second", right)  # a forgotten peak, diagnosed on the round's numbers
    practice.oracle().close()


def _solved_round(tmp_path: Path, session_id: str, *, assumptions: dict, hard_code: bool = False) -> Path:
    """Practice round 1 of a session answered with the source's solutions, its assumptions set to
    ``assumptions``; ``hard_code``: every estimate function returns the sample's figure instead."""
    import nbformat

    notebook = new_round(session_id, work=tmp_path)
    nb = nbformat.read(source_nb(session_id), as_version=4)
    spec = SESSIONS[session_id]
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id == "assumptions":
            cell.source = "assumptions = Assumptions(\n" + "".join(f"    {k}={v!r},\n" for k, v in assumptions.items()) + ")"
            continue
        names = [n for n in re.findall(r"^def (\w+)\(", cell.source, re.MULTILINE) if n in spec.EXPECTED]
        if hard_code and names and cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = "\n".join(f"def {n}(a):\n    return {_literal(spec.EXPECTED[n]['sample'])}\n" for n in names)
    nbformat.write(nb, notebook)
    return notebook


def _literal(figure: str) -> str:
    """The sample's figure as code: an int for a whole number (a code length), else a quantity."""
    return figure if re.fullmatch(r"\d+", figure) else f"q({figure!r})"


@pytest.mark.e2e
@pytest.mark.parametrize("session_id", list(SESSIONS))
def test_the_self_check_verifies_a_round_on_its_own_numbers(tmp_path, session_id):
    """The solution passes a round; the same functions typed as the sample's figures fail every estimate
    and the curveball, on the round's numbers (and, in Session 1, the sample's assumptions fail it)."""
    from course.grading.selfcheck import selfcheck

    scenario = round_scenario(session_id, 1)
    honest = selfcheck(_solved_round(tmp_path / "a", session_id, assumptions=scenario))
    assert honest.practice_round == 1 and honest.passed, honest.text()
    cells = {c.name: c for c in honest.cells}

    typed = selfcheck(_solved_round(tmp_path / "c", session_id, assumptions=scenario, hard_code=True))
    typed_cells = {c.name: c for c in typed.cells}
    estimation = [name for name in typed_cells if any(
        re.search(rf"\b{n}\b", c.reason) for c in [typed_cells[name]] for n in SESSIONS[session_id].EXPECTED)]
    assert estimation, typed.text()
    for grade_id in [*estimation, "test_curveball"]:
        assert typed_cells[grade_id].score == 0 < cells[grade_id].score, typed.text()
    assert any("practice round's scenario" in typed_cells[g].reason for g in estimation)

    if session_id == "session1_chat":
        stale = selfcheck(_solved_round(tmp_path / "b", session_id, assumptions=SESSIONS[session_id].SAMPLE))
        assert {c.name: c.passed for c in stale.cells}["test_assumptions"] is False
