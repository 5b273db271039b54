"""The rubric: the seed's dimensions and descriptors, the scoring rule, the levels, bad input, the radar chart."""

from __future__ import annotations

import pytest
from matplotlib.figure import Figure

from course.errors import CourseInputError
from course.rubric import DIMENSIONS, LEVELS, RubricResult, figure_png, radar_chart, rubric_table_html, score

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
