"""Session 2 · Design a URL shortener (intermediate): a bit.ly-like service with redirects, aliases and analytics."""

from __future__ import annotations

import math
import random
import textwrap

from course.api import find_endpoint
from course.checks import fail
from course.grading.cases import Case, as_bytes, ref, step
from course.grading.compare import exact, same
from course.schema import parse_schema

from ..cases import text_cases
from ..cells import Cell
from ..sections import (
    Curveball, Estimate, algorithm, api_design, curveball, deep_dive, detailed_design_intro, estimates, estimation_intro, header,
    high_level_design, multiple_choice, reference_card, requirements, schema_design, what_if, with_checks, wrap_up,
)

ID = "session2_url_shortener"

FIELDS = {
    "shortenings_per_day": ("url/day", "new short links created per day"),
    "redirects_per_day": ("click/day", "redirects served per day (one per click on a short link)"),
    "url_size": ("B/url", "average size of a long URL"),
    "metadata_size": ("B/url", "what is stored with each link besides the URL (code, owner, dates)"),
    "retention": ("day", "how long a link is kept (a year is 365 days here)"),
    "peak_factor": ("", "busiest-hour rate ÷ daily average"),
    "replication_factor": ("", "copies of every stored link"),
    "cache_fraction": ("", "share of a day's redirects whose links the cache holds (the 80/20 rule)"),
    "redirect_size": ("B/click", "bytes sent back per redirect (status line, headers, Location)"),
    "alphabet_size": ("", "characters a short code may use ([0-9a-zA-Z] has 62)"),
}

#: What the interviewer says (the seed's sample requirements, plus the figures a candidate asks for).
SAMPLE = {
    "shortenings_per_day": "500 M url/day",
    "redirects_per_day": "50 bn click/day",
    "url_size": "100 B/url",
    "metadata_size": "50 B/url",
    "retention": "1825 day",
    "peak_factor": "2",
    "replication_factor": "3",
    "cache_fraction": "0.2",
    "redirect_size": "500 B/click",
    "alphabet_size": "62",
}

#: What a practice round keeps as it is: the code alphabet and the replication factor are design choices, not
#: figures the interviewer varies.
PRACTICE_KEEP = ("alphabet_size", "replication_factor")

#: Other scenarios the hidden tests run the student's functions on (code lengths 6 and 9, not 7).
HIDDEN = {
    "small": {
        "shortenings_per_day": "10 M url/day", "redirects_per_day": "200 M click/day", "url_size": "200 B/url",
        "metadata_size": "100 B/url", "retention": "730 day", "peak_factor": "3", "replication_factor": "2",
        "cache_fraction": "0.1", "redirect_size": "400 B/click", "alphabet_size": "62",
    },
    "huge": {
        "shortenings_per_day": "5 bn url/day", "redirects_per_day": "1 tn click/day", "url_size": "120 B/url",
        "metadata_size": "80 B/url", "retention": "3650 day", "peak_factor": "2.5", "replication_factor": "3",
        "cache_fraction": "0.25", "redirect_size": "600 B/click", "alphabet_size": "36",
    },
}

#: Reference answers, written out; tests/test_figures_session2_url_shortener.py recomputes each one independently.
EXPECTED = {
    "write_qps": {"sample": "5787.037 url/s", "small": "115.7407 url/s", "huge": "57870.37 url/s"},
    "peak_write_qps": {"sample": "11574.07 url/s", "small": "347.2222 url/s", "huge": "144675.9 url/s"},
    "read_qps": {"sample": "578703.7 click/s", "small": "2314.815 click/s", "huge": "11574074 click/s"},
    "peak_read_qps": {"sample": "1157407.4 click/s", "small": "6944.444 click/s", "huge": "28935185 click/s"},
    "storage_per_day": {"sample": "75 GB/day", "small": "3 GB/day", "huge": "1000 GB/day"},
    "link_storage": {"sample": "136.875 TB", "small": "2.19 TB", "huge": "3650 TB"},
    "replicated_storage": {"sample": "410.625 TB", "small": "4.38 TB", "huge": "10950 TB"},
    "cache_size": {"sample": "1.5 TB", "small": "0.006 TB", "huge": "50 TB"},
    "egress_bandwidth": {"sample": "289.3519 MB/s", "small": "0.9259259 MB/s", "huge": "6944.444 MB/s"},
    "peak_egress_bandwidth": {"sample": "578.7037 MB/s", "small": "2.777778 MB/s", "huge": "17361.11 MB/s"},
    "urls_created": {"sample": "912.5 bn url", "small": "7.3 bn url", "huge": "18250 bn url"},
    "short_code_length": {"sample": "7", "small": "6", "huge": "9"},
    "code_space_headroom": {"sample": "3.859304", "small": "7.780854", "huge": "5.564929"},
}


def _text(prose: str) -> str:
    """Prose written indented in this file, as Markdown (indented lines would become code blocks)."""
    return textwrap.dedent(prose).strip()


def _estimate(name: str, doc: str, body: str) -> Estimate:
    return Estimate(name, doc, body, EXPECTED[name])


