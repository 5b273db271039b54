"""The requirements phase: the student asks clarifying questions and the interviewer answers the ones it has.

How a question is understood (:func:`ask`)
-------------------------------------------
Every topic (a :class:`Clarification`) brings a bank of ways candidates ask about it: its
``example_question``, its ``paraphrases`` (10–30 in the session's TOML, terse, long, polite, with typos
and abbreviations) and its ``keywords``. Each bank text and the question go through the same steps:

1. *Normalise*: lower case; interview shorthand is spelled out (``DAU`` → daily active users, ``QPS``/``RPS``
   → requests per second, ``TTL`` → expiry time, ``p99`` → latency percentile, ``R:W`` → read write ratio,
   ``CDN``, ``MB``/``GB`` → bytes, ``100M`` → a number, ``msgs``, ``ppl``, ``u`` …, see
   :data:`ABBREVIATIONS`); everyday synonyms are folded into one word ("quickly", "snappy" → fast; "past",
   "previous" → old, see :data:`SYNONYMS`); British spellings become American (personalised → personalized).
2. *Correct typos*: a word that appears in no bank text is replaced by the bank word with the same first
   letter at the smallest optimal-string-alignment distance (rapidfuzz): at most 1 edit for words of 5–7
   letters, 2 from 8, and for 4 letters only two swapped letters ("usres" → "users", "mnay" → "many",
   "exepcted" → "expected"; "list" stays "list", not "lost").
3. *Stem*: the Snowball English stemmer (``snowballstemmer``) folds word forms ("expires", "expiry",
   "expiration" → "expir").
4. *Weigh*: TF-IDF over the stems, the pairs of neighbouring stems and the character 3-grams of every
   stem (which catch forms the stemmer and the typo step miss: "realtime" and "real time"). Document
   frequencies count banks, not texts: a word that every paraphrase of one topic uses ("ratio") is that
   topic's signature, not a common word.

A bank's score (0–1) is 0.6 × the highest cosine similarity between the question and one of its texts
plus 0.4 × its *coverage*, the idf-weighted share of the question's words that the bank uses anywhere
(so "is real-time analytics needed" goes to the bank that knows both "real-time" and "analytics").

Three more banks compete with the topics: *your call* (:data:`YOUR_CALL_EXAMPLES` plus each topic's
``your_call`` examples: the candidate's own design decisions, "SQL or NoSQL?", "301 or 302?"), *nothing
on that* (:data:`OFF_TOPIC_EXAMPLES`: the budget, the team, the interview itself) and *one at a time*
(:data:`BROAD_EXAMPLES`: "what are the functional requirements?"). A question that names a product
("Cassandra?"), sets two alternatives against each other ("SQL or NoSQL?", "302 better than 301?") or
asks which database, queue, cache … to use is *your call* whatever the scores (:func:`looks_like_a_decision`).

The reply (a :class:`Reply`) follows from the best score and its lead over the next bank:

- below :data:`FLOOR`, or the off-topic bank first: ``off_topic`` ("I have nothing on that"), never a
  list of the remaining topics; also a feature question ("do we need kids profiles?") whose words the
  best bank mostly does not know (coverage under :data:`FEATURE_COVERAGE`);
- the your-call or one-at-a-time bank first with a lead: ``your_call`` ("what would you pick, and why?")
  or ``broad``;
- a topic at least :data:`CONFIDENT` and :data:`MARGIN` ahead of the next bank: ``answer``;
- otherwise ``unclear`` ("could you be more specific?"): a wrong figure is worse than a second question.

A question that asks two things ("how many users, and how many messages each?") is also tried in parts,
split at "and", "?" and ";": when the parts are answered with different topics, both answers are given. A
short part that leans on a pronoun ("… and how long should *it* be?") is not read on its own when the
whole question has an answer: "it" is what the rest of the question is about.

The thresholds were set on tests/corpora/tuning_*.tsv; tests/corpora/heldout_*.tsv, written before the
matcher, measure it (``python -m tests.corpora.evaluate`` prints the table).
"""

from __future__ import annotations

import functools
import html
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import ipywidgets as widgets
import snowballstemmer
from IPython.display import HTML
from rapidfuzz import process
from rapidfuzz.distance import OSA
from rapidfuzz.utils import default_process

from . import evidence as _evidence
from .errors import CourseInputError
from .runtime import is_grading

__all__ = ["Clarification", "Reply", "Exchange", "ask", "interviewer", "Interviewer", "looks_like_a_decision",
           "FLOOR", "CONFIDENT", "MARGIN", "FEATURE_COVERAGE", "ABBREVIATIONS", "SYNONYMS", "YOUR_CALL_EXAMPLES",
           "OFF_TOPIC_EXAMPLES", "BROAD_EXAMPLES"]

#: Below this best similarity (0–1) the interviewer has nothing on the question.
FLOOR = 0.25
#: A topic is answered only from this similarity on …
CONFIDENT = 0.30
#: … and only this far ahead of the best other bank (topic, your call or off-topic).
MARGIN = 0.06

YOUR_CALL = "YOUR_CALL"
OFF_TOPIC = "OFF_TOPIC"
BROAD = "BROAD"

