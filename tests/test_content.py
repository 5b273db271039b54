"""A session's data: checks by name against the sample's figures, and key points that never leak early."""

from __future__ import annotations

import pytest

from course.assumptions import Assumptions
from course.checks import CheckFailed
from course.content import load_session
from course.errors import CourseInputError
from course.units import q


@pytest.fixture
def chat():
    return load_session("session1_chat")


def test_a_check_names_what_it_checks_and_the_figure_comes_from_the_data(chat, capsys):
    chat.check("messages_per_second", q("57870 msg/s"))
    assert "✓ messages_per_second" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match="10× too high"):
        chat.check("messages_per_second", q("578700 msg/s"))
    with pytest.raises(CourseInputError, match="no sample figure named 'qps'"):
        chat.check("qps", q("1 msg/s"))


def test_a_whole_number_figure_must_be_an_int():
    shortener = load_session("session2_url_shortener")
    whole = next(iter(shortener.sample["whole_numbers"]))
    right = int(shortener.sample["expected"][whole])
    shortener.check(whole, right)
    with pytest.raises(CheckFailed, match="whole number"):
        shortener.check(whole, float(right))


def test_the_assumptions_check_names_the_field_never_the_value(chat, capsys):
    right = Assumptions(**chat.sample["assumptions"])
    chat.check_assumptions(right)
    assert "match what the interviewer said" in capsys.readouterr().out
    wrong = right.replace(peak_factor=2)
    with pytest.raises(CheckFailed) as raised:
        chat.check_assumptions(wrong)
    assert "peak_factor is not what the interviewer said" in str(raised.value)
    assert "3" not in str(raised.value)
    with pytest.raises(AssertionError, match="missing 'retention'"):
        chat.check_assumptions(Assumptions(**{k: v for k, v in chat.sample["assumptions"].items() if k != "retention"}))


def test_key_points_stay_out_of_every_representation_until_an_answer_is_written(chat):
    early = chat.key_points("offline_delivery", "push it")
    points = [p.point for p in chat.deep_dive["offline_delivery"]]
    for text in (repr(early), str(early), early._repr_html_()):
        assert not any(point[:30] in text for point in points)
    answer = " ".join(["persist every message before delivering it, push notifications through APNs"] * 4)
    late = chat.key_points("offline_delivery", answer)
    assert any(point[:30] in repr(late) for point in points)
