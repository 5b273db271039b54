"""Every reference figure of Session 2, recomputed independently in plain arithmetic (no pint, no course).

Inputs are restated here in base units (links, redirects, bytes, seconds); the session's EXPECTED values
must agree within 0.1 % (whole numbers exactly). The seed document's own figures and slips are pinned too,
so the course keeps teaching them as slips.
"""

import math

import pytest

from .figures import assert_expected_match

from authoring.sessions import session2_url_shortener as spec

DAY = 86_400  # seconds

# Same scenarios as the spec, written out by hand in base units.
SCENARIOS = {
    "sample": dict(links=500e6, clicks=50e9, url=100, meta=50, days=1825, peak=2, rf=3, cache=0.2, resp=500, base=62),
    "small": dict(links=10e6, clicks=200e6, url=200, meta=100, days=730, peak=3, rf=2, cache=0.1, resp=400, base=62),
    "huge": dict(links=5e9, clicks=1e12, url=120, meta=80, days=3650, peak=2.5, rf=3, cache=0.25, resp=600, base=36),
}


def figures(s):
    """Every estimate from first principles: links/s, redirects/s, bytes/day, bytes, bytes/s, links, counts."""
    record = s["url"] + s["meta"]                     # bytes per stored link
    writes = s["links"] / DAY                         # links per second
    reads = s["clicks"] / DAY                         # redirects per second
    total_links = s["links"] * s["days"]
    length = 1
    while s["base"] ** length < total_links:
        length += 1
    return {
        "write_qps": (writes, "url/s"),
        "peak_write_qps": (writes * s["peak"], "url/s"),
        "read_qps": (reads, "click/s"),
        "peak_read_qps": (reads * s["peak"], "click/s"),
        "storage_per_day": (s["links"] * record, "B/day"),
        "link_storage": (total_links * record, "B"),
        "replicated_storage": (total_links * record * s["rf"], "B"),
        "cache_size": (s["clicks"] * s["cache"] * record, "B"),  # one day's hot share, one record per redirect
        "egress_bandwidth": (reads * s["resp"], "B/s"),
        "peak_egress_bandwidth": (reads * s["resp"] * s["peak"], "B/s"),
        "urls_created": (total_links, "url"),
        "short_code_length": (length, "int"),
        "code_space_headroom": (s["base"] ** length / total_links, ""),
    }


# The units the spec writes its answers in, as factors to base units (decimal prefixes).
UNITS = {"url/s": (1, "url/s"), "click/s": (1, "click/s"), "GB/day": (1e9, "B/day"), "TB": (1e12, "B"),
         "MB/s": (1e6, "B/s"), "bn url": (1e9, "url"), "": (1, "")}



@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_expected_value_is_recomputed(scenario):
    assert_expected_match(spec.EXPECTED, figures(SCENARIOS[scenario]), scenario, UNITS)


def test_scenarios_restated_here_match_the_spec():
    word = {"K": 1e3, "M": 1e6, "bn": 1e9, "tn": 1e12}

    def count(text):
        number, scale, _ = text.split()
        return float(number) * word[scale]

    for label, values in [("sample", spec.SAMPLE), *spec.HIDDEN.items()]:
        s = SCENARIOS[label]
        number = lambda key: float(values[key].split()[0])  # noqa: E731
        assert count(values["shortenings_per_day"]) == s["links"]
        assert count(values["redirects_per_day"]) == s["clicks"]
        assert number("url_size") == s["url"]
        assert number("metadata_size") == s["meta"]
        assert values["retention"] == f"{s['days']} day"
        assert number("peak_factor") == s["peak"]
        assert number("replication_factor") == s["rf"]
        assert number("cache_fraction") == s["cache"]
        assert number("redirect_size") == s["resp"]
        assert number("alphabet_size") == s["base"]


def test_hidden_scenarios_need_other_code_lengths():
    """Hard-coding the sample's 7 must fail the hidden checks, and no scenario sits on a power's edge."""
    lengths = {label: figures(s)["short_code_length"][0] for label, s in SCENARIOS.items()}
    assert lengths == {"sample": 7, "small": 6, "huge": 9}
    for s in SCENARIOS.values():
        f = figures(s)
        n, links = f["short_code_length"][0], f["urls_created"][0]
        assert s["base"] ** (n - 1) < links * 0.9 and s["base"] ** n > links * 1.1


def test_seed_figures_and_slips():
    f = figures(SCENARIOS["sample"])
    # The seed's "~5,800" and "~580,000" QPS, "~75 GB/day" and "~137 TB" are right (single copy, no peak).
    assert round(f["write_qps"][0]) == 5_787
    assert round(f["read_qps"][0]) == 578_704
    assert f["storage_per_day"][0] == pytest.approx(75e9)
    assert f["link_storage"][0] == pytest.approx(136.875e12)
    assert f["replicated_storage"][0] / 1e12 == pytest.approx(410.6, abs=0.05)
    # 5 years create 912.5 bn links; 62^7 = 3,521,614,606,208 covers them 3.9 times over (19.3 years).
    assert f["urls_created"][0] == 912.5e9
    assert 62**7 == 3_521_614_606_208
    assert 62**7 / 500e6 / 365 == pytest.approx(19.3, abs=0.05)
    # "Short URL length: 6-7 characters" is wrong: 62^6 = 56,800,235,584 runs out after ~113.6 days.
    assert 62**6 == 56_800_235_584
    assert 62**6 / 500e6 == pytest.approx(113.6, abs=0.05)
    assert f["short_code_length"][0] == 7
    # md5 hex[:7] has 16^7 = 268,435,456 values (28 bits), used up in about half a day; a repeat is
    # 50 % likely after ~19.3 K links (birthday bound sqrt(2 ln 2 N)). Base62 spelling adds nothing.
    assert 16**7 == 268_435_456 == 2**28
    assert 16**7 / 500e6 == pytest.approx(0.537, abs=1e-3)
    n_half = math.sqrt(2 * math.log(2) * 16**7)
    assert n_half == pytest.approx(19_290.7, abs=0.1)
    assert 1 - math.exp(-n_half * (n_half - 1) / (2 * 16**7)) == pytest.approx(0.5, abs=1e-4)
    assert 62**4 < 16**7 < 62**5  # as base62, 7 hex characters need at most 5 characters
    # Even 7 random base62 characters collide after ~2.2 M links: random codes need check-and-retry.
    assert math.sqrt(2 * math.log(2) * 62**7) == pytest.approx(2.2095e6, rel=1e-4)
    # Cache (80/20) and egress, absent from the seed: 1.5 TB; 289 MB/s = 2.3 Gbps on average.
    assert f["cache_size"][0] == pytest.approx(1.5e12)
    assert f["egress_bandwidth"][0] * 8 / 1e9 == pytest.approx(2.31, abs=0.005)
    # The seed's click_count column would take 578,704 increments a second on the urls rows.
    assert round(50e9 / DAY) == 578_704
