"""Session 1 · Design a chat application (beginner): a WhatsApp-like 1:1 messenger."""

from __future__ import annotations

import random
from collections.abc import Mapping

from course.grading.cases import Case, as_tuple, step
from course.grading.compare import ceiling
from course.units import q

from ..cells import Cell
from ..sections import (
    Curveball, Estimate, algorithm, api_design, curveball, deep_dive, detailed_design_intro, estimates, estimation_intro, header,
    high_level_design, multiple_choice, reference_card, requirements, schema_design, what_if, wrap_up,
)

ID = "session1_chat"

FIELDS = {
    "daily_active_users": ("user", "people who use the app on a given day"),
    "messages_per_user_per_day": ("msg/user/day", "messages each of them sends"),
    "message_size": ("B/msg", "average stored size of one message"),
    "retention": ("day", "how long history is kept"),
    "read_write_ratio": ("", "message reads (deliveries and history fetches) per message sent"),
    "peak_factor": ("", "busiest-hour rate ÷ daily average"),
    "replication_factor": ("", "copies of every stored message"),
    "online_fraction": ("", "share of daily users connected at the busiest moment"),
    "connections_per_online_user": ("conn/user", "open WebSockets per online user (devices)"),
    "memory_per_connection": ("KB/conn", "server memory held by one open connection"),
    "connections_per_server": ("conn/server", "connections one chat server holds"),
}

#: What the interviewer says (the seed's sample clarifications, plus the per-connection figures).
SAMPLE = {
    "daily_active_users": "100 M user",
    "messages_per_user_per_day": "50 msg/user/day",
    "message_size": "100 B/msg",
    "retention": "30 day",
    "read_write_ratio": "2",
    "peak_factor": "3",
    "replication_factor": "3",
    "online_fraction": "0.1",
    "connections_per_online_user": "1 conn/user",
    "memory_per_connection": "10 KB/conn",
    "connections_per_server": "1 M conn/server",
}

#: What a practice round keeps as it is: devices per user and the replication factor are design choices, not
#: figures the interviewer varies.
PRACTICE_KEEP = ("connections_per_online_user", "replication_factor")

#: Other scenarios the hidden tests run the student's functions on.
HIDDEN = {
    "small": {
        "daily_active_users": "20 M user", "messages_per_user_per_day": "40 msg/user/day",
        "message_size": "200 B/msg", "retention": "90 day", "read_write_ratio": "1", "peak_factor": "2",
        "replication_factor": "2", "online_fraction": "0.2", "connections_per_online_user": "2 conn/user",
        "memory_per_connection": "20 KB/conn", "connections_per_server": "300 K conn/server",
    },
    "huge": {
        "daily_active_users": "1 bn user", "messages_per_user_per_day": "100 msg/user/day",
        "message_size": "150 B/msg", "retention": "365 day", "read_write_ratio": "3", "peak_factor": "2.5",
        "replication_factor": "3", "online_fraction": "0.05", "connections_per_online_user": "1 conn/user",
        "memory_per_connection": "16 KB/conn", "connections_per_server": "2 M conn/server",
    },
}

#: Reference answers, written out; tests/test_reference_figures.py recomputes each one independently.
EXPECTED = {
    "messages_per_second": {"sample": "57870.37 msg/s", "small": "9259.259 msg/s", "huge": "1157407.4 msg/s"},
    "peak_messages_per_second": {"sample": "173611.1 msg/s", "small": "18518.52 msg/s", "huge": "2893518.5 msg/s"},
    "read_qps": {"sample": "115740.74 msg/s", "small": "9259.259 msg/s", "huge": "3472222.2 msg/s"},
    "peak_read_qps": {"sample": "347222.2 msg/s", "small": "18518.52 msg/s", "huge": "8680555.6 msg/s"},
    "storage_per_day": {"sample": "500 GB/day", "small": "160 GB/day", "huge": "15 TB/day"},
    "history_storage": {"sample": "15 TB", "small": "14.4 TB", "huge": "5475 TB"},
    "replicated_storage": {"sample": "45 TB", "small": "28.8 TB", "huge": "16425 TB"},
    "ingress_bandwidth": {"sample": "5.787037 MB/s", "small": "1.851852 MB/s", "huge": "173.6111 MB/s"},
    "egress_bandwidth": {"sample": "11.574074 MB/s", "small": "1.851852 MB/s", "huge": "520.8333 MB/s"},
    "peak_egress_bandwidth": {"sample": "34.72222 MB/s", "small": "3.703704 MB/s", "huge": "1302.083 MB/s"},
    "concurrent_connections": {"sample": "10 M conn", "small": "8 M conn", "huge": "50 M conn"},
    "connection_memory": {"sample": "100 GB", "small": "160 GB", "huge": "800 GB"},
    "chat_servers_needed": {"sample": "10 server", "small": "27 server", "huge": "25 server"},
}


