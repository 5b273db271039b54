"""The interviewer understands how candidates ask: phrasing corpora, shorthand, decisions, and the widget's journal.

The corpora are in tests/corpora/ (``question<TAB>expected``). ``heldout_*.tsv`` were written before the
matcher was built and never tuned against; ``tuning_*.tsv`` were looked at while building it. The figures
print with ``pytest -s``; ``python -m tests.corpora.evaluate`` prints the same table.
"""

from __future__ import annotations

import hashlib

import pytest
from rapidfuzz.utils import default_process

from course.interviewer import (BROAD_EXAMPLES, OFF_TOPIC_EXAMPLES, YOUR_CALL_EXAMPLES, Clarification, Interviewer,
                                ask, interviewer, looks_like_a_decision)
from tests.corpora.evaluate import DATA, HERE, SESSIONS, clarifications, corpus, evaluate, table

#: The held-out corpora as written before the matcher existed: changing them voids the held-out figures.
HELDOUT_SHA256 = {
    "session1_chat": "e8fa049f6f802ddf9e422cf66c1059bf75665ea29f86553836d2a2caeb99a887",
    "session2_url_shortener": "d8eab4ced926e7106ae7c19ef8776c0a9839a1bb8b28c14eba48f25367257bd2",
    "session3_netflix": "5b0ba8d0caf72b6de226006d03a51990356c0b1df300ef07e7787f7f0e012e5e",
}
LABELS = {"OFF_TOPIC", "YOUR_CALL", "BROAD"}


@pytest.fixture(scope="module")
def results():
    return {(s, p): evaluate(s, p) for p in ("tuning", "heldout") for s in SESSIONS}


# ---------------------------------------------------------------------------------------------------
# The corpora

def test_heldout_corpora_are_the_ones_written_before_the_matcher():
    for session, digest in HELDOUT_SHA256.items():
        assert hashlib.sha256((HERE / f"heldout_{session}.tsv").read_bytes()).hexdigest() == digest, session


@pytest.mark.parametrize("session", SESSIONS)
def test_corpora_cover_every_topic_with_enough_questions(session):
    topics = {c.topic for c in clarifications(session)}
    rows = corpus(session, "tuning") + corpus(session, "heldout")
    assert len(rows) >= 150
    used = set().union(*(expected for _, expected in rows))
    assert used <= topics | LABELS, used - topics - LABELS  # every label names a topic of the session
    for part in ("tuning", "heldout"):
        labels = set().union(*(expected for _, expected in corpus(session, part)))
        assert topics | {"OFF_TOPIC", "YOUR_CALL"} <= labels, (part, topics - labels)


@pytest.mark.parametrize("session", SESSIONS)
def test_no_heldout_question_is_copied_into_the_banks(session):
    """The paraphrases and examples written for the matcher never repeat a held-out question word for word."""
    written = {default_process(t) for c in clarifications(session) for t in (*c.paraphrases, *c.your_call)}
    written |= {default_process(t) for t in (*YOUR_CALL_EXAMPLES, *OFF_TOPIC_EXAMPLES, *BROAD_EXAMPLES)}
    assert not [q for q, _ in corpus(session, "heldout") if default_process(q) in written]


def test_heldout_accuracy(results):
    """>= 90 % routed right and <= 3 % answered with a wrong topic, over the held-out corpora."""
    rows = [results[(s, "heldout")] for s in SESSIONS]
    print("\n" + table(rows))
    n = sum(r.n for r in rows)
    assert sum(r.right for r in rows) / n >= 0.90
    assert sum(r.confidently_wrong for r in rows) / n <= 0.03
    for r in rows:  # and no session far behind
        assert r.accuracy >= 0.85 and r.wrong_rate <= 0.05, (r.session, r.accuracy, r.wrong_rate)


def test_tuning_accuracy(results):
    """A regression guard: the corpus the matcher was built on stays routed."""
    rows = [results[(s, "tuning")] for s in SESSIONS]
    print("\n" + table(rows))
    n = sum(r.n for r in rows)
    assert sum(r.right for r in rows) / n >= 0.95
    assert sum(r.confidently_wrong for r in rows) / n <= 0.02


# ---------------------------------------------------------------------------------------------------
# The banks and the answers

@pytest.mark.parametrize("session", SESSIONS)
def test_every_topic_has_a_bank_of_paraphrases_and_answers_its_own_example(session):
    items = clarifications(session)
    for c in items:
        assert 10 <= len(c.paraphrases) <= 30, (c.topic, len(c.paraphrases))
        assert len(set(map(default_process, c.paraphrases))) == len(c.paraphrases), c.topic  # no repeats
        assert ask(c.example_question, items).topic == c.topic