# What the interviewer says.
NOTHING_ON_THAT = "I have nothing on that. That is not a constraint for this session: assume what you need and say so."
ALL_COVERED = "That is not a constraint for this session, and you have covered every topic I had in mind."
YOUR_CALL_REPLY = "That one is your call: what would you pick, and why?"
UNCLEAR_REPLY = "I am not sure which requirement you mean. Could you be more specific?"
BROAD_REPLY = ("Let's take them one at a time: propose a requirement and ask me about it "
               "(how many, how much, how fast, how long, which ones).")
EMPTY_REPLY = "Go ahead: type a question about the requirements, then press Ask."


@dataclass(frozen=True)
class Clarification:
    """One thing the interviewer clarifies when asked: a topic, how candidates ask about it, the answer.

    ``paraphrases`` are more ways of asking (they teach the matcher); ``your_call`` are nearby questions
    that are the candidate's own decision ("301 or 302?"), answered with "your call".
    """

    topic: str
    keywords: tuple[str, ...]
    example_question: str
    answer: str
    paraphrases: tuple[str, ...] = ()
    your_call: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        __tracebackhide__ = True
        for name in ("topic", "example_question", "answer"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise CourseInputError(f"Clarification {name} must be non-empty text, got {value!r}")
        for name in ("keywords", "paraphrases", "your_call"):
            value = getattr(self, name)
            texts = isinstance(value, (tuple, list)) and all(isinstance(k, str) and default_process(k) for k in value)
            if not texts:
                raise CourseInputError(f"Clarification {self.topic!r}: {name} must be a tuple of texts, got {value!r}")
            object.__setattr__(self, name, tuple(value))
        if not self.keywords:
            raise CourseInputError(f"Clarification {self.topic!r}: keywords must be a tuple of texts, got ()")

    @classmethod
    def from_dict(cls, data: dict) -> Clarification:
        """One ``[[clarification]]`` table of a session's TOML."""
        __tracebackhide__ = True
        return cls(topic=data["topic"], keywords=data["keywords"], example_question=data["example_question"],
                   answer=data["answer"], paraphrases=data.get("paraphrases", ()), your_call=data.get("your_call", ()))


@dataclass(frozen=True)
class Reply:
    """What the interviewer makes of a question.

    ``kind``: ``answer`` (``clarifications`` holds the topic(s) answered), ``your_call`` (a design decision),
    ``off_topic`` (nothing on that), ``broad`` (everything at once), ``unclear`` or ``empty``. ``text`` is
    what the interviewer says. ``score`` is the best bank's score (0–1), ``margin`` its lead over the next
    bank, ``candidates`` the closest banks, best first. A reply is truthy only when it answers, and
    ``topic``/``answer`` are those of the first topic answered (None otherwise).
    """

    kind: str
    text: str
    clarifications: tuple[Clarification, ...] = ()
    score: float = 0.0
    margin: float = 0.0
    candidates: tuple[str, ...] = ()

    @property
    def clarification(self) -> Clarification | None:
        return self.clarifications[0] if self.clarifications else None

    @property
    def topic(self) -> str | None:
        return self.clarifications[0].topic if self.clarifications else None

    @property
    def topics(self) -> tuple[str, ...]:
        return tuple(c.topic for c in self.clarifications)

    @property
    def answer(self) -> str | None:
        return self.clarifications[0].answer if self.clarifications else None

    def __bool__(self) -> bool:
        return self.kind == "answer"


# ---------------------------------------------------------------------------------------------------
# Normalising what candidates type

#: Interview shorthand, spelled out before matching (whole words, after lower-casing).
ABBREVIATIONS: dict[str, str] = {
    # users and load
    "dau": "daily active users", "daus": "daily active users", "mau": "monthly active users",
    "maus": "monthly active users", "wau": "weekly active users", "ccu": "concurrent users",
    "qps": "requests per second", "rps": "requests per second", "tps": "requests per second",
    "wps": "writes per second", "req": "request", "reqs": "requests", "rw": "read write ratio",
    "r2w": "read write ratio", "ttl": "expiry time", "ttls": "expiry time",
    "sla": "service level target", "slas": "service level target", "slo": "service level target",
    "slos": "service level target", "sli": "service level target", "rf": "replication factor",
    "repl": "replication", "ha": "high availability", "uptime": "availability uptime",
    "ttfb": "latency time to first byte", "ttff": "startup time to first frame",
    "rtt": "round trip latency", "perf": "performance", "tput": "throughput", "thru": "throughput",
    "bw": "bandwidth", "concurrency": "concurrent", "conn": "connection", "conns": "connections",
    "ws": "websocket connection", "websockets": "websocket connection", "e2e": "end to end",
    "e2ee": "end to end encryption",
    # storage and sizes
    "b": "bytes", "kb": "bytes", "mb": "bytes", "gb": "bytes", "tb": "bytes", "pb": "bytes",
    "kib": "bytes", "mib": "bytes", "gib": "bytes", "tib": "bytes", "byte": "bytes",
    "kilobytes": "bytes", "megabytes": "bytes", "gigabytes": "bytes", "terabytes": "bytes",
    "petabytes": "bytes", "bps": "bps", "kbps": "bps", "mbps": "bps", "gbps": "gbps", "tbps": "gbps",
    "gbit": "gbps", "gbits": "gbps", "mbit": "bps", "mbits": "bps", "db": "database", "dbs": "databases",
    "rdbms": "relational database", "kv": "key value", "blob": "blob storage", "objstore": "object storage",
    "cdn": "cdn", "cdns": "cdn", "oca": "open connect appliance", "ocas": "open connect appliance",
    "nic": "network card", "nics": "network card",
    # video
    "vod": "video on demand", "svod": "video on demand", "abr": "adaptive bitrate", "uhd": "4k",
    "fhd": "1080p", "hd": "hd", "res": "resolution", "recs": "recommendations", "rec": "recommendation",
    "reco": "recommendation", "subs": "subscribers", "recos": "recommendations", "tv": "tv", "tvs": "tv",
    # time
    "sec": "second", "secs": "seconds", "s": "seconds", "ms": "milliseconds", "min": "minute",
    "mins": "minutes", "hr": "hour", "hrs": "hours", "h": "hours", "yr": "year", "yrs": "years",
    "mo": "month", "mos": "months", "wk": "week", "wks": "weeks",
    # words
    "msg": "message", "msgs": "messages", "ppl": "people", "u": "you", "ur": "your", "r": "are",
    "hw": "how", "wat": "what", "whats": "what is", "hows": "how is", "whos": "who is", "pls": "please",
    "plz": "please", "thx": "thanks", "avg": "average", "approx": "approximately", "approx.": "approximately",
    "info": "information", "auth": "authentication", "authn": "authentication", "authz": "authorization",
    "geo": "geographic", "i18n": "internationalization", "l10n": "localization", "id": "id", "ids": "ids",
    "url": "url", "urls": "urls", "dedup": "deduplicate", "dedupe": "deduplicate", "dupe": "duplicate",
    "dupes": "duplicates", "alphanum": "alphanumeric", "alphanumerics": "alphanumeric", "nums": "numbers",
    "num": "number", "chars": "characters", "char": "character", "dont": "do not", "doesnt": "does not",
    "isnt": "is not", "cant": "can not", "wont": "will not", "shouldnt": "should not",
    "ok": "okay", "k8s": "kubernetes", "daily": "day", "monthly": "month", "weekly": "week", "yearly": "year",
    "annually": "year", "hourly": "hour", "kind": "type", "kinds": "types", "socket": "connection",
    "sockets": "connections", "websocket": "websocket connection", "lb": "load balancer", "lbs": "load balancers",
    "vs": "versus", "v": "versus", "w": "with", "wo": "without", "btw": "by the way", "pct": "percent",
}

#: Everyday words for the same thing, folded into one (after the shorthand is spelled out).
SYNONYMS: dict[str, str] = {
    **dict.fromkeys("quick quickly quicker rapid rapidly speedy snappy swift fast faster speed".split(), "fast"),
    **dict.fromkeys("hot hotter hottest".split(), "hot"),
    **dict.fromkeys("large larger huge bigger big".split(), "big"),
    **dict.fromkeys("past previous older earlier historical old".split(), "old"),
    **dict.fromkeys("remove removed removing erase erased purge purged".split(), "delete"),
    **dict.fromkeys("worldwide globally international internationally global".split(), "global"),
    **dict.fromkeys("people persons folks customer customers".split(), "users"),
    **dict.fromkeys("xbox playstation ps4 ps5 nintendo".split(), "console"),
    **dict.fromkeys("roku chromecast firestick appletv".split(), "tv"),
    **dict.fromkeys("iphone iphones ipad ipads tablet tablets".split(), "mobile"),
    **dict.fromkeys("photo photos picture pictures pic pics image images".split(), "image"),
    **dict.fromkeys("percent percentage fraction proportion".split(), "fraction"),
    **dict.fromkeys("simultaneous simultaneously concurrently concurrent".split(), "concurrent"),
    **dict.fromkeys("copy copies replica replicas".split(), "replica"),
    **dict.fromkeys("expiry expiration expire expires expired expiring".split(), "expire"),
    **dict.fromkeys("stats statistics".split(), "statistics"),
    **dict.fromkeys("website websites site".split(), "web"),
    **dict.fromkeys("phone phones smartphone smartphones".split(), "mobile"),
    **dict.fromkeys("laptop laptops pc pcs computer computers".split(), "desktop"),
    **dict.fromkeys("maximum max".split(), "max"),
}

_STEMMER = snowballstemmer.stemmer("english")
#: Stems the stemmer would merge with a different word ("ratings" → "rate").
STEM_OVERRIDES = {"rating": "rating", "ratings": "rating", "rated": "rating"}

#: Function words that carry no topic (the question words "how", "what" … are dropped, their partners
#: "many", "long", "fast", "often" kept).
STOP_WORDS = frozenset("""
a an the is are am be been being was were do does did doing have has had having of to in on for at by
from with as it its this that these those there here i me my we us our you your they them their he she
him her what which who whom whose how why will would shall should can could may might must
please just so then than too very also any some about into onto up down out over again ever really
actually roughly approximately around basically generally typically usually like okay right well hi
hello hey thanks thank tell know need needs want wants let lets assume assuming guess think expect
expected expecting question one s t get gets got going go say said sort lot each every 0
support supports supported supporting allow allows allowed handle handles handled require requires
required requirement requirements important care consider needed necessary mean means service services
feature features functionality capability capabilities system systems thing things stuff
""".split())

_PRE_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), r) for p, r in (
    (r"[’‘`´]", "'"),
    (r"\b(\w+)'(s|re|ve|ll|d|t|m)\b", r"\1\2"),                      # what's → whats, don't → dont
    (r"\br\s*[:/]\s*w\b|\bw\s*[:/]\s*r\b|\bread\s*[:/]\s*write\b|\bwrite\s*[:/]\s*read\b", " read write ratio "),
    (r"\bb/w\b", " bandwidth "),
    (r"\bw/o\b", " without "),
    (r"\bw/(?=\s|\w)", " with "),
    (r"\bk/v\b", " key value "),
    (r"\bpub\s*/\s*sub\b", " pubsub "),
    (r"\b80\s*/\s*20\b", " pareto "),
    (r"\b24\s*/\s*7\b", " always available "),
    (r"\b1\s*:\s*1\b", " one to one "),
    (r"\b(?:around|all\s+over|across|over)\s+the\s+(?:world|globe)\b", " global "),
    (r"\b(?:at\s+the\s+same\s+time|at\s+once|in\s+parallel)\b", " concurrent "),
    (r"\b(?:log(?:ged|ging)?|sign(?:ed|ing)?)[\s-]*(?:in|on)\b", " login "),
    (r"\bsign[\s-]*up\b", " register "),
    (r"\bshare\s+of\b", " fraction of "),
    (r"\b(?:t?p|tp)(?:50|75|90|95|99|999|99\.9)\b", " latency percentile "),
    (r"\b(?:2160|1440|1080|720|576|480|360|240)p\b", lambda m: f" {m.group(0)} resolution "),
    (r"\b[48]k\b(?!\s*(?:users?|people|dau|requests?|qps|rps|messages?|links?|urls?|titles?|videos?))",
     " uhd resolution "),
    (r"\b(\d+)\s*(?:x|×)\b", " times "),
    (r"%", " percent "),
    (r"#\s*of\b", " number of "),
    (r"\bh\.?26([45])\b", r" h26\1 "),
    (r"\b\d+(?:[.,]\d+)*\s*(?:k|m|mm|b|bn|mil|t)?\b", " 0 "),        # a figure: 100M, 5k, 1.5, 99.99
))

