"""Widgets without a frontend: construct them, set values, click, read the HTML; and their static view under grading."""

from __future__ import annotations

import ipywidgets as widgets
import pytest
from IPython.display import HTML

from course.assumptions import Assumptions
from course.errors import CourseInputError
from course.interviewer import Clarification, Interviewer, ask, interviewer
from course.rubric import DIMENSIONS, RubricWidget, rubric_widget, score
from course.timeline import PHASES, TimelineWidget, phase_at, timeline, timeline_table
from course.units import q
from course.whatif import NOT_IMPLEMENTED, WhatIf, explore

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def live(monkeypatch):
    """A student's live notebook, whatever the environment running the tests says."""
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("COURSE_STATIC_WIDGETS", raising=False)


@pytest.fixture
def grading(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")


# ---------------------------------------------------------------------------------------------------
# Timeline


def test_phases_cover_the_45_minutes_without_gaps():
    assert [p.name for p in PHASES] == ["Introduction & problem", "Requirements", "Estimation", "High-level design",
                                        "Detailed design", "Deep dive", "Wrap-up"]
    assert PHASES[0].start == 0 and PHASES[-1].end == 45
    assert all(a.end == b.start for a, b in zip(PHASES, PHASES[1:]))
    assert all(p.good for p in PHASES)
    table = timeline_table()
    assert list(table["phase"]) == [p.name for p in PHASES]
    assert table["length (min)"].sum() == 45


@pytest.mark.parametrize("minute, phase", [(0, "Introduction & problem"), (2.99, "Introduction & problem"),
                                           (3, "Requirements"), (8, "Estimation"), (12.9, "Estimation"),
                                           (29.5, "Detailed design"), (44.9, "Wrap-up")])
def test_a_phase_owns_its_start_minute(minute, phase):
    assert phase_at(minute).name == phase


def test_no_phase_once_time_is_up_and_bad_minutes_are_refused():
    assert phase_at(45) is None
    for bad in (-1, "5", None, float("nan")):
        with pytest.raises(CourseInputError, match="minute"):
            phase_at(bad)


def test_clock_ticks_in_the_browser_in_real_time_with_a_fast_mode():
    clock = timeline()
    assert isinstance(clock, TimelineWidget)
    assert (clock.play.interval, clock.play.step, clock.play.max) == (1000, 1, 45 * 60)
    assert clock.clock.max == 45 * 60 and clock.fast.value is False
    clock.fast.value = True  # one interview minute per second, to walk the phases
    assert clock.play.step == 60
    clock.fast.value = False
    assert clock.play.step == 1
    assert isinstance(clock.link, widgets.widget_link.Link)  # jslink: no kernel round trip
    assert clock.link.source == (clock.play, "value") and clock.link.target == (clock.clock, "value")
    assert "<b>0:00</b> of 45:00" in clock.status.value and "Introduction" in clock.status.value


def test_status_names_the_phase_and_the_time_left_in_it():
    clock = timeline()
    clock.clock.value = 17 * 60  # the student drags the slider
    assert "<b>17:00</b>" in clock.status.value
    assert "High-level design" in clock.status.value and "3:00 left in this phase" in clock.status.value
    assert "What good looks like" in clock.status.value
    clock.play.value = 32 * 60 + 30  # the Play button reports a tick
    assert "Deep dive" in clock.status.value and "7:30 left" in clock.status.value
    clock.clock.value = 45 * 60
    assert "time is up" in clock.status.value


@pytest.mark.parametrize("minutes_per_tick, step", [(1 / 60, 1), (0.5, 30), (5, 300)])
def test_speed_is_configurable(minutes_per_tick, step):
    clock = timeline(minutes_per_tick=minutes_per_tick)
    assert clock.play.step == step and clock.play.interval == 1000


@pytest.mark.parametrize("bad", [0, -1, 46, 1 / 120, 0.51, "fast", True, None])
def test_bad_speeds_are_refused(bad):
    with pytest.raises(CourseInputError, match="minutes_per_tick"):
        timeline(minutes_per_tick=bad)


def test_section_headings_show_their_phase_minutes():
    from course.timeline import minutes_of

    assert minutes_of("Requirements") == "3–8" and minutes_of("deep dive") == "32–40"
    with pytest.raises(CourseInputError, match="no phase named"):
        minutes_of("Coffee")


def test_timeline_is_static_under_grading(grading):
    view = timeline()
    assert isinstance(view, HTML) and not isinstance(view, widgets.Widget)
    assert all(p.name.replace("&", "&amp;") in view.data for p in PHASES)
    with pytest.raises(CourseInputError):
        timeline(minutes_per_tick=0)


# ---------------------------------------------------------------------------------------------------
# Rubric widget


def test_rubric_widget_waits_for_every_rating():
    rubric = rubric_widget()
    assert isinstance(rubric, RubricWidget)
    assert set(rubric.toggles) == {d.name for d in DIMENSIONS}
    assert rubric.result is None
    assert "0 of 4 rated" in rubric.summary.value
    assert rubric.chart.layout.display == "none"
    rubric.toggles["Communication"].value = 3
    assert "1 of 4 rated" in rubric.summary.value
    assert "Clear, structured communication" in rubric.descriptors["Communication"].value
    assert "not rated yet" in rubric.descriptors["Depth of Knowledge"].value


def test_rubric_widget_scores_live():
    rubric = rubric_widget()
    for name, toggle in rubric.toggles.items():
        toggle.value = 3
    assert rubric.result == score({name: 3 for name in rubric.toggles})
    assert "100 / 100 → L5-L6" in rubric.summary.value
    assert bytes(rubric.chart.value).startswith(PNG) and rubric.chart.layout.display is None
    first_chart = bytes(rubric.chart.value)
    rubric.toggles["Technical Design"].value = 1
    assert "75 / 100 → L4" in rubric.summary.value
    assert bytes(rubric.chart.value) != first_chart


def test_rubric_widget_is_the_descriptor_table_under_grading(grading):
    view = rubric_widget()
    assert isinstance(view, HTML)
    assert all(text in view.data for d in DIMENSIONS for text in d.descriptors)


# ---------------------------------------------------------------------------------------------------
# Interviewer (the matcher's corpora and the widget's journal are in tests/test_interviewer.py)

#: The seed's session 1: what a candidate should ask, and the sample clarifications (keywords only).
CHAT_APP = (
    Clarification("scale", ("how many user", "number of user", "active user", "user base", "people", "dau",
                            "daily active", "scale", "traffic", "load", "how big"),
                  "How many users are we expecting?", "100 million daily active users."),
    Clarification("features", ("feature", "text", "media", "image", "photo", "picture", "video", "file",
                               "type of message", "kind of message", "group"),
                  "What types of messages do we support?", "Text messages only, for now."),
    Clarification("history", ("history", "retention", "retain", "store", "how long", "old message", "delete"),
                  "Do we need message history?", "Keep message history for 30 days."),
    Clarification("latency", ("latency", "real time", "realtime", "fast", "quickly", "delay", "delivery", "instant"),
                  "What are the real-time delivery requirements?", "Real-time delivery: under 1 second."),
    Clarification("platforms", ("platform", "mobile", "web", "app", "desktop", "browser", "ios", "android",
                                "device", "client"),
                  "Mobile, web, or both?", "Mobile app first, web second."),
    Clarification("regions", ("region", "country", "countries", "global", "worldwide", "international",
                              "language", "locale"),
                  "Are there specific regions or countries?", "Global, but English only."),
)
ANSWERS = [c.answer for c in CHAT_APP]


def said(chat: Interviewer) -> str:
    """Everything the widget shows of the conversation: the newest exchange and the history."""
    return chat.reply.value + chat.transcript.value


@pytest.mark.parametrize(
    "question, topic",
    [
        ("how many users?", "scale"),
        ("How many users are we expecting?", "scale"),
        ("how many usres are exepcted", "scale"),  # typos: "usres" → "users"
        ("Can users send pictures?", "features"),
        ("What kinds of message do we support", "features"),
        ("How long do we keep messages?", "history"),
        ("Any latency requirements?", "latency"),
        ("Is it mobile or web?", "platforms"),
        ("Is this global?", "regions"),
    ],
)
def test_ask_matches_a_question_to_its_topic(question, topic):
    reply = ask(question, CHAT_APP)
    assert reply and reply.kind == "answer" and reply.topic == topic
    assert reply.answer == reply.text == next(c.answer for c in CHAT_APP if c.topic == topic)


@pytest.mark.parametrize("question, kind", [("what's your favourite colour", "off_topic"),
                                            ("What database should I use?", "your_call"),
                                            ("SQL or NoSQL?", "your_call"),
                                            ("", "empty"), ("   ?!  ", "empty")])
def test_ask_answers_no_topic_off_topic_or_for_a_decision(question, kind):
    reply = ask(question, CHAT_APP)
    assert not reply and reply.topic is None and reply.answer is None
    assert reply.kind == kind


def test_a_question_the_interviewer_has_nothing_on_is_never_answered():
    assert not ask("Should messages be encrypted?", CHAT_APP)


def test_keywords_match_other_forms_of_their_words():
    items = (Clarification("platforms", ("devices",), "Which devices?", "Phones."),
             Clarification("scale", ("user",), "How many users?", "Many."))
    assert ask("what device?", items).topic == "platforms"
    assert ask("any users?", items).topic == "scale"
    assert ask("the user count?", items).topic == "scale"


def test_ask_refuses_bad_input():
    with pytest.raises(CourseInputError, match="a question must be text"):
        ask(42, CHAT_APP)
    with pytest.raises(CourseInputError, match="non-empty list"):
        ask("how many users?", [])
    with pytest.raises(CourseInputError, match="topic 'scale' appears twice"):
        ask("how many users?", [CHAT_APP[0], CHAT_APP[0]])
    with pytest.raises(CourseInputError, match="expected Clarification"):
        ask("how many users?", ["scale"])
    with pytest.raises(CourseInputError, match="title must be text"):
        interviewer(CHAT_APP, title=None)


def test_a_clarification_needs_text_and_a_tuple_of_keywords():
    with pytest.raises(CourseInputError, match="topic"):
        Clarification("", ("user",), "How many users?", "100 M")
    with pytest.raises(CourseInputError, match="keywords"):
        Clarification("scale", "users", "How many users?", "100 M")
    with pytest.raises(CourseInputError, match="keywords"):
        Clarification("scale", 5, "How many users?", "100 M")
    with pytest.raises(CourseInputError, match="paraphrases"):
        Clarification("scale", ("user",), "How many users?", "100 M", paraphrases="DAU?")
    assert Clarification("scale", ["user"], "How many users?", "100 M").keywords == ("user",)
    assert Clarification("scale", ["user"], "How many users?", "100 M", ["DAU?"]).paraphrases == ("DAU?",)


def test_interviewer_reveals_nothing_before_a_question():
    chat = interviewer(CHAT_APP, title="Design a chat app")
    assert isinstance(chat, Interviewer)
    assert "asked 0 of 6 topics" in chat.progress.value
    assert said(chat) == ""
    assert chat.remaining_topics == [c.topic for c in CHAT_APP]
    assert not any(answer in widget.value for answer in ANSWERS
                   for widget in chat.children if isinstance(widget, widgets.HTML))


def test_asking_reveals_that_answer_only_and_ticks_the_topic():
    chat = interviewer(CHAT_APP)
    chat.question.value = "how many users?"
    chat.ask_button.click()
    assert "100 million daily active users." in chat.reply.value  # the newest reply sits by the input
    assert "<b>You:</b> how many users?" in chat.reply.value
    assert not any(answer in said(chat) for answer in ANSWERS[1:])
    assert "asked 1 of 6 topics" in chat.progress.value
    assert chat.remaining_topics == ["features", "history", "latency", "platforms", "regions"]
    assert chat.question.value == ""
    chat.question.value = "What's the DAU again?"
    chat.ask_button.click()
    assert "asked 1 of 6 topics" in chat.progress.value  # a topic counts once
    assert "how many users?" in chat.transcript.value and "DAU again" in chat.reply.value  # older below, newest first


def test_enter_submits_the_question():
    chat = interviewer(CHAT_APP)
    chat.question.value = "Do we need message history?"
    chat.question._handle_custom_msg({"event": "submit"}, [])  # what the browser sends on Enter
    assert "Keep message history for 30 days." in chat.reply.value
    assert chat.remaining_topics == ["scale", "features", "latency", "platforms", "regions"]


def test_an_off_topic_question_gets_nothing_on_that_and_no_agenda():
    chat = interviewer(CHAT_APP)
    chat.question.value = "what's your favourite colour"
    chat.ask_button.click()
    text = said(chat)
    assert "I have nothing on that" in text and "That is not a constraint for this session" in text
    assert not any(c.topic in text for c in CHAT_APP)  # the remaining topics are not listed
    assert not any(answer in text for answer in ANSWERS)
    assert "asked 0 of 6 topics" in chat.progress.value


def test_a_design_decision_is_the_candidates_call():
    chat = interviewer(CHAT_APP)
    chat.question.value = "Should I use Cassandra or MySQL?"
    chat.ask_button.click()
    assert "your call" in chat.reply.value and "why?" in chat.reply.value
    assert chat.found == set()


def test_an_empty_question_gets_a_polite_prompt():
    chat = interviewer(CHAT_APP)
    chat.question.value = "   "
    chat.ask_button.click()
    assert "Go ahead" in said(chat) and "You:" not in said(chat)
    assert chat.remaining_topics == [c.topic for c in CHAT_APP]


def test_the_transcript_escapes_what_the_student_types():
    chat = interviewer(CHAT_APP)
    chat.question.value = "<script>alert(1)</script> how many users?"
    chat.ask_button.click()
    chat.question.value = "is it global?"
    chat.ask_button.click()
    assert "<script>" not in said(chat) and "&lt;script&gt;" in chat.transcript.value


def test_after_every_topic_the_interviewer_says_so():
    chat = interviewer(CHAT_APP)
    for clarification in CHAT_APP:
        chat.question.value = clarification.example_question
        chat.ask_button.click()
    assert "asked 6 of 6 topics" in chat.progress.value and chat.remaining_topics == []
    chat.question.value = "what is the budget?"
    chat.ask_button.click()
    assert "covered every topic" in chat.reply.value


def test_interviewer_lists_topics_not_answers_under_grading(grading):
    view = interviewer(CHAT_APP)
    assert isinstance(view, HTML)
    assert all(f"<li>{c.topic}</li>" in view.data for c in CHAT_APP)
    assert not any(answer in view.data for answer in ANSWERS)


# ---------------------------------------------------------------------------------------------------
# What-if explorer

CHAT = Assumptions(daily_active_users="100 M user", messages_per_user="50 msg/user/day",
                   message_size="100 B/msg", peak_factor=3)


def write_qps(a):
    return (a.daily_active_users * a.messages_per_user).to("msg/s")


def storage(a):
    return (a.daily_active_users * a.messages_per_user * a.message_size * q("30 day")).to("TB")


def peak_qps(a):
    raise NotImplementedError()


def broken(a):
    return 1 / 0


ESTIMATES = {"write QPS": write_qps, "storage (30 days)": storage, "peak QPS": peak_qps}
SLIDERS = {"daily_active_users": (1e6, 1e9), "peak_factor": (1, 5)}


def test_explorer_has_a_slider_per_assumption_and_the_starting_table():
    what = explore(CHAT, ESTIMATES, SLIDERS)
    assert isinstance(what, WhatIf)
    assert isinstance(what.sliders["daily_active_users"], widgets.FloatLogSlider)  # spans 3 decades
    assert isinstance(what.sliders["peak_factor"], widgets.FloatSlider)
    assert what.sliders["daily_active_users"].value == 1e8
    assert what.labels["daily_active_users"].value == "100 M user"
    assert "57.9 K msg/s" in what.table.value and "15 TB" in what.table.value
    assert "×1" in what.table.value
    assert bytes(what.chart.value).startswith(PNG)


def test_moving_a_slider_recomputes_every_estimate():
    what = explore(CHAT, ESTIMATES, SLIDERS)
    first_chart = bytes(what.chart.value)
    what.sliders["daily_active_users"].value = 2e8
    assert isinstance(what.current, Assumptions)  # built with Assumptions.replace
    assert what.current.daily_active_users == q("200 M user")
    assert what.results["write QPS"].to("msg/s").magnitude == pytest.approx(2e8 * 50 / 86_400)
    assert "116 K msg/s" in what.table.value and "30 TB" in what.table.value and "×2" in what.table.value
    assert what.labels["daily_active_users"].value == "200 M user"
    assert bytes(what.chart.value) != first_chart


def test_an_unwritten_estimate_shows_not_implemented_and_the_rest_still_work(capfd):
    what = explore(CHAT, {**ESTIMATES, "broken": broken, "no return": lambda a: None}, SLIDERS)
    what.sliders["peak_factor"].value = 4
    assert what.results["peak QPS"] == NOT_IMPLEMENTED
    assert f"<i>{NOT_IMPLEMENTED}</i>" in what.table.value
    assert "error: ZeroDivisionError: division by zero" in what.table.value
    assert "error: returned None (is a `return` missing?)" in what.table.value
    assert "57.9 K msg/s" in what.table.value
    assert capfd.readouterr().err == ""


def test_a_plain_dict_of_numbers_works_too():
    assumptions = {"requests_per_day": 1e9, "peak_factor": 2.0}
    what = explore(assumptions, {"peak rps": lambda a: a["requests_per_day"] * a["peak_factor"] / 86_400},
                   {"peak_factor": (1, 4)})
    what.sliders["peak_factor"].value = 3
    assert what.current == {"requests_per_day": 1e9, "peak_factor": 3.0} and type(what.current) is dict
    assert assumptions["peak_factor"] == 2.0  # the caller's dict is not modified
    assert what.results["peak rps"].magnitude == pytest.approx(3e9 / 86_400)
    what.refresh()
    assert "×1.5" in what.table.value


@pytest.mark.parametrize(
    "assumptions, estimates, sliders, message",
    [
        (CHAT, ESTIMATES, {"users": (1, 10)}, "no assumption named 'users'"),
        (CHAT, ESTIMATES, {"peak_factor": (5, 1)}, "low must be below high"),
        (CHAT, ESTIMATES, {"peak_factor": (4, 10)}, "starting value 3 is outside"),
        (CHAT, ESTIMATES, {"peak_factor": 5}, "as \\(low, high\\) numbers"),
        (CHAT, ESTIMATES, {"peak_factor": ("1", "5")}, "as \\(low, high\\) numbers"),
        (CHAT, {}, SLIDERS, "non-empty dict"),
        (CHAT, {"qps": 5}, SLIDERS, "'qps' must be a function"),
        ([1, 2], ESTIMATES, SLIDERS, "assumptions must be"),
        ({"dau": "100 M user"}, {"x": write_qps}, {"dau": (1, 10)}, "needs a quantity or a number"),
    ],
)
def test_explore_refuses_bad_arguments(assumptions, estimates, sliders, message):
    with pytest.raises(CourseInputError, match=message):
        explore(assumptions, estimates, sliders)


def test_explorer_is_the_starting_table_under_grading(grading):
    view = explore(CHAT, ESTIMATES, SLIDERS)
    assert isinstance(view, HTML)
    assert "57.9 K msg/s" in view.data and NOT_IMPLEMENTED in view.data
    assert "vs start" not in view.data
    with pytest.raises(CourseInputError, match="no assumption named"):
        explore(CHAT, ESTIMATES, {"users": (1, 10)})