#: The audited figures (shared/reference/content-facts.md §1.1) each answer must keep.
FIGURES = {
    "session1_chat": {
        "Scale": ["100 million daily active users"], "Message volume": ["50 messages per user per day"],
        "Message types": ["100 bytes"], "History": ["30 days"], "Latency": ["under a second"],
        "Reads vs writes": ["2 reads per message"], "Peak traffic": ["3 times"], "Durability": ["3 replicas"],
        "Concurrency": ["10 %", "10 KB", "1 million connections"],
    },
    "session2_url_shortener": {
        "New links": ["500 million"], "Users": ["500 million new links", "50 billion redirects"],
        "Redirects": ["50 billion"],
        "Retention": ["5 years", "1,825 days"], "Custom aliases": ["16 characters"],
        "Short code format": ["62 characters"], "Record size": ["100 bytes", "50 more bytes"],
        "Peak traffic": ["2 times"], "Durability": ["3 replicas"], "Caching": ["80/20", "20 %"],
        "Redirect response": ["500 bytes"],
    },
    "session3_netflix": {
        "Scale": ["200 million registered", "100 million"], "Catalog": ["10,000 titles", "90 minutes"],
        "Qualities": ["480p, 720p, 1080p and 4K", "5, 10, 20 and 50 MB per minute"],
        "Viewing habits": ["1.5 viewing sessions", "60 minutes"], "Peak concurrency": ["10 %"],
        "Stream rate": ["720p", "10 MB per minute"], "Durability": ["3 copies"], "Edge servers": ["400 Gbit/s"],
        "Startup and buffering": ["2 seconds"],
    },
}


@pytest.mark.parametrize("session", SESSIONS)
def test_answers_keep_the_audited_figures(session):
    answers = {c.topic: c.answer for c in clarifications(session)}
    for topic, figures in FIGURES[session].items():
        assert all(f in answers[topic] for f in figures), (topic, answers[topic])


def test_the_course_loads_the_paraphrases_with_the_session():
    """course.content passes the TOML's paraphrases and your-call examples on to the interviewer."""
    from course.content import load_session

    import tomllib

    for session in SESSIONS:
        loaded = load_session(session).clarifications
        raw = tomllib.loads((DATA / f"{session}.toml").read_text(encoding="utf-8"))["clarification"]
        assert [c.paraphrases for c in loaded] == [tuple(t.get("paraphrases", ())) for t in raw], (
            "course/content.py must build each clarification with Clarification.from_dict(c), "
            "which carries the TOML's paraphrases and your_call examples")


# ---------------------------------------------------------------------------------------------------
# How candidates ask

URL = "session2_url_shortener"


@pytest.mark.parametrize("session, question, topic", [
    ("session1_chat", "QPS?", "Message volume"),
    ("session1_chat", "DAU?", "Scale"),
    ("session1_chat", "p99?", "Latency"),
    ("session1_chat", "R:W?", "Reads vs writes"),
    ("session1_chat", "RF?", "Durability"),
    ("session1_chat", "how many msgs/day per user", "Message volume"),
    (URL, "DAU?", "Users"),
    (URL, "TTL?", "Retention"),
    (URL, "do users log in?", "Accounts and deletion"),
    (URL, "write QPS?", "New links"),
    (URL, "how long should the short code be", "Short code format"),  # not the 5-year retention
    (URL, "how many times is each link clicked", "Redirects"),  # not "Keep 3 replicas"
    (URL, "how long shuold the shrot code be", "Short code format"),  # typos
    ("session3_netflix", "how many MB/min at 1080p?", "Qualities"),
    ("session3_netflix", "gbps per CDN box?", "Edge servers"),
    ("session3_netflix", "p99 startup time?", "Startup and buffering"),
    ("session3_netflix", "is the home page personalised?", "Recommendations"),
])
def test_shorthand_typos_and_word_forms(session, question, topic):
    assert ask(question, clarifications(session)).topic == topic


@pytest.mark.parametrize("question", ["SQL or NoSQL?", "301 or 302?", "should I use Kafka here",
                                      "which database would you pick", "push or pull?", "Redis vs Memcached",
                                      "what should the sharding key be", "strong or eventual consistency?"])
def test_design_decisions_are_the_candidates_call(question):
    assert looks_like_a_decision(question) or ask(question, clarifications(URL)).kind == "your_call"
    reply = ask(question, clarifications(URL))
    assert reply.kind == "your_call" and "your call" in reply.text and not reply


@pytest.mark.parametrize("question", ["how big should the cache be", "what cache size", "mobile or web?",
                                      "how many users"])
def test_requirements_are_not_mistaken_for_decisions(question):
    assert not looks_like_a_decision(question)


@pytest.mark.parametrize("question", ["what's your favourite colour", "what is the budget?", "tell me a joke",
                                      "do we need kids profiles", "how long is this interview?"])
