"""Session 3 · Design Netflix (advanced): video on demand for 100 M daily viewers, served from the edge."""

from __future__ import annotations

import hashlib
import hmac
import math
import random
import string
from collections.abc import Mapping
from typing import Any

from course.architecture import path_exists
from course.checks import fail
from course.grading.cases import Case, as_bytes, as_frame, as_tuple, ref, step
from course.grading.compare import _problem, ceiling, exact, show
from course.schema import assert_schema

from ..cases import text_cases
from ..cells import Cell
from ..sections import (
    Curveball, Estimate, algorithm, api_design, curveball, deep_dive, detailed_design_intro, estimates, estimation_intro, header,
    high_level_design, multiple_choice, reference_card, requirements, schema_design, what_if, with_checks, wrap_up,
)

ID = "session3_netflix"

# The bitrate ladder is one field per rendition: storing a title means storing every rendition (their sum),
# streaming it means sending one of them (the average delivered rate, `stream_rate`). Hidden scenarios
# change the ladder and the delivered rate independently.
FIELDS = {
    "daily_active_users": ("user", "people who watch on a given day"),
    "catalog_size": ("title", "titles in the catalog"),
    "title_length": ("min/title", "average running time of a title"),
    "rate_480p": ("MB/min", "bytes per minute of video, 480p rendition"),
    "rate_720p": ("MB/min", "bytes per minute of video, 720p rendition"),
    "rate_1080p": ("MB/min", "bytes per minute of video, 1080p rendition"),
    "rate_4k": ("MB/min", "bytes per minute of video, 4K rendition"),
    "replication_factor": ("", "copies of every encoded file at the origin"),
    "streams_per_user_per_day": ("stream/user/day", "viewing sessions per daily user per day (one stream each)"),
    "session_length": ("min", "how long one viewing session lasts"),
    "peak_concurrency": ("stream/user", "streams open at the busiest moment, per daily user"),
    "stream_rate": ("MB/min/stream", "average rate one stream is delivered at (the mix of renditions watched)"),
    "cdn_server_egress": ("Gbit/s/server", "what one edge (CDN) server can send"),
}

#: What the interviewer says (the seed's sample requirements, plus the figures a candidate asks for).
SAMPLE = {
    "daily_active_users": "100 M user",
    "catalog_size": "10 K title",
    "title_length": "90 min/title",
    "rate_480p": "5 MB/min",
    "rate_720p": "10 MB/min",
    "rate_1080p": "20 MB/min",
    "rate_4k": "50 MB/min",
    "replication_factor": "3",
    "streams_per_user_per_day": "1.5 stream/user/day",
    "session_length": "60 min",
    "peak_concurrency": "0.1 stream/user",
    "stream_rate": "10 MB/min/stream",
    "cdn_server_egress": "400 Gbit/s/server",
}

#: What a practice round keeps as it is: the replication factor is a design choice, and the bitrate ladder
#: (with the average stream rate on it) must stay in order.
PRACTICE_KEEP = ("rate_480p", "rate_720p", "rate_1080p", "rate_4k", "stream_rate", "replication_factor")

#: Other scenarios the hidden tests run the student's functions on.
HIDDEN = {
    "regional": {
        "daily_active_users": "8 M user", "catalog_size": "3 K title", "title_length": "45 min/title",
        "rate_480p": "3 MB/min", "rate_720p": "6 MB/min", "rate_1080p": "12 MB/min", "rate_4k": "30 MB/min",
        "replication_factor": "2", "streams_per_user_per_day": "2 stream/user/day", "session_length": "40 min",
        "peak_concurrency": "0.15 stream/user", "stream_rate": "6 MB/min/stream",
        "cdn_server_egress": "100 Gbit/s/server",
    },
    "global_uhd": {
        "daily_active_users": "250 M user", "catalog_size": "40 K title", "title_length": "60 min/title",
        "rate_480p": "7.5 MB/min", "rate_720p": "22.5 MB/min", "rate_1080p": "37.5 MB/min",
        "rate_4k": "112.5 MB/min", "replication_factor": "3", "streams_per_user_per_day": "1.2 stream/user/day",
        "session_length": "75 min", "peak_concurrency": "0.11 stream/user", "stream_rate": "37.5 MB/min/stream",
        "cdn_server_egress": "400 Gbit/s/server",
    },
}

#: Reference answers, written out; tests/test_figures_session3_netflix.py recomputes each one independently.
EXPECTED = {
    "storage_per_title": {"sample": "7.65 GB/title", "regional": "2.295 GB/title", "global_uhd": "10.8 GB/title"},
    "catalog_storage": {"sample": "76.5 TB", "regional": "6.885 TB", "global_uhd": "432 TB"},
    "replicated_catalog_storage": {"sample": "229.5 TB", "regional": "13.77 TB", "global_uhd": "1296 TB"},
    "average_concurrent_viewers": {"sample": "6.25 M stream", "regional": "444444.4 stream",
                                   "global_uhd": "15.625 M stream"},
    "peak_concurrent_viewers": {"sample": "10 M stream", "regional": "1.2 M stream", "global_uhd": "27.5 M stream"},
    "average_egress": {"sample": "1.0416667 TB/s", "regional": "44.44444 GB/s", "global_uhd": "9.765625 TB/s"},
    "peak_egress": {"sample": "1.6666667 TB/s", "regional": "120 GB/s", "global_uhd": "17.1875 TB/s"},
    "daily_egress": {"sample": "90 PB/day", "regional": "3.84 PB/day", "global_uhd": "843.75 PB/day"},
    "cdn_servers_needed": {"sample": "34 server", "regional": "10 server", "global_uhd": "344 server"},
}


def _estimate(name: str, doc: str, body: str) -> Estimate:
    return Estimate(name, doc, body, EXPECTED[name])


STORAGE = [
    _estimate("storage_per_title", "Bytes of one title with every rendition of the ladder stored (one copy).",
              "ladder = a.rate_480p + a.rate_720p + a.rate_1080p + a.rate_4k  # per minute of video\n"
              'return (ladder * a.title_length).to("GB/title")'),
    _estimate("catalog_storage", "The whole catalog, every rendition, one copy.",
              'return (storage_per_title(a) * a.catalog_size).to("TB")'),
    _estimate("replicated_catalog_storage", "The catalog at the origin, every replica counted.",
              "return catalog_storage(a) * a.replication_factor"),
]
VIEWERS = [
    _estimate("average_concurrent_viewers",
              "Streams open at an average moment: streams started per day × how long each lasts.",
              'return (a.daily_active_users * a.streams_per_user_per_day * a.session_length).to("stream")'),
    _estimate("peak_concurrent_viewers", "Streams open at the busiest moment.",
              'return (a.daily_active_users * a.peak_concurrency).to("stream")'),
]
EGRESS = [
    _estimate("average_egress", "Bytes per second leaving the edge at an average moment.",
              'return (average_concurrent_viewers(a) * a.stream_rate).to("TB/s")'),
    _estimate("peak_egress", "Bytes per second leaving the edge at the busiest moment.",
              'return (peak_concurrent_viewers(a) * a.stream_rate).to("TB/s")'),
    _estimate("daily_egress", "Bytes streamed per day (a rate in PB/day).",
              'return average_egress(a).to("PB/day")'),
    _estimate("cdn_servers_needed",
              "Edge servers needed to send the peak egress at their full rate, rounded up to a whole number.",
              "import math\n"
              'servers = (peak_egress(a) / a.cdn_server_egress).to("server")\n'
              "return math.ceil(servers.magnitude) * u.server"),
]