_BRITISH = (
    (re.compile(r"\b(\w{3,})is(e|ed|es|ing|ation|ations)\b"), r"\1iz\2"),
    (re.compile(r"\b(\w{2,}[^aeiou\W])our(ite|ites|s|ed|ing)?\b"), r"\1or\2"),
    (re.compile(r"\b(\w{3,})logue(s?)\b"), r"\1log\2"),
)

_WORD = re.compile(r"[a-z0-9]+")


def _spell_out(text: str) -> list[str]:
    """Lower case, shorthand spelled out, British spellings made American: the words of a text."""
    text = unicodedata.normalize("NFKC", text).lower()
    for pattern, replacement in _PRE_RULES:
        text = pattern.sub(replacement, text)
    for pattern, replacement in _BRITISH:
        text = pattern.sub(replacement, text)
    words: list[str] = []
    for word in _WORD.findall(text):
        words.extend(SYNONYMS.get(w, w) for w in ABBREVIATIONS.get(word, word).split())
    return words


# ---------------------------------------------------------------------------------------------------
# The banks and the index

#: Questions that are the candidate's own design decision, in any session (each topic may add its own).
YOUR_CALL_EXAMPLES: tuple[str, ...] = (
    "SQL vs NoSQL?", "which database should I use", "should I use a relational database or a key-value store",
    "would you prefer Postgres or MySQL", "MongoDB or DynamoDB?", "is it okay if I pick Cassandra",
    "which message queue should I use", "Kafka or RabbitMQ?", "should I put a queue in between",
    "Redis or Memcached?", "which cache would you use", "what eviction policy should the cache use, LRU?",
    "write-through or write-back cache?", "push or pull?", "strong or eventual consistency?",
    "what consistency model should I choose", "what should the sharding key be",
    "how should I partition the data", "should I shard by user id", "should I use consistent hashing",
    "leader-follower or leaderless replication?", "microservices or a monolith?", "REST or gRPC?",
    "which load balancer should I use", "should I use Kubernetes", "should I denormalize the tables",
    "which index should I create", "is it fine if I use Redis here", "do you want me to use Kafka",
    "what would you recommend, Cassandra or HBase?", "should I use UUIDs or auto-increment ids",
    "which protocol should I use", "should I use S3 for storage", "which blob store",
    "how should I design the schema", "is it okay to use ZooKeeper for coordination",
    "which programming language should I use",
)

