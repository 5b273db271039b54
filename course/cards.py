"""Reference cards for estimation, as pandas DataFrames: every row carries its source.

Figures with units are computed with the course's pint registry, not typed: availability downtime from
the percentage (365.25-day year, 30-day month), powers of two from ``2 ** n``, seconds per period from
the calendar. Only the measured latencies are data, as published.
"""

from __future__ import annotations

import math
from numbers import Real

import pandas as pd

from .errors import CourseInputError
from .units import Quantity, ureg

__all__ = ["PERIODS", "downtime", "latency_numbers", "powers_of_two", "availability", "time_conversions",
           "video_bitrates"]

#: The periods downtime is quoted per: a 365.25-day year (leap years averaged), a 30-day month, a day.
PERIODS: dict[str, Quantity] = {
    "year": ureg.Quantity(365.25, "day"),
    "month": ureg.Quantity(30, "day"),
    "day": ureg.Quantity(1, "day"),
}

# Largest unit first; a duration is written in the first unit that gives a number of at least 1.
_DURATION_UNITS = (("day", "days"), ("hour", "h"), ("minute", "min"), ("second", "s"),
                   ("millisecond", "ms"), ("microsecond", "µs"), ("nanosecond", "ns"))


def _duration(value: Quantity) -> str:
    """A duration the way a person says it: '52.6 min', '3.65 days', '150 µs', '0.5 ns'."""
    for unit, label in _DURATION_UNITS:
        number = float(value.to(unit).magnitude)
        if number >= 0.9995 or unit == "nanosecond":
            text = f"{number:,.0f}" if number >= 1000 else f"{number:.3g}"
            return f"{text} {'day' if text == '1' and unit == 'day' else label}"
    raise AssertionError("unreachable")  # pragma: no cover


def _percent(fraction: float) -> str:
    """A signed percentage with a true minus sign: '+15.7 %', '−13.6 %'."""
    sign = "+" if fraction > 0 else "−" if fraction < 0 else ""
    return f"{sign}{abs(fraction) * 100:.1f} %"


# ---------------------------------------------------------------------------------------------------
# Latency numbers

_DEAN = "Jeff Dean's latency numbers (~2012 text: jboner gist 2841832)"
_SCOTT = "; ~2020: Colin Scott's interactive latency model"

#: (operation, ~2012 value, ~2020 value or None, note on the source)
_LATENCIES: tuple[tuple[str, str, str | None, str], ...] = (
    ("L1 cache reference", "0.5 ns", None, ""),
    ("branch mispredict", "5 ns", None, ""),
    ("L2 cache reference", "7 ns", None, ""),
    ("mutex lock/unlock", "25 ns", None, ""),
    ("main memory reference", "100 ns", None, ""),
    ("compress 1 KB with Zippy", "3 µs", None, ""),
    ("send 1 KB over a 1 Gbps network", "10 µs", None, ""),
    ("read 4 KB at random from SSD", "150 µs", "16 µs", ""),
    ("read 1 MB sequentially from memory", "250 µs", "3 µs", ""),
    ("round trip within a datacenter", "500 µs", "500 µs", ""),
    ("read 1 MB sequentially from SSD", "1 ms", "49 µs", ""),
    ("disk seek", "10 ms", "2 ms", ""),
    ("read 1 MB sequentially from disk", "20 ms", None, " (the System Design Primer's table says 30 ms)"),
    ("packet round trip California → Netherlands → California", "150 ms", "150 ms", ""),
)


def latency_numbers() -> pd.DataFrame:
    """Latency numbers every engineer should know: ~2012 values, the ~2020 model where it gives one, and the speed-up.

    Network round trips have barely moved; memory and SSD figures improved by 9–83× (a disk seek by 5×).
    Read them as orders of magnitude, not as specifications.
    """
    rows = []
    for operation, then_text, now_text, note in _LATENCIES:
        then = ureg.Quantity(then_text)
        now = ureg.Quantity(now_text) if now_text else None
        speedup = f"{float((then / now).to('').magnitude):.2g}×" if now is not None else ""
        source = _DEAN + (_SCOTT if now is not None else "") + note
        rows.append((operation, _duration(then), _duration(now) if now is not None else "", speedup, source))
    frame = pd.DataFrame(rows, columns=["operation", "~2012", "~2020", "~2012 ÷ ~2020", "source"])
    return frame.set_index("operation")


