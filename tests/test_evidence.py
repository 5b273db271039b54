"""The evidence recorder, fed by a real IPython shell running real check cells, a real interviewer and the
real key points; its phases, its bounds, its silence on errors, and grading mode (nothing recorded)."""

from __future__ import annotations

import json
import re

import pytest
from IPython.core.interactiveshell import InteractiveShell

from course import evidence
from course.checks import check, expect_equal, fail, public_checks_passed
from course.content import load_session
from course.errors import CourseInputError
from course.evidence import PHASE_NAMES, SKILLS, Evidence, Recorder, SkillEvidence, skill_of
from course.interviewer import Interviewer
from course.keypoints import KeyPoint, key_points
from course.timeline import PHASES, TimelineWidget
from tests.helpers import release_nb

SESSION = load_session("session1_chat")
TOPICS = [c.topic for c in SESSION.clarifications]


class FakeClock:
    """Seconds that only move when the test says so (no real time is measured or asserted)."""

    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t

    def wait(self, minutes: float) -> None:
        self.t += minutes * 60


@pytest.fixture(autouse=True)
def live(monkeypatch, tmp_path):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("COURSE_STATIC_WIDGETS", raising=False)
    monkeypatch.setenv("COURSE_JOURNAL_DIR", str(tmp_path))  # start() has the practice journal follow
    evidence.reset()
    yield
    evidence.reset()


class Notebook:
    """Runs cells in the shell, the fake clock moving ``after`` minutes before each one."""

    def __init__(self, shell: InteractiveShell, clock: FakeClock) -> None:
        self.shell, self.clock = shell, clock

    def run(self, code: str, *, after: float = 0.5, cell_id: str | None = None):
        self.clock.wait(after)
        return self.shell.run_cell(code, cell_id=cell_id)


@pytest.fixture
def notebook(shell):
    clock = FakeClock()
    shell.user_ns["SESSION"] = SESSION
    evidence.start(SESSION, now=clock)
    assert evidence.install(shell)
    return Notebook(shell, clock)


def ask(interviewer: Interviewer, question: str) -> None:
    interviewer.question.value = question
    interviewer.ask_button.click()


def words(*points: str) -> str:
    """An answer of 25+ words that mentions exactly the given keywords."""
    return " ".join(points) + " " + " ".join(["and", "then", "the", "system", "would", "simply", "work"] * 4)


# ---------------------------------------------------------------------------------------------------
# Skills from the check sections' titles


def _labels() -> list[str]:
    labels = []
    for session in ("session1_chat", "session2_url_shortener", "session3_netflix"):
        notebook = json.loads(release_nb(session).read_text(encoding="utf-8"))
        for cell in notebook["cells"]:
            labels += [m[1] for m in re.findall(r"public_checks_passed\((['\"])(.*?)\1\)", "".join(cell["source"]))]
    return labels


EXPECTED_SKILLS = {
    "the assumptions": "requirements", "traffic": "traffic", "connections": "traffic",
    "concurrent viewers": "traffic", "storage": "storage", "key space": "storage", "bandwidth": "bandwidth",
    "cache and bandwidth": "bandwidth", "egress": "bandwidth", "the architecture": "design",
    "the schema": "schema", "the API": "API", "ordering": "algorithm", "base62": "algorithm",
    "collisions": "algorithm", "key ranges": "algorithm", "adaptive bitrate": "algorithm",
    "signed URLs": "algorithm", "the recommender": "algorithm", "storage after the curveball": "storage",
    "key space after the curveball": "storage", "egress after the curveball": "bandwidth",
}


def test_every_check_section_of_every_released_notebook_has_its_skill():
    labels = _labels()
    assert set(labels) == set(EXPECTED_SKILLS)  # a new section needs a decision here
    assert {label: skill_of(label) for label in labels} == {label: EXPECTED_SKILLS[label] for label in labels}
    assert set(EXPECTED_SKILLS.values()) == set(SKILLS)  # every skill is exercised by some session


@pytest.mark.parametrize("label", [None, "", "   ", 7, b"traffic"])
def test_no_title_no_skill(label):
    assert skill_of(label) is None


def test_phase_names_are_the_timelines():
    assert PHASE_NAMES == tuple(p.name for p in PHASES)
    assert set(evidence.PHASE_OF_SKILL) == set(SKILLS)


# ---------------------------------------------------------------------------------------------------
# A whole session through a real shell