#: Questions the interviewer has nothing on, in any session (hard negatives: they share words with topics).
OFF_TOPIC_EXAMPLES: tuple[str, ...] = (
    "what is the budget", "how much money can we spend on infrastructure", "what does it cost to run",
    "how big is the engineering team", "how many developers will work on it", "what is the deadline",
    "when do we launch", "who is the competition", "what is the business model", "how do we make money",
    "do we show ads", "what is your name", "how are you today", "tell me a joke", "what is the weather",
    "what is your favorite food", "how much time is left in the interview", "when does the interview end",
    "how many minutes do I have", "can you give me a hint", "what should I focus on next",
    "is this a real interview", "what is the meaning of life", "who are the stakeholders",
    "what is the company culture like", "do we need a payments system", "do we need a customer support tool",
)

#: Questions that ask for every requirement at once: the candidate is to propose them, one at a time.
BROAD_EXAMPLES: tuple[str, ...] = (
    "what are the functional requirements", "what are the non-functional requirements", "what are the requirements",
    "what are the constraints", "what is in scope", "what should the system do", "what are the main use cases",
    "what are the core features", "tell me everything I need to know", "anything else I should know",
    "what do you want me to design", "can you list the requirements", "what are the NFRs",
)

#: Products and techniques: naming one makes a question the candidate's own decision ("Cassandra for this?").
PRODUCTS = frozenset("""
mysql postgres postgresql cassandra dynamodb mongodb mongo hbase redis memcached kafka rabbitmq sqs kinesis
zookeeper etcd s3 hdfs gcs akamai cloudfront fastly nginx elasticsearch spark flink hadoop bigtable spanner
cockroachdb scylladb couchdb neo4j sqlite grpc graphql hls h264 h265 hevc av1 vp9 md5 sha1 sha256
snowflake uuid uuids lru lfu xmpp mqtt kubernetes microservices monolith
""".split())
#: Design alternatives: two of them (or products) joined by "or" make a decision ("SQL or NoSQL?").
TECH_TERMS = PRODUCTS | frozenset("""
sql nosql relational websocket websockets polling sse rest dash 301 302 base62 base64 push pull strong
eventual tcp udp quic http2 http3 sharding leader leaderless
""".split())

