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
