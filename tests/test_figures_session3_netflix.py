"""Every reference figure of Session 3 (Netflix), recomputed independently in plain arithmetic (no pint, no course).

Inputs are restated here in base units (users, titles, streams, bytes, seconds); the session's EXPECTED
values must agree within 0.1 %. The seed document's own figures and slips are pinned too, so the course
keeps teaching the right numbers and shows the slips as slips.
"""

import math

import pytest

from .figures import assert_expected_match

from authoring.sessions import session3_netflix as spec

DAY = 86_400  # seconds
MINUTE = 60
MB = 1e6  # bytes

# Same scenarios as the spec, written out by hand: rates in MB per minute, lengths in minutes,
# server egress in bits per second.
SCENARIOS = {
    "sample": dict(dau=100e6, titles=10_000, length=90, ladder=(5, 10, 20, 50), rf=3, sessions=1.5, session=60,
                   peak=0.10, rate=10, server=400e9),
    "regional": dict(dau=8e6, titles=3_000, length=45, ladder=(3, 6, 12, 30), rf=2, sessions=2, session=40,
                     peak=0.15, rate=6, server=100e9),
    "global_uhd": dict(dau=250e6, titles=40_000, length=60, ladder=(7.5, 22.5, 37.5, 112.5), rf=3, sessions=1.2,
                       session=75, peak=0.11, rate=37.5, server=400e9),
}


def figures(s):
    """Every estimate from first principles: bytes, bytes per title, streams, bytes per second, servers."""
    per_title = sum(s["ladder"]) * MB * s["length"]                  # bytes: every rendition, one copy
    catalog = per_title * s["titles"]
    viewing_minutes = s["dau"] * s["sessions"] * s["session"]        # stream-minutes per day
    average_viewers = viewing_minutes / (DAY / MINUTE)               # Little's law: minutes per day / 1,440
    peak_viewers = s["dau"] * s["peak"]
    stream_bytes_per_s = s["rate"] * MB / MINUTE
    average_egress = average_viewers * stream_bytes_per_s
    peak_egress = peak_viewers * stream_bytes_per_s
    return {
        "storage_per_title": (per_title, "B/title"),
        "catalog_storage": (catalog, "B"),
        "replicated_catalog_storage": (catalog * s["rf"], "B"),
        "average_concurrent_viewers": (average_viewers, "stream"),
        "peak_concurrent_viewers": (peak_viewers, "stream"),
        "average_egress": (average_egress, "B/s"),
        "peak_egress": (peak_egress, "B/s"),
        "daily_egress": (average_egress * DAY, "B/day"),
        "cdn_servers_needed": (math.ceil(peak_egress * 8 / s["server"]), "server"),
    }


# The units the spec writes its answers in, as factors to base units (decimal prefixes).
UNITS = {"GB/title": (1e9, "B/title"), "TB": (1e12, "B"), "M stream": (1e6, "stream"), "stream": (1, "stream"),
         "TB/s": (1e12, "B/s"), "GB/s": (1e9, "B/s"), "PB/day": (1e15, "B/day"), "server": (1, "server")}



@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_expected_value_is_recomputed(scenario):
    assert_expected_match(spec.EXPECTED, figures(SCENARIOS[scenario]), scenario, UNITS)


def test_server_counts_are_not_on_a_rounding_edge():
    """ceil() of a float just above a whole number would flip the count: keep every scenario clear of one."""
    for s in SCENARIOS.values():
        exact = figures(s)["peak_egress"][0] * 8 / s["server"]
        assert abs(exact - round(exact)) > 0.01


def test_hidden_scenarios_change_every_figure():
    """A function that returns the sample figure typed in must fail on every hidden scenario."""
    sample = figures(SCENARIOS["sample"])
    for label in spec.HIDDEN:
        other = figures(SCENARIOS[label])
        for name, (value, _) in sample.items():
            assert other[name][0] != pytest.approx(value, rel=0.05), (label, name)


def test_scenarios_restated_here_match_the_spec():
    word = {"K": 1e3, "M": 1e6, "bn": 1e9}
    assert set(SCENARIOS) == {"sample", *spec.HIDDEN}
    for label, values in [("sample", spec.SAMPLE), *spec.HIDDEN.items()]:
        s = SCENARIOS[label]
        number = lambda key: float(values[key].split()[0])  # noqa: E731
        dau, dau_word, _ = values["daily_active_users"].split()
        assert float(dau) * word[dau_word] == s["dau"]
        titles, titles_word, _ = values["catalog_size"].split()
        assert float(titles) * word[titles_word] == s["titles"]
        assert number("title_length") == s["length"]
        assert tuple(number(f"rate_{r}") for r in ("480p", "720p", "1080p", "4k")) == s["ladder"]
        assert number("replication_factor") == s["rf"]
        assert number("streams_per_user_per_day") == s["sessions"]
        assert number("session_length") == s["session"]
        assert number("peak_concurrency") == s["peak"]
        assert number("stream_rate") == s["rate"]
        assert number("cdn_server_egress") * 1e9 == s["server"]
        assert values["cdn_server_egress"].split()[1] == "Gbit/s/server"  # bits, as networks quote them