#: What a candidate picks: "which database …", "should I use a message broker".
_CHOICES = (r"(?:database|db|datastore|data\s+store|queue|message\s+queue|message\s+broker|broker|cache|"
            r"caching\s+layer|storage\s+engine|protocol|codec|container|load\s+balancer|sharding\s+key|"
            r"shard\s+key|partition\s+key|consistency\s+model|hash\s+function|hashing\s+scheme|"
            r"eviction\s+policy|id\s+scheme|encoding\s+scheme|framework|library|stack|provider|vendor|"
            r"cloud|orm|api\s+gateway|search\s+engine|blob\s+store|object\s+store|stream\s+processor)s?"
            r"(?!\s+(?:size|sizes|hit|hits|ratio|capacity|memory|latency|usage|limit|length|duration)\b)")
_DECISION = re.compile(
    r"\b(?:which|what)\s+(?:kind\s+of\s+|type\s+of\s+|sort\s+of\s+)?(?:\w+\s+)?" + _CHOICES + r"\b"
    r"|\b(?:should|shall|can|could|would|do|may)\s+(?:i|we)\s+(?:use|pick|choose|go\s+with|adopt|rely\s+on)\s+"
    r"(?:a\s+|an\s+|the\s+)?(?:\w+\s+)?(?:" + "|".join(sorted(TECH_TERMS, key=len, reverse=True)) + "|"
    + _CHOICES + r")\b"
    r"|\b(?:shard|partition)(?:ed|ing)?\s+(?:by|on)\b"
    r"|\bhow\s+(?:should|do|would)\s+(?:i|we)\s+(?:shard|partition|generate|encode|hash|store|route|order)\b"
)


def looks_like_a_decision(question: str) -> bool:
    """A question about the candidate's own design choice: it names a product ("Cassandra?"), joins two
    alternatives with "or" ("SQL or NoSQL?") or asks which database, queue, cache … to use."""
    text = unicodedata.normalize("NFKC", question).lower()
    if _DECISION.search(text):
        return True
    words = _WORD.findall(re.sub(r"\bh\.?26([45])\b", r"h26\1", text))
    if any(word in PRODUCTS for word in words):
        return True
    for i, word in enumerate(words):
        if word in ("or", "vs", "versus", "than", "over", "instead") and 0 < i < len(words) - 1:
            before = words[max(0, i - 3):i]
            after = words[i + 1:i + 4]
            if any(w in TECH_TERMS for w in before) and any(w in TECH_TERMS for w in after):
                return True
    return False


@dataclass
class _Doc:
    label: str
    text: str
    vector: dict[str, float] = field(default_factory=dict)