# ---------------------------------------------------------------------------------------------------
# Powers of two

_PREFIXES = ("K", "M", "G", "T", "P")
_DECIMAL_NAMES = ("thousand", "million", "billion", "trillion", "quadrillion")


def powers_of_two() -> pd.DataFrame:
    """2^10 to 2^50: the exact value, its decimal approximation, and the binary and decimal byte units.

    The last column is how much larger the binary unit is (1 KiB is 2.4 % more than 1 KB; 1 PiB 12.6 %).
    """
    rows = []
    for k, (prefix, name) in enumerate(zip(_PREFIXES, _DECIMAL_NAMES), start=1):
        power = 10 * k
        binary, decimal = ureg.Quantity(1, f"{prefix}iB"), ureg.Quantity(1, f"{prefix}B")
        excess = float((binary / decimal).to("").magnitude) - 1
        rows.append((f"2^{power}", f"{2 ** power:,}", f"1 {name} (10^{3 * k})", f"1 {prefix}iB", f"1 {prefix}B",
                     _percent(excess), "arithmetic; the table in the System Design Primer and Alex Xu vol. 1"))
    frame = pd.DataFrame(rows, columns=["power", "exact value", "≈ decimal", "binary unit", "decimal unit",
                                        "binary vs decimal", "source"])
    return frame.set_index("power")


# ---------------------------------------------------------------------------------------------------
# Availability

def downtime(percent: float, per: str = "year") -> Quantity:
    """The downtime allowed at ``percent`` availability per ``"year"`` (365.25 days), ``"month"`` (30) or ``"day"``.

    ``downtime(99.99)`` is 52.6 minutes a year.
    """
    __tracebackhide__ = True
    if isinstance(percent, bool) or not isinstance(percent, Real) or not 0 <= percent <= 100:
        raise CourseInputError(f"availability must be a percentage from 0 to 100, such as 99.99; got {percent!r}")
    if per not in PERIODS:
        raise CourseInputError(f"per must be one of {', '.join(repr(p) for p in PERIODS)}; got {per!r}")
    return ((100 - percent) / 100 * PERIODS[per]).to("second")


def availability() -> pd.DataFrame:
    """Availability from 99 % ("two nines") to 99.9999 %, and the downtime each allows per year, month and day."""
    rows = []
    for nines in range(2, 7):
        percent = 100 * (1 - 10.0**-nines)
        rows.append((f"{percent:.{nines - 2}f} %", nines, *(_duration(downtime(percent, p)) for p in PERIODS),
                     "arithmetic (365.25-day year, 30-day month); agrees with Alex Xu vol. 1's table"))
    frame = pd.DataFrame(rows, columns=["availability", "nines", "downtime / year", "downtime / month (30 d)",
                                        "downtime / day", "source"])
    return frame.set_index("availability")


# ---------------------------------------------------------------------------------------------------
# Time conversions

def _seconds(value: Quantity) -> str:
    seconds = float(value.to("second").magnitude)
    return f"{seconds:,.0f} s" if math.isclose(seconds, round(seconds)) else f"{seconds:,.1f} s"