def _exact_servers(s: Mapping[str, str]) -> float:
    """The edge servers the peak needs, before rounding up, from a scenario's text values (in the grader)."""
    from course.units import q

    return float((q(s["daily_active_users"]) * q(s["peak_concurrency"]) * q(s["stream_rate"])
                  / q(s["cdn_server_egress"])).to("server").magnitude)


#: Flush left: multiple_choice() strips the prompt but does not dedent it.
SPOT_THE_ERROR = """
### Spot the error
The document this course grew from estimates Netflix's bandwidth from the same inputs (100 M daily
users, 1.5 sessions a day of 60 minutes each, 10 MB per minute):

```python
average_viewing_session = 60  # minutes
sessions_per_day = daily_active_users * 1.5
total_viewing_minutes = sessions_per_day * average_viewing_session

peak_bandwidth = (total_viewing_minutes / (24 * 60)) * 10  # MB/min for 1080p
# Peak bandwidth: ~625 GB/s
```

What is wrong with "~625 GB/s"?
"""

ARCHITECTURE = '''
# playback: the control plane answers "what and where", the edge sends the bytes
TV App [client] -> Open Connect [cdn x100] : video segments
Mobile App [client] -> Open Connect
TV App <-> Load Balancer [lb x2] : browse, play, resume
Mobile App <-> Load Balancer
Load Balancer -> API Gateway [gateway x3]
API Gateway -> Playback Service [service x3] : manifest, signed URLs
API Gateway -> Catalog Service [service x3] : browse, search
API Gateway -> Recommendation Service [service x3]
Playback Service -> Metadata DB [db x3] : titles, renditions
Catalog Service -> Metadata DB
Playback Service -> Watch History [db x3] : resume positions
Recommendation Service -> Recommendation Cache [cache x3]
Playback Service -> Viewing Events [queue x3]
Viewing Events -> Analytics [analytics x3] : nightly model training
Analytics -> Recommendation Cache : precomputed rows
# ingest: one transcoding job per title, rendition and chunk
Studio Portal [client] -> Ingest Service [service x2]
Ingest Service -> Source Masters [object_store x3]
Ingest Service -> Transcode Jobs [queue x3]
Transcode Jobs -> Transcoder [worker x50]
Transcoder -> Video Origin [object_store x3] : encoded segments
Transcoder -> Metadata DB
Open Connect -> Video Origin : fill popular titles off-peak
'''

ARCHITECTURE_VISIBLE = '''
from course.architecture import path_exists
from course.checks import fail
if not path_exists(architecture, "client", "cdn"):
    fail("architecture: no client reaches the CDN: players fetch video from the edge, e.g. 'TV App -> Open Connect [cdn x100]'")
if not path_exists(architecture, "cdn", "object_store"):
    fail("architecture: the CDN has nowhere to fill from: add 'Open Connect -> Video Origin [object_store x3]'")
'''


def edge_paths(text: str) -> None:
    """At grading, the visible path checks: players reach the CDN, and the CDN fills from the origin."""
    if not path_exists(text, "client", "cdn"):
        fail("architecture: no client reaches the CDN: players fetch video from the edge, e.g. 'TV App -> Open Connect [cdn x100]'")
    if not path_exists(text, "cdn", "object_store"):
        fail("architecture: the CDN has nowhere to fill from: add 'Open Connect -> Video Origin [object_store x3]'")


def transcoding_pipeline(text: str) -> None:
    """(Hidden) a queue of transcoding jobs whose workers write the renditions to object storage."""
    if not path_exists(text, "queue", "object_store"):
        fail("architecture: no transcoding pipeline: a queue of jobs whose workers write renditions to object storage")


SCHEMA = '''
CREATE TABLE videos (
    video_id      BIGINT       PRIMARY KEY,
    title         VARCHAR(255) NOT NULL,
    duration_s    INT          NOT NULL,
    release_date  DATE,
    maturity      VARCHAR(10)
);

CREATE TABLE renditions (
    video_id      BIGINT       NOT NULL REFERENCES videos (video_id),
    height        SMALLINT     NOT NULL,          -- 480, 720, 1080, 2160
    codec         VARCHAR(16)  NOT NULL,          -- h264, hevc, av1
    bitrate_kbps  INT          NOT NULL,
    manifest_url  VARCHAR(500) NOT NULL,          -- this rendition's segment playlist (HLS/DASH)
    size_bytes    BIGINT       NOT NULL,
    PRIMARY KEY (video_id, height, codec, bitrate_kbps)  -- a ladder may hold two bitrates at one height
);

CREATE TABLE watch_history (
    user_id       BIGINT    NOT NULL,
    video_id      BIGINT    NOT NULL,
    position_s    INT       NOT NULL DEFAULT 0,   -- resume offset: one row per (user, video), overwritten
    updated_at    TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,  -- moves with every overwrite
    completed     BOOLEAN   NOT NULL DEFAULT FALSE,
    PRIMARY KEY (user_id, video_id),
    INDEX idx_history_recent (user_id, updated_at)
);
'''

RESUME_QUERY = "SELECT position_s FROM watch_history WHERE user_id = ? AND video_id = ?"
CONTINUE_QUERY = ("SELECT video_id, position_s, updated_at FROM watch_history "
                  "WHERE user_id = ? AND updated_at < ? ORDER BY updated_at DESC LIMIT 20")
RENDITIONS_QUERY = "SELECT height, codec, bitrate_kbps, manifest_url FROM renditions WHERE video_id = ?"

SCHEMA_VISIBLE = '''
assert_schema(schema_sql, table="videos", required_columns={"video_id": "integer", "title": "text", "duration_s": "integer"})
assert_schema(
    schema_sql,
    table="renditions",
    required_columns={"video_id": "integer", "height": "integer", "bitrate_kbps": "integer", "manifest_url": "text"},
)
'''

#: SCHEMA_VISIBLE's checks, run again by the grader on the submitted text.
SCHEMA_VISIBLE_CHECKS = [
    {"table": "videos", "required_columns": {"video_id": "integer", "title": "text", "duration_s": "integer"}},
    {"table": "renditions", "required_columns": {"video_id": "integer", "height": "integer", "bitrate_kbps": "integer",
                                                 "manifest_url": "text"}},
]

API = '''
GET  /v1/videos                                   query: genre, cursor, limit
GET  /v1/videos/{video_id}/manifest               query: device, codecs   # renditions and signed segment URLs
GET  /v1/users/{user_id}/progress                 query: cursor, limit    # continue watching, most recent first
GET  /v1/users/{user_id}/progress/{video_id}                               # where to resume
PUT  /v1/users/{user_id}/progress/{video_id}      body: position_s, device_id
GET  /v1/users/{user_id}/recommendations          query: cursor, limit
'''

ABR = '''
def choose_rendition(ladder: dict[str, float], throughput_kbps: float, margin: float = 0.2) -> str:
    """The rendition to fetch next: the highest bitrate that fits in throughput × (1 − margin).

    ``ladder`` maps rendition names to bitrates in kbps, in any order. When none fits, the lowest one
    (a blurry picture beats a frozen one). Raises ValueError for an empty ladder, a negative throughput
    or a margin outside [0, 1).
    """
    ### BEGIN SOLUTION
    if not ladder:
        raise ValueError("the bitrate ladder is empty")
    if throughput_kbps < 0:
        raise ValueError(f"throughput cannot be negative, got {throughput_kbps}")
    if not 0 <= margin < 1:
        raise ValueError(f"the safety margin must be in [0, 1), got {margin}")
    budget = throughput_kbps * (1 - margin)
    fitting = [name for name, kbps in ladder.items() if kbps <= budget]
    if not fitting:
        return min(ladder, key=ladder.get)
    return max(fitting, key=ladder.get)
    ### END SOLUTION
'''

