"""Session 3 · Design Netflix (advanced): video on demand for 100 M daily viewers, served from the edge."""

from __future__ import annotations

import hashlib
import hmac

from ..cells import Cell
from ..sections import (
    Estimate, algorithm, api_design, deep_dive, detailed_design_intro, estimates, estimation_intro, header,
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

ARCHITECTURE_HIDDEN = '''
from course.architecture import path_exists as _path_exists
from course.checks import fail as _fail
if not _path_exists(architecture, "queue", "object_store"):
    _fail("architecture: no transcoding pipeline: a queue of jobs whose workers write renditions to object storage")
'''

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
    PRIMARY KEY (video_id, height, codec)
);

CREATE TABLE watch_history (
    user_id       BIGINT    NOT NULL,
    video_id      BIGINT    NOT NULL,
    position_s    INT       NOT NULL DEFAULT 0,   -- resume offset: one row per (user, video), overwritten
    updated_at    TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
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
ladder = {"480p": 667, "720p": 1333, "1080p": 2667, "4K": 6667}  # kbps: 5, 10, 20 and 50 MB/min
expect_equal("choose_rendition(ladder, 2000)", choose_rendition(ladder, 2000), "720p")
expect_equal("choose_rendition(ladder, 3000)", choose_rendition(ladder, 3000), "720p")
expect_equal("choose_rendition(ladder, 3000, margin=0)", choose_rendition(ladder, 3000, margin=0), "1080p")
expect_equal("choose_rendition(ladder, 9000)", choose_rendition(ladder, 9000), "4K")
expect_equal("choose_rendition(ladder, 500)", choose_rendition(ladder, 500), "480p")
expect_raises(choose_rendition, {}, 1000)
expect_raises(choose_rendition, ladder, -1)
public_checks_passed("adaptive bitrate")
'''

ABR_HIDDEN = '''
import random as _random
from course.checks import expect_equal as _expect_equal, expect_raises as _expect_raises
_rng = _random.Random(20260303)
for _trial in range(400):
    _rates = _rng.sample(range(80, 25_000), _rng.randint(1, 8))
    _ladder = {f"r{_i}": float(_r) for _i, _r in enumerate(_rates)}
    _tput = _rng.choice([0.0, _rng.uniform(0, 40_000)])
    _margin = _rng.choice([0.0, 0.1, 0.2, 0.25, 0.3, 0.5])
    _fit = [_n for _n, _r in _ladder.items() if _r <= _tput * (1 - _margin)]
    _want = max(_fit, key=_ladder.get) if _fit else min(_ladder, key=_ladder.get)
    _got = choose_rendition(dict(_ladder), _tput, _margin)
    if type(_got) is not str or _got != _want:
        _expect_equal(f"choose_rendition({_ladder}, {_tput}, {_margin})", _got, _want)
_expect_equal("a bitrate exactly at the budget fits", choose_rendition({"a": 600.0, "b": 800.0, "c": 1000.0}, 1000, 0.2), "b")
_expect_equal("no margin", choose_rendition({"a": 600.0, "b": 800.0, "c": 1000.0}, 1000, 0.0), "c")
_expect_equal("zero throughput", choose_rendition({"hi": 5000.0, "lo": 300.0}, 0), "lo")
_expect_raises(choose_rendition, {"a": 600.0}, 1000, 1.0)
_expect_raises(choose_rendition, {"a": 600.0}, 1000, -0.1)
_expect_raises(choose_rendition, {}, 0)
'''

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

SIGNING_HIDDEN = '''
import hashlib as _hashlib
import hmac as _hmac
import random as _random
from course.checks import expect_equal as _expect_equal, expect_raises as _expect_raises
_rng = _random.Random(20260304)
_alphabet = "abcdefghijklmnopqrstuvwxyz0123456789_-."
for _trial in range(150):
    _path = "/" + "/".join("".join(_rng.choices(_alphabet, k=_rng.randint(1, 12))) for _ in range(_rng.randint(1, 5)))
    _key = bytes(_rng.randrange(256) for _ in range(_rng.randint(8, 32)))
    _exp = _rng.randint(1_600_000_000, 1_900_000_000)
    _unsigned = f"{_path}?expires={_exp}"
    _sig = _hmac.new(_key, _unsigned.encode(), _hashlib.sha256).hexdigest()
    _want = f"{_unsigned}&sig={_sig}"
    _url = sign_url(_path, _exp, _key)
    if type(_url) is not str or _url != _want:
        _expect_equal(f"sign_url({_path!r}, {_exp}, key)", _url, _want)
    _flip = "0" if _sig[-1] != "0" else "1"
    _other = _path + "x"
    _cases = [
        (_url, _key, _exp - _rng.randint(1, 10**6), True, "valid"),
        (_url, _key, _exp, True, "at the expiry second"),
        (_url, _key, _exp + _rng.randint(1, 10**6), False, "expired"),
        (_url.replace(_unsigned, f"{_other}?expires={_exp}"), _key, _exp - 1, False, "tampered path"),
        (_url.replace(f"expires={_exp}", f"expires={_exp + 3600}"), _key, _exp - 1, False, "tampered expiry"),
        (_url, _key + b"!", _exp - 1, False, "another key"),
        (_url[:-1] + _flip, _key, _exp - 1, False, "tampered signature"),
        (_unsigned, _key, _exp - 1, False, "no signature"),
        (f"{_other}?expires={_exp}&sig={_sig}", _key, _exp - 1, False, "signature of another path"),
    ]
    for _candidate, _k, _now, _ok, _what in _cases:
        _got = verify_url(_candidate, _k, now=_now)
        if _got is not _ok:
            _expect_equal(f"verify_url, {_what}: {_candidate!r} at now={_now}", _got, _ok)
for _bad in ["", "/v", "/v?expires=abc&sig=00", "/v?sig=00&expires=1", "v?expires=1&sig=00", "/v?expires=&sig="]:
    _expect_equal(f"verify_url({_bad!r}) (malformed)", verify_url(_bad, b"k", now=0), False)
_expect_raises(sign_url, "/videos/1?quality=hd", 1_700_000_000, b"k")
_expect_raises(sign_url, "videos/1", 1_700_000_000, b"k")
'''

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

RECOMMENDER_HIDDEN = '''
import random as _random
import numpy as _np
import pandas as _pd
from course.checks import expect_equal as _expect_equal, expect_raises as _expect_raises, fail as _fail
_rng = _random.Random(20260305)


def _check_ranking(label, got, scores, seen, k):
    """got must be the k best unseen titles with a positive score, best first, ties by title."""
    qualify = {t: s for t, s in scores.items() if t not in seen and s > 0}
    if type(got) is not list or not all(type(t) is str for t in got):
        _fail(f"{label}: expected a list of titles, got {got!r}")
    if len(got) != min(k, len(qualify)) or len(set(got)) != len(got) or not set(got) <= set(qualify):
        best = sorted(qualify, key=lambda t: (-qualify[t], t))[:k]
        _fail(f"{label}: expected {best}, got {got}")
    for a, b in zip(got, got[1:]):
        if (abs(qualify[a] - qualify[b]) <= 1e-9 and a > b) or qualify[a] < qualify[b] - 1e-9:
            _fail(f"{label}: {a!r} (score {qualify[a]:.6f}) comes before {b!r} (score {qualify[b]:.6f})")
    if got and any(t not in got and s > qualify[got[-1]] + 1e-9 for t, s in qualify.items()):
        _fail(f"{label}: a title scoring above {got[-1]!r} is missing: {sorted(qualify, key=lambda t: -qualify[t])[:k]}")


for _table in range(4):
    _users = list(range(100, 100 + _rng.randint(12, 40))) if _table % 2 else [f"u{_i:02d}" for _i in range(_rng.randint(12, 40))]
    _titles = [f"title {_j:02d}" for _j in range(_rng.randint(6, 18))]
    _rated = {(_u, _t): _rng.randint(1, 5) for _u in _users for _t in _titles if _rng.random() < 0.3}
    for _u in _users:
        _rated.setdefault((_u, _rng.choice(_titles)), _rng.randint(1, 5))
    for _t in _titles:
        _rated.setdefault((_rng.choice(_users), _t), _rng.randint(1, 5))
    _rows = [(_u, _t, _r) for (_u, _t), _r in _rated.items()]
    _rng.shuffle(_rows)
    _frame = _pd.DataFrame(_rows, columns=["user", "title", "rating"])
    _M = _np.zeros((len(_users), len(_titles)))
    for (_u, _t), _r in _rated.items():
        _M[_users.index(_u), _titles.index(_t)] = _r
    _norms = _np.sqrt((_M ** 2).sum(axis=0))
    _S = (_M.T @ _M) / _np.outer(_norms, _norms)
    _got = item_similarity(_frame.copy())
    if type(_got) is not _pd.DataFrame or set(_got.index) != set(_titles) or set(_got.columns) != set(_titles):
        _fail(f"item_similarity (table {_table}): expected a DataFrame indexed and columned by the {len(_titles)} titles")
    _values = _got.loc[_titles, _titles].to_numpy(dtype=float)
    if not _np.allclose(_values, _S, atol=1e-9):
        _i, _j = _np.unravel_index(_np.abs(_values - _S).argmax(), _S.shape)
        _fail(f"item_similarity (table {_table}): similarity of {_titles[_i]!r} and {_titles[_j]!r} "
              f"should be {_S[_i, _j]:.6f}, got {_values[_i, _j]:.6f}")
    for _u in _rng.sample(_users, 8):
        _k = _rng.randint(1, 6)
        _scores = dict(zip(_titles, _S @ _M[_users.index(_u)]))
        _seen = {_t for (_v, _t) in _rated if _v == _u}
        _check_ranking(f"recommend(table {_table}, user {_u!r}, k={_k})", recommend(_frame.copy(), _u, _k), _scores, _seen, _k)
    _expect_raises(lambda _user: recommend(_frame, _user), "nobody")
'''

DEEP_DIVE = [
    ("streaming_at_scale", "How do you stream to 10 million concurrent viewers around the world?",
     """
     - The bytes never touch the cloud services: they only issue the manifest and signed URLs; video is
       sent by edge servers (a CDN), as close to the viewer as possible.
     - Netflix runs its own CDN, Open Connect: appliances placed inside ISPs and at exchange points
       serve the vast majority of traffic without crossing the internet backbone.
     - Demand is predictable, so popular titles are pre-positioned (filled) at night, off-peak; the
       origin object store serves the long tail and fills misses.
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
                   "`.to(\"GB/title\")`.)", STORAGE, HIDDEN, points=3),
        *estimates("viewers", "Concurrent viewers",
                   "How many streams are open at once, on average and at the busiest moment? On average, "
                   "streams open = streams started per unit of time × how long each lasts (Little's law): "
                   "a user who starts 1.5 streams a day of 60 minutes each keeps 90 min ÷ 1,440 min "
                   "= 0.0625 of a stream open at any moment.", VIEWERS, HIDDEN, points=2),
        *estimates("egress", "Egress",
                   "Video leaving the edge dominates everything else. How many bytes per second leave on "
                   "average and at the peak, how much is that per day, and how many edge servers does the "
                   "peak need? Networks and CDN servers are quoted in **bits**: say the peak the way a "
                   "network engineer would with `fmt(peak_egress(assumptions).to('Tbit/s'))`, and let the "
                   "units divide bytes by bits for you (1 byte = 8 bits).", EGRESS, HIDDEN, points=3),
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
            visible=ARCHITECTURE_VISIBLE, hidden=ARCHITECTURE_HIDDEN,
        ),
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
            solution=ABR, visible=ABR_VISIBLE, hidden=ABR_HIDDEN, points=2,
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
            solution=SIGNING, visible=SIGNING_VISIBLE, hidden=SIGNING_HIDDEN,
        ),
        *algorithm(
            "recommender",
            heading="Key algorithm 3: a small recommender",
            intro="""
            Item-item collaborative filtering: two titles are similar when the same viewers rate them
            alike. Pivot the ratings to a user × title matrix with pandas, compute the cosine similarity
            of every pair of title columns, then score each title a user has not seen by its similarity
            to the titles they rated, weighted by their ratings. Implement `item_similarity` and
            `recommend`. (In production this runs offline in batch; the rows are cached per user.)
            """,
            solution=RECOMMENDER, visible=RECOMMENDER_VISIBLE, hidden=RECOMMENDER_HIDDEN, points=4,
        ),
        *deep_dive(DEEP_DIVE),
        *wrap_up(),
    ]
