"""The rubric: the seed's dimensions and descriptors, the scoring rule, the levels, bad input, the radar chart;
the level suggested from the notebook's evidence, its reasons, and the wrap-up widget showing both."""

from __future__ import annotations

import itertools

import pytest
from IPython.display import HTML
from matplotlib.figure import Figure

from course import evidence as ev
from course.content import load_session
from course.errors import CourseInputError
from course.evidence import SKILLS, Evidence, SkillEvidence
from course.rubric import (
    DIMENSIONS, LEVELS, RubricResult, RubricWidget, credit, figure_png, level_of, radar_chart, rating_of,
    rubric_table_html, rubric_widget, score, suggest, suggestion_rules,
)

NAMES = ["Communication", "Problem Solving", "Technical Design", "Depth of Knowledge"]


def rate(*ratings: int | str) -> dict[str, int | str]:
    return dict(zip(NAMES, ratings))


def test_dimensions_are_the_seeds_four_at_25_percent_each():
    assert [d.name for d in DIMENSIONS] == NAMES
    assert [d.weight for d in DIMENSIONS] == [0.25] * 4
    assert LEVELS == ("Needs work", "Good", "Excellent")
    communication = DIMENSIONS[0].descriptors
    assert communication[0].startswith("Unclear communication")
    assert communication[2].startswith("Clear, structured communication")
    assert "trade-off analysis" in DIMENSIONS[1].descriptors[2]


@pytest.mark.parametrize(
    "ratings, expected_score, expected_level",
    [
        ((1, 1, 1, 1), 0, "L3"),
        ((2, 2, 2, 1), 37.5, "L3"),
        ((2, 2, 2, 2), 50, "L4"),
        ((3, 2, 2, 2), 62.5, "L4"),
        ((3, 3, 2, 2), 75, "L5-L6"),
        ((3, 3, 3, 1), 75, "L4"),  # one dimension at Needs work keeps it below L5-L6
        ((3, 3, 2, 1), 62.5, "L4"),
        ((3, 2, 2, 1), 50, "L4"),
        ((3, 3, 1, 1), 50, "L3"),  # poor architecture and surface knowledge: never L4, however good the rest
        ((1, 3, 3, 1), 50, "L3"),
        ((1, 1, 3, 3), 50, "L3"),
        ((3, 3, 3, 2), 87.5, "L5-L6"),
        ((3, 3, 3, 3), 100, "L5-L6"),
    ],
)
def test_score_is_the_weighted_mean_of_0_50_100_points_and_sets_the_level(ratings, expected_score, expected_level):
    result = score(rate(*ratings))
    assert result.score == pytest.approx(expected_score)
    assert result.level == expected_level


def test_result_keeps_ratings_and_points_per_dimension_in_rubric_order():
    result = score({"Depth of Knowledge": 1, "Technical Design": 3, "Problem Solving": 2, "Communication": 3})
    assert list(result.ratings) == NAMES
    assert result.ratings == {"Communication": 3, "Problem Solving": 2, "Technical Design": 3, "Depth of Knowledge": 1}
    assert result.points == {"Communication": 100, "Problem Solving": 50, "Technical Design": 100, "Depth of Knowledge": 0}
    assert "62.5 / 100 → L4" in result._repr_html_()


def test_ratings_may_be_level_names_or_digits_in_any_case():
    result = score({"communication": "excellent", " Problem Solving ": "GOOD", "Technical Design": "3",
                    "Depth of Knowledge": "needs  work"})
    assert result.ratings == {"Communication": 3, "Problem Solving": 2, "Technical Design": 3, "Depth of Knowledge": 1}