ABR_VISIBLE = '''
from course.checks import expect_raises
ladder = {"480p": 667, "720p": 1333, "1080p": 2667, "4K": 6667}  # bitrates in kbps
expect_equal("choose_rendition(ladder, 2000)", choose_rendition(ladder, 2000), "720p")
expect_equal("choose_rendition(ladder, 3000)", choose_rendition(ladder, 3000), "720p")
expect_equal("choose_rendition(ladder, 3000, margin=0)", choose_rendition(ladder, 3000, margin=0), "1080p")
expect_equal("choose_rendition(ladder, 9000)", choose_rendition(ladder, 9000), "4K")
expect_equal("choose_rendition(ladder, 500)", choose_rendition(ladder, 500), "480p")
expect_raises(choose_rendition, {}, 1000)
expect_raises(choose_rendition, ladder, -1)
public_checks_passed("adaptive bitrate")
'''

#: The interviewer's ladder in kbps (ABR_VISIBLE's).
EXAMPLE_LADDER = {"480p": 667, "720p": 1333, "1080p": 2667, "4K": 6667}


def _as_dict(mapping: dict) -> dict:
    """A dict as a channel input (a plain dict would be read as a tag)."""
    return {"$dict": [[key, value] for key, value in mapping.items()]}


def _rendition_case(label: str, ladder: dict, *args: Any, hidden: bool = True, **kwargs: Any) -> Case:
    return Case("call", "choose_rendition", args=(_as_dict(ladder), *args), kwargs=kwargs, label=label,
                group="choose_rendition", hidden=hidden)


def _call_text(ladder: dict, *args: Any, **kwargs: Any) -> str:
    shown = [repr(ladder), *(repr(a) for a in args), *(f"{k}={v!r}" for k, v in kwargs.items())]
    return f"choose_rendition({', '.join(shown)})"


def abr_cases(rng: random.Random) -> list[Case]:
    """At grading: the visible examples, fixed boundaries, random ladders and throughputs, and bad inputs."""
    ladder = EXAMPLE_LADDER
    cases = [
        _rendition_case("choose_rendition(ladder, 2000)", ladder, 2000, hidden=False),
        _rendition_case("choose_rendition(ladder, 3000)", ladder, 3000, hidden=False),
        _rendition_case("choose_rendition(ladder, 3000, margin=0)", ladder, 3000, margin=0, hidden=False),
        _rendition_case("choose_rendition(ladder, 9000)", ladder, 9000, hidden=False),
        _rendition_case("choose_rendition(ladder, 500)", ladder, 500, hidden=False),
        _rendition_case("choose_rendition({}, 1000) (an empty ladder)", {}, 1000, hidden=False),
        _rendition_case("choose_rendition(ladder, -1) (a negative throughput)", ladder, -1, hidden=False),
    ]
    three = {"a": 600.0, "b": 800.0, "c": 1000.0}
    for what, rates, args in [("a bitrate exactly at the budget fits", three, (1000, 0.2)),
                              ("no margin", three, (1000, 0.0)),
                              ("zero throughput", {"hi": 5000.0, "lo": 300.0}, (0,)),
                              ("a margin of 1", {"a": 600.0}, (1000, 1.0)),
                              ("a negative margin", {"a": 600.0}, (1000, -0.1)),
                              ("an empty ladder", {}, (0,))]:
        cases.append(_rendition_case(f"{what}: {_call_text(rates, *args)}", rates, *args))

    def random_ladder(rates: list) -> dict:
        names = [f"r{i}" for i in range(len(rates))]
        rng.shuffle(names)
        as_float = rng.random() < 0.5
        return {name: float(rate) if as_float else rate for name, rate in zip(names, rates)}

    def margin_args(margin: float) -> tuple[tuple, dict]:
        """The margin positionally, by keyword, or left to its default (0.2)."""
        how = rng.randrange(3)
        if how == 0 and margin == 0.2:
            return (), {}
        return ((margin,), {}) if how == 1 else ((), {"margin": margin})

    # Random ladders, throughputs and margins (the old hidden test's distribution).
    for _ in range(100):
        ladder = random_ladder(rng.sample(range(80, 25_000), rng.randint(1, 8)))
        throughput = rng.choice([0.0, rng.uniform(0, 40_000), rng.uniform(0, 40_000)])
        args, kwargs = margin_args(rng.choice([0.0, 0.1, 0.2, 0.2, 0.25, 0.3, 0.5]))
        label = _call_text(ladder, throughput, *args, **kwargs)
        cases.append(_rendition_case(label, ladder, throughput, *args, **kwargs))
    # A rendition exactly at the budget (throughput × (1 − margin), exact in binary floating point, however
    # it is computed), with neighbours just above and below.
    for _ in range(16):
        margin = rng.choice([0.0, 0.25, 0.5, 0.75])
        throughput = 4 * rng.randint(100, 10_000)
        budget = int(throughput * (1 - margin))
        rates = [budget, budget + rng.randint(1, 300)] + rng.sample(range(80, budget), rng.randint(0, 3))
        rng.shuffle(rates)
        ladder = random_ladder(rates)
        args, kwargs = margin_args(margin)
        label = "a bitrate exactly at the budget: " + _call_text(ladder, throughput, *args, **kwargs)
        cases.append(_rendition_case(label, ladder, throughput, *args, **kwargs))
    # The default margin (0.2), with a rendition exactly at 0.8 × throughput. For a throughput that is a
    # multiple of 5 (up to 40,000), t × (1 − 0.2), t − t × 0.2 and the test rate / (1 − 0.2) <= t all come
    # out exact in floating point, so every usual way of computing the budget agrees.
    for _ in range(8):
        fifth = rng.randint(100, 8_000)
        throughput, budget = 5 * fifth, 4 * fifth
        rates = [budget, budget + rng.randint(1, 300)] + rng.sample(range(80, budget), rng.randint(0, 3))
        rng.shuffle(rates)
        ladder = random_ladder(rates)
        cases.append(_rendition_case("the default margin, a bitrate exactly at the budget: "
                                     + _call_text(ladder, throughput), ladder, throughput))
    # Bad inputs: the reference raises ValueError, so must the answer (with a message).
    for _ in range(3):
        ladder = random_ladder(rng.sample(range(80, 25_000), rng.randint(1, 6)))
        throughput = round(rng.uniform(100, 40_000), 1)
        for bad_label, args in [("a negative throughput", (-round(rng.uniform(0.5, 5_000), 1), 0.2)),
                                ("a margin of 1 or more", (throughput, rng.choice([1.0, round(rng.uniform(1, 3), 2)]))),
                                ("a negative margin", (throughput, -round(rng.uniform(0.01, 1), 2))),
                                ("an empty ladder", (throughput,))]:
            chosen = {} if bad_label == "an empty ladder" else ladder
            cases.append(_rendition_case(f"{bad_label}: {_call_text(chosen, *args)}", chosen, *args))
    return cases


