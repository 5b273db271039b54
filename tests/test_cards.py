"""Reference cards: every figure recomputed here independently, every row sourced."""

from __future__ import annotations

import pandas as pd
import pytest

from course.cards import availability, downtime, latency_numbers, powers_of_two, time_conversions
from course.errors import CourseInputError

MINUTES_PER_YEAR = 365.25 * 24 * 60


def percent(fraction: float) -> str:
    sign = "+" if fraction > 0 else "−"
    return f"{sign}{abs(fraction) * 100:.1f} %"


@pytest.mark.parametrize("card", [latency_numbers, powers_of_two, availability, time_conversions])
def test_every_card_is_a_dataframe_whose_rows_all_name_a_source(card):
    frame = card()
    assert isinstance(frame, pd.DataFrame) and len(frame) >= 4
    assert frame["source"].map(lambda s: isinstance(s, str) and len(s) > 10).all()


def test_latency_numbers_are_the_2012_table_with_the_2020_model_where_given():
    card = latency_numbers()
    assert card.loc["L1 cache reference", "~2012"] == "0.5 ns"
    assert card.loc["main memory reference", "~2012"] == "100 ns"
    assert card.loc["send 1 KB over a 1 Gbps network", "~2012"] == "10 µs"
    assert card.loc["round trip within a datacenter", "~2012"] == "500 µs"
    assert card.loc["read 1 MB sequentially from disk", "~2012"] == "20 ms"
    assert "30 ms" in card.loc["read 1 MB sequentially from disk", "source"]
    assert card.loc["packet round trip California → Netherlands → California", "~2012"] == "150 ms"
    ssd = card.loc["read 4 KB at random from SSD"]
    assert (ssd["~2012"], ssd["~2020"], ssd["~2012 ÷ ~2020"]) == ("150 µs", "16 µs", f"{150 / 16:.2g}×")
    assert card.loc["read 1 MB sequentially from memory", "~2012 ÷ ~2020"] == f"{250 / 3:.2g}×"
    assert card.loc["read 1 MB sequentially from SSD", "~2020"] == "49 µs"
    assert card.loc["main memory reference", "~2020"] == ""  # the model gives no figure: left blank
    assert "Colin Scott" in card.loc["disk seek", "source"]
    assert "Colin Scott" not in card.loc["mutex lock/unlock", "source"]


def test_powers_of_two_are_computed_exactly():
    card = powers_of_two()
    assert list(card.index) == ["2^10", "2^20", "2^30", "2^40", "2^50"]
    assert card.loc["2^40", "exact value"] == "1,099,511,627,776"
    for k, power in enumerate(range(10, 51, 10), start=1):
        row = card.loc[f"2^{power}"]
        assert row["exact value"] == f"{2 ** power:,}"
        assert row["≈ decimal"].endswith(f"(10^{3 * k})")
        assert row["binary vs decimal"] == percent(2 ** power / 10 ** (3 * k) - 1)
    assert tuple(card.loc["2^30", ["binary unit", "decimal unit"]]) == ("1 GiB", "1 GB")
    assert card.loc["2^10", "binary vs decimal"] == "+2.4 %"
    assert card.loc["2^50", "≈ decimal"] == "1 quadrillion (10^15)"


@pytest.mark.parametrize(
    "availability_percent, minutes_per_year",
    [(99, 5259.6), (99.9, 525.96), (99.99, 52.596), (99.999, 5.2596), (99.9999, 0.52596)],
)
def test_downtime_is_computed_from_the_percentage_over_a_365_25_day_year(availability_percent, minutes_per_year):
    assert downtime(availability_percent).to("minute").magnitude == pytest.approx(minutes_per_year, rel=1e-9)
    assert (1 - availability_percent / 100) * MINUTES_PER_YEAR == pytest.approx(minutes_per_year)


def test_downtime_per_month_and_day():
    assert downtime(99.9, "month").to("minute").magnitude == pytest.approx(0.001 * 30 * 1440)
    assert downtime(99.99, "day").to("second").magnitude == pytest.approx(0.0001 * 86400)
    assert downtime(100).magnitude == 0


@pytest.mark.parametrize("bad", [101, -1, "99.9", True, None, float("nan")])
def test_downtime_refuses_a_percentage_that_is_not_one(bad):
    with pytest.raises(CourseInputError, match="percentage from 0 to 100"):
        downtime(bad)


def test_downtime_refuses_an_unknown_period():
    with pytest.raises(CourseInputError, match="'week'"):
        downtime(99.9, "week")


def test_availability_card_matches_the_published_table():
    card = availability()
    assert list(card.index) == ["99 %", "99.9 %", "99.99 %", "99.999 %", "99.9999 %"]
    assert list(card["nines"]) == [2, 3, 4, 5, 6]
    # Alex Xu's table, recomputed with a 365.25-day year.
    assert list(card["downtime / year"]) == ["3.65 days", "8.77 h", "52.6 min", "5.26 min", "31.6 s"]
    assert card.loc["99.99 %", "downtime / year"] == f"{0.0001 * MINUTES_PER_YEAR:.3g} min"
    assert card.loc["99.99 %", "downtime / month (30 d)"] == f"{0.0001 * 30 * 1440:.3g} min"
    assert card.loc["99.99 %", "downtime / day"] == f"{0.0001 * 86400:.3g} s"
    assert card.loc["99 %", "downtime / month (30 d)"] == "7.2 h"
    assert card.loc["99.9999 %", "downtime / day"] == "86.4 ms"


def test_time_conversions_show_the_shortcuts_and_their_cost():
    card = time_conversions()
    day = card.loc["seconds in a day"]
    assert day["exact"] == f"{24 * 60 * 60:,} s" == "86,400 s"
    assert day["shortcut"] == "10^5 s (100,000 s)"
    assert day["shortcut error"] == percent(100_000 / 86_400 - 1) == "+15.7 %"
    assert day["rate error"] == percent(86_400 / 100_000 - 1) == "−13.6 %"
    month = card.loc["seconds in a 30-day month"]
    assert month["exact"] == f"{30 * 86_400:,} s" == "2,592,000 s"
    assert month["shortcut error"] == percent(2_500_000 / 2_592_000 - 1) == "−3.5 %"
    assert month["rate error"] == percent(2_592_000 / 2_500_000 - 1) == "+3.7 %"
    assert card.loc["seconds in a 365-day year", "exact"] == f"{365 * 86_400:,} s"
    assert card.loc["seconds in a 365.25-day year", "exact"] == "31,557,600 s"
    assert card.loc["seconds in a 365-day year", "shortcut"] == ""