TRAFFIC = [
    _estimate("write_qps", "Average new links per second.",
              'return a.shortenings_per_day.to("url/s")'),
    _estimate("peak_write_qps", "New links per second in the busiest hour.",
              "return write_qps(a) * a.peak_factor"),
    _estimate("read_qps", "Average redirects per second.",
              'return a.redirects_per_day.to("click/s")'),
    _estimate("peak_read_qps", "Redirects per second in the busiest hour.",
              "return read_qps(a) * a.peak_factor"),
]
STORAGE = [
    _estimate("storage_per_day", "New link bytes stored per day (one copy).",
              'return (a.shortenings_per_day * (a.url_size + a.metadata_size)).to("GB/day")'),
    _estimate("link_storage", "Bytes held for every link of the retention period (one copy).",
              'return (storage_per_day(a) * a.retention).to("TB")'),
    _estimate("replicated_storage", "The same, every replica counted.",
              "return link_storage(a) * a.replication_factor"),
]
CACHE_AND_BANDWIDTH = [
    _estimate("cache_size", "Memory to cache the links of the hot share of one day's redirects.",
              "records = a.redirects_per_day * u.day * a.cache_fraction * u.url / u.click  # one link per redirect\n"
              'return (records * (a.url_size + a.metadata_size)).to("TB")'),
    _estimate("egress_bandwidth", "Average bytes per second of redirect responses.",
              'return (read_qps(a) * a.redirect_size).to("MB/s")'),
    _estimate("peak_egress_bandwidth", "Redirect egress in the busiest hour.",
              "return egress_bandwidth(a) * a.peak_factor"),
]
KEY_SPACE = [
    _estimate("urls_created", "Links created over the retention period: each needs its own code.",
              'return (a.shortenings_per_day * a.retention).to("url")'),
    _estimate("short_code_length", "The fewest characters n with alphabet_size ** n ≥ urls_created (an int).",
              'links = urls_created(a).to("url").magnitude\n'
              'base = a.alphabet_size.to("").magnitude\n'
              "n = 1\n"
              "while base**n < links:\n"
              "    n += 1\n"
              "return n"),
    _estimate("code_space_headroom", "How many times over the codes of that length cover those links.",
              'codes = a.alphabet_size.to("").magnitude ** short_code_length(a) * u.url\n'
              'return (codes / urls_created(a)).to("")'),
]

ARCHITECTURE = '''
Browser [client] -> Load Balancer [lb x2]
Mobile App [client] -> Load Balancer
Load Balancer -> App Server [service x4] : shorten, redirect
App Server <-> Link Cache [cache x3] : hot links
App Server -> Link Store [db x3] : misses, writes
App Server -> Key Generator [id_generator x2] : id blocks
App Server -> Click Stream [queue x3] : click events
Click Stream -> Click Analytics [analytics x2] : counts per day
'''

SCHEMA = '''
CREATE TABLE urls (
    short_code  VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
                    -- base62 of a counter id, or the owner's alias; a _bin collation keeps "aB" and "Ab" apart
                    -- (MySQL's default collation ignores case, which would leave 36 of the 62 characters)
    long_url    VARCHAR(2048) NOT NULL,
    owner_id    BIGINT,                           -- NULL for anonymous links
    created_at  TIMESTAMP     NOT NULL DEFAULT CURRENT_TIMESTAMP,
    expires_at  TIMESTAMP,                        -- NULL: kept for the whole retention period
    PRIMARY KEY (short_code),
    INDEX idx_owner_created (owner_id, created_at)
);

-- Click counts stay off the hot urls row: the analytics pipeline adds them up per day.
CREATE TABLE click_stats (
    short_code  VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    day         DATE        NOT NULL,
    clicks      BIGINT      NOT NULL DEFAULT 0,
    PRIMARY KEY (short_code, day)
);
'''

REDIRECT_QUERY = "SELECT long_url, expires_at FROM urls WHERE short_code = ?"
OWNER_QUERY = "SELECT short_code, long_url, created_at FROM urls WHERE owner_id = ? ORDER BY created_at DESC LIMIT 20"

_COUNTER_WORDS = {"click", "clicks", "count", "counts", "counter", "hit", "hits", "visit", "visits", "view",
                  "views", "redirects"}


def no_click_counter_on_urls(schema_sql: str) -> None:
    """At grading (hidden): no click counter in the urls row. Raises CheckFailed with the student's message.

    DDL that does not parse, or has no urls table, is left to assert_schema (the same answer fails there).
    """
    try:
        urls = parse_schema(schema_sql).table("urls")
    except Exception:  # noqa: BLE001 - assert_schema, checked first, already names the syntax error
        return
    if urls is None:
        return
    counters = [c.name for c in urls.columns if _COUNTER_WORDS & set(c.name.lower().split("_"))]
    if counters:
        fail(f"schema: the urls row holds a click counter ({', '.join(counters)}): at 579 K redirects a second, "
             "every click would update a hot row; count clicks in a separate table fed by the analytics pipeline")


API = '''
POST   /api/v1/shorten                     body: long_url, custom_alias, expires_at
GET    /{short_code}                       # 302 Found, Location: the long URL
GET    /api/v1/links                       query: cursor, limit     # my links, newest first
GET    /api/v1/links/{short_code}/stats    query: since, until
DELETE /api/v1/links/{short_code}
'''

SHORTEN = "/shorten|/links|/urls"