SIGNING = '''
import hashlib
import hmac


def sign_url(path: str, expires: int, key: bytes) -> str:
    """``{path}?expires={expires}&sig={hex}``, where hex = HMAC-SHA256(key, "{path}?expires={expires}").

    ``path`` starts with "/" and has no query string of its own (ValueError otherwise); ``expires`` is a
    Unix time in seconds.
    """
    ### BEGIN SOLUTION
    if not path.startswith("/") or "?" in path or "&" in path:
        raise ValueError(f"path must start with '/' and have no query string, got {path!r}")
    unsigned = f"{path}?expires={int(expires)}"
    sig = hmac.new(key, unsigned.encode(), hashlib.sha256).hexdigest()
    return f"{unsigned}&sig={sig}"
    ### END SOLUTION


def verify_url(url: str, key: bytes, now: int) -> bool:
    """True when ``url`` was signed with ``key`` and is still valid at ``now`` (valid while now <= expires).

    A tampered path or expiry, another key, an expired link or a malformed URL gives False, never an error.
    Compare signatures with ``hmac.compare_digest`` (== leaks, through timing, how much of a guess is right).
    """
    ### BEGIN SOLUTION
    unsigned, found, sig = url.rpartition("&sig=")
    if not found:
        return False
    path, found, expires = unsigned.partition("?expires=")
    if not found or not path.startswith("/") or not expires.isdigit():
        return False
    want = hmac.new(key, unsigned.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want.encode(), sig.encode()):
        return False
    return now <= int(expires)
    ### END SOLUTION
'''

_EXAMPLE_PATH, _EXAMPLE_EXPIRES, _EXAMPLE_KEY = "/videos/42/720p/seg_00017.ts", 1_700_000_600, b"edge-secret"
_EXAMPLE_UNSIGNED = f"{_EXAMPLE_PATH}?expires={_EXAMPLE_EXPIRES}"
EXAMPLE_SIGNED_URL = (f"{_EXAMPLE_UNSIGNED}&sig="
                      + hmac.new(_EXAMPLE_KEY, _EXAMPLE_UNSIGNED.encode(), hashlib.sha256).hexdigest())

SIGNING_VISIBLE = f'''
from course.checks import expect_raises, fail
key = {_EXAMPLE_KEY!r}
url = sign_url({_EXAMPLE_PATH!r}, {_EXAMPLE_EXPIRES}, key)
expect_equal("sign_url(...)", url, {EXAMPLE_SIGNED_URL!r})
expect_equal("verify: as signed, before expiry", verify_url(url, key, now=1_700_000_000), True)
expect_equal("verify: at the expiry second", verify_url(url, key, now={_EXAMPLE_EXPIRES}), True)
expect_equal("verify: one second later", verify_url(url, key, now={_EXAMPLE_EXPIRES + 1}), False)
expect_equal("verify: another video", verify_url(url.replace("/42/", "/43/"), key, now=1_700_000_000), False)
expect_equal("verify: a later expiry", verify_url(url.replace("={_EXAMPLE_EXPIRES}", "=1900000000"), key, now=1_700_000_000), False)
expect_equal("verify: another key", verify_url(url, b"guess", now=1_700_000_000), False)
expect_raises(sign_url, "videos/42", {_EXAMPLE_EXPIRES}, key)


def _names_used(function, depth=1):
    """The names a function's code refers to, and those of the notebook functions it calls."""
    codes, names = [function.__code__], set()
    while codes:
        code = codes.pop()
        names.update(code.co_names)
        codes += [c for c in code.co_consts if hasattr(c, "co_names")]
    for name in list(names) if depth else []:
        called = function.__globals__.get(name)
        if callable(called) and hasattr(called, "__code__") and called is not function:
            names |= _names_used(called, depth - 1)
    return names


if "compare_digest" not in _names_used(verify_url):
    fail("verify_url: compare signatures with hmac.compare_digest: == stops at the first differing "
         "character, so response times tell an attacker how much of a forged signature is right")
print("✓ verify_url compares signatures with compare_digest")
public_checks_passed("signed URLs")
'''

_PATH_ALPHABET = string.ascii_lowercase + string.digits + "_-."


def _signed(path: str, expires: int, key: bytes) -> tuple[str, str]:
    """``(unsigned, signature)`` of a URL as the spec defines it.

    Computed here, in the grader, to build verify_url's inputs (the tampered URLs) independently of the
    student's sign_url: a wrong sign_url then costs its own points, not verify_url's too. Whether each
    URL verifies is still the reference solution's answer.
    """
    unsigned = f"{path}?expires={expires}"
    return unsigned, hmac.new(key, unsigned.encode(), hashlib.sha256).hexdigest()


def _verify_case(what: str, url: str, key: bytes, now: int, *, hidden: bool = True, key_text: str = "key") -> Case:
    return Case("call", "verify_url", args=(url, as_bytes(key)), kwargs={"now": now}, group="verify_url",
                label=f"verify_url, {what}: verify_url({url!r}, {key_text}, now={now})", hidden=hidden)


def _sign_case(label: str, path: str, expires: int, key: bytes, *, hidden: bool = True) -> Case:
    return Case("call", "sign_url", args=(path, expires, as_bytes(key)), label=label, group="sign_url", hidden=hidden)


def _names_used_steps(function: str, *, nested: int = 10, called: int = 40) -> tuple:
    """Script steps giving the names ``function``'s code refers to, those of the code nested in it
    (comprehensions, lambdas) and those of the notebook functions it calls: SIGNING_VISIBLE's
    ``_names_used(verify_url)``, asked through the channel. Every kept result is a tuple of names or an
    error (a constant that is not code, a name that is not a function); the script stops after the
    last name."""
    steps = [step(f"{function}.__code__.co_names.__add__", as_tuple(), let="names"),
             # the constants, padded so that reading the first `nested` of them never fails
             step(f"{function}.__code__.co_consts.__add__", as_tuple(*[None] * nested), let="consts", keep=False)]
    for index in range(nested):
        steps += [step("consts.__getitem__", index, let=f"c{index}", keep=False),
                  step(f"c{index}.co_names.__add__", as_tuple())]
    for index in range(called):
        steps += [step("names.__getitem__", index, let=f"n{index}", keep=False),
                  step(f"{function}.__globals__.get", ref(f"n{index}"), let=f"f{index}", keep=False),
                  step(f"f{index}.__code__.co_names.__add__", as_tuple())]
    return tuple(steps)


def _all_names(results: Any) -> set[str]:
    names: set[str] = set()
    for result in results if isinstance(results, list) else []:
        if isinstance(result, dict) and list(result) == ["$tuple"] and isinstance(result["$tuple"], list):
            names.update(name for name in result["$tuple"] if isinstance(name, str))
    return names


def uses_compare_digest(expected: Any, got: Any, case: Case) -> str | None:
    """The names behind verify_url include ``compare_digest`` (SIGNING_VISIBLE's check, at grading)."""
    problem = _problem(got)
    if problem:
        return f"verify_url: {problem}"
    if "compare_digest" in _all_names(got):
        return None
    return ("verify_url: compare signatures with hmac.compare_digest: == stops at the first differing "
            "character, so response times tell an attacker how much of a forged signature is right")