def test_a_session_worked_in_the_notebook_is_recorded_as_it_happened(notebook):
    nb = notebook
    nb.run("from course.checks import check, expect_equal, public_checks_passed\n"
           "from course.units import q\nfrom course import evidence\nevidence.start(SESSION)", after=0, cell_id="setup")

    # Requirements: 7 topics found unaided, the topic list opened, 2 more found.
    assert nb.run("from course.interviewer import interviewer\niv = interviewer(SESSION.clarifications)",
                  after=2).success
    iv = nb.shell.user_ns["iv"]
    for c in SESSION.clarifications[:7]:
        ask(iv, c.example_question)
    ask(iv, "what is the budget?")  # nothing on that: a question, no topic
    iv.show_topics.value = True
    for c in SESSION.clarifications[7:9]:
        ask(iv, c.example_question)
    nb.run("users = q('100 M user')", after=9, cell_id="assumptions")
    assert nb.run("check('daily_active_users', users, '100 M user', quiet=True)\n"
                  "public_checks_passed(\"the assumptions\")", after=1, cell_id="test_assumptions").success

    # Estimation: traffic right first time; storage wrong twice; bandwidth run as an untouched stub first.
    traffic_check = ("check('messages_per_second', rate, '57870.37 msg/s')\npublic_checks_passed('traffic')")
    nb.run("rate = q('57870 msg/s')")
    assert nb.run(traffic_check, cell_id="test_traffic").success
    storage_check = "check('history_storage', stored, '15 TB')\npublic_checks_passed('storage')"
    for wrong in ("15 GB", "120 TB"):
        nb.run(f"stored = q({wrong!r})")
        assert not nb.run(storage_check, cell_id="test_storage").success
    nb.run("stored = q('15 TB')")
    assert nb.run(storage_check, cell_id="test_storage").success
    nb.run("def ingress(a=None):\n    raise NotImplementedError()")
    bandwidth_check = "check('ingress_bandwidth', ingress(), '5.787 MB/s')\npublic_checks_passed('bandwidth')"
    assert not nb.run(bandwidth_check, cell_id="test_bandwidth").success  # no answer yet: not a try
    nb.run("def ingress(a=None):\n    return q('5.787 MB/s')")
    assert nb.run(bandwidth_check, cell_id="test_bandwidth").success

    # Design right first time; the schema checked before its answer cell ran (not a try); the API wrong once.
    design_check = ("from course.architecture import assert_architecture\n"
                    "assert_architecture(architecture, require_kinds=['client', 'db'])\n"
                    'public_checks_passed("the architecture")')
    nb.run('architecture = """\n# YOUR ANSWER HERE: one connection per line\n"""', after=0.5)  # run all: the stub
    assert not nb.run(design_check, cell_id="test_architecture").success  # nothing to check yet: not a try
    nb.run("architecture = 'App [client] -> Service -> Store [db]'", after=0)
    assert nb.run(design_check, cell_id="test_architecture").success
    schema_check = "expect_equal('tables', tables, ['messages'])\npublic_checks_passed(\"the schema\")"
    assert not nb.run(schema_check, cell_id="test_schema").success  # NameError: `tables` not defined yet
    nb.run("tables = ['messages']")
    assert nb.run(schema_check, cell_id="test_schema").success
    api_check = ("from course.api import assert_api\n"
                 "assert_api(api_spec, required=[('POST', '/chats/{}/messages', 'send a message')])\n"
                 'public_checks_passed("the API")')
    nb.run("api_spec = 'GET /chats/{chat_id}/messages'")
    assert not nb.run(api_check, cell_id="test_api").success
    nb.run("api_spec = 'POST /chats/{chat_id}/messages  body: text'")
    assert nb.run(api_check, cell_id="test_api").success
    nb.run("def seqs():\n    return [1, 2, 3]")
    assert nb.run("expect_equal('first numbers', seqs(), [1, 2, 3])\npublic_checks_passed(\"ordering\")",
                  cell_id="test_ordering").success

    # Deep dive: first answers cover 4 + 3 + 2 = 9 of 15 key points; one is improved after seeing them.
    nb.shell.user_ns["first"] = words("persist", "push", "reconnect", "retry")
    nb.shell.user_ns["better"] = words("persist", "push", "reconnect", "retry", "dedup")
    nb.shell.user_ns["group"] = words("members", "fan out", "pull")
    nb.shell.user_ns["order"] = words("per chat", "sequence")
    nb.run("SESSION.key_points('offline_delivery', 'too short to reveal anything')")
    for answer, question in (("first", "offline_delivery"), ("better", "offline_delivery"),
                             ("group", "group_chat"), ("order", "message_ordering")):
        assert nb.run(f"SESSION.key_points({question!r}, {answer})").success

    found = evidence.gather(SESSION)
    assert isinstance(found, Evidence) and not found.empty
    assert found.session_id == "session1_chat"
    assert (found.topics_total, found.topics_found, found.topics_unaided) == (11, 9, 7)
    assert found.hint_opened and found.questions_asked == 10
    outcome = {name: (s.tries, s.passed_on, s.passing_now) for name, s in found.skills.items()}
    assert outcome == {
        "requirements": (1, 1, True), "traffic": (1, 1, True), "storage": (3, 3, True),
        "bandwidth": (1, 1, True), "design": (1, 1, True), "schema": (1, 1, True), "API": (2, 2, True),
        "algorithm": (1, 1, True),
    }
    assert found.skills["storage"].describe() == "passed only after 3 tries"
    assert (found.key_points_covered, found.key_points_best, found.key_points_total) == (9, 10, 20)
    assert (found.questions_answered, found.questions_total) == (3, 4)  # the curveball's plan not written
    # Requirements: the 2-minute pause before the interviewer cell, 9 before the answer cell, 1 before its
    # check. Every other cell came half a minute after the one before, in the phase of the check after it.
    assert dict(found.phase_minutes) == pytest.approx({
        "Introduction & problem": 0, "Requirements": 12, "Estimation": 12 * 0.5, "High-level design": 3 * 0.5,
        "Detailed design": 9 * 0.5, "Deep dive": 5 * 0.5,
    })
    assert found.clock_minutes == {}  # no interview clock running
    assert evidence.current().errors == 0