@pytest.mark.parametrize(
    "ratings, named",
    [
        ({**rate(2, 2, 2, 2), "Charisma": 3}, "'Charisma'"),
        (rate(2, 2, 2), "Depth of Knowledge"),
        (rate(2, 2, 2, 4), "Depth of Knowledge: rating 4 is out of range"),
        (rate(0, 2, 2, 2), "Communication: rating 0 is out of range"),
        (rate(2, "abc", 2, 2), "Problem Solving: cannot read rating 'abc'"),
        (rate(2, 2, 2.5, 2), "Technical Design: cannot read rating 2.5"),
        (rate(True, 2, 2, 2), "Communication: cannot read rating True"),
        (rate(2, 2, None, 2), "Technical Design: cannot read rating None"),
        ({**rate(2, 2, 2, 2), "communication": 3}, "'Communication' is rated twice"),
        ({**rate(2, 2, 2, 2), 7: 3}, "unknown rubric dimension 7"),
    ],
)
def test_bad_ratings_raise_one_error_naming_the_problem(ratings, named):
    with pytest.raises(CourseInputError) as info:
        score(ratings)
    assert named in str(info.value)


def test_ratings_must_be_a_mapping():
    with pytest.raises(CourseInputError, match="dict of dimension"):
        score([3, 3, 3, 3])


def test_radar_chart_is_a_polar_figure_titled_with_score_and_level():
    fig = radar_chart(score(rate(3, 2, 2, 1)))
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert ax.name == "polar"
    assert ax.get_title() == "50 / 100 · L4"
    assert [t.get_text().replace("\n", " ") for t in ax.get_xticklabels()] == NAMES
    line = ax.get_lines()[0]
    assert list(line.get_ydata()) == [100, 50, 50, 0, 100]  # closed polygon
    assert figure_png(fig).startswith(b"\x89PNG\r\n\x1a\n")


def test_radar_chart_refuses_anything_but_a_result():
    with pytest.raises(CourseInputError, match="result of score"):
        radar_chart(rate(3, 3, 3, 3))


def test_rubric_table_shows_every_descriptor_and_the_rule():
    table = rubric_table_html()
    for d in DIMENSIONS:
        assert d.name in table
        for text in d.descriptors:
            assert text in table
    assert "L5-L6 from 75" in table


def test_result_is_immutable():
    result = score(rate(2, 2, 2, 2))
    assert isinstance(result, RubricResult)
    with pytest.raises(AttributeError):
        result.score = 100  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------------
# The level mapping, over every possible rating


ALL_RATINGS = list(itertools.product((1, 2, 3), repeat=4))


@pytest.mark.parametrize("ratings", ALL_RATINGS)
def test_the_level_mapping_holds_for_every_rating(ratings):
    result = score(rate(*ratings))
    needs_work = ratings.count(1)
    expected = ("L5-L6" if result.score >= 75 and needs_work == 0
                else "L4" if result.score >= 50 and needs_work <= 1 else "L3")
    assert result.level == expected == level_of(result.score, result.ratings)
    if needs_work >= 2:
        assert result.level == "L3"  # two Needs work never reach L4, whatever the other two
    if needs_work == 1:
        assert result.level in ("L4", "L3")  # a weak dimension caps the level


def test_the_levels_only_rise_with_better_ratings():
    order = ["L3", "L4", "L5-L6"]
    for ratings in ALL_RATINGS:
        for i in range(4):
            if ratings[i] < 3:
                better = ratings[:i] + (ratings[i] + 1,) + ratings[i + 1:]
                assert order.index(score(rate(*better)).level) >= order.index(score(rate(*ratings)).level)


def test_the_table_and_the_rules_state_the_mapping():
    for text in (rubric_table_html(), " ".join(suggestion_rules())):
        assert "L4 from 50 with at most one dimension at Needs work" in text
        assert "two Needs work are L3" in text


# ---------------------------------------------------------------------------------------------------
# Evidence → suggestion


def evidence(*, topics=(11, 11, 11), skills=None, key_points=(15, 15), best=None, questions=(3, 3),
             phases=None, clock=None) -> Evidence:
    """Evidence as the recorder would give it: ``topics`` (total, found, unaided), ``skills`` name →
    (tries, passed_on) (every skill passed first time unless named), ``key_points`` (covered, total)."""
    records = {name: SkillEvidence(name, 1, 1, True) for name in SKILLS}
    for name, (tries, passed_on) in (skills or {}).items():
        records[name] = SkillEvidence(name, tries, passed_on, passed_on is not None)
    total, found, unaided = topics
    covered, kp_total = key_points
    return Evidence(session_id="session1_chat", since=0.0, topics_total=total, topics_found=found,
                    topics_unaided=unaided, hint_opened=found > unaided, questions_asked=found, skills=records,
                    key_points_total=kp_total, key_points_covered=covered,
                    key_points_best=covered if best is None else best, questions_answered=questions[0],
                    questions_total=questions[1], phase_minutes={"Requirements": 5} if phases is None else phases,
                    clock_minutes=clock or {}, cells_run=40)


