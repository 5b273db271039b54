"""Every reference figure of Session 1, recomputed independently in plain arithmetic (no pint, no course).

Inputs are restated here in base units (users, messages, bytes, seconds); the session's EXPECTED values
must agree within 0.1 %. The seed document's own slips are pinned too, so the course keeps teaching them
as slips.
"""

import math

import pytest

from .figures import assert_expected_match

from authoring.sessions import session1_chat as spec

DAY = 86_400  # seconds

# Same scenarios as the spec, written out by hand in base units.
SCENARIOS = {
    "sample": dict(dau=100e6, msgs=50, size=100, days=30, rw=2, peak=3, rf=3, online=0.10, cpu=1, mem=10e3, cps=1e6),
    "small": dict(dau=20e6, msgs=40, size=200, days=90, rw=1, peak=2, rf=2, online=0.20, cpu=2, mem=20e3, cps=300e3),
    "huge": dict(dau=1e9, msgs=100, size=150, days=365, rw=3, peak=2.5, rf=3, online=0.05, cpu=1, mem=16e3, cps=2e6),
}


def figures(s):
    """Every estimate from first principles, in base units: messages/s, bytes/day, bytes, bytes/s, counts."""
    per_day = s["dau"] * s["msgs"]                    # messages per day
    write = per_day / DAY                             # messages per second
    read = write * s["rw"]
    conns = s["dau"] * s["online"] * s["cpu"]
    return {
        "messages_per_second": (write, "msg/s"),
        "peak_messages_per_second": (write * s["peak"], "msg/s"),
        "read_qps": (read, "msg/s"),
        "peak_read_qps": (read * s["peak"], "msg/s"),
        "storage_per_day": (per_day * s["size"], "B/day"),
        "history_storage": (per_day * s["size"] * s["days"], "B"),
        "replicated_storage": (per_day * s["size"] * s["days"] * s["rf"], "B"),
        "ingress_bandwidth": (write * s["size"], "B/s"),
        "egress_bandwidth": (read * s["size"], "B/s"),
        "peak_egress_bandwidth": (read * s["size"] * s["peak"], "B/s"),
        "concurrent_connections": (conns, "conn"),
        "connection_memory": (conns * s["mem"], "B"),
        "chat_servers_needed": (math.ceil(conns / s["cps"]), "server"),
    }


# The units the spec writes its answers in, as factors to base units (decimal prefixes).
UNITS = {"msg/s": (1, "msg/s"), "GB/day": (1e9, "B/day"), "TB/day": (1e12, "B/day"), "TB": (1e12, "B"),
         "GB": (1e9, "B"), "MB/s": (1e6, "B/s"), "M conn": (1e6, "conn"), "server": (1, "server")}



@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_expected_value_is_recomputed(scenario):
    assert_expected_match(spec.EXPECTED, figures(SCENARIOS[scenario]), scenario, UNITS)


def test_scenarios_restated_here_match_the_spec():
    for label, values in [("sample", spec.SAMPLE), *spec.HIDDEN.items()]:
        s = SCENARIOS[label]
        number = lambda key: float(values[key].split()[0])  # noqa: E731
        word = {"M": 1e6, "bn": 1e9, "K": 1e3}
        dau_num, dau_word, _ = values["daily_active_users"].split()
        assert float(dau_num) * word[dau_word] == s["dau"]
        assert number("messages_per_user_per_day") == s["msgs"]
        assert number("message_size") == s["size"]
        assert number("retention") == s["days"]
        assert number("read_write_ratio") == s["rw"]
        assert number("peak_factor") == s["peak"]
        assert number("replication_factor") == s["rf"]
        assert number("online_fraction") == s["online"]


def test_seed_figures_and_slips():
    s = SCENARIOS["sample"]
    f = figures(s)
    # The seed's "~58,000 messages/second", "500 GB/day" and "15 TB" are right (single copy).
    assert round(f["messages_per_second"][0], -3) == 58_000
    assert f["storage_per_day"][0] == pytest.approx(500e9)
    assert f["history_storage"][0] == pytest.approx(15e12)
    # Its "Bandwidth Estimation" block never computes a bandwidth: it is 5.79 MB/s = 46.3 Mbps in.
    assert f["ingress_bandwidth"][0] * 8 / 1e6 == pytest.approx(46.3, rel=1e-3)
    # The 10^5 s/day shortcut is 13.6 % low on rates: the ±2 % checks reject it.
    assert 1 - DAY / 1e5 == pytest.approx(0.136, abs=1e-3)
    # The seed's schema row: four VARCHAR(36) ids = 144 B of ids for a 100 B message.
    assert 4 * 36 > 100
