"""The interviewer's figures come from the scenario: placeholders in the answers, spoken as an interviewer
says them, the sample reproducing the audited answers, and a new scenario never leaving a stale figure."""

from __future__ import annotations

import dataclasses
import random
import re
import string
import tomllib

import pytest

from authoring.sessions import SESSIONS
from course import content
from course.content import load_session
from course.errors import CourseInputError
from course.grading.cases import fresh_scenario
from course.interviewer import ask
from course.spoken import placeholders, render, spoken_count, spoken_number
from course.units import q


def _templates(session_id: str) -> dict[str, str]:
    """Each topic's answer as written in the session's TOML (placeholders unfilled)."""
    data = tomllib.loads((content.DATA / f"{session_id}.toml").read_text(encoding="utf-8"))
    return {c["topic"]: c["answer"] for c in data["clarification"]}


# ---------------------------------------------------------------------------------------------------
# Formats

@pytest.mark.parametrize("value, spoken", [
    ("100 M user", "100 million"), ("2500 M user", "2.5 billion"), ("800 K user", "800 thousand"),
    ("1 M conn/server", "1 million"), ("300 K conn/server", "300 thousand"), ("50 bn click/day", "50 billion"),
    ("1.5 tn click/day", "1.5 trillion"), ("1 conn/user", "one"), ("2 conn/user", "two"),
    ("0.5 conn/user", "0.5"), ("50 msg/user/day", "50"), ("1000 user", "1 thousand"),
])
def test_a_count_is_spoken_in_words(value, spoken):
    assert render("{n:count}", {"n": value}) == spoken


@pytest.mark.parametrize("value, spoken", [("0.1", "10 %"), ("0.05", "5 %"), ("0.25", "25 %"),
                                           ("0.125", "12.5 %"), ("0.07", "7 %"), ("0.1 stream/user", "10 %")])
def test_a_fraction_is_spoken_as_a_percent(value, spoken):
    assert render("{f:percent}", {"f": value}) == spoken


@pytest.mark.parametrize("template, value, spoken", [
    ("{x:B/msg}", "100 B/msg", "100"), ("{x:B/msg}", "1.5 KB/msg", "1,500"), ("{x:KB/conn}", "10 KB/conn", "10"),
    ("{x:B/conn}", "10 KB/conn", "10,000"), ("{x:Gbit/s/server}", "400 Gbit/s/server", "400"),
    ("{x:Gbit/s/server}", "1.2 Tbit/s/server", "1,200"), ("{x:MB/min/stream}", "2.5 MB/min/stream", "2.5"),
    ("{x:day}", "1825 day", "1,825"), ("{x:year}", "1825 day", "5"), ("{x:year}", "3000 day", "8.21"),
    ("{x:title}", "10 K title", "10,000"), ("{x:stream/user/day}", "1.5 stream/user/day", "1.5"),
])
def test_a_unit_spec_speaks_the_magnitude_in_that_unit(template, value, spoken):
    assert render(template, {"x": value}) == spoken


@pytest.mark.parametrize("value, spoken", [("3", "3"), ("2.5", "2.5"), ("62", "62"), ("1.2", "1.2"),
                                           ("0.2", "0.2"), ("1825", "1,825")])
def test_a_plain_figure_is_spoken_as_written(value, spoken):
    assert render("{x}", {"x": value}) == spoken


def test_numbers_keep_three_significant_digits_unless_whole():
    assert [spoken_number(x) for x in (3.0, 2.5, 0.125, 8.2136, 0.0001234, 1234.5, 1_000_000.0, 7.000000000000001)] \
        == ["3", "2.5", "0.125", "8.21", "0.000123", "1,234", "1,000,000", "7"]
    assert [spoken_count(x) for x in (0, 9, 10, 999, 1e3, 1.2e4, 5e6, 1.5e9)] \
        == ["zero", "nine", "10", "999", "1 thousand", "12 thousand", "5 million", "1.5 billion"]


def test_a_plural_choice_and_a_multiple_and_literal_braces():
    scenario = {"r": "3", "one": "1", "dau": "100 M user"}
    assert render("Keep {r} {r:copy|copies}; {one} {one:copy|copies}.", scenario) == "Keep 3 copies; 1 copy."
    assert render("{dau:count*2} registered", scenario) == "200 million registered"
    assert render("{{not a figure}} and {{r}}", scenario) == "{not a figure} and {r}"
    assert placeholders("{a} {{b}} {c:count}") == [("a", ""), ("c", "count")]