@pytest.mark.parametrize("passed_on, tries, expected", [
    (1, 1, 1.0), (2, 2, 0.5), (3, 5, 0.5), (4, 4, 0.25), (9, 9, 0.25), (None, 3, 0.0), (None, 0, 0.0),
])
def test_a_skill_earns_credit_by_the_try_its_checks_first_passed(passed_on, tries, expected):
    assert credit(SkillEvidence("schema", tries, passed_on, passed_on is not None)) == expected


@pytest.mark.parametrize("measure, rating", [(0, 1), (0.39, 1), (0.4, 2), (0.74, 2), (0.75, 3), (1, 3)])
def test_a_measure_maps_to_a_rating(measure, rating):
    assert rating_of(measure) == rating


@pytest.mark.parametrize("bad", [None, "0.8", True, float("nan"), -0.1, 1.5])
def test_bad_measures_and_records_are_refused(bad):
    with pytest.raises(CourseInputError, match="measure"):
        rating_of(bad)
    with pytest.raises(CourseInputError, match="SkillEvidence"):
        credit(bad)


def test_the_issues_example_gives_its_reasons_in_one_line():
    found = evidence(topics=(11, 9, 7), skills={"storage": (3, 3)}, key_points=(9, 15),
                     phases={"Requirements": 12.2, "Estimation": 6})
    s = suggest(found)
    assert s.summary == (
        "you found 7 of 11 topics yourself (2 more after opening the topic list); "
        "requirements, traffic, bandwidth, architecture, schema, API and algorithm checks passed first time, "
        "storage checks passed only after 3 tries; deep dive covered 9 of 15 key points; "
        "requirements took 12 min of 5")
    assert s.measures["Communication"] == pytest.approx(7 / 11)
    assert s.measures["Problem Solving"] == pytest.approx((1 + 1 + 0.5 + 1) / 4)
    assert s.measures["Depth of Knowledge"] == pytest.approx((9 / 15 + 1) / 2)
    # Problem Solving would be Excellent, but requirements overran: held at Good.
    assert s.caps == {"Problem Solving": "requirements took 12 min of 5"}
    assert s.result.ratings == {"Communication": 2, "Problem Solving": 2, "Technical Design": 3,
                                "Depth of Knowledge": 3}
    assert (s.result.score, s.result.level) == (75, "L5-L6")
    assert "storage checks passed only after 3 tries" in s.reasons["Problem Solving"]


def test_reasons_name_the_failures_the_untried_and_the_late_improvements():
    s = suggest(evidence(skills={"schema": (4, None), "API": (0, None), "design": (2, 2)}, key_points=(4, 15),
                         best=11, questions=(2, 3), phases={}))
    assert s.reasons["Technical Design"] == ("architecture checks passed only after 2 tries",
                                             "schema checks not passed after 4 tries", "API checks not run")
    assert s.reasons["Depth of Knowledge"][0] == ("deep dive covered 4 of 15 key points (11 after seeing the model "
                                                 "points); 2 of 3 questions answered")
    assert "time per phase not measured in this kernel" in s.reasons["Problem Solving"]
    assert s.caps["Technical Design"] == "schema, API checks not passed"


def test_strong_evidence_everywhere_is_l5_l6():
    s = suggest(evidence(key_points=(12, 15)))
    assert s.result.ratings == {d.name: 3 for d in DIMENSIONS} and s.result.level == "L5-L6"
    assert s.caps == {}