def signing_cases(rng: random.Random) -> list[Case]:
    """At grading: the visible examples; sign_url on random paths, keys and expiries; verify_url on URLs
    signed here (valid, at the expiry second, expired, and tampered every way), malformed URLs; and
    compare_digest."""
    key, path, expires = _EXAMPLE_KEY, _EXAMPLE_PATH, _EXAMPLE_EXPIRES
    url = EXAMPLE_SIGNED_URL
    cases = [
        _sign_case("sign_url(...) of the example", path, expires, key, hidden=False),
        _sign_case("sign_url('videos/42', ...) (no leading '/')", "videos/42", expires, key, hidden=False),
        _sign_case("sign_url('/videos/1?quality=hd', ...) (a query string of its own)", "/videos/1?quality=hd",
                   1_700_000_000, b"k"),
        _sign_case("sign_url('videos/1', ...) (no leading '/')", "videos/1", 1_700_000_000, b"k"),
        _verify_case("as signed, before expiry", url, key, 1_700_000_000, hidden=False),
        _verify_case("at the expiry second", url, key, expires, hidden=False),
        _verify_case("one second later", url, key, expires + 1, hidden=False),
        _verify_case("another video", url.replace("/42/", "/43/"), key, 1_700_000_000, hidden=False),
        _verify_case("a later expiry", url.replace(f"={expires}", "=1900000000"), key, 1_700_000_000, hidden=False),
        _verify_case("another key", url, b"guess", 1_700_000_000, hidden=False, key_text="b'guess'"),
        Case("script", label="verify_url uses hmac.compare_digest", group="verify_url",
             steps=_names_used_steps("verify_url"), compare=uses_compare_digest, reference=False),
    ]
    for trial in range(14):
        path = "/" + "/".join("".join(rng.choices(_PATH_ALPHABET, k=rng.randint(1, 12)))
                              for _ in range(rng.randint(1, 5)))
        key = bytes(rng.randrange(256) for _ in range(rng.randint(8, 32)))
        expires = rng.randint(1_600_000_000, 1_900_000_000)
        key_text = f"bytes.fromhex({key.hex()!r})"
        cases.append(_sign_case(f"sign_url({path!r}, {expires}, {key_text})", path, expires, key))
        unsigned, sig = _signed(path, expires, key)
        signed = f"{unsigned}&sig={sig}"
        other = path + "x"
        flipped = sig[:-1] + ("0" if sig[-1] != "0" else "1")
        for what, candidate, with_key, now in [
            ("valid", signed, key, expires - rng.randint(1, 10**6)),
            ("at the expiry second", signed, key, expires),
            ("expired", signed, key, expires + rng.randint(1, 10**6)),
            ("tampered path", f"{other}?expires={expires}&sig={sig}", key, expires - 1),
            ("tampered expiry", f"{path}?expires={expires + 3600}&sig={sig}", key, expires - 1),
            ("another key", signed, key + b"!", expires - 1),
            ("tampered signature", f"{unsigned}&sig={flipped}", key, expires - 1),
            ("no signature", unsigned, key, expires - 1),
            ("the signature of another path", f"{unsigned}&sig={_signed(other, expires, key)[1]}", key, expires - 1),
        ]:
            shown_key = f"bytes.fromhex({with_key.hex()!r})"
            cases.append(_verify_case(f"{what} (random URL {trial + 1})", candidate, with_key, now, key_text=shown_key))
    for bad in ["", "/v", "/v?expires=abc&sig=00", "/v?sig=00&expires=1", "v?expires=1&sig=00", "/v?expires=&sig="]:
        cases.append(_verify_case("a malformed URL", bad, b"k", 0, key_text="b'k'"))
    return cases


RECOMMENDER = '''
import numpy as np
import pandas as pd


def item_similarity(ratings: pd.DataFrame) -> pd.DataFrame:
    """Cosine similarity between every pair of titles, as a title × title DataFrame.

    ``ratings`` has one row per (user, title) with columns ``user``, ``title`` and ``rating`` (1–5).
    Pivot it to a user × title matrix (0 where a user has not rated a title); the similarity of
    titles i and j is the cosine of their columns: (v_i · v_j) / (|v_i| |v_j|).
    """
    ### BEGIN SOLUTION
    matrix = ratings.pivot_table(index="user", columns="title", values="rating", fill_value=0)
    vectors = matrix.to_numpy(dtype=float)
    norms = np.linalg.norm(vectors, axis=0)
    similarity = (vectors.T @ vectors) / np.outer(norms, norms)
    return pd.DataFrame(similarity, index=matrix.columns, columns=matrix.columns)
    ### END SOLUTION


def recommend(ratings: pd.DataFrame, user, k: int = 5) -> list[str]:
    """The ``k`` titles ``user`` has not rated with the highest score, best first.

    score(t) = Σ over the titles j the user rated of similarity(t, j) × rating(user, j). Only titles
    scoring above 0 qualify (so fewer than k may come back); on equal scores the title that sorts
    first comes first. Raises ValueError for a user with no ratings.
    """
    ### BEGIN SOLUTION
    mine = ratings.loc[ratings["user"] == user].set_index("title")["rating"].astype(float)
    if mine.empty:
        raise ValueError(f"no ratings for user {user!r}")
    similarity = item_similarity(ratings)
    scores = similarity.loc[:, mine.index].dot(mine).drop(index=mine.index)
    ranked = sorted(((-score, title) for title, score in scores.items() if score > 0))
    return [str(title) for _, title in ranked[:k]]
    ### END SOLUTION
'''

RECOMMENDER_VISIBLE = '''
import pandas as pd
from course.checks import expect_raises
ratings = pd.DataFrame(
    [("ana", "Dark", 5), ("ana", "Stranger Things", 5), ("ana", "Mindhunter", 4),
     ("ben", "Dark", 4), ("ben", "Stranger Things", 5), ("ben", "Ozark", 2),
     ("cai", "Ozark", 5), ("cai", "Narcos", 5), ("cai", "Mindhunter", 3),
     ("dee", "The Crown", 5), ("dee", "Bridgerton", 4),
     ("eli", "Stranger Things", 4), ("eli", "Dark", 5),
     ("fay", "Narcos", 4), ("fay", "Ozark", 4), ("fay", "Dark", 2)],
    columns=["user", "title", "rating"],
)
similarity = item_similarity(ratings)
expect_equal("the similarity table's titles", sorted(similarity.index), sorted(ratings["title"].unique()))
expect_equal("similarity of Dark with itself", round(float(similarity.loc["Dark", "Dark"]), 6), 1.0)
expect_equal("similarity of Dark and Stranger Things (4 decimals)", round(float(similarity.loc["Dark", "Stranger Things"]), 4), 0.9563)
expect_equal("similarity of Dark and The Crown (no viewer in common)", round(float(similarity.loc["Dark", "The Crown"]), 6), 0.0)
expect_equal("recommend(ratings, 'eli', k=2)", recommend(ratings, "eli", k=2), ["Mindhunter", "Ozark"])
expect_equal("recommend(ratings, 'eli')", recommend(ratings, "eli"), ["Mindhunter", "Ozark", "Narcos"])
expect_equal("recommend(ratings, 'dee') (no one else watches her titles)", recommend(ratings, "dee"), [])
expect_raises(lambda user: recommend(ratings, user), "zoe")
public_checks_passed("the recommender")
'''

#: RECOMMENDER_VISIBLE's table.
EXAMPLE_RATINGS = [
    ("ana", "Dark", 5), ("ana", "Stranger Things", 5), ("ana", "Mindhunter", 4),
    ("ben", "Dark", 4), ("ben", "Stranger Things", 5), ("ben", "Ozark", 2),
    ("cai", "Ozark", 5), ("cai", "Narcos", 5), ("cai", "Mindhunter", 3),
    ("dee", "The Crown", 5), ("dee", "Bridgerton", 4),
    ("eli", "Stranger Things", 4), ("eli", "Dark", 5),
    ("fay", "Narcos", 4), ("fay", "Ozark", 4), ("fay", "Dark", 2),
]
#: Two titles that tie exactly for 'ana' in every implementation (identical columns, one rated title: every
#: operation on the way is the same, and the sums add exact zeros), so the tie rule can be checked exactly.
TIE_RATINGS = [("ana", "Zulu", 3), ("bob", "Mike", 4), ("bob", "Zulu", 4), ("bob", "Alpha", 4),
               ("bob", "Echo", 2), ("cy", "Echo", 5), ("cy", "Kilo", 4)]