def _estimate(name: str, doc: str, body: str) -> Estimate:
    return Estimate(name, doc, body, EXPECTED[name])


TRAFFIC = [
    _estimate("messages_per_second", "Average messages sent per second.",
              'return (a.daily_active_users * a.messages_per_user_per_day).to("msg/s")'),
    _estimate("peak_messages_per_second", "Messages sent per second in the busiest hour.",
              "return messages_per_second(a) * a.peak_factor"),
    _estimate("read_qps", "Average message reads per second (deliveries plus history fetches).",
              "return messages_per_second(a) * a.read_write_ratio"),
    _estimate("peak_read_qps", "Message reads per second in the busiest hour.",
              "return read_qps(a) * a.peak_factor"),
]
STORAGE = [
    _estimate("storage_per_day", "New message bytes stored per day (one copy).",
              'return (a.daily_active_users * a.messages_per_user_per_day * a.message_size).to("GB/day")'),
    _estimate("history_storage", "Bytes held for the whole retention period (one copy).",
              'return (storage_per_day(a) * a.retention).to("TB")'),
    _estimate("replicated_storage", "Bytes held for the retention period, every replica counted.",
              "return history_storage(a) * a.replication_factor"),
]
BANDWIDTH = [
    _estimate("ingress_bandwidth", "Average bytes per second arriving at the chat servers.",
              'return (messages_per_second(a) * a.message_size).to("MB/s")'),
    _estimate("egress_bandwidth", "Average bytes per second leaving them (every read moves one message).",
              'return (read_qps(a) * a.message_size).to("MB/s")'),
    _estimate("peak_egress_bandwidth", "Egress in the busiest hour.",
              "return egress_bandwidth(a) * a.peak_factor"),
]
CONNECTIONS = [
    _estimate("concurrent_connections", "Open WebSocket connections at the busiest moment.",
              'return (a.daily_active_users * a.online_fraction * a.connections_per_online_user).to("conn")'),
    _estimate("connection_memory", "Server memory held by those connections.",
              'return (concurrent_connections(a) * a.memory_per_connection).to("GB")'),
    _estimate("chat_servers_needed", "Chat servers needed to hold every connection (a whole number).",
              "import math\n"
              'servers = (concurrent_connections(a) / a.connections_per_server).to("server")\n'
              "return math.ceil(servers.magnitude) * u.server"),
]

ARCHITECTURE = '''
Mobile App [client] <-> Load Balancer [lb x2]
Web App [client] <-> Load Balancer
Load Balancer <-> Chat Server [websocket x12] : WebSocket per device (10 M sockets at 1 M a server, plus spares)
Chat Server -> Message Store [db x3] : persist first
Chat Server <-> Session Registry [cache x3] : which server holds whom
Chat Server -> Message Router [queue x3] : to the recipient's server
Message Router -> Chat Server
Message Router -> Push Notifications [notification x2] : recipient offline
Load Balancer -> API Service [service x3] : login, history
API Service -> Message Store
'''

SCHEMA = '''
CREATE TABLE messages (
    chat_id        BIGINT      NOT NULL,
    seq            BIGINT      NOT NULL,          -- per-chat sequence number: the order of the chat
    sender_id      BIGINT      NOT NULL,
    client_msg_id  VARCHAR(36) NOT NULL,          -- idempotency key: a retried send is stored once
    content        TEXT        NOT NULL,
    created_at     TIMESTAMP   NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (chat_id, seq),
    UNIQUE KEY uq_client_msg (chat_id, sender_id, client_msg_id)  -- with the shard key (chat_id): one shard checks it
);

CREATE TABLE chat_members (
    chat_id        BIGINT NOT NULL,
    user_id        BIGINT NOT NULL,
    last_read_seq  BIGINT NOT NULL DEFAULT 0,     -- read receipts and unread counts
    PRIMARY KEY (chat_id, user_id),
    INDEX idx_member_user (user_id)
);
'''

HISTORY_QUERY = ("SELECT seq, sender_id, content, created_at FROM messages "
                 "WHERE chat_id = ? AND seq < ? ORDER BY seq DESC LIMIT 50")