def test_a_failure_caught_in_the_cell_is_still_a_failed_try(notebook):
    nb = notebook
    nb.run("from course.checks import check, public_checks_passed\nfrom course.units import q")
    result = nb.run("try:\n    check('read_qps', q('1 msg/s'), '115740 msg/s')\nexcept AssertionError:\n    pass\n"
                    "public_checks_passed('traffic')")
    assert result.success
    traffic = evidence.gather().skills["traffic"]
    assert (traffic.tries, traffic.passed_on) == (1, None)


def test_a_name_error_inside_the_students_function_is_a_try(notebook):
    nb = notebook
    nb.run("from course.checks import check, public_checks_passed")
    nb.run("def egress(a=None):\n    return undefined_rate * 2")
    assert not nb.run("check('egress', egress(), '1 MB/s')\npublic_checks_passed('egress')").success
    assert evidence.gather().skills["bandwidth"].tries == 1


def test_answer_cells_take_the_phase_of_the_check_after_them_and_a_long_pause_is_a_break(notebook):
    nb = notebook
    nb.run("from course.checks import check, public_checks_passed\nfrom course.units import q")
    nb.run("x = q('15 TB')", after=60)  # an hour away: counts 10 minutes
    nb.run("check('history_storage', x, '15 TB')\npublic_checks_passed('storage')", after=2)
    nb.run("y = 1", after=3)  # after the last placed cell: the previous cell's phase
    minutes = evidence.gather().phase_minutes
    assert minutes == {"Estimation": pytest.approx(10 + 2 + 3)}
    assert evidence.IDLE_CAP_MINUTES == 10


def test_the_interview_clocks_reading_is_noted_as_each_phase_is_reached(notebook):
    from ipywidgets.widgets.widget import _instances

    for widget in [w for w in _instances.values() if isinstance(w, TimelineWidget)]:
        widget.close()  # clocks other tests left behind
    clock = TimelineWidget()
    nb = notebook
    nb.run("from course.checks import check, public_checks_passed\nfrom course.units import q")
    assert nb.run("x = q('1 user')\ncheck('daily_active_users', x, '1 user')\n"
                  "public_checks_passed('the assumptions')").success
    clock.play.value = 14 * 60  # the browser's clock has ticked to minute 14
    nb.run("from course.architecture import architecture_editor\narchitecture_editor('A [client] -> B [db]')")
    clock.play.value = 20 * 60
    nb.run("architecture_editor('A [client] -> B [db]')")  # reached already: the first reading stays
    clock.close()
    assert evidence.gather().clock_minutes == {"High-level design": 14}


# ---------------------------------------------------------------------------------------------------
# The interviewer and the key points, through their real widgets and functions


def test_reopening_the_interviewer_does_not_hide_the_hint_again():
    evidence.start(SESSION)
    first = Interviewer(SESSION.clarifications)
    ask(first, SESSION.clarifications[0].example_question)
    first.show_topics.value = True
    again = Interviewer(SESSION.clarifications)  # the cell run again: a fresh widget, hint closed
    assert not again.hint_opened
    ask(again, SESSION.clarifications[1].example_question)
    ask(again, SESSION.clarifications[0].example_question)  # found already: counted once
    found = evidence.gather(SESSION)
    assert (found.topics_found, found.topics_unaided, found.hint_opened) == (2, 1, True)