SHORTEN_FIELDS = f'''
from course.api import find_endpoint
from course.checks import fail
shorten = find_endpoint(api_spec, "POST", "{SHORTEN}")
fields = [name.lower() for name in shorten.query + shorten.body]
if not any("alias" in name for name in fields):
    fail(f"api: {{shorten}} takes no custom alias (its parameters: {{', '.join(fields) or 'none'}}): add custom_alias")
if not any("expir" in name or "ttl" in name for name in fields):
    fail(f"api: {{shorten}} takes no expiry (its parameters: {{', '.join(fields) or 'none'}}): add expires_at")
print(f"✓ api: {{shorten}} takes a custom alias and an expiry")
'''


def shorten_takes_alias_and_expiry(api_spec: str) -> None:
    """At grading: what SHORTEN_FIELDS checks in the notebook (the test cell's code does not run at grading).

    An API that does not parse, or has no shorten endpoint, is left to assert_api (the same answer fails there).
    """
    try:
        shorten = find_endpoint(api_spec, "POST", SHORTEN)
    except Exception:  # noqa: BLE001 - assert_api, checked first, already names the problem
        return
    if shorten is None:
        return
    fields = [name.lower() for name in shorten.query + shorten.body]
    if not any("alias" in name for name in fields):
        fail(f"api: {shorten} takes no custom alias (its parameters: {', '.join(fields) or 'none'}): add custom_alias")
    if not any("expir" in name or "ttl" in name for name in fields):
        fail(f"api: {shorten} takes no expiry (its parameters: {', '.join(fields) or 'none'}): add expires_at")


BASE62 = '''
ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"  # digit value = position


def base62_encode(n: int) -> str:
    """The base62 code of a non-negative int: 0 -> "0", 61 -> "Z", 62 -> "10"."""
    ### BEGIN SOLUTION
    if isinstance(n, bool) or not isinstance(n, int):
        raise ValueError(f"base62_encode needs a non-negative int, got {type(n).__name__} {n!r}")
    if n < 0:
        raise ValueError(f"base62_encode needs a non-negative int, got {n}")
    digits = []
    while True:
        n, digit = divmod(n, 62)
        digits.append(ALPHABET[digit])
        if n == 0:
            return "".join(reversed(digits))
    ### END SOLUTION


def base62_decode(code: str) -> int:
    """The int a base62 code stands for: "10" -> 62."""
    ### BEGIN SOLUTION
    if not isinstance(code, str) or not code:
        raise ValueError(f"base62_decode needs a non-empty string of 0-9, a-z, A-Z, got {code!r}")
    n = 0
    for char in code:
        digit = ALPHABET.find(char)
        if digit < 0:
            raise ValueError(f"{char!r} in {code!r} is not a base62 character (0-9, a-z, A-Z)")
        n = n * 62 + digit
    return n
    ### END SOLUTION
'''

BASE62_VISIBLE = '''
from course.checks import expect_raises
expect_equal("base62_encode(0)", base62_encode(0), "0")
expect_equal("base62_encode(61)", base62_encode(61), "Z")
expect_equal("base62_encode(62)", base62_encode(62), "10")
expect_equal("base62_encode(62**7 - 1)", base62_encode(62**7 - 1), "ZZZZZZZ")
expect_equal("base62_decode('10')", base62_decode("10"), 62)
expect_equal("base62_decode('1000000')", base62_decode("1000000"), 62**6)
expect_equal("round trip of 2**64", base62_decode(base62_encode(2**64)), 2**64)
expect_raises(base62_encode, -1)
expect_raises(base62_encode, 2.5)
expect_raises(base62_decode, "")
expect_raises(base62_decode, "abc-123")
public_checks_passed("base62")
'''

#: The digits in value order, used here only to make up inputs (random codes to decode), never answers.
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGIT_HINT = ("the digits are 0-9, then a-z, then A-Z (\"a\" is 10, \"Z\" is 61), most significant first; "
               "use whole-number arithmetic (divmod, * 62), never floats, so huge numbers stay exact")
_BAD_INPUT_HINT = "bad input raises a ValueError whose message says what is wrong with it"


def _round_trip(expected, got, case: Case) -> str | None:
    """``[base62_encode(n), base62_decode(that code)]``: decode must give ``n`` back. Judged only where the
    student's own encode gave the right code; a wrong code is base62_encode's failure, counted there."""
    if not (isinstance(got, list) and isinstance(expected, list) and len(got) == len(expected) == 2):
        return exact(_DIGIT_HINT)(expected, got, case)
    if not same(expected[0], got[0]):
        return None
    return exact(_DIGIT_HINT)(expected, got, case)


def _short(n: int) -> str:
    return str(n) if n < 10**20 else f"{n} (a {n.bit_length()}-bit number)"