def time_conversions() -> pd.DataFrame:
    """Seconds per day, 30-day month and year, with the interview shortcuts and what they cost.

    "Rate error" is how wrong a per-second rate comes out when divided by the shortcut instead: 10^5 s/day
    makes QPS 13.6 % low; 2.5 M s/month makes it 3.7 % high.
    """
    day_source = "arithmetic (24 × 3,600); 10^5 shortcut: Grokking's estimation cheat sheet, Alex Xu vol. 2"
    month_source = "arithmetic (30 × 86,400); 2.5 M shortcut: the System Design Primer's conversion guide"
    shortcuts = {
        "seconds in a day": (PERIODS["day"], ureg.Quantity(1e5, "second"), "10^5 s", day_source),
        "seconds in a 30-day month": (PERIODS["month"], ureg.Quantity(2.5e6, "second"), "2.5 M s", month_source),
        "seconds in a 365-day year": (ureg.Quantity(365, "day"), None, "", "arithmetic (365 × 86,400)"),
        "seconds in a 365.25-day year": (PERIODS["year"], None, "",
                                         "arithmetic (365.25 × 86,400); the year the availability card uses"),
    }
    rows = []
    for name, (period, shortcut, shortcut_text, source) in shortcuts.items():
        exact = period.to("second")
        if shortcut is None:
            rows.append((name, _seconds(exact), "", "", "", source))
            continue
        ratio = float((shortcut / exact).to("").magnitude)
        rows.append((name, _seconds(exact), f"{shortcut_text} ({_seconds(shortcut)})",
                     _percent(ratio - 1), _percent(1 / ratio - 1), source))
    frame = pd.DataFrame(rows, columns=["conversion", "exact", "shortcut", "shortcut error", "rate error", "source"])
    return frame.set_index("conversion")


# ---------------------------------------------------------------------------------------------------
# Video bitrates

#: One Netflix Open Connect appliance serves about 400 Gb/s (FreeBSD, kTLS and NIC offload; 2021).
EDGE_SERVER_EGRESS: Quantity = ureg.Quantity(400, "Gbit/s")
_OCA = "Gallatin, EuroBSDCon 2021 (papers.freebsd.org): 400 Gb/s from one Open Connect appliance"
_NETFLIX = "Netflix help centre, internet speed recommendations (help.netflix.com/node/306)"
_APPLE = "Apple HLS authoring specification, example bitrate ladder"
_LADDER = "Session 3's interviewer (per-minute sizes from the document this course grew from)"

#: (rendition or guidance, bitrate as published, source)
_BITRATES: tuple[tuple[str, str, str], ...] = (
    ("course ladder: 480p", "5 MB/min", _LADDER),
    ("course ladder: 720p", "10 MB/min", _LADDER),
    ("course ladder: 1080p", "20 MB/min", _LADDER),
    ("course ladder: 4K", "50 MB/min", "Session 3's interviewer; 2–4× low against Netflix's UHD guidance below"),
    ("Netflix guidance, older page: SD", "3 Mbit/s", _NETFLIX + ", older version"),
    ("Netflix guidance, older page: HD", "5 Mbit/s", _NETFLIX + ", older version"),
    ("Netflix guidance, older page: Ultra HD", "25 Mbit/s", _NETFLIX + ", older version"),
    ("Netflix guidance, current page: Ultra HD", "15 Mbit/s", _NETFLIX + ", the figure quoted today"),
    ("Apple HLS ladder: lowest (416×234)", "145 kbit/s", _APPLE),
    ("Apple HLS ladder: top (1080p)", "7800 kbit/s", _APPLE),
)


def video_bitrates() -> pd.DataFrame:
    """Video bitrates in the three units estimates need: Mbps (the network), MB per minute and GB per hour
    (storage and daily egress), and how many streams of each one edge server at 400 Gb/s can carry.

    1 Mbps = 7.5 MB/min = 0.45 GB/h: a byte is 8 bits, a minute 60 s. Computed with the course's units.
    """
    rows = []
    for name, published, source in _BITRATES:
        rate = ureg.Quantity(published)
        mbps = float(rate.to("Mbit/s").magnitude)
        per_server = float((EDGE_SERVER_EGRESS / rate).to("").magnitude)
        rows.append((name, published.replace("Mbit/s", "Mbps").replace("kbit/s", "kbps"), f"{mbps:.4g}",
                     f"{float(rate.to('MB/min').magnitude):.4g}", f"{float(rate.to('GB/hour').magnitude):.4g}",
                     f"{per_server:,.0f}", f"{source}; streams per server: {_OCA}"))
    frame = pd.DataFrame(rows, columns=["rendition", "as published", "Mbps", "MB/min", "GB/hour",
                                        "streams per 400 Gbps server", "source"])
    return frame.set_index("rendition")