def test_one_weak_dimension_caps_the_suggested_level_at_l4():
    no_questions = suggest(evidence(topics=(11, 2, 2)))  # found 2 topics: Communication Needs work
    assert no_questions.result.ratings["Communication"] == 1
    assert (no_questions.result.score, no_questions.result.level) == (75, "L4")


def test_poor_architecture_and_surface_knowledge_are_l3_however_strong_the_rest():
    s = suggest(evidence(skills={"design": (5, None), "schema": (3, None), "algorithm": (4, None)},
                         key_points=(3, 15)))
    assert s.result.ratings == {"Communication": 3, "Problem Solving": 3, "Technical Design": 1,
                                "Depth of Knowledge": 1}
    assert (s.result.score, s.result.level) == (50, "L3")


def test_checks_that_never_passed_hold_their_dimension_at_good():
    s = suggest(evidence(skills={"bandwidth": (2, None)}))  # the mean (0.75) alone would be Excellent
    assert s.measures["Problem Solving"] == pytest.approx(0.75)
    assert s.result.ratings["Problem Solving"] == 2
    assert s.caps["Problem Solving"] == "bandwidth checks not passed"


def test_a_phase_is_an_overrun_only_beyond_twice_its_plan_and_three_minutes():
    within = suggest(evidence(phases={"Requirements": 10, "Introduction & problem": 5.9}))
    assert "Problem Solving" not in within.caps
    assert "no timed phase took more than 2× its planned minutes" in within.reasons["Problem Solving"]
    over = suggest(evidence(phases={"Requirements": 10.6, "Detailed design": 30}))
    assert over.caps["Problem Solving"] == "requirements took 11 min of 5; detailed design took 30 min of 12"


def test_no_deep_dive_answer_holds_depth_at_good():
    s = suggest(evidence(key_points=(0, 0), questions=(0, 0)))
    assert s.result.ratings["Depth of Knowledge"] == 2  # the algorithm alone (1.0) would be Excellent
    assert s.reasons["Depth of Knowledge"][0] == "no deep-dive answer checked against its key points"


def test_nothing_done_suggests_l3():
    s = suggest(Evidence(skills={name: SkillEvidence(name) for name in SKILLS}))
    assert s.result.ratings == {d.name: 1 for d in DIMENSIONS} and s.result.level == "L3"


@pytest.mark.parametrize("bad", [None, {}, score(rate(3, 3, 3, 3))])
def test_suggest_needs_evidence(bad):
    with pytest.raises(CourseInputError, match="evidence"):
        suggest(bad)


# ---------------------------------------------------------------------------------------------------
# The wrap-up widget: the self-rating beside the suggestion


@pytest.fixture
def live(monkeypatch, tmp_path):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("COURSE_STATIC_WIDGETS", raising=False)
    monkeypatch.setenv("COURSE_JOURNAL_DIR", str(tmp_path))  # start() has the practice journal follow
    ev.reset()
    yield
    ev.reset()


def test_self_rating_cannot_move_the_suggestion(live):
    found = evidence(topics=(11, 9, 7), skills={"storage": (3, 3), "design": (2, None)}, key_points=(5, 15))
    widget = RubricWidget(found)
    before = widget.suggestion
    assert before is not None and before.result.level == "L4"
    for ratings in [(3, 3, 3, 3), (1, 1, 1, 1), (3, 1, 3, 1), (2, 3, 2, 3), (3, 3, 3, 3)]:
        for d, r in zip(DIMENSIONS, ratings):
            widget.toggles[d.name].value = r
        assert widget.suggestion.result == before.result == suggest(found).result  # re-read, never moved
        assert f"Evidence suggests {before.result.score:g} / 100 → L4" in widget.evidence_view.value