def base62_cases(rng: random.Random) -> list[Case]:
    """The visible examples; encode on small, boundary (62**k - 1, 62**k, 62**k + 1), 7-character and huge
    numbers; decode on boundary and random codes (leading zeros too); round trips; bad input that must raise."""

    def encode(n, *, hidden=True, bad=False) -> Case:
        shown = _short(n) if type(n) is int else repr(n)
        return Case("call", "base62_encode", args=(n,), label=f"base62_encode({shown})", group="base62_encode",
                    hidden=hidden, compare=exact(_BAD_INPUT_HINT if bad else _DIGIT_HINT))

    def decode(code, *, hidden=True, bad=False, shown=None) -> Case:
        return Case("call", "base62_decode", args=(code,), label=f"base62_decode({shown or repr(code)})",
                    group="base62_decode", hidden=hidden, compare=exact(_BAD_INPUT_HINT if bad else _DIGIT_HINT))

    def round_trip(n, *, hidden=True) -> Case:
        return Case("script", label=f"round trip of {_short(n)}: base62_decode(base62_encode(n))",
                    group="base62_decode", hidden=hidden, compare=_round_trip,
                    steps=(step("base62_encode", n, let="code"), step("base62_decode", ref("code"))))

    cases = [encode(n, hidden=False) for n in (0, 61, 62, 62**7 - 1)]
    cases += [decode("10", hidden=False), decode("1000000", hidden=False), round_trip(2**64, hidden=False)]
    cases += [encode(-1, hidden=False, bad=True), encode(2.5, hidden=False, bad=True)]
    cases += [decode("", hidden=False, bad=True), decode("abc-123", hidden=False, bad=True)]

    boundaries = [62**k + d for k in range(1, 12) for d in (-1, 0, 1)]
    numbers = sorted(rng.sample(range(1, 200), 15)) + boundaries
    numbers += [rng.randrange(62**6, 62**7) for _ in range(15)] + [rng.randrange(62**7) for _ in range(10)]
    numbers += [rng.getrandbits(rng.randint(40, 256)) for _ in range(25)]
    cases += [encode(n) for n in numbers]

    codes = [c for k in range(1, 12) for c in ("Z" * k, "1" + "0" * k, "1" + "0" * (k - 1) + "1")]
    codes += ["0", "00", "007", "0Zz"]
    codes += ["".join(rng.choice(_DIGITS) for _ in range(rng.randint(1, 20))) for _ in range(40)]
    cases += [decode(code) for code in codes]
    cases += [round_trip(n) for n in rng.sample(boundaries, 6) + rng.sample(numbers[-25:], 10)]

    cases += [encode(n, bad=True) for n in (-62**7, -rng.randint(2, 10**12), 3.0, 1e3, "12", None, [1])]
    spoiled = "".join(rng.choice(_DIGITS) for _ in range(8))
    at = rng.randrange(len(spoiled) + 1)
    cases += [decode(code, bad=True) for code in ("abc def", " abc", "ab_c", "abc=", "é", "١٢", 12, None,
                                                  spoiled[:at] + rng.choice("-_+/=.~ ") + spoiled[at:])]
    cases.append(decode(as_bytes(b"abc"), bad=True, shown="b'abc'"))
    return cases


COLLISIONS = '''
import math


def key_space(alphabet_size: int, length: int) -> int:
    """How many different codes of `length` characters an alphabet of `alphabet_size` characters spells."""
    ### BEGIN SOLUTION
    return alphabet_size**length
    ### END SOLUTION


def collision_probability(n_keys: int, space: int) -> float:
    """Chance that n_keys codes drawn at random from `space` values hold a repeat: 1 - exp(-n(n-1) / (2 space))."""
    ### BEGIN SOLUTION
    return -math.expm1(-n_keys * (n_keys - 1) / (2 * space))
    ### END SOLUTION


def urls_until_collision(space: int, p: float = 0.5) -> float:
    """How many random codes until a repeat has probability p: about sqrt(2 space ln(1 / (1 - p)))."""
    ### BEGIN SOLUTION
    return math.sqrt(2 * space * math.log(1 / (1 - p)))
    ### END SOLUTION
'''

COLLISIONS_VISIBLE = '''
expect_equal("key_space(16, 7)", key_space(16, 7), 268_435_456)
expect_equal("key_space(62, 7)", key_space(62, 7), 3_521_614_606_208)
expect_equal("collision_probability(23, 365), to 3 places", round(collision_probability(23, 365), 3), 0.5)
expect_equal("collision_probability(10_000, 16**7), to 3 places", round(collision_probability(10_000, 16**7), 3), 0.17)
expect_equal("urls_until_collision(16**7), to the nearest 10", round(urls_until_collision(16**7), -1), 19_290.0)
expect_equal("urls_until_collision(62**7), to the nearest 1,000", round(urls_until_collision(62**7), -3), 2_210_000.0)
public_checks_passed("collisions")
'''


def _number_near(close, wanted: str):
    """A number (int or float) that ``close(want, got)`` accepts; errors, missing names and other types as
    :func:`exact` words them. ``wanted`` formats the reference's value for the message."""

    def compare(expected, got, case: Case) -> str | None:
        numbers = (int, float)
        if type(expected) in numbers and type(got) in numbers:
            try:
                if (type(got) is int or math.isfinite(got)) and close(expected, got):
                    return None
            except OverflowError:  # an int too large for a float: certainly not near
                pass
            return f"{case.label}: expected {wanted.format(expected)}, got {got!r}"
        return exact()(expected, got, case)

    return compare


_PROBABILITY = _number_near(lambda want, got: math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-12), "{:.9g}")
_URLS = _number_near(lambda want, got: abs(got - want) <= max(1.0, 1e-3 * abs(want)), "about {:,.1f}")
_KEY_SPACE_HINT = "alphabet_size ** length, an int (math.pow gives a float, inexact beyond 2**53)"


