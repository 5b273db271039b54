import builtins

import pytest

from course import evidence as _evidence
from course.assumptions import Assumptions, require
from course.checks import CheckFailed, Diagnosis, check, diagnose, expect_equal, expect_raises, public_checks_passed
from course.errors import CourseInputError
from course.units import q, u

SAMPLE = Assumptions(daily_active_users="100 M user", messages_per_user_per_day="50 msg/user/day",
                     peak_factor=3, replication_factor=2, read_write_ratio=5, retention="30 day")


def test_pass_prints_a_tick_and_nothing_on_stderr(capsys):
    check("messages_per_second", q("57870 msg/s"), "57870.37 msg/s")
    out, err = capsys.readouterr()
    assert out.startswith("✓ messages_per_second = 57.9 K msg/s")
    assert err == ""


def test_any_compatible_unit_passes():
    check("rate", q("57.87037 K msg/s"), "57870.37 msg/s", quiet=True)
    check("size", q("15000 GB"), "15 TB", quiet=True)
    check("daily", q("57870.37 msg/s"), "5 bn msg/day", quiet=True)  # asked per day: any time unit will do


@pytest.mark.parametrize("got", ["5 bn msg/day", "3.47 M msg/min", "208.3 M msg/hour"])
def test_a_rate_asked_per_second_must_be_per_second(got):
    """The same rate per day is not QPS: the interviewer asked for requests per second."""
    with pytest.raises(CheckFailed, match="expected a rate per second") as raised:
        check("rate", q(got), "57870.37 msg/s", quiet=True)
    assert ".to(" in raised.value.next_step


def test_a_failure_is_a_short_card_with_the_next_step_not_a_traceback():
    with pytest.raises(CheckFailed) as raised:
        check("peak", q("57870.37 msg/s"), "173611.1 msg/s", scenario={"peak_factor": "3"})
    lines = raised.value._render_traceback_()
    assert 2 <= len(lines) <= 8
    assert "✗ peak: expected 174 K msg/s" in lines[0] and "3× too low" in lines[0]
    assert any("forgotten peak factor (×3)" in line for line in lines)
    assert "Next step:" in lines[-1] and "peak factor" in lines[-1]
    assert not any("File " in line or "Traceback" in line for line in lines)


def test_two_mistakes_together_are_named():
    hints = diagnose(8 * 3, {"peak factor": 3})
    assert any("two mistakes together" in h.message and "peak factor" in h.message and "bits vs bytes" in h.message
               for h in hints)


@pytest.mark.parametrize("got", [7.0, True, "7"])
def test_a_whole_number_must_be_an_int(got):
    with pytest.raises(CheckFailed, match="expected a whole number|expected a int"):
        expect_equal("code length", got, 7)


def test_tolerance_is_two_percent():
    check("x", q("101.9 msg/s"), "100 msg/s", quiet=True)
    with pytest.raises(CheckFailed):
        check("x", q("102.1 msg/s"), "100 msg/s", quiet=True)


@pytest.mark.parametrize(
    "got, expected, mistake, kind",
    [
        ("46.3 MB/s", "5.787 MB/s", "bits vs bytes", "bits_bytes"),
        ("5.787 GB/s", "5.787 MB/s", "unit prefix", "unit_prefix"),
        ("57.87 msg/s", "57870 msg/s", "unit prefix", "unit_prefix"),
        ("15 TiB", "15 TB", "binary vs decimal", "binary_decimal"),
        ("57870 msg/s", "57870 msg/min", "per minute", "time_unit"),
        ("50000 msg/s", "57870.37 msg/s", "10^5 s/day", "seconds_per_day"),
        ("57870.37 msg/s", "173611.1 msg/s", "forgotten peak factor", "forgotten_peak"),
        ("500 GB", "15 TB", "retention", "forgotten_factor"),
        ("15 TB", "30 TB", "forgotten replication factor", "forgotten_replication"),
    ],
)
def test_failure_names_expected_got_and_likely_mistake(got, expected, mistake, kind, monkeypatch):
    noted = []
    monkeypatch.setattr(_evidence, "note_mistake", noted.append)
    with pytest.raises(CheckFailed) as err:
        check("value", q(got), expected, scenario=SAMPLE, quiet=True)
    message = str(err.value)
    assert "expected" in message and "got" in message
    assert mistake in message
    assert noted == [kind]  # reported to the evidence, for the practice journal


def test_each_diagnosis_has_a_stable_kind_and_two_together_have_both():
    assert [d.kind for d in diagnose(1e5 / 86400)][:1] == ["seconds_per_day"]
    assert diagnose(2.592 / 2.5)[0].kind == "seconds_per_month"
    assert diagnose(3, {"peak factor": 3})[0].kinds == ("factor_misapplied",)
    both = [d for d in diagnose(8 / 3, {"peak factor": 3}) if "two mistakes" in d.message]
    assert both and set(both[0].kinds) == {"bits_bytes", "forgotten_peak"}
    assert Diagnosis(8.0, "by hand").kinds == ()


def test_equal_factors_are_told_apart_by_the_checks_name(monkeypatch):
    factors = {"peak factor": 3, "replication factor": 3}
    assert diagnose(1 / 3, factors, about="replicated_storage")[0].kind == "forgotten_replication"
    assert diagnose(1 / 3, factors, about="peak_read_qps")[0].kind == "forgotten_peak"
    noted = []
    monkeypatch.setattr(_evidence, "note_mistake", noted.append)
    with pytest.raises(CheckFailed, match="Likely mistake: a forgotten replication factor"):
        check("replicated_storage", q("15 TB"), "45 TB", factors=factors)
    assert noted == ["forgotten_replication"]
    with pytest.raises(CheckFailed):
        check("egress", q("46.3 MB/s"), "17.36 MB/s", factors=factors)  # ×8 and a forgotten factor: both
    assert sorted(noted[1:]) in (["bits_bytes", "forgotten_peak"], ["bits_bytes", "forgotten_replication"])


