import pytest

from course.errors import CourseInputError
from course.units import fmt, q, u


@pytest.mark.parametrize(
    "text, shown",
    [
        ("57870.37 msg/s", "57.9 K msg/s"),
        ("15 TB", "15 TB"),
        ("8.33 Tbps", "8.33 Tbps"),
        ("100 M user", "100 M user"),
        ("5 bn msg/day", "5 bn msg/day"),
        ("500 GB/day", "500 GB/day"),
        ("1.0417 TB/s", "1.04 TB/s"),
        ("46.3 Mbps", "46.3 Mbps"),
        ("100 Kbps", "100 Kbps"),
        ("10 KB/conn", "10 KB/conn"),
        ("578704 req/s", "579 K req/s"),
        ("3", "3"),
        ("136.875 TB", "137 TB"),
    ],
)
def test_humane_formatting(text, shown):
    assert fmt(q(text)) == shown


def test_bytes_and_bits_are_information_not_pure_numbers():
    assert q("1 B").to("bit").magnitude == 8
    assert not q("15 TB").dimensionless
    with pytest.raises(Exception):
        q("15 TB").to("")  # pint's stock registry would turn this into 1.2e14


def test_decimal_and_binary_prefixes_differ():
    assert q("1 KB").to("B").magnitude == 1000
    assert q("1 kB").to("B").magnitude == 1000
    assert q("1 KiB").to("B").magnitude == 1024
    assert q("1 Gbps").to("MB/s").magnitude == pytest.approx(125)


def test_countable_units_are_distinct_dimensions():
    rate = q("100 M user") * q("50 msg/user/day")
    assert rate.to("msg/s").magnitude == pytest.approx(5e9 / 86400)
    with pytest.raises(Exception):
        q("1 msg").to("req")


def test_count_words_and_separators():
    assert q("100 M user").magnitude == 1e8
    assert q("2 bn msg").magnitude == 2e9
    assert q("100_000_000 user").magnitude == 1e8
    assert q("100,000 user").magnitude == 1e5
    assert q(5, "msg/s") == 5 * u.msg / u.s


@pytest.mark.parametrize("bad", ["abc", "10 foo/s", "", "   ", None, [1], True, "nan msg"])
def test_bad_input_is_one_clear_error(bad):
    with pytest.raises(CourseInputError) as err:
        q(bad)
    assert "Traceback" not in str(err.value)


def test_bad_unit_with_number():
    with pytest.raises(CourseInputError, match="unknown unit"):
        q(5, "parsecs per fortnight squared x")
    with pytest.raises(CourseInputError, match="expected a number"):
        q("5", "msg")


@pytest.mark.parametrize("text, bits", [
    ("1 b", 1), ("1 kb", 1e3), ("1 Mb", 1e6), ("1 Gb", 1e9), ("1 Tb", 1e12), ("1 Kb", 1e3),
])
def test_lower_case_b_is_a_bit_as_engineers_write_it(text, bits):
    assert q(text).to("bit").magnitude == pytest.approx(bits)
    assert q(text).check("[information]")


@pytest.mark.parametrize("text, bits_per_second", [("1 bps", 1), ("1 Kbps", 1e3), ("1 Mbps", 1e6), ("1 Gbit/s", 1e9)])
def test_bit_rates(text, bits_per_second):
    assert q(text).to("bit/s").magnitude == pytest.approx(bits_per_second)


def test_a_megabyte_is_eight_megabits_not_barns():
    assert q("1 MB").to("Mb").magnitude == pytest.approx(8)
    assert fmt(q("46.3 Mb/s")) == "46.3 Mbps"


@pytest.mark.parametrize("text, shown", [
    ("1825 day", "1,825 days"), ("5 year", "5 years"), ("30 day", "30 days"), ("1 day", "1 day"),
    ("2.5 hour", "2.5 hours"), ("90 s", "90 seconds"),
])
def test_durations_are_spelled_out_in_their_own_unit(text, shown):
    assert fmt(q(text)) == shown