def collisions_cases(rng: random.Random) -> list[Case]:
    """The visible examples, then random alphabets and lengths, spaces, key counts and probabilities:
    key_space exactly, collision_probability within 1e-6 (relative), urls_until_collision within 0.1 % (or 1)."""

    def key_space(base, length, hidden=True) -> Case:
        return Case("call", "key_space", args=(base, length), label=f"key_space({base}, {length})", group="key_space",
                    hidden=hidden, compare=exact(_KEY_SPACE_HINT))

    def probability(n, space, hidden=True) -> Case:
        return Case("call", "collision_probability", args=(n, space), label=f"collision_probability({n}, {space})",
                    group="collision_probability", hidden=hidden, compare=_PROBABILITY)

    def urls(space, *p, hidden=True) -> Case:
        shown = f"urls_until_collision({space}" + (f", p={p[0]:.6g})" if p else ") with the default p = 0.5")
        return Case("call", "urls_until_collision", args=(space, *p), label=shown, group="urls_until_collision",
                    hidden=hidden, compare=_URLS)

    cases = [key_space(16, 7, False), key_space(62, 7, False), probability(23, 365, False),
             probability(10_000, 16**7, False), urls(16**7, hidden=False), urls(62**7, hidden=False)]
    cases += [key_space(rng.choice([2, 10, 16, 26, 36, 62, 64]), rng.randint(0, 12)) for _ in range(40)]
    cases += [key_space(62, 11), key_space(62, 12)]  # past 2**53: a float is no longer exact
    for _ in range(60):
        space = rng.choice([365, 16**7, 62**6, 62**7, rng.randint(2, 10**15)])
        n = rng.choice([0, 1, 2, rng.randint(2, 100), rng.randint(2, 10**7)])
        cases += [probability(n, space), urls(space, rng.uniform(0.01, 0.99))]
    cases += [urls(space) for space in (365, 16**7, 62**7, 10**12)]
    return cases


KEY_RANGES = '''
class RangeAllocator:
    """The one shared counter (a ZooKeeper node or a database row in production): it hands out disjoint
    blocks of `block_size` consecutive ids, the first one starting at `start`."""

    def __init__(self, block_size: int, start: int = 0) -> None:
        ### BEGIN SOLUTION
        self.block_size = block_size
        self._next = start
        ### END SOLUTION

    def next_block(self) -> range:
        """The next unused block, as range(first, first + block_size)."""
        ### BEGIN SOLUTION
        block = range(self._next, self._next + self.block_size)
        self._next += self.block_size
        return block
        ### END SOLUTION


class CodeServer:
    """One app server: it takes a block from the allocator, hands out the base62 codes of its ids in order,
    and asks for the next block only when the current one is used up."""

    def __init__(self, allocator: RangeAllocator) -> None:
        ### BEGIN SOLUTION
        self._allocator = allocator
        self._block = range(0)
        self._used = 0
        ### END SOLUTION

    def next_code(self) -> str:
        ### BEGIN SOLUTION
        if self._used == len(self._block):
            self._block, self._used = self._allocator.next_block(), 0
        self._used += 1
        return base62_encode(self._block[self._used - 1])
        ### END SOLUTION
'''

KEY_RANGES_VISIBLE = '''
shared = RangeAllocator(block_size=3, start=62**6)
expect_equal("first block", shared.next_block(), range(62**6, 62**6 + 3))
expect_equal("second block", shared.next_block(), range(62**6 + 3, 62**6 + 6))
shared = RangeAllocator(block_size=3, start=62**6)
server_a, server_b = CodeServer(shared), CodeServer(shared)
codes = [server_a.next_code(), server_b.next_code(), server_a.next_code(), server_a.next_code(),
         server_a.next_code(), server_b.next_code()]
expect_equal("codes of servers a, b, a, a, a, b", codes,
             ["1000000", "1000003", "1000001", "1000002", "1000006", "1000004"])
public_checks_passed("key ranges")
'''

_CODES_HINT = ("each server spends its own block, id after id, and asks the allocator for the next block only "
               "when its block is used up; the codes are base62_encode of the ids (check base62 first)")


def key_ranges_cases(rng: random.Random) -> list[Case]:
    """The visible examples; allocators of random block sizes and starts; then servers sharing one allocator,
    each asking for its first code in the order it was made, then random next_code calls. Codes are compared
    with the reference's, which pins disjoint consecutive blocks, ids in order, and a new block only when
    the current one is used up."""
    start7 = 62**6
    cases = [
        Case("script", label="RangeAllocator(block_size=3, start=62**6): two blocks", group="RangeAllocator",
             steps=(step("RangeAllocator", block_size=3, start=start7, let="shared", keep=False),
                    step("shared.next_block"), step("shared.next_block"))),
        Case("script", label="servers a, b sharing RangeAllocator(block_size=3, start=62**6): a, b, a, a, a, b",
             group="CodeServer", compare=exact(_CODES_HINT),
             steps=(step("RangeAllocator", block_size=3, start=start7, let="shared", keep=False),
                    step("CodeServer", ref("shared"), let="a", keep=False),
                    step("CodeServer", ref("shared"), let="b", keep=False),
                    *(step(f"{name}.next_code") for name in "abaaab"))),
    ]
    for trial in range(6):
        size, start = rng.randint(1, 40), rng.choice([0, 1, start7, rng.randrange(10**12)])
        made = (step("RangeAllocator", size, let="shared", keep=False) if trial == 0
                else step("RangeAllocator", size, start, let="shared", keep=False))
        shown = f"RangeAllocator({size})" if trial == 0 else f"RangeAllocator({size}, {start})"
        blocks = rng.randint(2, 5)
        cases.append(Case("script", label=f"{shown}: {blocks} blocks", group="RangeAllocator", hidden=True,
                          steps=(made, *(step("shared.next_block") for _ in range(blocks)))))
    for size in (1, rng.randint(2, 3), rng.randint(3, 6), rng.randint(5, 10), rng.randint(12, 40)):
        start = rng.choice([0, 1, start7, rng.randrange(10**12)])
        servers = "abcde"[: rng.randint(2, 5)]
        mixed = [rng.choice(servers) for _ in range(36)]
        cases.append(Case(
            "script", group="CodeServer", hidden=True, compare=exact(_CODES_HINT),
            label=(f"servers {', '.join(servers)} sharing RangeAllocator({size}, {start}), each asked once in that "
                   f"order, then {''.join(mixed)}"),
            steps=(step("RangeAllocator", size, start, let="shared", keep=False),
                   *(step("CodeServer", ref("shared"), let=name, keep=False) for name in servers),
                   *(step(f"{name}.next_code") for name in [*servers, *mixed]))))
    return cases