def test_the_widget_shows_both_levels_the_reasons_and_where_you_rated_above_the_evidence(live):
    found = evidence(topics=(11, 9, 7), skills={"storage": (3, 3)}, key_points=(9, 15),
                     phases={"Requirements": 12.2, "Estimation": 6}, clock={"Estimation": 14.5})
    widget = RubricWidget(found)
    view = widget.evidence_view.value
    assert "Evidence suggests 75 / 100 → L5-L6" in view
    assert "you found 7 of 11 topics yourself" in view and "requirements took 12 min of 5" in view
    assert "requirements took 12 min of 5; held at Good</td>" in view
    assert "<td>Requirements</td><td>5</td><td>12</td><td></td>" in view  # the phase table
    assert "<td>Estimation</td><td>5</td><td>6</td><td>14 (plan 8)</td>" in view
    assert "How the suggested level is made" in widget.rules.value
    assert "at most one dimension at Needs work" in widget.rules.value
    for d in DIMENSIONS:
        widget.toggles[d.name].value = 3
    assert "100 / 100 → L5-L6" in widget.summary.value  # the self-rating, as before
    assert widget.evidence_view.value.count("course-rubric-above") == 2  # Communication and Problem Solving
    widget.toggles["Technical Design"].value = 1
    widget.toggles["Depth of Knowledge"].value = 1
    assert "50 / 100 → L3" in widget.summary.value
    assert "lower than your work shows" in widget.evidence_view.value
    for d in DIMENSIONS:
        widget.toggles[d.name].value = 3
    widget.toggles["Communication"].value = 1
    widget.toggles["Problem Solving"].value = 1
    assert "higher than" not in widget.evidence_view.value
    radar = radar_chart(widget.result, compare=widget.suggestion.result)
    assert [line.get_label() for line in radar.axes[0].get_lines()] == ["you", "evidence (L5-L6)"]


def test_the_widget_says_when_nothing_was_recorded(live):
    widget = rubric_widget()
    assert isinstance(widget, RubricWidget) and widget.suggestion is None
    assert "nothing recorded in this kernel yet" in widget.evidence_view.value
    assert widget.refresh.layout.display is None  # it can read the evidence again


def test_update_from_my_work_reads_the_evidence_again(live):
    session = load_session("session1_chat")
    ev.start(session)
    widget = rubric_widget(session)
    assert widget.suggestion is None
    ev.current().note_section("the schema")  # the schema's check cell passes (outside IPython)
    widget.refresh.click()
    assert widget.evidence.skills["schema"].passed_on == 1
    assert widget.evidence.topics_total == 11
    assert widget.evidence.key_points_total == sum(len(points) for points in session.deep_dive.values())
    assert "schema" in widget.evidence_view.value and "Evidence suggests" in widget.evidence_view.value


def test_fixed_evidence_has_no_refresh_button(live):
    widget = RubricWidget(evidence())
    assert widget.refresh.layout.display == "none"


@pytest.mark.parametrize("bad", ["session1_chat", 3, object()])
def test_the_wrap_up_refuses_what_is_not_the_session(live, bad):
    with pytest.raises(CourseInputError, match="load_session"):
        rubric_widget(bad)
    with pytest.raises(CourseInputError, match="gather"):
        RubricWidget(bad)  # type: ignore[arg-type]


def test_under_grading_the_wrap_up_is_the_table_with_the_mapping(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    view = rubric_widget(load_session("session1_chat"))
    assert isinstance(view, HTML)
    assert "at most one dimension at Needs work" in view.data


def test_radar_chart_comparison_must_be_a_result():
    with pytest.raises(CourseInputError, match="compares"):
        radar_chart(score(rate(3, 3, 3, 3)), compare={"Communication": 3})


def test_the_self_rating_is_noted_as_it_changes_but_fixed_evidence_notes_nothing(live):
    session = load_session("session1_chat")
    ev.start(session)
    widget = rubric_widget(session)
    assert ev.gather(session).self_rating is None
    widget.toggles["Technical Design"].value = 1
    assert dict(ev.gather(session).self_rating) == {d.name: (1 if d.name == "Technical Design" else None)
                                                    for d in DIMENSIONS}
    widget.toggles["Technical Design"].value = None  # unrated again
    assert set(ev.gather(session).self_rating.values()) == {None}
    other = RubricWidget(evidence())  # someone else's evidence: not this kernel's attempt
    other.toggles["Communication"].value = 3
    assert ev.gather(session).self_rating["Communication"] is None