@pytest.mark.parametrize("template, message", [
    ("{nope} users", "no scenario figure named 'nope'"),
    ("{dau:bogus}", "unknown spec 'bogus'"),
    ("{dau:B/msg}", "not convertible to 'B/msg'"),
    ("{dau:a|b|c}", "a plural choice is 'one|many'"),
    ("{dau:count*two}", "unknown spec 'count*two'"),
    ("{dau!r}", "no conversions"),
    ("a { stray brace", "stray brace"),
    ("a } stray brace", "stray brace"),
    ("{}", "no scenario figure named ''"),
    ("{dau.real}", "no scenario figure named 'dau.real'"),
    ("{bad}", "scenario figure bad: could not read"),
])
def test_an_unknown_key_spec_or_brace_is_a_clear_error(template, message):
    with pytest.raises(CourseInputError, match=re.escape(message)) as raised:
        render(template, {"dau": "100 M user", "bad": "lots of users"})
    assert template.strip() in str(raised.value)  # the answer is named


def test_a_bad_placeholder_fails_when_the_session_loads(tmp_path, monkeypatch):
    (tmp_path / "broken.toml").write_text(
        '[[clarification]]\ntopic = "Scale"\nkeywords = ["dau"]\nexample_question = "How many users?"\n'
        'answer = "{daily_active_userz:count} daily active users."\n', encoding="utf-8")
    (tmp_path / "broken.sample.json").write_text('{"assumptions": {"daily_active_users": "100 M user"}}')
    monkeypatch.setattr(content, "DATA", tmp_path)
    with pytest.raises(CourseInputError, match=r"session 'broken', clarification 'Scale': .*'daily_active_userz'"):
        load_session("broken")
    assert load_session("broken", {"daily_active_userz": "3 M user"}).clarifications[0].answer \
        == "3 million daily active users."


def test_a_scenario_without_a_figure_an_answer_needs_is_refused():
    scenario = {k: v for k, v in SESSIONS["session1_chat"].SAMPLE.items() if k != "online_fraction"}
    with pytest.raises(CourseInputError, match="no scenario figure named 'online_fraction'"):
        load_session("session1_chat", scenario)


# ---------------------------------------------------------------------------------------------------
# The sessions' answers

#: Every answer that states a scenario figure, rendered with the sample: the answers as audited, except
#: for derived figures a new scenario would leave stale ("every link is clicked 100 times", "100 to 1",
#: "the delivery plus a history fetch"), which are gone.
SAMPLE_ANSWERS = {
    "session1_chat": {
        "Scale": "100 million daily active users.",
        "Message volume": "About 50 messages per user per day.",
        "Message types": "Text messages only for now. Assume about 100 bytes per stored message.",
        "History": "Yes: keep 30 days of history.",
        "Reads vs writes": "Count 2 reads per message sent, deliveries and history fetches together.",
        "Peak traffic": "Plan for a peak of 3 times the daily average.",
        "Durability": "Keep 3 replicas of every stored message.",
        "Concurrency": "At the busiest moment about 10 % of daily users are connected, one WebSocket each. Budget "
                       "10 KB of server memory per connection, and 1 million connections per chat server.",
    },
    "session2_url_shortener": {
        "New links": "About 500 million new short links a day.",
        "Users": "Count links and clicks rather than people: 500 million new links and 50 billion redirects a day.",
        "Redirects": "About 50 billion redirects a day.",
        "Read/write ratio": "50 billion redirects for 500 million new links a day. It is a read-heavy system.",
        "Retention": "Keep every link for 5 years (count 365 days a year: 1,825 days). A user may also set an "
                     "earlier expiry date on a link.",
        "Short code format": "As short as possible, using letters and digits only: [0-9a-zA-Z], 62 characters. How "
                             "many characters that takes is for you to work out.",
        "Record size": "An average long URL is about 100 bytes; count about 50 more bytes of metadata per link "
                       "(code, owner, dates).",
        "Peak traffic": "Plan for a peak of 2 times the daily average.",
        "Durability": "Keep 3 replicas of every stored link. Redirects must stay up: a broken short link is worse "
                      "than a slow one.",
        "Caching": "Use the 80/20 rule: a small share of links gets most of the clicks. Size the cache to hold the "
                   "links behind 20 % of a day's redirects.",
        "Redirect response": "About 500 bytes per redirect response, headers included.",
    },
    "session3_netflix": {
        "Scale": "200 million registered users; 100 million of them watch on a given day.",
        "Catalog": "About 10,000 titles, 90 minutes long on average.",
        "Qualities": "Four renditions of every title: 480p, 720p, 1080p and 4K, at about 5, 10, 20 and 50 MB per "
                     "minute of video. We store every rendition.",
        "Viewing habits": "1.5 viewing sessions per daily user per day, 60 minutes each, one stream per session.",
        "Peak concurrency": "At the busiest moment (evening prime time) 10 % of daily users are streaming, one "
                            "stream each.",
        "Stream rate": "Averaged over devices and networks, a stream plays at about 720p: count 10 MB per minute "
                       "per stream.",
        "Durability": "Keep 3 copies of every encoded file at the origin. Edge copies are caches and do not count.",
        "Edge servers": "One edge server (an Open Connect appliance) sends about 400 Gbit/s. Size for the peak at "
                        "full rate; we will discuss headroom later.",
    },
}