class _Index:
    """TF-IDF vectors of a session's banks (see the module docstring)."""

    BIGRAM_WEIGHT = 0.8
    CHAR_WEIGHT = 0.25
    COVERAGE_WEIGHT = 0.4

    def __init__(self, clarifications: Sequence[Clarification]) -> None:
        self.clarifications = {c.topic: c for c in clarifications}
        texts: list[tuple[str, str]] = []
        for c in clarifications:
            texts += [(c.topic, t) for t in (c.example_question, *c.paraphrases, *c.keywords)]
            texts += [(YOUR_CALL, t) for t in c.your_call]
        texts += [(YOUR_CALL, t) for t in YOUR_CALL_EXAMPLES]
        texts += [(OFF_TOPIC, t) for t in OFF_TOPIC_EXAMPLES]
        texts += [(BROAD, t) for t in BROAD_EXAMPLES]
        word_lists = [_spell_out(text) for _, text in texts]
        self.vocabulary = sorted({w for words in word_lists for w in words} | STOP_WORDS
                                 | {w for e in ABBREVIATIONS.values() for w in e.split()})
        self._known = set(self.vocabulary)
        self._by_initial: dict[str, list[str]] = {}
        for word in self.vocabulary:
            self._by_initial.setdefault(word[0], []).append(word)
        features = [self._features(words) for words in word_lists]
        # Document frequency counts banks, not texts: a word every paraphrase of one topic uses ("ratio")
        # is that topic's signature, not a common word.
        banks: dict[str, set[str]] = {}
        for (label, _), f in zip(texts, features):
            banks.setdefault(label, set()).update(f.keys())
        df: Counter[str] = Counter()
        for terms in banks.values():
            df.update(terms)
        n = len(banks)
        self.idf = {term: math.log((1 + n) / (1 + count)) + 1 for term, count in df.items()}
        self.default_idf = math.log(1 + n) + 1
        self.docs = [_Doc(label, text, self._vector(f)) for (label, text), f in zip(texts, features)]
        self.bank_terms = {label: {t for t in terms if t.startswith("w:")} for label, terms in banks.items()}

    def correct(self, words: Iterable[str]) -> list[str]:
        """Words no bank contains, replaced by the closest bank word with the same first letter (typos seldom
        change it): at most 1 edit from 5 letters, 2 from 8; a 4-letter word only for two swapped letters
        ("mnay" → "many", but "list" is not "lost")."""
        fixed = []
        for word in words:
            if word in self._known or len(word) < 4 or word.isdigit():
                fixed.append(word)
                continue
            limit = 1 if len(word) < 8 else 2
            same_start = self._by_initial.get(word[0], [])
            best = process.extractOne(word, same_start, scorer=OSA.distance, score_cutoff=limit)
            if best and len(word) == 4 and sorted(best[0]) != sorted(word):
                best = None  # a 4-letter word is corrected only for two swapped letters ("mnay")
            fixed.append(best[0] if best else word)
        return fixed

    def content_words(self, question: str) -> list[str]:
        """The words of a question that can carry a topic (shorthand spelled out, typos corrected, no stop words)."""
        return [w for w in self.correct(_spell_out(question)) if w not in STOP_WORDS]

    def _features(self, words: list[str]) -> Counter[str]:
        stems = [STEM_OVERRIDES.get(w) or _STEMMER.stemWord(w) for w in words if w not in STOP_WORDS]
        features: Counter[str] = Counter()
        for stem in stems:
            features["w:" + stem] += 1.0
            padded = f"<{stem}>"
            grams = [padded[i:i + 3] for i in range(len(padded) - 2)]
            for gram in grams:
                features["c:" + gram] += self.CHAR_WEIGHT / max(1, len(grams)) * 3
        for a, b in zip(stems, stems[1:]):
            features[f"b:{a}_{b}"] += self.BIGRAM_WEIGHT
        return features

    def _vector(self, features: Counter[str]) -> dict[str, float]:
        vector = {t: v * self.idf.get(t, self.default_idf) for t, v in features.items()}
        norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
        return {t: v / norm for t, v in vector.items()}

    def scores(self, question: str) -> dict[str, tuple[float, float, str]]:
        """Per bank (a topic, YOUR_CALL, OFF_TOPIC or BROAD): the score, the coverage and the closest bank text."""
        words = self.correct(_spell_out(question))
        features = self._features(words)
        query = self._vector(features)
        best: dict[str, tuple[float, str]] = {}
        for doc in self.docs:
            small, large = (query, doc.vector) if len(query) < len(doc.vector) else (doc.vector, query)
            score = sum(v * large.get(t, 0.0) for t, v in small.items())
            if score > best.get(doc.label, (-1.0, ""))[0]:
                best[doc.label] = (score, doc.text)
        # Coverage: the share of the question's words (weighted by idf) that the bank uses anywhere.
        weights = {t: self.idf.get(t, self.default_idf) for t in features if t.startswith("w:")}
        total = sum(weights.values()) or 1.0
        beta = self.COVERAGE_WEIGHT
        scored = {}
        for label, (score, text) in best.items():
            coverage = sum(w for t, w in weights.items() if t in self.bank_terms[label]) / total
            scored[label] = ((1 - beta) * score + beta * coverage, coverage, text)
        return scored


@functools.lru_cache(maxsize=16)
def _index(clarifications: tuple[Clarification, ...]) -> _Index:
    return _Index(clarifications)


# ---------------------------------------------------------------------------------------------------
# Asking

#: "Do we need X?", "Is X supported?": a question about a feature, answered only when the bank knows X.
_FEATURE = re.compile(
    r"^\W*(?:do|does|will|would|should|must|shall)\s+(?:we|i|you|it|users|the\s+\w+)\s+(?:also\s+)?"
    r"(?:need|have|want|support|require|offer|provide|build|include|allow)\b"
    r"|\b(?:needed|required|in\s+scope|supported)\W*$")