def test_key_points_count_the_first_revealed_answer_per_question():
    evidence.start(SESSION)
    points = [KeyPoint("Persist first", ("persist",)), KeyPoint("Push when offline", ("push",))]
    key_points("persist push", points)  # too short: not revealed, not an answer yet
    assert evidence.gather().questions_answered == 0
    key_points(words("persist"), points)
    key_points(words("persist", "push"), points)
    found = evidence.gather()  # without the session: the questions seen
    assert (found.key_points_covered, found.key_points_best, found.key_points_total) == (1, 2, 2)
    with_session = evidence.gather(SESSION)  # with it: every deep-dive question, answered or not
    assert (with_session.key_points_covered, with_session.key_points_total) == (0, 20)
    assert (with_session.questions_answered, with_session.questions_total) == (0, 4)


# ---------------------------------------------------------------------------------------------------
# Outside IPython, sessions, bad input, errors


def test_without_ipython_a_failure_or_the_section_call_ends_a_try():
    evidence.start("session1_chat")
    check("storage_per_day", "500 GB/day", "500 GB/day")
    public_checks_passed("storage")
    with pytest.raises(AssertionError):
        check("peak_read_qps", "1 msg/s", "347222 msg/s")
    check("peak_read_qps", "347222 msg/s", "347222 msg/s")
    public_checks_passed("traffic")
    expect_equal("first number of chat 'b'", 1, 1)
    with pytest.raises(AssertionError):
        expect_equal("first numbers of chat 'a'", [1, 1], [1, 2])  # exact-value checks: an algorithm's
    with pytest.raises(AssertionError):
        fail("nothing to do with any skill")
    found = evidence.gather()
    assert (found.skills["storage"].tries, found.skills["storage"].passed_on) == (1, 1)
    assert (found.skills["traffic"].tries, found.skills["traffic"].passed_on) == (2, 2)
    assert (found.skills["algorithm"].tries, found.skills["algorithm"].passed_on) == (1, None)
    assert sum(s.tries for s in found.skills.values()) == 4  # the nameless failure counts for no skill
    assert found.phase_minutes == {} and found.cells_run == 0


def test_each_session_has_its_own_recorder_in_the_kernel():
    evidence.start("session1_chat")
    public_checks_passed("storage")
    evidence.start("session2_url_shortener")
    assert evidence.gather().skills["storage"].tries == 0
    evidence.start("session1_chat")  # back again: the record resumes
    assert evidence.gather().skills["storage"].tries == 1
    assert evidence.current().session_id == "session1_chat"


@pytest.mark.parametrize("bad", [42, object(), ["session1_chat"]])
def test_start_and_gather_refuse_what_is_not_a_session(bad):
    with pytest.raises(CourseInputError, match="load_session"):
        evidence.start(bad)
    with pytest.raises(CourseInputError, match="load_session"):
        evidence.gather(bad)


def test_recording_swallows_junk_and_its_own_errors(notebook, monkeypatch):
    recorder = evidence.current()
    recorder.pre_run_cell(None)
    recorder.post_run_cell(object())
    recorder.post_run_cell(None)  # no cell open
    recorder.note_check(None, False, "fail")
    recorder.note_section(b"bytes")
    recorder.note_key_points(None, True, 3)
    recorder.note_key_points(["a point"], True, "many")
    recorder.note_asked(None, None)
    recorder.note_hint(5)
    recorder.note_phase("Lunch")
    assert recorder.errors >= 1  # counted, never raised
    # A recorder that breaks inside a check cell leaves the cell's own outcome alone.
    monkeypatch.setattr(Recorder, "_count_try", lambda *a: 1 / 0)
    nb = notebook
    nb.run("from course.checks import check, public_checks_passed\nfrom course.units import q")
    result = nb.run("check('x', q('1 GB'), '1 GB')\npublic_checks_passed('storage')")
    assert result.success and result.error_in_exec is None
    monkeypatch.setattr(evidence, "current", lambda: 1 / 0)
    check("x", "1 GB", "1 GB")  # the module's own hooks: still no error
    public_checks_passed("storage")


def test_a_long_session_keeps_bounded_state():
    evidence.start("session1_chat")
    for _ in range(1000):
        check("storage_per_day", "500 GB/day", "500 GB/day", quiet=True)  # never closed by a section
    assert len(evidence.current()._pending) <= 200