#: The figures an answer may state literally: none comes from the scenario (the alphabet [0-9a-zA-Z],
#: 365 days a year, the 80/20 rule's name, 16-character aliases; rendition names, a 2-second start).
LITERAL_FIGURES = {
    "session1_chat": set(),
    "session2_url_shortener": {"0", "9", "16", "365", "80/20"},
    "session3_netflix": {"480", "720", "1080", "4", "2"},
}


@pytest.mark.parametrize("session_id", SESSIONS)
def test_the_sample_scenario_speaks_the_audited_answers(session_id):
    session = load_session(session_id)
    answers = {c.topic: c.answer for c in session.clarifications}
    templates = _templates(session_id)
    templated = {topic for topic, text in templates.items() if placeholders(text)}
    assert templated == set(SAMPLE_ANSWERS[session_id])
    for topic, text in answers.items():
        assert text == SAMPLE_ANSWERS[session_id].get(topic, templates[topic]), topic
    assert load_session(session_id, SESSIONS[session_id].SAMPLE).clarifications == session.clarifications


@pytest.mark.parametrize("session_id", SESSIONS)
def test_every_sample_figure_is_stated_by_some_answer_and_no_other_figure_is_literal(session_id):
    templates = _templates(session_id).values()
    named = {key for text in templates for key, _ in placeholders(text)}
    assert named == set(SESSIONS[session_id].SAMPLE), "every figure must come from some answer, and only those"
    literal = {token for text in templates
               for token in re.findall(r"\d+(?:[.,/]\d+)*", "".join(p[0] for p in string.Formatter().parse(text)))}
    assert literal == LITERAL_FIGURES[session_id], "a figure spelled out in an answer goes stale in a new scenario"


def _words(n: float) -> str:
    """A count in words, computed here independently of course.spoken."""
    for factor, word in ((1e9, "billion"), (1e6, "million"), (1e3, "thousand")):
        if n >= factor:
            return f"{n / factor:g} {word}"
    return f"{n:g}"


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("session_id", SESSIONS)
def test_a_new_scenario_speaks_its_own_figures(session_id, seed):
    sample = SESSIONS[session_id].SAMPLE
    scenario = fresh_scenario(sample, random.Random(seed))
    session = load_session(session_id, scenario)
    answers = {c.topic: c.answer for c in session.clarifications}
    assert not any("{" in text or "}" in text for text in answers.values())
    said = " ".join(answers.values()).lower()
    for key, text in scenario.items():
        value = q(text)
        if key in ("daily_active_users", "shortenings_per_day", "redirects_per_day"):
            assert f"{_words(float(value.magnitude))} " in said, key
        elif key.endswith("_fraction") or key == "peak_concurrency":
            assert f"{float(value.magnitude) * 100:g} % of" in said, key
        elif key in ("message_size", "url_size", "redirect_size"):
            assert f"about {float(value.magnitude):,g} bytes" in said, key
        elif key == "cdn_server_egress":
            assert f"about {float(value.to('Gbit/s/server').magnitude):,g} gbit/s" in said, key
    # Where a figure changed, the sample's wording of it is gone (no stale figure).
    old = {c.topic: c.answer for c in load_session(session_id).clarifications}
    for topic, template in _templates(session_id).items():
        if any(scenario[k] != sample[k] for k, _ in placeholders(template)):
            assert answers[topic] != old[topic], topic


@pytest.mark.parametrize("session_id", SESSIONS)
def test_a_new_scenario_changes_the_answers_only(session_id):
    """The interviewer's matching does not depend on the scenario: only the answers' text changes."""
    scenario = fresh_scenario(SESSIONS[session_id].SAMPLE, random.Random(11))
    fresh, sample = load_session(session_id, scenario), load_session(session_id)
    assert [dataclasses.replace(c, answer="…") for c in fresh.clarifications] \
        == [dataclasses.replace(c, answer="…") for c in sample.clarifications]
    assert fresh.deep_dive == sample.deep_dive and fresh.sample == sample.sample
    for c in fresh.clarifications:
        assert ask(c.example_question, fresh.clarifications).answer == c.answer