#: The share of a feature question's words that the best bank must use.
FEATURE_COVERAGE = 0.6

_PARTS = re.compile(r"\?|;|\band\s+(?:also\s+)?(?=how|what|which|do|does|is|are|can|should|will|any)\b")


def _classify(question: str, index: _Index) -> Reply:
    if not index.content_words(question):  # "what are the requirements?": nothing but question words
        return Reply("broad", BROAD_REPLY)
    scores = index.scores(question)
    ranked = sorted(scores.items(), key=lambda item: item[1][0], reverse=True)
    (label, (best, coverage, _)), second = ranked[0], ranked[1][1][0] if len(ranked) > 1 else 0.0
    margin = best - second
    candidates = tuple(name for name, _ in ranked[:3])
    if looks_like_a_decision(question):
        return Reply("your_call", YOUR_CALL_REPLY, score=best, margin=margin, candidates=candidates)
    feature_unknown = coverage < FEATURE_COVERAGE and _FEATURE.search(question.lower())
    if best < FLOOR or label == OFF_TOPIC or feature_unknown:
        return Reply("off_topic", NOTHING_ON_THAT, score=best, margin=margin, candidates=candidates)
    if label in (YOUR_CALL, BROAD):
        if margin >= MARGIN / 2:
            kind, text = ("your_call", YOUR_CALL_REPLY) if label == YOUR_CALL else ("broad", BROAD_REPLY)
            return Reply(kind, text, score=best, margin=margin, candidates=candidates)
        return Reply("unclear", UNCLEAR_REPLY, score=best, margin=margin, candidates=candidates)
    if best >= CONFIDENT and margin >= MARGIN:
        clarification = index.clarifications[label]
        return Reply("answer", clarification.answer, (clarification,), best, margin, candidates)
    return Reply("unclear", UNCLEAR_REPLY, score=best, margin=margin, candidates=candidates)


_ANAPHOR = re.compile(r"\b(?:it|its|they|them|their|that|this|those|these|one)\b", re.IGNORECASE)


def _leans_on_the_rest(part: str, index: "_Index") -> bool:
    """A part of one content word about a pronoun ("how long should it be"): it means nothing on its own."""
    return bool(_ANAPHOR.search(part)) and len(index.content_words(part)) <= 1


def ask(question: str, clarifications: Sequence[Clarification]) -> Reply:
    """What the interviewer makes of ``question``: a :class:`Reply` (truthy when it answers a topic).

    ``ask(q, clarifications).topic`` is the topic answered, or None; ``.kind`` says why not.
    """
    __tracebackhide__ = True
    if not isinstance(question, str):
        raise CourseInputError(f"a question must be text, got {type(question).__name__} {question!r}")
    _check_clarifications(clarifications)
    if not default_process(question):
        return Reply("empty", EMPTY_REPLY)
    index = _index(tuple(clarifications))
    whole = _classify(question, index)
    parts = [p for p in _PARTS.split(question) if default_process(p)]
    if whole.kind == "answer":  # "… and how long should it be?": a part about "it" belongs to the whole's topic
        parts = [p for p in parts if not _leans_on_the_rest(p, index)]
    if len(parts) > 1:
        replies = [_classify(p, index) for p in parts]
        answered = [r for r in replies if r.kind == "answer"]
        topics = list(dict.fromkeys(c for r in answered for c in r.clarifications))
        if len(topics) > 1 or (topics and whole.kind != "answer" and len(answered) == len(replies)):
            return Reply("answer", " ".join(c.answer for c in topics), tuple(topics),
                         min(r.score for r in answered), min(r.margin for r in answered), whole.candidates)
    return whole


def _check_clarifications(clarifications: Sequence[Clarification]) -> None:
    __tracebackhide__ = True
    if isinstance(clarifications, (str, bytes)) or not isinstance(clarifications, Sequence) or not clarifications:
        raise CourseInputError("clarifications must be a non-empty list of Clarification(...)")
    topics: set[str] = set()
    for c in clarifications:
        if not isinstance(c, Clarification):
            raise CourseInputError(f"expected Clarification(...), got {type(c).__name__} {c!r}")
        if c.topic in topics:
            raise CourseInputError(f"topic {c.topic!r} appears twice")
        topics.add(c.topic)


def _check_title(title: str) -> None:
    __tracebackhide__ = True
    if not isinstance(title, str):
        raise CourseInputError(f"title must be text, got {type(title).__name__} {title!r}")


# ---------------------------------------------------------------------------------------------------
# The widget

def _exchange(question: str, reply: str) -> str:
    return (f"<div class='course-exchange'><p><b>You:</b> {html.escape(question)}</p>"
            f"<p><b>Interviewer:</b> {html.escape(reply)}</p></div>")


@dataclass(frozen=True)
class Exchange:
    """One question and what came of it, for the journal: ``hint_open`` says whether the topic list was shown."""

    question: str
    kind: str
    topics: tuple[str, ...]
    hint_open: bool