# ---------------------------------------------------------------------------------------------------
# Grading


def test_nothing_is_recorded_or_hooked_under_grading(monkeypatch, shell):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    evidence.start(SESSION)
    assert evidence.install(shell) is False
    assert evidence._hooked == []
    check("storage_per_day", "500 GB/day", "500 GB/day")
    public_checks_passed("storage")
    with pytest.raises(AssertionError):
        check("peak_read_qps", "1 msg/s", "347222 msg/s")
    interviewer = Interviewer(SESSION.clarifications)
    ask(interviewer, SESSION.clarifications[0].example_question)
    key_points(words("persist"), [KeyPoint("Persist first", ("persist",))])
    shell.run_cell("x = 1")
    monkeypatch.delenv("NBGRADER_EXECUTION")
    assert evidence.gather(SESSION).empty


def test_a_text_answer_still_at_its_stub_is_no_try_but_one_keeping_the_stub_line_is(notebook):
    nb = notebook
    nb.run("from course.checks import public_checks_passed\nfrom course.api import assert_api")
    api_check = ("assert_api(api_spec, required=[('POST', '/chats/{}/messages', 'send a message')])\n"
                 'public_checks_passed("the API")')
    nb.run('api_spec = """\n# YOUR ANSWER HERE: one endpoint per line\n"""')
    assert not nb.run(api_check).success
    assert evidence.gather().skills["API"].tries == 0
    nb.run('api_spec = """\n# YOUR ANSWER HERE: one endpoint per line\nGET /chats/{chat_id}/messages\n"""')
    assert not nb.run(api_check).success  # an answer, wrong: the stub line left in does not hide it
    nb.run('api_spec = """\n# YOUR ANSWER HERE: one endpoint per line\nPOST /chats/{chat_id}/messages\n"""')
    assert nb.run(api_check).success
    api = evidence.gather().skills["API"]
    assert (api.tries, api.passed_on) == (2, 2)


def test_sections_mistakes_and_the_self_rating_are_kept_per_attempt(notebook):
    nb = notebook
    first = evidence.current()
    nb.run("from course.units import q\nfrom course.checks import public_checks_passed\ncheck = SESSION.check")
    nb.run("check('messages_per_second', q('1 msg/s'))\npublic_checks_passed('traffic')")
    nb.run("check('concurrent_connections', q('10 M conn'))\npublic_checks_passed('connections')")  # right
    nb.run("check('replicated_storage', q('15 TB'))\npublic_checks_passed('storage')")  # replicas forgotten
    nb.run("check('ingress_bandwidth', q('46.3 MB/s'))\npublic_checks_passed('bandwidth')")  # bits for bytes
    nb.run("check('messages_per_second', q('57870 msg/s'))\npublic_checks_passed('traffic')")
    evidence.note_rating({"Communication": 2, "Problem Solving": None, "Technical Design": "Good"})
    found = evidence.gather(SESSION)
    assert list(found.sections)[: len(SESSION.sample["sections"])] == [s["label"] for s in SESSION.sample["sections"]]
    assert found.sections["traffic"] == SkillEvidence("traffic", 2, 2, True)
    assert found.sections["connections"] == SkillEvidence("traffic", 1, 1, True)
    assert found.sections["the schema"] == SkillEvidence("schema")  # listed by the session, never run
    assert found.skill("traffic").tries == 3
    assert dict(found.mistakes) == {"forgotten_replication": 1, "bits_bytes": 1}
    assert dict(found.self_rating) == {"Communication": 2, "Problem Solving": None, "Technical Design": None}
    assert found.attempt == first.attempt and len(found.attempt) == 32 and found.updated >= found.since
    assert first.milestones == 6 and first.version > first.milestones  # 5 tries and a rating; cells too
    evidence.start(SESSION)  # the set-up cell again: the same attempt
    assert evidence.current() is first
    evidence.start("session2_url_shortener")
    assert evidence.current().attempt != first.attempt and evidence.gather().mistakes == {}


def test_listeners_hear_of_every_cell_and_of_notes_made_outside_cells(notebook):
    heard = []
    evidence.listen(lambda recorder, after_cell: heard.append((recorder.version, after_cell)))
    evidence.listen(lambda recorder, after_cell: 1 / 0)  # a broken listener breaks nothing
    notebook.run("x = 1")
    evidence.note_asked(TOPICS, TOPICS[:1])  # a widget's click: no cell around it
    assert [after for _, after in heard] == [True, False] and heard[1][0] > heard[0][0]
    assert evidence.current().errors == 2