RATING_COLUMNS = ["user", "title", "rating"]
_TOLERANCE = 1e-9


def _ratings_of(table: Any) -> list[tuple[Any, str, float]]:
    """The (user, title, rating) rows of an ``as_frame`` input."""
    body = table["$df"]
    columns = body["columns"]
    at = [columns.index(name) for name in RATING_COLUMNS]
    return [(row[at[0]], row[at[1]], row[at[2]]) for row in body["data"]]


def _scores(table: Any, user: Any) -> tuple[dict[str, float], set[str], list[str]]:
    """recommend's score of every title ``user`` has not rated, computed here from the case's table
    (``math.fsum``, exact integer dot products), with the titles they rated and all titles."""
    columns: dict[str, dict[Any, float]] = {}
    for who, title, rating in _ratings_of(table):
        columns.setdefault(title, {})[who] = float(rating)
    norms = {title: math.sqrt(math.fsum(r * r for r in column.values())) for title, column in columns.items()}

    def cosine(a: str, b: str) -> float:
        dot = math.fsum(r * columns[b][who] for who, r in columns[a].items() if who in columns[b])
        return dot / (norms[a] * norms[b])

    mine = {title: column[user] for title, column in columns.items() if user in column}
    scores = {title: math.fsum(cosine(title, j) * r for j, r in mine.items())
              for title in columns if title not in mine}
    return scores, set(mine), sorted(columns)


def same_ranking(expected: Any, got: Any, case: Case) -> str | None:
    """recommend: the k best unseen titles scoring above 0, best first, judged on scores computed here.

    Scores within 1e-9 of each other may come in either order, and at the k-th place either may be in: an
    honest implementation is never failed by float rounding. (Ratings are positive, so a score is either
    exactly 0, no common viewer, in every implementation, or clearly positive. The tie rule, equal scores
    by title, is checked on a table whose tie is exact in every implementation: TIE_RATINGS.)
    """
    if isinstance(expected, dict) and list(expected) == ["$raises"]:
        return exact()(expected, got, case)
    problem = _problem(got)
    if problem:
        return f"{case.label}: {problem}"
    table, user = case.args[0], case.args[1]
    k = case.args[2] if len(case.args) > 2 else case.kwargs.get("k", 5)
    scores, seen, _ = _scores(table, user)
    tol = _TOLERANCE * max([1.0, *(abs(s) for s in scores.values())])
    qualify = sorted((t for t, s in scores.items() if s > tol), key=lambda t: (-scores[t], t))
    best = qualify[:k]
    if type(got) is not list or not all(type(t) is str for t in got):
        return f"{case.label}: expected a list of titles (strings) such as {best}, got {show(got)}"
    for index, title in enumerate(got):
        if title in got[:index]:
            return f"{case.label}: {title!r} comes twice in {got}"
        if title in seen:
            return f"{case.label}: {title!r} is a title {user!r} has already rated: recommend only unseen titles"
        if title not in scores:
            return f"{case.label}: {title!r} is not a title of the table"
        if scores[title] <= tol:
            return (f"{case.label}: {title!r} scores {scores[title]:g}: only titles scoring above 0 qualify "
                    f"(expected {best})")
    if len(got) > k:
        return f"{case.label}: expected at most k={k} titles, got {len(got)}: {got}"
    for a, b in zip(got, got[1:]):
        if scores[a] < scores[b] - tol:
            return (f"{case.label}: {a!r} (score {scores[a]:.6f}) comes before {b!r} (score {scores[b]:.6f}): "
                    f"best first (expected {best})")
    if len(got) < k:
        missing = [t for t in qualify if t not in got]
    else:
        missing = [t for t in qualify if t not in got and scores[t] > scores[got[-1]] + tol]
    if missing:
        title = missing[0]
        return f"{case.label}: expected {best}, got {got}: {title!r} (score {scores[title]:.6f}) is missing"
    return None


def _frame_values(frame: Any) -> tuple[list, list, dict] | str:
    """``(index, columns, {(row, column): value})`` of a ``$df`` result, or what is wrong with it."""
    if not (isinstance(frame, dict) and list(frame) == ["$df"] and isinstance(frame["$df"], dict)):
        return f"expected a DataFrame (title × title), got {show(frame)}"
    body = frame["$df"]
    index, columns, data = body.get("index"), body.get("columns"), body.get("data")
    if not (isinstance(index, list) and isinstance(columns, list) and isinstance(data, list)
            and len(data) == len(index) and all(isinstance(row, list) and len(row) == len(columns) for row in data)):
        return "expected a DataFrame (title × title), got a malformed table"
    values = {}
    for row_title, row in zip(index, data):
        for column_title, value in zip(columns, row):
            values[(show(row_title), show(column_title))] = value
    return [show(t) for t in index], [show(t) for t in columns], values


def same_similarity(expected: Any, got: Any, case: Case) -> str | None:
    """item_similarity: the reference's title × title table, rows and columns in any order, each value
    within 1e-9."""
    if isinstance(expected, dict) and list(expected) == ["$raises"]:
        return exact()(expected, got, case)
    problem = _problem(got)
    if problem:
        return f"{case.label}: {problem}"
    want, have = _frame_values(expected), _frame_values(got)
    if isinstance(want, str):
        return f"{case.label}: the reference gave no table (a course bug: tell the instructor)"
    if isinstance(have, str):
        return f"{case.label}: {have}"
    titles = sorted(want[0])
    for what, labels in (("rows", have[0]), ("columns", have[1])):
        if len(set(labels)) != len(labels) or sorted(labels) != titles:
            return (f"{case.label}: expected one row and one column per title ({len(titles)} titles: "
                    f"{', '.join(titles[:8])}{', …' if len(titles) > 8 else ''}); the {what} are "
                    f"{', '.join(labels[:8])}{', …' if len(labels) > 8 else ''}")
    worst, worst_pair = -1.0, None
    for pair, value in want[2].items():
        other = have[2][pair]
        if type(other) not in (int, float) or not math.isfinite(other):
            return f"{case.label}: the similarity of {pair[0]} and {pair[1]} is {show(other)}, not a number"
        gap = abs(other - value)
        if gap > _TOLERANCE * max(1.0, abs(value)) and gap > worst:
            worst, worst_pair = gap, pair
    if worst_pair:
        a, b = worst_pair
        return (f"{case.label}: the similarity of {a} and {b} should be {want[2][worst_pair]:.6f}, "
                f"got {have[2][worst_pair]:.6f}")
    return None


def _random_ratings(rng: random.Random, numbered: bool) -> tuple[list, list[tuple]]:
    """Users (numbers or names) and a sparse table of ratings in which every user and every title has one."""
    count = rng.randint(12, 30)
    users = list(range(100, 100 + count)) if numbered else [f"u{i:02d}" for i in range(count)]
    titles = [f"title {j:02d}" for j in range(rng.randint(6, 14))]
    rated = {(u, t): rng.randint(1, 5) for u in users for t in titles if rng.random() < 0.3}
    for u in users:
        rated.setdefault((u, rng.choice(titles)), rng.randint(1, 5))
    for t in titles:
        rated.setdefault((rng.choice(users), t), rng.randint(1, 5))
    rows = [(u, t, r) for (u, t), r in rated.items()]
    rng.shuffle(rows)
    return users, rows


def _similarity_case(label: str, rows: list, *, hidden: bool = True) -> Case:
    return Case("call", "item_similarity", args=(as_frame(rows, RATING_COLUMNS),), label=label,
                group="item_similarity", compare=same_similarity, hidden=hidden)