CURVEBALL = Curveball(
    prompt="Legal has a new rule: a short link must keep working for 50 years, not 5. Nothing else changes.",
    changes={"retention": "18250 day"},
    shown=("write_qps", "peak_read_qps", "replicated_storage", "cache_size", "urls_created", "short_code_length"),
    figure="short_code_length",
    label="key space after the curveball",
    options={
        "A": "The cache: it must hold ten times as many links.",
        "B": "The key space: ten times as many links need their own code, so the code length must be "
             "recomputed, and it may need another character.",
        "C": "The write path: links are created ten times faster.",
        "D": "The redirect servers: they serve ten times more clicks.",
    },
    correct="B",
    why="retention multiplies the links that must coexist (and their storage), not the rates or the cache",
    plan="""
    - Recompute the code length for the links alive over 50 years: with 62 characters, 7 give 3.5 T codes,
      which 50 years of links can outgrow; add a character (8 give 218 T), keeping old codes valid.
    - Existing 7-character codes keep working: codes of different lengths can coexist in one key space.
    - Storage grows tenfold: shard the link table by code and move links not clicked for years to cheaper
      storage, keeping them resolvable.
    - The rates, the cache (sized by daily clicks) and the redirect tier do not change.
    """,
    judge=exact("the smallest whole n with alphabet_size ** n ≥ urls_created, on the changed assumptions: an int"),
)

DEEP_DIVE = [
    ("hot_urls", "How would you handle a link that suddenly gets millions of clicks?",
     """
     - Redirects are reads of data that never changes (a code never changes its URL), the easy case to cache;
       only a delete or an expiry ends a link, so a delete evicts it and the cached entry keeps expires_at.
     - Cache-aside in Redis/Memcached in front of the store, LRU; size it by the 80/20 rule (≈ 1.5 TB here).
     - For the hottest keys: an in-process cache on every app server, replicas of the hot key, or the CDN/edge.
     - 301 lets browsers cache the redirect (less load, but repeat clicks vanish from analytics);
       302 keeps every click visible. Here analytics wins: 302. If the edge must cache it briefly, the clicks
       it answers never reach the servers: its request logs have to feed the click stream.
     - Never count clicks synchronously on the hot row: emit an event and move on.
     """),
    ("uniqueness", "How do you make sure two servers never hand out the same short code?",
     """
     - Random or hashed codes collide (birthday bound): 7 random base62 characters give a 50 % chance of a
       repeat after ~2.2 M links, so each insert needs check-and-retry (a unique key, a Bloom filter).
     - A counter never collides with itself: base62 of a unique id. One global counter is a bottleneck and a
       single point of failure, so hand out ranges: ZooKeeper (or one database row) gives each server a block
       of ids.
     - A server that dies loses the rest of its block: harmless gaps, never duplicates.
     - Alternatives: a key generation service with pre-generated codes (and a standby). Snowflake-style
       64-bit ids are unique without coordination, but take 11 base62 characters, not 7.
     - Custom aliases share the key space: insert with the primary key's uniqueness and fail on conflict.
       A generated code can land on an alias taken earlier: that insert fails the same way, and the server
       moves on to its next id.
     - Sequential codes are guessable: shuffle the counter (a bijective permutation) if enumeration matters.
     """),
    ("analytics", "How would you implement click analytics?",
     """
     - Keep the redirect fast: respond first, then log a click event (code, time, referrer, country) to a
       stream such as Kafka.
     - Aggregate off the hot path: a stream job or batch job adds counts per link per day into a separate
       table or an analytics store (OLAP), never into the urls row.
     - Near-real-time counters can live in Redis (INCR) and be flushed periodically.
     - 302 (not 301) so that every click reaches the servers; the API reads stats from the aggregates.
     - Raw events go to cheap storage (a data lake) for detailed reports; counts are approximate until aggregated.
     """),
]


