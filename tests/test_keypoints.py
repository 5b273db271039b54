"""Deep-dive key points: hidden until the answer is written, then a keyword self-check."""

from __future__ import annotations

import pytest

from course.errors import CourseInputError
from course.keypoints import KeyPoint, KeyPointsCheck, key_points, word_count

POINTS = [
    KeyPoint("Store undelivered messages until the recipient reconnects", ("store", "persist", "inbox")),
    KeyPoint("Push notifications reach offline users", ("push", "notification", "APNs")),
    KeyPoint("Retry with exponential backoff", ("retry", "retries", "backoff")),
    KeyPoint("Acknowledge delivery so nothing is lost", ("ack",)),
]

ANSWER = (
    "When the recipient is offline the chat service PERSISTS each message in a per-user inbox table. "
    "On reconnect the client fetches everything newer than its last seen message id, and the server "
    "sends a Push Notification meanwhile so the user knows something arrived while they were away."
)


def test_short_answer_hides_the_points_and_says_how_far_it_is():
    result = key_points("Offline users get a push later.", POINTS)
    assert isinstance(result, KeyPointsCheck)
    assert not result.revealed
    assert (result.words, result.min_words) == (6, 25)
    assert result.mentioned == [] and result.missing == []  # no hint leaks before the answer is written
    shown = result._repr_html_()
    assert "Write your answer first (6/25 words)" in shown
    assert not any(p.point in shown for p in POINTS)


def test_written_answer_reveals_the_points_and_marks_those_it_mentions():
    assert word_count(ANSWER) >= 25
    result = key_points(ANSWER, POINTS)
    assert result.revealed
    assert result.mentioned == [POINTS[0].point, POINTS[1].point]
    assert result.missing == [POINTS[2].point, POINTS[3].point]
    shown = result._repr_html_()
    assert all(p.point in shown for p in POINTS)
    assert "2 of 4" in shown
    assert "manual grading decides" in shown


def test_keywords_match_at_the_start_of_a_word_only():
    padding = " filler" * 30
    assert key_points("we acknowledged it" + padding, POINTS).mentioned == [POINTS[3].point]
    assert key_points("we went back to it" + padding, POINTS).mentioned == []


def test_min_words_is_configurable():
    assert key_points("one two three", POINTS, min_words=3).revealed
    assert not key_points("one two", POINTS, min_words=3).revealed
    assert key_points("", POINTS, min_words=0).revealed


def test_word_count_counts_words_not_punctuation():
    assert word_count("Don't fan-out -- to 5000 members!") == 5
    assert word_count("   ") == 0


@pytest.mark.parametrize("bad", [None, 42, ["an", "answer"], b"bytes"])
def test_answer_must_be_text(bad):
    with pytest.raises(CourseInputError, match="answer_text must be your written answer as text"):
        key_points(bad, POINTS)


@pytest.mark.parametrize("bad", [-1, 2.5, True, "25"])
def test_min_words_must_be_a_whole_number(bad):
    with pytest.raises(CourseInputError, match="min_words"):
        key_points(ANSWER, POINTS, min_words=bad)


@pytest.mark.parametrize("bad", [[], "store", [("point", ("kw",))], None])
def test_points_must_be_key_points(bad):
    with pytest.raises(CourseInputError, match="KeyPoint"):
        key_points(ANSWER, bad)


@pytest.mark.parametrize(
    "point, keywords",
    [("", ("kw",)), ("a point", "store"), ("a point", ()), ("a point", ("ok", "")), (None, ("kw",))],
)
def test_a_key_point_needs_text_and_keywords(point, keywords):
    with pytest.raises(CourseInputError, match="KeyPoint"):
        KeyPoint(point, keywords)