def test_bare_number_is_refused_with_a_units_hint():
    with pytest.raises(CheckFailed, match="bare number"):
        check("messages_per_second", 57870.37, "57870.37 msg/s")


def test_wrong_dimension_says_so():
    with pytest.raises(CheckFailed, match="units do not match"):
        check("messages_per_second", q("500 GB/day"), "57870.37 msg/s")


def test_none_means_a_missing_return():
    with pytest.raises(CheckFailed, match="return"):
        check("messages_per_second", None, "1 msg/s")


class Rigged:
    def __eq__(self, other):
        return True

    def __float__(self):
        return 57870.37


def test_rigged_objects_earn_nothing():
    with pytest.raises(CheckFailed):
        check("messages_per_second", Rigged(), "57870.37 msg/s")
    with pytest.raises(CheckFailed):
        expect_equal("answer", Rigged(), "B")


def test_quantity_subclass_is_refused():
    class Liar(type(q("1 msg/s"))):
        pass

    with pytest.raises(CheckFailed):
        check("x", Liar(1, "msg/s"), "57870 msg/s")


def test_patched_builtins_do_not_change_the_verdict(monkeypatch):
    monkeypatch.setattr(builtins, "abs", lambda x: 0)
    monkeypatch.setattr(builtins, "float", lambda x=0: 57870.37)
    with pytest.raises(CheckFailed):
        check("messages_per_second", q("1 msg/s"), "57870.37 msg/s")


def test_diagnose_orders_best_match_first():
    hints = diagnose(8.0)
    assert "bits vs bytes" in hints[0].message
    assert diagnose(1.0) == []
    assert diagnose(-3) == []
    assert diagnose(7.3) == []


def test_expect_equal_messages():
    expect_equal("seqs", [1, 2, 3], [1, 2, 3])
    with pytest.raises(CheckFailed, match=r"expected \[1, 2, 3\], got \[1, 3, 2\]"):
        expect_equal("seqs", [1, 3, 2], [1, 2, 3])
    with pytest.raises(CheckFailed, match="expected a str"):
        expect_equal("choice", 2, "B")
    with pytest.raises(CheckFailed, match="Hint: look again"):
        expect_equal("choice", "A", "B", hint="look again")


def test_public_summary_is_honest(capsys):
    public_checks_passed("traffic")
    out = capsys.readouterr().out
    assert "hidden checks run at grading" in out
    assert "all tests passed" not in out.lower()


def test_assumptions_parse_and_replace():
    assert SAMPLE.daily_active_users == q("100 M user")
    bigger = SAMPLE.replace(daily_active_users="1 bn user")
    assert bigger.daily_active_users.magnitude == 1e9
    assert SAMPLE.daily_active_users.magnitude == 1e8
    with pytest.raises(AttributeError, match="immutable"):
        SAMPLE.peak_factor = 2
    with pytest.raises(CourseInputError, match="unknown assumption"):
        SAMPLE.replace(dau=1)
    with pytest.raises(AttributeError, match="the assumptions are"):
        SAMPLE.dau


@pytest.mark.parametrize("bad", [dict(x="abc"), dict(x=...), {}])
def test_assumptions_bad_input(bad):
    with pytest.raises(CourseInputError):
        Assumptions(**bad)


def test_require_lists_every_problem():
    with pytest.raises(AssertionError) as err:
        require(SAMPLE, {"daily_active_users": "msg", "retention": "day", "message_size": "B/msg"})
    message = str(err.value)
    assert "daily_active_users" in message and "message_size" in message and "retention" not in message
    with pytest.raises(AssertionError, match="Assumptions"):
        require({"daily_active_users": 1}, {"daily_active_users": "user"})


def _refuses_negatives(n):
    if n < 0:
        raise ValueError(f"needs a non-negative number, got {n}")
    return n


def test_expect_raises_passes_on_the_error_and_prints_its_message(capsys):
    expect_raises(_refuses_negatives, -1)
    out, err = capsys.readouterr()
    assert out == "✓ _refuses_negatives(-1) raises ValueError: needs a non-negative number, got -1\n"
    assert err == ""


def _raises_bare():
    raise ValueError()


def _raises_type_error(x):
    raise TypeError("unsupported operand")


@pytest.mark.parametrize("function, args, message", [
    (_refuses_negatives, (5,), "_refuses_negatives(5): expected ValueError with a message, but it returned 5"),
    (_raises_type_error, ("x",), "_raises_type_error('x'): expected ValueError with a message, got TypeError: unsupported operand"),
    (_raises_bare, (), "_raises_bare() raised ValueError without a message"),
])
def test_expect_raises_names_the_call_and_what_happened(function, args, message):
    with pytest.raises(CheckFailed) as err:
        expect_raises(function, *args)
    assert str(err.value).startswith(message)


def test_expect_raises_takes_another_error_type():
    expect_raises(_raises_type_error, 1, error=TypeError)
    with pytest.raises(CheckFailed, match="expected KeyError"):
        expect_raises(_refuses_negatives, -1, error=KeyError)