def _recommend_case(label: str, rows: list, user: Any, *k: int, hidden: bool = True, compare=same_ranking) -> Case:
    return Case("call", "recommend", args=(as_frame(rows, RATING_COLUMNS), user, *k), label=label,
                group="recommend", compare=compare, hidden=hidden)


def recommender_cases(rng: random.Random) -> list[Case]:
    """At grading: the visible examples, an exact tie, and random rating tables (numbered and named users)."""
    rows = EXAMPLE_RATINGS
    cases = [
        _similarity_case("item_similarity(ratings) of the example", rows, hidden=False),
        _recommend_case("recommend(ratings, 'eli', k=2)", rows, "eli", 2, hidden=False),
        _recommend_case("recommend(ratings, 'eli')", rows, "eli", hidden=False),
        _recommend_case("recommend(ratings, 'dee') (no one else watches her titles)", rows, "dee", hidden=False),
        _recommend_case("recommend(ratings, 'zoe') (a user with no ratings)", rows, "zoe", hidden=False),
        _recommend_case(f"equal scores come by title: recommend({TIE_RATINGS}, 'ana')", TIE_RATINGS, "ana",
                        compare=exact("on equal scores the title that sorts first comes first")),
    ]
    for table in range(4):
        users, rows = _random_ratings(rng, numbered=table % 2 == 1)
        shape = f"random table {table + 1}: {len(users)} users, {len(rows)} ratings"
        cases.append(_similarity_case(f"item_similarity({shape})", rows))
        for user in rng.sample(users, 6):
            k = rng.choice([None, 1, 2, 3, 4, 5, 6, 8])
            cases.append(_recommend_case(f"recommend({shape}, user {user!r}" + ("" if k is None else f", k={k}") + ")",
                                         rows, user, *(() if k is None else (k,))))
        cases.append(_recommend_case(f"recommend({shape}, 'nobody') (a user with no ratings)", rows, "nobody"))
    return cases



CURVEBALL = Curveball(
    prompt="We are streaming a live final. Plan for 30 % of daily users watching at the same moment, "
           "instead of the usual peak.",
    changes={"peak_concurrency": "0.3 stream/user"},
    shown=("replicated_catalog_storage", "average_concurrent_viewers", "peak_concurrent_viewers", "peak_egress",
           "cdn_servers_needed"),
    figure="cdn_servers_needed",
    label="egress after the curveball",
    options={
        "A": "The origin storage: a live event needs more copies of the catalog.",
        "B": "The edge: the peak streams, their egress and the CDN servers needed all grow with the "
             "audience, and live video cannot be pre-positioned the night before.",
        "C": "The recommendation service: more viewers ask for more recommendations.",
        "D": "The title metadata database: everyone opens the same title page.",
    },
    correct="B",
    why="peak concurrency multiplies the simultaneous streams, and with them edge egress and servers",
    plan="""
    - Scale the edge for the event: the peak egress and the CDN servers grow with the concurrent audience;
      add capacity ahead of time, with several CDNs (multi-CDN) for headroom.
    - Live segments are produced seconds before they are watched: edges fetch each segment once from a
      mid-tier or origin shield and fan it out (request coalescing), instead of pre-positioning overnight.
    - Protect the origin: packagers in several regions, short segment durations for low latency, and
      a cap or lower default on the bitrate ladder if the edge runs short (graceful degradation).
    - Storage and the catalogue do not change for one live event.
    """,
    judge=ceiling(_exact_servers, "server"),
)

DEEP_DIVE = [
    ("streaming_at_scale", "How do you stream to 10 million concurrent viewers around the world?",
     """
     - The bytes never touch the cloud services: they only issue the manifest and signed URLs; video is
       sent by edge servers (a CDN), as close to the viewer as possible.
     - Netflix runs its own CDN, Open Connect: appliances placed inside ISPs and at exchange points
       serve the vast majority of traffic without crossing the internet backbone.
     - Demand is predictable, so popular titles are pre-positioned (filled) at night, off-peak; the
       origin object store never serves viewers: a title one appliance lacks comes from another Open
       Connect appliance (steered by the playback service), and the appliances fill from the origin.
     - Size it by egress, not storage: 13–27 Tbps at peak is ~34–67 servers at 400 Gbps flat out, so
       several times that for geography, headroom and failures.
     - Steering: the playback service picks healthy nearby servers per client and lists more than one
       in the manifest, so a player fails over by itself.
     """),
    ("recommendations", "How would you build the recommendation system?",
     """
     - Collaborative filtering over viewing history (what similar viewers watched, item-item
       similarity or matrix factorisation), trained offline in batch (Spark) on the event stream.
     - Implicit signals (plays, completion, time watched, abandons) outweigh explicit star ratings.
     - Precompute each user's rows and cache them (key-value store); the home page reads them, and a
       light online step re-ranks for context (device, time of day) and removes what was just watched.
     - Cold start: popular and trending titles, and content-based similarity (genre, cast) for new
       users and new titles.
     - Measure with A/B tests on engagement (viewing hours, retention), not offline accuracy alone.
     """),
    ("buffering", "How do you keep picture quality high and buffering low?",
     """
     - Adaptive bitrate streaming (HLS/DASH): each title is cut into segments of a few seconds in every
       rendition; the player picks each segment's rendition from measured throughput and buffer level.
     - Start low for a fast start, then step up; leave a safety margin and step down before the buffer
       empties (buffer-based algorithms look at the buffer, not only the throughput).
     - Encode well: per-title (or per-shot) encoding ladders and modern codecs (HEVC, AV1) give the same
       quality in fewer bits.
     - Serve from an edge server near the viewer, with alternatives in the manifest for failover.
     - Prefetch: the start of the next episode, and popular titles on the device overnight (downloads).
     """),
]