def cells() -> list[Cell]:
    """The whole notebook, in the shared section order."""
    return [
        *header(
            ID,
            "Session 2 · Design a URL shortener",
            "intermediate",
            "Design a URL shortening service like bit.ly that can handle millions of URL shortenings per day.",
        ),
        *requirements(FIELDS, SAMPLE),
        *estimation_intro(),
        *estimates("traffic", "Traffic",
                   "How many links are created and how many redirects are served per second, on average and at "
                   "the peak? Redirects are counted in `click` (a click on a short link is one redirect).",
                   TRAFFIC, HIDDEN, points=2, sample=SAMPLE),
        *estimates("storage", "Storage",
                   "How many bytes do the links take per day, for the whole retention period, and with every "
                   "replica? A stored link is its URL plus its metadata.", STORAGE, HIDDEN, points=2, sample=SAMPLE),
        *estimates("cache_and_bandwidth", "Cache and bandwidth",
                   _text("""
                   The 80/20 rule: a small share of links gets most clicks, so cache the links behind
                   `cache_fraction` of a day's redirects. Each redirect reads one link: `u.url / u.click`
                   turns a count of redirects into a count of link records, and `* u.day` takes one day's
                   worth of a daily rate. It is an upper bound: a hot link is cached once, however often it
                   is clicked. Then the bytes of redirect responses leaving the servers (for a network link,
                   in bits: `fmt(x.to('Gbit/s'))`).
                   """), CACHE_AND_BANDWIDTH, HIDDEN, points=2, sample=SAMPLE),
        *estimates(
            "key_space", "Key space",
            _text("""
            Every link created during the retention period needs its own code. How many are there, how many
            characters does a code need, and how many times over do the codes of that length cover them
            (the headroom: ×2 means they would last twice the retention period)?
            `short_code_length` returns a plain `int` (a length has no unit), checked exactly.
            """), KEY_SPACE, HIDDEN, points=2, sample=SAMPLE,
            whole_numbers={"short_code_length": "the smallest whole n with alphabet_size ** n ≥ urls_created: "
                                                "round up, and return an int"},
            keep=["alphabet_size"]),  # an alphabet, not a figure: [0-9a-zA-Z] or [0-9a-z], never scaled
        *what_if(
            "Which assumptions change the code length, and how much faster would links have to be created "
            "before 7 characters no longer last 5 years?",
            ("write_qps", "read_qps", "replicated_storage", "cache_size", "peak_egress_bandwidth", "short_code_length"),
            {"shortenings_per_day": (1e7, 1e11), "retention": (365, 7300), "alphabet_size": (10, 64)},
        ),
        *multiple_choice(
            "spot_the_error",
            _text("""
            ### Spot the error
            The document this course grew from lists these **sample requirements**, then computes the key
            space of 7 characters:

            ```text
            - 500M URL shortenings per day
            - URLs stored for 5 years
            - Short URL length: 6-7 characters
            ```
            ```python
            charset_size = 62  # [a-zA-Z0-9]
            url_length = 7
            possible_urls = charset_size ** url_length  # ~3.5 trillion URLs
            ```

            What is wrong?
            """),
            {
                "A": "62^7 is about 3.5 billion, not 3.5 trillion.",
                "B": "7 characters are wasteful: 3.5 trillion codes are 3.9 times what 5 years need, so 6 would do.",
                "C": "6 characters are not enough: 62^6 ≈ 56.8 bn codes run out after about 114 days at 500 M "
                     "links a day, while 5 years create 912.5 bn links; the length has to be 7.",
                "D": "The alphabet should be 64 characters, because base64 is the standard for URLs.",
            },
            "C",
            "62**6 = 56,800,235,584 codes / 500 M a day = 113.6 days; 62**7 = 3.52 trillion covers 912.5 bn links",
        ),
        *reference_card(
            "powers_of_two",
            "Bits of a code are worth knowing: 7 hex characters are 2^28 ≈ 268 M values; 7 base62 characters are "
            "about 2^41.7 ≈ 3.5 trillion.",
        ),
        *high_level_design(
            title="URL shortener: high-level design",
            looks_for=[
                "clients, a load balancer (`lb`), app servers (`service`), a cache (`cache`) and a link "
                "store (`db`);",
                "a path from the clients to the store;",
                "*(hidden)* the cache on the read path: clients reach it through the load balancer and app servers;",
                "*(hidden)* no single point of failure between clients and the store (two or more of each);",
                "*(hidden)* where the codes come from (`id_generator`, e.g. a key generator or ZooKeeper-style "
                "range allocator) and where clicks are counted (`analytics`).",
            ],
            solution=ARCHITECTURE,
            visible={"require_kinds": ["client", "lb", "service", "cache", "db"]},
            hidden={"require_kinds": ["client", "lb", "service", "cache", "db", "id_generator", "analytics"],
                    "read_cache": True, "no_spof": True},
            sketch="Browser [client] -> Load Balancer [lb x2]",
        ),
        *curveball(CURVEBALL, sample=SAMPLE, scenarios=HIDDEN),
        *detailed_design_intro(),
        *with_checks(
            schema_design(
                heading="The link store",
                intro=f"""
                Write the schema (MySQL syntax is fine). Every redirect runs this lookup, about 579 K times a
                second on average, so it must go straight to one row by its key:

                ```sql
                {REDIRECT_QUERY}
                ```
                Signed-in users list their own links, newest first:

                ```sql
                {OWNER_QUERY}
                ```
                Checked: a `urls` table whose primary key is `short_code`, with `long_url`, `owner_id`,
                `created_at` and `expires_at`, and the redirect lookup served by the key. *(Hidden)*: the
                owner's list served by an index in order, without a sort; and no click counter in the `urls`
                row (the seed's `click_count` column would take an update per redirect on the hottest rows).
                """,
                solution=SCHEMA,
                visible={
                    "table": "urls",
                    "primary_key": ["short_code"],
                    "required_columns": {"short_code": "text", "long_url": "text", "owner_id": "integer|text",
                                         "created_at": "timestamp", "expires_at": "timestamp"},
                    "indexed_query": REDIRECT_QUERY, "query_name": "the redirect lookup",
                },
                hidden=[{"table": "urls", "indexed_query": OWNER_QUERY, "no_sort": True,
                         "query_name": "the owner's links, newest first"}],
            ),
            cases=[text_cases("schema_sql", [(no_click_counter_on_urls, {})])],
        ),
        *with_checks(
            api_design(
                intro="""
                Checked: shortening a URL (`POST /shorten`, or `/links`, `/urls`) with a **custom alias** and
                an **expiry** among its parameters, and the redirect itself (`GET /{short_code}`: the short URL
                is the whole path). *(Hidden)*: click statistics of a link, deleting a link, and listing your
                own links with **cursor** pagination (page numbers or offsets skip and repeat links while new
                ones are created). Which status the redirect answers with (301 or 302) comes up in the deep dive.
                """,
                solution=API,
                visible={"required": [("POST", SHORTEN, "shorten a URL"), ("GET", "/{}", "redirect a short code")]},
                hidden={"required": [("GET", "/links/{}/stats|/urls/{}/stats|/stats/{}|/{}/stats", "click statistics"),
                                     ("DELETE", "/links/{}|/urls/{}|/{}", "delete a link"),
                                     ("GET", "/links|/urls|/users/{}/links|/users/{}/urls|/me/links", "list my links")],
                        "cursor_paginated": [("GET", "/links|/urls|/users/{}/links|/users/{}/urls|/me/links")]},
                example="POST /api/v1/shorten  body: long_url",
            ),
            visible=SHORTEN_FIELDS,
            cases=[text_cases("api_spec", [(shorten_takes_alias_and_expiry, {})])],
        ),
        *algorithm(
            "base62",
            heading="Key algorithm 1: base62 codes",
            intro="""
            A short code is a number written in base 62: the digits `0-9`, then `a-z`, then `A-Z`, so
            `"Z"` is 61 and `"10"` is 62. Implement `base62_encode` (any non-negative `int`, however large)
            and `base62_decode`. Bad input raises a `ValueError` whose message says what is wrong: for
            `base62_encode`, a negative number or anything that is not an `int` (a float such as `3.0`
            too); for `base62_decode`, anything but a non-empty `str` of alphabet characters.
            """,
            solution=BASE62, visible=BASE62_VISIBLE, cases=[base62_cases], points=3,
        ),
        *algorithm(
            "collisions",
            heading="Key algorithm 2: why not a hash?",
            intro="""
            A tempting shortcut is to hash the long URL and keep a few characters. Codes that look random
            collide much sooner than intuition says (the birthday bound): among n random codes from a space
            of N values, a repeat has probability about 1 − exp(−n(n−1) / 2N), so it reaches 50 % near
            n = √(2 · ln 2 · N). Implement the three functions; use the formulas as given (the hidden tests
            compare with them on random inputs).
            """,
            solution=COLLISIONS, visible=COLLISIONS_VISIBLE, cases=[collisions_cases], points=2,
        ),
        *multiple_choice(
            "spot_the_hash_error",
            _text("""
            ### Spot the error
            The same document encodes a link like this:

            ```python
            hash_value = hashlib.md5(long_url.encode()).hexdigest()
            # Take first 7 characters and convert to base62
            return self.hash_to_base62(hash_value[:7])
            ```

            What is wrong with it? (Your `key_space` and `urls_until_collision` answer it.)
            """),
            {
                "A": "MD5 is too slow for about 5,800 new links a second.",
                "B": "7 hex characters hold only 16^7 ≈ 268 M values (28 bits); writing them in base62 changes "
                     "the spelling, not the count. A repeat is likely (50 %) after about 19 K links, and the "
                     "whole space is used up in about half a day at 500 M links a day.",
                "C": "MD5 is broken for security, so users could forge another link's short code.",
                "D": "Hashing the same long URL twice gives two different codes.",
            },
            "B",
            "16**7 = 268,435,456 values; sqrt(2 ln 2 × 16**7) ≈ 19,291 links for a 50 % chance of a collision",
        ),
        *algorithm(
            "key_ranges",
            heading="Key algorithm 3: unique codes from many servers",
            intro="""
            The collision-free way is a counter: code = base62 of a unique id. One counter shared by every
            request would be a bottleneck, so the counter hands out **blocks** of ids instead (ZooKeeper or
            a database row plays this role), and each app server spends its block locally, one id per new
            link. Implement `RangeAllocator.next_block` and `CodeServer.next_code` (with your
            `base62_encode`). Starting the counter at 62^6 makes every code exactly 7 characters long.
            The hidden tests interleave several servers sharing one allocator (each asks for its first code
            in the order the servers were made) and compare every code handed out: each is the next id of
            its own server's block, and a server takes a new block only when its block is used up.
            """,
            solution=KEY_RANGES, visible=KEY_RANGES_VISIBLE, cases=[key_ranges_cases], points=3,
        ),
        *deep_dive(DEEP_DIVE),
        *wrap_up(),
    ]