class Interviewer(widgets.VBox):
    """The live interviewer.

    ``question`` (Text; Enter submits) and ``ask_button``; ``reply`` (HTML) holds the newest exchange, right
    under the input, and ``transcript`` (HTML) the earlier ones, newest first. ``progress`` counts the
    topics found; ``show_topics`` (a toggle, off by default) opens ``checklist``, the list of topics.

    For a journal: ``found`` (topics answered so far), ``found_unaided`` (those answered before the topic
    list was first opened), ``hint_opened`` and ``exchanges`` (every question with its outcome).
    """

    def __init__(self, clarifications: Sequence[Clarification], *, title: str = "Clarifying questions") -> None:
        __tracebackhide__ = True
        _check_clarifications(clarifications)
        _check_title(title)
        self.clarifications = tuple(clarifications)
        self._topics = tuple(c.topic for c in self.clarifications)
        self.asked: list[str] = []
        self.found_unaided: set[str] = set()
        self.hint_opened = False
        self.exchanges: list[Exchange] = []
        self._history: list[str] = []
        self.question = widgets.Text(placeholder="Ask the interviewer a question, e.g. how many users?",
                                     layout=widgets.Layout(width="60%"))
        self.ask_button = widgets.Button(description="Ask", button_style="primary")
        self.reply = widgets.HTML()
        self.progress = widgets.HTML()
        self.show_topics = widgets.ToggleButton(value=False, description="show topics", icon="list",
                                                tooltip="A hint: the topics the interviewer can clarify")
        self.checklist = widgets.HTML(layout=widgets.Layout(display="none"))
        self.transcript = widgets.HTML()
        self.ask_button.on_click(lambda _: self._submit())
        # Enter sends the Text model's "submit" event; Text.on_submit is deprecated in ipywidgets 8 (it warns).
        self.question.on_msg(self._on_text_message)
        self.show_topics.observe(self._on_toggle, names="value")
        super().__init__([widgets.HTML(f"<h3>{html.escape(title)}</h3>"),
                          widgets.HBox([self.question, self.ask_button]), self.reply,
                          widgets.HBox([self.progress, self.show_topics]), self.checklist, self.transcript])
        self.add_class("course-interviewer")  # a stable hook for styling and the browser tests
        _evidence.note_interviewer(self._topics)  # the wrap-up's evidence (never raises; off under grading)
        self._render()

    @property
    def found(self) -> set[str]:
        """Topics answered so far."""
        return set(self.asked)

    @property
    def remaining_topics(self) -> list[str]:
        """Topics not asked about yet, in the scenario's order."""
        return [c.topic for c in self.clarifications if c.topic not in self.asked]

    def _on_text_message(self, _widget: widgets.Text, content: dict, _buffers: list) -> None:
        if content.get("event") == "submit":
            self._submit()

    def _on_toggle(self, change: dict) -> None:
        if change["new"]:
            self.hint_opened = True
            _evidence.note_hint(self._topics)
        self._render()

    def _submit(self) -> None:
        question = self.question.value.strip()
        if not question:
            self._show(EMPTY_REPLY)
            return
        result = ask(question, self.clarifications)
        text = result.text
        if result.kind == "off_topic" and not self.remaining_topics:
            text = ALL_COVERED
        for topic in result.topics:
            if topic not in self.asked:
                self.asked.append(topic)
                if not self.hint_opened:
                    self.found_unaided.add(topic)
        self.exchanges.append(Exchange(question, result.kind, result.topics, self.hint_opened))
        _evidence.note_asked(self._topics, result.topics)
        self.question.value = ""
        self._show(_exchange(question, text), question=True)

    def _show(self, latest: str, *, question: bool = False) -> None:
        if self.reply.value and "course-exchange" in self.reply.value:
            self._history.insert(0, self.reply.value)
        self.reply.value = latest if question else f"<p><i>{html.escape(latest)}</i></p>"
        self._render()

    def _render(self) -> None:
        total = len(self.clarifications)
        self.progress.value = f"<b>asked {len(self.asked)} of {total} topics</b>"
        self.show_topics.description = "hide topics" if self.show_topics.value else "show topics"
        items = "".join(
            f"<li>{'☑' if c.topic in self.asked else '☐'} {html.escape(c.topic)}</li>" for c in self.clarifications
        )
        self.checklist.value = f"<ul style='list-style: none'>{items}</ul>" if self.show_topics.value else ""
        self.checklist.layout.display = None if self.show_topics.value else "none"
        self.transcript.value = "".join(self._history)


def interviewer(clarifications: Sequence[Clarification], *, title: str = "Clarifying questions") -> Interviewer | HTML:
    """Ask the interviewer clarifying questions; each topic's answer appears only once a question asks for it.

    Under grading it lists the topics (never the answers).
    """
    __tracebackhide__ = True
    if is_grading():
        _check_clarifications(clarifications)
        _check_title(title)
        topics = "".join(f"<li>{html.escape(c.topic)}</li>" for c in clarifications)
        return HTML(f"<h3>{html.escape(title)}</h3><p>Topics the interviewer can clarify:</p><ul>{topics}</ul>")
    return Interviewer(clarifications, title=title)