def cells() -> list[Cell]:
    """The whole notebook, in the shared section order."""
    return [
        *header(
            ID,
            "Session 3 · Design Netflix",
            "advanced",
            "Design a video streaming service like Netflix that can serve content to millions of users globally.",
        ),
        *requirements(FIELDS, SAMPLE),
        *estimation_intro(),
        *estimates("storage", "Storage",
                   "How much does the catalog take when every title is stored in every rendition, for one copy "
                   "and with every replica at the origin? (Set a value's unit with `.to(...)`, e.g. "
                   "`.to(\"GB/title\")`.)", STORAGE, HIDDEN, points=3, sample=SAMPLE),
        *estimates("viewers", "Concurrent viewers",
                   "How many streams are open at once, on average and at the busiest moment? On average, "
                   "streams open = streams started per unit of time × how long each lasts (Little's law): "
                   "a user who starts 1.5 streams a day of 60 minutes each keeps 90 min ÷ 1,440 min "
                   "= 0.0625 of a stream open at any moment.", VIEWERS, HIDDEN, points=2, sample=SAMPLE),
        *estimates("egress", "Egress",
                       "Video leaving the edge dominates everything else. How many bytes per second leave on "
                       "average and at the peak, how much is that per day, and how many edge servers does the "
                       "peak need? Networks and CDN servers are quoted in **bits**: say the peak the way a "
                       "network engineer would with `fmt(peak_egress(assumptions).to('Tbit/s'))`, and let the "
                       "units divide bytes by bits for you (1 byte = 8 bits).", EGRESS, HIDDEN, points=3,
                   sample=SAMPLE, judges={"cdn_servers_needed": ceiling(_exact_servers, "server")}),
        *what_if(
            "Which assumption moves the number of edge servers most, and which ones leave the catalog "
            "storage where it is?",
            ("catalog_storage", "average_concurrent_viewers", "peak_egress", "daily_egress", "cdn_servers_needed"),
            {"daily_active_users": (1e6, 1e9), "peak_concurrency": (0.01, 0.5), "stream_rate": (1, 120)},
        ),
        *multiple_choice(
            "spot_the_error",
            SPOT_THE_ERROR,
            {
                "A": "Nothing: 9 billion minutes a day ÷ 1,440 is 6.25 M viewers, and 6.25 M × 100 KB/s is 625 GB/s.",
                "B": "Only the unit: networks are quoted in bits, so it should read 625 Gbps.",
                "C": "Three things. The formula gives 6.25·10⁷ MB per *minute*, never converted (that is 1.04 TB/s, "
                     "8.3 Tbps); 10 MB/min is 167 KB/s, not 100 KB/s; and 6.25 M is the *average* number of "
                     "viewers, not the peak (10 M at the peak: 1.67 TB/s, 13.3 Tbps).",
                "D": "It divides by 24 × 60 instead of 86,400: a day has 86,400 seconds, not 1,440.",
            },
            "C",
            "the formula's result is 62.5 M MB per minute = 1.04 TB/s (8.3 Tbps) on average; 10 MB/min is "
            "167 KB/s; the peak is 10 M streams × 10 MB/min = 1.67 TB/s (13.3 Tbps). And 10 MB/min is the "
            "720p rate, not 1080p: at 20 MB/min the peak is 3.33 TB/s (26.7 Tbps)",
        ),
        *reference_card("video_bitrates",
                        "Bitrates in the units estimates need: 1 Mbps = 7.5 MB/min = 0.45 GB/hour. The last "
                        "columns say how many streams one 400 Gbps edge server carries."),
        *with_checks(
            high_level_design(
                title="Netflix: high-level design",
                looks_for=[
                    "clients, a CDN (`cdn`) the players stream from, filled from an object store "
                    "(`object_store`) at the origin;",
                    "a load balancer and services for the control plane (browse, play, resume), with a "
                    "metadata database (`db`) reached from the clients;",
                    "*(hidden)* no single point of failure between clients and the database;",
                    "*(hidden)* a transcoding pipeline: a queue (`queue`) of jobs whose workers write the "
                    "renditions to the object store.",
                ],
                solution=ARCHITECTURE,
                visible={"require_kinds": ["client", "cdn", "lb", "service", "db", "object_store"]},
                hidden={"require_kinds": ["client", "cdn", "lb", "service", "db", "object_store", "queue"],
                        "no_spof": True},
                sketch="TV App [client] -> Open Connect [cdn x100]",
            ),
            visible=ARCHITECTURE_VISIBLE,
            cases=[text_cases("architecture", [(edge_paths, {}), (transcoding_pipeline, {})])],
        ),
        *curveball(CURVEBALL, sample=SAMPLE, scenarios=HIDDEN),
        *detailed_design_intro(),
        *with_checks(
            schema_design(
                heading="Videos, renditions and watch history",
                intro=f"""
                Write the schema (MySQL syntax is fine). Required: `videos` (`video_id`, `title`,
                `duration_s`); `renditions`, one row per encoded version of a video (`video_id`, `height`,
                `bitrate_kbps`, `manifest_url`); and `watch_history` with the resume position
                (`user_id`, `video_id`, `position_s`, `updated_at`).

                The player asks where to resume; the home page's *continue watching* row lists a user's
                titles, most recent first, a page at a time; the playback service lists a video's
                renditions. Each must be served by an index, and the continue-watching row without sorting:

                ```sql
                {RESUME_QUERY}
                {CONTINUE_QUERY}
                {RENDITIONS_QUERY}
                ```
                *(Hidden)*: the continue-watching and renditions queries.
                """,
                solution=SCHEMA,
                visible={
                    "table": "watch_history",
                    "required_columns": {"user_id": "integer", "video_id": "integer", "position_s": "integer",
                                         "updated_at": "timestamp"},
                    "indexed_query": RESUME_QUERY, "query_name": "the resume query",
                },
                hidden=[
                    {"table": "watch_history", "indexed_query": CONTINUE_QUERY, "no_sort": True,
                     "query_name": "the continue-watching query"},
                    {"table": "renditions", "indexed_query": RENDITIONS_QUERY, "query_name": "the renditions query"},
                ],
            ),
            visible=SCHEMA_VISIBLE,
            cases=[text_cases("schema_sql", [(assert_schema, kwargs)]) for kwargs in SCHEMA_VISIBLE_CHECKS],
        ),
        *api_design(
            intro="""
            Required: the playback manifest (`GET /v1/videos/{video_id}/manifest`: the renditions and
            signed segment URLs), saving the resume position (`PUT /v1/users/{user_id}/progress/{video_id}`,
            body: `position_s`), and the continue-watching row (`GET /v1/users/{user_id}/progress`) with
            **cursor** pagination (a `limit` and a `cursor`; offsets skip and repeat titles while the
            user keeps watching). *(Hidden)*: reading the resume position, and recommendations
            (`GET /v1/users/{user_id}/recommendations`), cursor-paginated too.
            """,
            solution=API,
            visible={"required": [("GET", "/videos/{}/manifest", "playback manifest"),
                                  ("PUT|POST", "/users/{}/progress/{}", "save the resume position"),
                                  ("GET", "/users/{}/progress", "continue watching")],
                     "cursor_paginated": [("GET", "/users/{}/progress")]},
            hidden={"required": [("GET", "/users/{}/progress/{}", "read the resume position"),
                                 ("GET", "/users/{}/recommendations", "recommendations")],
                    "cursor_paginated": [("GET", "/users/{}/recommendations")]},
            example="GET /v1/videos/{video_id}/manifest  query: device",
        ),
        *algorithm(
            "abr",
            heading="Key algorithm 1: adaptive bitrate",
            intro="""
            The player downloads a title a few seconds (one segment) at a time, and before each segment
            it picks a rendition from the bitrate ladder: the best one the network can sustain, with a
            safety margin for throughput that drops. Implement `choose_rendition`. (The interviewer's
            ladder in kbps: 5 MB/min × 8 bits ÷ 60 s = 667 kbps, then 1,333, 2,667 and 6,667.)
            """,
            solution=ABR, visible=ABR_VISIBLE, cases=[abr_cases], points=2,
        ),
        *algorithm(
            "signed_urls",
            heading="Key algorithm 2: signed, expiring CDN URLs",
            intro="""
            Edge servers hold the video but not the user database, so the playback service hands out
            URLs the edge can check alone: the path and an expiry time, signed with a key the two share.
            Change any character and the signature no longer matches. Implement `sign_url` and
            `verify_url` with `hmac` and `hashlib` (HMAC-SHA256, the signature as lower-case hex).
            """,
            solution=SIGNING, visible=SIGNING_VISIBLE, cases=[signing_cases],
        ),
        *algorithm(
            "recommender",
            heading="Key algorithm 3: a small recommender",
            intro="""
            Item-item collaborative filtering: two titles are similar when the same viewers rated both
            (on 1–5 ratings, plain cosine rewards watching in common more than agreeing: columns [5, 5] and
            [1, 1] score 1.0; adjusted cosine subtracts each user's mean first). Pivot the ratings to a
            user × title matrix with pandas, compute the cosine similarity of every pair of title
            columns, then score each title a user has not seen by its similarity
            to the titles they rated, weighted by their ratings. Implement `item_similarity` and
            `recommend`. (In production this runs offline in batch; the rows are cached per user.)
            """,
            solution=RECOMMENDER, visible=RECOMMENDER_VISIBLE, cases=[recommender_cases], points=4,
        ),
        *deep_dive(DEEP_DIVE),
        *wrap_up(),
    ]