def test_off_topic_gets_nothing_on_that_and_no_list_of_topics(question):
    items = clarifications("session3_netflix")
    reply = ask(question, items)
    assert reply.kind == "off_topic" and "nothing on that" in reply.text
    assert not any(c.topic.lower() in reply.text.lower() for c in items)


@pytest.mark.parametrize("question", ["what are the functional requirements?", "non-functional requirements?",
                                      "what are the requirements?"])
def test_a_question_for_everything_at_once_gets_one_at_a_time(question):
    reply = ask(question, clarifications(URL))
    assert reply.kind == "broad" and "one at a time" in reply.text and not reply


def test_two_questions_in_one_get_both_answers():
    items = clarifications("session1_chat")
    reply = ask("How many users, and how many messages does each send per day?", items)
    assert reply.topics == ("Scale", "Message volume")
    assert "100 million" in reply.text and "50 messages" in reply.text


@pytest.mark.parametrize("session, question, topics", [
    ("session2_url_shortener", "what characters can appear in the short code and how long should it be",
     ("Short code format",)),                     # "it" is the code: not the links' retention
    ("session3_netflix", "how many titles are in the catalog and how long is each one?", ("Catalog",)),
    ("session1_chat", "can people send images, and how big can they be?", ("Message types",)),
    # a pronoun with a topic of its own is still a second question
    ("session2_url_shortener", "how many links are created per day and how long do we keep them?",
     ("New links", "Retention")),
])
def test_a_part_that_only_points_back_belongs_to_the_rest_of_the_question(session, question, topics):
    assert ask(question, clarifications(session)).topics == topics


def test_an_unclear_question_asks_for_more_rather_than_guessing():
    reply = ask("how many per day?", clarifications(URL))
    assert reply.kind == "unclear" and "more specific" in reply.text and reply.topic is None


def test_a_reply_tells_how_sure_it_is():
    reply = ask("how many redirects a day?", clarifications(URL))
    assert reply.topic == "Redirects" and reply.candidates[0] == "Redirects"
    assert 0 < reply.score <= 1 and reply.margin > 0


# ---------------------------------------------------------------------------------------------------
# The widget: the newest reply by the input, the topic list as an opt-in hint, what was found unaided

def _ask(chat: Interviewer, question: str) -> None:
    chat.question.value = question
    chat.ask_button.click()


def test_the_topic_list_is_hidden_until_asked_for():
    chat = interviewer(clarifications(URL))
    assert chat.show_topics.value is False and chat.checklist.layout.display == "none"
    assert chat.checklist.value == "" and "asked 0 of 17 topics" in chat.progress.value
    chat.show_topics.value = True
    assert chat.checklist.layout.display != "none" and "☐ Short code format" in chat.checklist.value
    assert chat.show_topics.description == "hide topics"
    chat.show_topics.value = False
    assert chat.checklist.layout.display == "none" and chat.hint_opened


def test_the_newest_reply_sits_above_the_history():
    chat = interviewer(clarifications(URL))
    children = list(chat.children)
    assert children.index(chat.reply) < children.index(chat.transcript)
    _ask(chat, "DAU?")
    _ask(chat, "TTL?")
    assert "5 years" in chat.reply.value and "500 million" in chat.transcript.value
    _ask(chat, "301 or 302?")
    assert "your call" in chat.reply.value
    assert chat.transcript.value.index("TTL?") < chat.transcript.value.index("DAU?")  # history newest first


def test_the_widget_records_what_was_found_unaided():
    chat = interviewer(clarifications(URL))
    _ask(chat, "how many new links per day?")
    _ask(chat, "what's your favourite colour")
    _ask(chat, "do links expire?")
    assert chat.found_unaided == {"New links", "Retention"} == chat.found
    chat.show_topics.value = True  # the hint
    _ask(chat, "how big is the redirect response?")
    assert chat.found == {"New links", "Retention", "Redirect response"}
    assert chat.found_unaided == {"New links", "Retention"}
    assert chat.asked == ["New links", "Retention", "Redirect response"]
    assert [(e.kind, e.topics, e.hint_open) for e in chat.exchanges] == [
        ("answer", ("New links",), False), ("off_topic", (), False), ("answer", ("Retention",), False),
        ("answer", ("Redirect response",), True)]


def test_a_clarification_can_be_built_from_its_toml_table():
    c = Clarification.from_dict({"topic": "Scale", "keywords": ["dau"], "example_question": "How many users?",
                                 "answer": "100 M.", "paraphrases": ["DAU?"], "your_call": ["SQL or NoSQL?"]})
    assert c.paraphrases == ("DAU?",) and c.your_call == ("SQL or NoSQL?",)
    assert Clarification.from_dict({"topic": "Scale", "keywords": ["dau"], "example_question": "How many users?",
                                    "answer": "100 M."}).paraphrases == ()