SYNC_QUERY = "SELECT seq, sender_id, content FROM messages WHERE chat_id = ? AND seq > ? ORDER BY seq LIMIT 500"

API = '''
WS   /v1/connect                               # one socket per device: send, deliver, ack
POST /v1/chats/{chat_id}/messages              body: client_msg_id, content
GET  /v1/chats/{chat_id}/messages              query: before_seq, limit
POST /v1/chats/{chat_id}/read                  body: seq
GET  /v1/sync                                  query: cursor, limit  # the device's place in its inbox
'''

ALGORITHM = '''
class SequenceAllocator:
    """Hands out per-chat sequence numbers 1, 2, 3, ... independently for every chat."""

    def __init__(self) -> None:
        ### BEGIN SOLUTION
        self._last: dict[str, int] = {}
        ### END SOLUTION

    def next(self, chat_id: str) -> int:
        ### BEGIN SOLUTION
        self._last[chat_id] = self._last.get(chat_id, 0) + 1
        return self._last[chat_id]
        ### END SOLUTION


def deliverable(received: list[tuple[int, str]], last_shown: int) -> tuple[list[tuple[int, str]], int, list[int]]:
    """What a client can show now, given messages received so far (out of order, some twice).

    Returns ``(to_show, new_last_shown, missing)``: the messages after ``last_shown`` that form an
    unbroken run, in order and without duplicates; the new high-water mark; and the sequence numbers
    still missing below the highest one received (to re-fetch).
    """
    ### BEGIN SOLUTION
    by_seq: dict[int, str] = {}
    for seq, text in received:
        if seq > last_shown:
            by_seq.setdefault(seq, text)
    to_show = []
    nxt = last_shown + 1
    while nxt in by_seq:
        to_show.append((nxt, by_seq[nxt]))
        nxt += 1
    new_last = nxt - 1
    top = max(by_seq, default=new_last)
    missing = [seq for seq in range(new_last + 1, top) if seq not in by_seq]
    return to_show, new_last, missing
    ### END SOLUTION
'''

ALGORITHM_VISIBLE = '''
seqs = SequenceAllocator()
expect_equal("first numbers of chat 'a'", [seqs.next("a"), seqs.next("a"), seqs.next("a")], [1, 2, 3])
expect_equal("first number of chat 'b'", seqs.next("b"), 1)
received = [(3, "c"), (1, "a"), (1, "a"), (4, "d")]
expect_equal("deliverable(received, 0)", deliverable(received, 0), ([(1, "a")], 1, [2]))
expect_equal("after 2 arrives", deliverable(received + [(2, "b")], 1), ([(2, "b"), (3, "c"), (4, "d")], 4, []))
public_checks_passed("ordering")
'''



def exact_chat_servers(s: Mapping[str, str]) -> float:
    """The chat servers the connections need, before rounding up, from a scenario's text values (in the grader)."""
    return float((q(s["daily_active_users"]) * q(s["online_fraction"]) * q(s["connections_per_online_user"])
                  / q(s["connections_per_server"])).to("server").magnitude)


