"""The curveball in the student's kernel: the interviewer's change is checked (exactly that change, nothing
else), the student's own estimates re-run on it, and the biggest mover is named. No expected figure is used."""

from __future__ import annotations

import pytest

from course.assumptions import Assumptions
from course.checks import CheckFailed
from course.content import load_session
from course.curveball import apply_change, curveball, moves
from course.errors import CourseInputError
from course.units import q

SESSION = load_session("session1_chat")
A = Assumptions(**SESSION.sample["assumptions"])


def storage(a):
    return (a.daily_active_users * a.messages_per_user_per_day * a.message_size * a.retention).to("TB")


def rate(a):
    return (a.daily_active_users * a.messages_per_user_per_day).to("msg/s")


def test_the_session_data_holds_the_change_and_it_can_be_a_multiplier():
    assert SESSION.sample["curveball"]["changes"] == {"message_size": "100 KB/msg"}
    assert apply_change(A, {"daily_active_users": "x10"})["daily_active_users"] == A.daily_active_users * 10


def test_the_right_change_re_runs_the_students_estimates(capsys, monkeypatch):
    shown = []
    monkeypatch.setattr("course.curveball.display", shown.append)
    curveball(SESSION, A, lambda a: a.replace(message_size=q("100 KB/msg")), [rate, storage])
    assert "✓ after_curveball makes the interviewer's change" in capsys.readouterr().out
    page = shown[0].data
    assert "Moves most: <code>storage</code>, ×1,000." in page and "Unchanged: <code>rate</code>" in page


@pytest.mark.parametrize("after, words", [
    (lambda a: a, "message_size is not what the interviewer changed it to"),
    (lambda a: a.replace(message_size=q("100 KB/msg"), peak_factor=5), "peak_factor changed too"),
    (lambda a: {"message_size": q("100 KB/msg")}, "expected Assumptions"),
    (lambda a: 1 / 0, "raised ZeroDivisionError"),
])
def test_a_wrong_change_is_a_card_naming_the_assumption(after, words):
    with pytest.raises(CheckFailed, match=words):
        curveball(SESSION, A, after, [rate])


def test_bad_arguments_get_one_clear_error():
    with pytest.raises(CourseInputError, match="estimate functions"):
        curveball(SESSION, A, lambda a: a, [])
    with pytest.raises(CourseInputError, match="no curveball"):
        curveball(object(), A, lambda a: a, [rate])
    with pytest.raises(CourseInputError, match="after_curveball itself"):
        curveball(SESSION, A, "after_curveball", [rate])


def test_an_unwritten_estimate_does_not_stop_the_others():
    def todo(a):
        raise NotImplementedError

    rows = moves(A, A.replace(message_size=q("1 KB/msg")), [todo, storage])
    assert rows[0][0] == "storage" and rows[0][3] == pytest.approx(10)
    assert rows[1][0] == "todo" and rows[1][2] == "not implemented yet"