def test_seed_figures_and_slips():
    s = SCENARIOS["sample"]
    f = figures(s)
    # Storage: 85 MB per minute of video across the ladder × 90 min = 7.65 GB a title; 76.5 TB the catalog
    # (the seed's "~77 TB", one copy), 229.5 TB at RF 3.
    assert f["storage_per_title"][0] == pytest.approx(7.65e9)
    assert f["catalog_storage"][0] == pytest.approx(76.5e12)
    assert f["replicated_catalog_storage"][0] == pytest.approx(229.5e12)
    assert math.floor(f["catalog_storage"][0] / 1e12 + 0.5) == 77  # "~77 TB", rounded half up
    # Viewing: 10^8 × 1.5 × 60 = 9·10^9 minutes a day, which is 6.25 M streams open at an average moment.
    viewing_minutes = s["dau"] * s["sessions"] * s["session"]
    assert viewing_minutes == pytest.approx(9e9)
    assert f["average_concurrent_viewers"][0] == pytest.approx(6.25e6)
    # The seed's formula: (minutes / 1440) × 10 = 6.25·10^7 MB per *minute*, never converted: 1.04 TB/s = 8.33 Tbps...
    seed_result = viewing_minutes / 1440 * 10
    assert seed_result == pytest.approx(6.25e7)
    assert seed_result * MB / MINUTE == pytest.approx(1.0417e12, rel=1e-4)
    assert seed_result * MB / MINUTE * 8 == pytest.approx(8.333e12, rel=1e-3)
    # ...and that is the average, which the course computes the same way.
    assert f["average_egress"][0] == pytest.approx(seed_result * MB / MINUTE)
    # Its "~625 GB/s" is 6.25 M viewers × 100 KB/s; but 10 MB/min is 166.7 KB/s (100 KB/s is 40 % low).
    seed_claim = 625e9
    assert 6.25e6 * 100e3 == pytest.approx(seed_claim)
    assert 10 * MB / MINUTE == pytest.approx(166.7e3, rel=1e-3)
    assert 1 - 100e3 / (10 * MB / MINUTE) == pytest.approx(0.40)
    # The peak uses the seed's own (computed, never used) 10 M concurrent: 1.67 TB/s = 13.3 Tbps.
    assert f["peak_concurrent_viewers"][0] == pytest.approx(10e6)
    assert f["peak_egress"][0] == pytest.approx(1.6667e12, rel=1e-4)
    assert f["peak_egress"][0] * 8 == pytest.approx(13.33e12, rel=1e-3)
    # The seed's comment says "MB/min for 1080p", but 10 MB/min is its 720p figure; 1080p is 20 MB/min.
    ladder = dict(zip(("480p", "720p", "1080p", "4K"), s["ladder"]))
    assert ladder["720p"] == 10 and ladder["1080p"] == 20
    peak_1080p = 10e6 * 20 * MB / MINUTE
    assert peak_1080p == pytest.approx(3.333e12, rel=1e-3)
    assert peak_1080p * 8 == pytest.approx(26.67e12, rel=1e-3)
    # "~625 GB/s" is 1.67× below the average, 2.7× below the peak at 10 MB/min, 5.3× below the peak at 1080p.
    assert f["average_egress"][0] / seed_claim == pytest.approx(1.67, rel=1e-2)
    assert f["peak_egress"][0] / seed_claim == pytest.approx(2.67, rel=1e-2)
    assert peak_1080p / seed_claim == pytest.approx(5.33, rel=1e-2)
    # Daily egress: 9·10^9 min × 10 MB = 90 PB (180 PB at 20 MB/min).
    assert f["daily_egress"][0] == pytest.approx(90e15)
    assert viewing_minutes * 20 * MB == pytest.approx(180e15)
    # Edge servers: 26.7 Tbps at 400 Gb/s each is ≈67 at 100 % utilisation; the sample's 13.3 Tbps is 34.
    assert math.ceil(peak_1080p * 8 / 400e9) == 67
    assert f["cdn_servers_needed"][0] == 34


def _spot_the_error_feedback() -> str:
    """What a wrong choice reads after grading: the explanation is the grader's hint, not notebook text."""
    import random

    messages = []
    for cell in spec.cells():
        for source in cell.cases:
            for case in source(random.Random(0)):
                if case.name == "spot_the_error":
                    messages.append(case.compare("C", "A", case) or "")
    return "\n".join(messages)


def test_notebook_text_states_the_recomputed_figures():
    """The spot-the-error options and explanation, and the ABR intro, quote figures: they must be the ones
    computed above."""
    text = "\n".join(cell.source for cell in spec.cells()) + "\n" + _spot_the_error_feedback()
    for figure in ("1.04 TB/s", "8.3 Tbps", "167 KB/s", "1.67 TB/s", "13.3 Tbps", "3.33 TB/s", "26.7 Tbps"):
        assert figure in text, figure
    # The ABR intro's ladder in kbps: MB/min × 8,000 kbit/MB ÷ 60 s.
    kbps = [round(r * 8_000 / 60) for r in SCENARIOS["sample"]["ladder"]]
    assert kbps == [667, 1333, 2667, 6667]
    assert "667 kbps, then 1,333, 2,667 and 6,667" in text
    assert '{"480p": 667, "720p": 1333, "1080p": 2667, "4K": 6667}' in text


def test_video_bitrate_card_converts_with_mbps_times_7_5():
    from course.cards import video_bitrates

    card = video_bitrates()
    assert card["source"].map(lambda text: isinstance(text, str) and len(text) > 10).all()
    for name, row in card.iterrows():
        mbps = float(row["Mbps"])
        assert float(row["MB/min"]) == pytest.approx(mbps * 7.5, rel=1e-3), name
        assert float(row["GB/hour"]) == pytest.approx(mbps * 0.45, rel=1e-3), name
        per_server = float(row["streams per 400 Gbps server"].replace(",", ""))
        assert per_server == pytest.approx(400 / mbps * 1e3, rel=1e-3), name
    assert card.loc["course ladder: 720p", "Mbps"] == "1.333"
    assert card.loc["course ladder: 4K", "Mbps"] == "6.667"
    assert card.loc["Netflix guidance, older page: HD", "MB/min"] == "37.5"
    assert card.loc["course ladder: 720p", "streams per 400 Gbps server"] == "300,000"