def ordering_cases(rng: random.Random) -> list[Case]:
    """At grading: the visible examples, one long random run of the allocator, and random deliveries."""
    cases = [
        Case("script", label="SequenceAllocator, chats 'a', 'a', 'a', 'b'", group="SequenceAllocator",
             steps=(step("SequenceAllocator", let="s", keep=False), step("s.next", "a"), step("s.next", "a"),
                    step("s.next", "a"), step("s.next", "b"))),
        Case("call", "deliverable", args=([as_tuple(3, "c"), as_tuple(1, "a"), as_tuple(1, "a"), as_tuple(4, "d")], 0),
             label="deliverable(received, 0) of the example", group="deliverable"),
    ]
    chats = rng.sample("pqrstuvwxyz", 6)
    calls = [step("SequenceAllocator", let="s", keep=False)]
    calls += [step("s.next", rng.choice(chats)) for _ in range(200)]
    cases.append(Case("script", label="SequenceAllocator over 200 random sends in 6 chats", steps=tuple(calls),
                      group="SequenceAllocator", hidden=True))
    for trial in range(40):
        last = rng.randint(0, 5)
        messages = [(seq, f"m{seq}") for seq in range(1, last + rng.randint(0, 12) + 1) if rng.random() < 0.7]
        received = messages + rng.sample(messages, k=len(messages) // 2)
        rng.shuffle(received)
        cases.append(Case("call", "deliverable", args=([as_tuple(*m) for m in received], last),
                          label=f"deliverable (random delivery {trial + 1})", group="deliverable", hidden=True))
    return cases



CURVEBALL = Curveball(
    prompt="Product wants photos in chats from next quarter. Plan for an average stored message of 100 KB, "
           "instead of 100 bytes of text.",
    changes={"message_size": "100 KB/msg"},
    shown=("messages_per_second", "replicated_storage", "peak_egress_bandwidth", "connection_memory",
           "chat_servers_needed"),
    figure="replicated_storage",
    label="storage after the curveball",
    options={
        "A": "The chat servers: every connection now carries photos, so far more servers must hold the sockets.",
        "B": "The message store: the history grows by the same factor as the message, and so does egress; "
             "photos belong in object storage behind a CDN, with only a reference in the message.",
        "C": "The session registry: it has to track which server holds each photo.",
        "D": "Nothing: the message rate is the same, so the design holds as it is.",
    },
    correct="B",
    why="bytes per message multiply storage and bandwidth, not the message rate or the connection count",
    plan="""
    - Keep photos out of the message store: upload them to object storage (S3-like), and put a reference
      (URL, size, checksum) in the message; the store keeps the 100-byte rows.
    - Serve media through a CDN with signed URLs, so the chat servers never relay the bytes.
    - Upload straight from the client to object storage (a pre-signed upload URL), with thumbnails made
      asynchronously; the message is sent once the upload completes.
    - Deduplicate forwarded media by content hash, and tier cold media to cheaper storage.
    - Connections and the message rate do not change, so the chat-server fleet stays as it is.
    """,
)

DEEP_DIVE = [
    ("offline_delivery", "How would you deliver messages to users who are offline?",
     """
     - Persist every message before delivering it, so nothing depends on the recipient being online.
     - Online recipient: the session registry says which chat server holds the socket; route it there.
     - Offline recipient: send a push notification (APNs/FCM) through a queue; no socket to push to.
     - On reconnect the device syncs from its cursor, a per-device position in the user's inbox: sequence
       numbers are per chat, so one "since seq N" cannot cover every chat.
     - Delivery is at-least-once with retries and backoff; the client de-duplicates by (chat, seq), and
       acks drive the delivered/read receipts.
     """),
    ("group_chat", "How would you extend this to group chats?",
     """
     - A group is a chat with many members: `chat_members` rows, the same `messages` table keyed by (chat_id, seq).
     - Store each message once; fan out the delivery (not the storage) to the online members' chat servers.
     - Small groups fan out on write; very large groups/channels let members pull (fan-out on read).
     - Cap group size (WhatsApp-style) and fetch presence on demand instead of broadcasting it.
     - Read receipts become per member: last_read_seq per (chat, user).
     """),
    ("message_ordering", "How do you keep messages in order and consistent?",
     """
     - Order matters within a conversation, not globally: give each chat a sequence number
       (one writer per chat, or a counter in the store), or use time-sortable ids (Snowflake).
     - The client shows messages by seq, buffers gaps and re-fetches what is missing.
     - A client-generated id makes retries idempotent, so a resend is not a duplicate.
     - Wall-clock timestamps from devices are not a safe order (clock skew); vector clocks are
       unnecessary when each chat has a single sequencer.
     """),
]


def cells() -> list[Cell]:
    """The whole notebook, in the shared section order."""
    return [
        *header(
            ID,
            "Session 1 · Design a chat application",
            "beginner",
            "Design a real-time chat application like WhatsApp that supports one-on-one messaging.",
        ),
        *requirements(FIELDS, SAMPLE),
        *estimation_intro(),
        *estimates("traffic", "Traffic",
                   "How many messages per second are written and read, on average and at the peak?",
                   TRAFFIC, HIDDEN, points=3, sample=SAMPLE),
        *estimates("storage", "Storage",
                   "How much does the message history take, for one copy and with every replica?",
                   STORAGE, HIDDEN, points=3, sample=SAMPLE),
        *estimates("bandwidth", "Bandwidth",
                   "How many bytes per second flow in and out? (Convert to bits for a network link: "
                   "`fmt(x.to('Mbit/s'))`.)", BANDWIDTH, HIDDEN, points=2, sample=SAMPLE),
        *estimates("connections", "Connections",
                   "A chat service is bound by open connections, not by storage. How many sockets are "
                   "open at the busiest moment, what memory do they hold, and how many chat servers "
                   "does that take?", CONNECTIONS, HIDDEN, points=2, sample=SAMPLE,
                   judges={"chat_servers_needed": ceiling(exact_chat_servers, "server")}),
        *what_if(
            "Which assumption moves the number of chat servers most?",
            ("messages_per_second", "peak_read_qps", "replicated_storage", "peak_egress_bandwidth",
             "chat_servers_needed"),
            {"daily_active_users": (1e6, 2e9), "messages_per_user_per_day": (1, 500), "online_fraction": (0.01, 0.5)},
        ),
        *multiple_choice(
            "spot_the_error",
            """
            ### Spot the error
            The document this course grew from gives this block under the heading
            **"Bandwidth Estimation"**:

            ```python
            read_write_ratio = 2  # 2 reads per write
            read_qps = messages_per_second * read_write_ratio
            write_qps = messages_per_second
            peak_multiplier = 3
            peak_read_qps = read_qps * peak_multiplier
            peak_write_qps = write_qps * peak_multiplier
            ```

            What is wrong with it?
            """,
            {
                "A": "58,000 messages per second is ten times too high: it should be about 5,800.",
                "B": "It computes request rates, not bandwidth: bandwidth is messages per second × bytes "
                     "per message (≈ 5.8 MB/s in, 46 Mbps), which it never evaluates.",
                "C": "The peak multiplier belongs on storage, not on request rates.",
                "D": "A day should be taken as 10⁵ seconds, not 24 × 60 × 60.",
            },
            "B",
            "the block is labelled bandwidth but multiplies message rates; bytes per second never appear",
        ),
        *reference_card("time_conversions"),
        *high_level_design(
            title="Chat: high-level design",
            looks_for=[
                "clients, a load balancer, chat servers holding WebSockets (`websocket`) and a message store (`db`);",
                "a path from the clients to the store;",
                "*(hidden)* no single point of failure between clients and the store (two or more of each);",
                "*(hidden)* a way to reach users who are offline (`notification`).",
            ],
            solution=ARCHITECTURE,
            visible={"require_kinds": ["client", "lb", "websocket", "db"]},
            hidden={"require_kinds": ["client", "lb", "websocket", "db", "notification"], "no_spof": True},
        ),
        *curveball(CURVEBALL, sample=SAMPLE, scenarios=HIDDEN),
        *detailed_design_intro(),
        *schema_design(
            heading="The message store",
            intro=f"""
            Write the schema (MySQL syntax is fine). The history screen asks for the latest 50 messages
            of a chat before a given point; a reconnecting device asks for everything after the last
            message it has. Both must be served by an index, in order, without sorting.

            ```sql
            {HISTORY_QUERY}
            {SYNC_QUERY}
            ```
            Required: a `messages` table with `chat_id`, a per-chat `seq`, `sender_id`, `content` and
            `created_at`.
            """,
            solution=SCHEMA,
            visible={
                "table": "messages",
                "required_columns": {"chat_id": "integer", "seq": "integer", "sender_id": "integer",
                                     "content": "text", "created_at": "timestamp"},
                "indexed_query": HISTORY_QUERY, "query_name": "the history query",
            },
            hidden=[
                {"table": "messages", "indexed_query": HISTORY_QUERY, "no_sort": True},
                {"table": "messages", "indexed_query": SYNC_QUERY, "no_sort": True},
            ],
        ),
        *api_design(
            intro="""
            Required: sending a message, and the chat history with **cursor** pagination (a `limit`
            and a position such as `before_seq`; page offsets skip and repeat messages while new ones
            arrive). *(Hidden)*: a real-time channel (`WS`) and a way to mark messages read.
            """,
            solution=API,
            visible={"required": [("POST", "/chats/{}/messages", "send a message"),
                                  ("GET", "/chats/{}/messages", "chat history")],
                     "cursor_paginated": [("GET", "/chats/{}/messages")]},
            hidden={"required": [("WS", "/connect", "real-time channel"),
                                 ("POST", "/chats/{}/read", "read receipts")]},
            example="GET /v1/chats/{chat_id}/messages  query: before_seq, limit",
        ),
        *algorithm(
            "ordering",
            heading="Key algorithm: order without a global clock",
            intro="""
            Give each chat its own sequence numbers, then let the client show messages strictly in that
            order. Delivery is *at least once*: a message may arrive twice, and out of order.
            Implement `SequenceAllocator.next` and `deliverable` below.
            """,
            solution=ALGORITHM, visible=ALGORITHM_VISIBLE, cases=[ordering_cases],
        ),
        *deep_dive(DEEP_DIVE),
        *wrap_up(),
    ]
