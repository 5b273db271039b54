"""Content defects found by the audit, each pinned so it cannot come back."""

from __future__ import annotations

import math
import re

import pytest

from authoring.sessions import SESSIONS
from course import cards
from course.api import parse_api
from course.content import load_session
from course.schema import parse_schema

CHAT, SHORTENER, NETFLIX = (SESSIONS[s] for s in ("session1_chat", "session2_url_shortener", "session3_netflix"))


def test_short_codes_are_case_sensitive_in_mysql():
    """MySQL's default collation ignores case: base62 codes would collapse to 36 characters."""
    for table in ("urls", "click_stats"):
        block = re.search(rf"CREATE TABLE {table} \((.*?)\n\);", SHORTENER.SCHEMA, re.S).group(1)
        line = next(line for line in block.splitlines() if line.strip().startswith("short_code"))
        assert re.search(r"VARBINARY|BINARY\(|COLLATE \w+_(bin|cs)\b", line), line
    parse_schema(SHORTENER.SCHEMA)  # and it still parses


def test_snowflake_ids_are_not_offered_as_7_character_codes():
    texts = [answer for _, _, answer in SHORTENER.DEEP_DIVE]
    points = [p.point for p in load_session("session2_url_shortener").deep_dive["uniqueness"]]
    for text in [*texts, *points]:
        if "nowflake" in text:
            assert "11" in text, text


def test_the_chat_unique_key_includes_the_shard_key():
    schema = parse_schema(CHAT.SCHEMA)
    messages = next(t for t in schema.tables if t.name == "messages")
    unique = [index for index in messages.indexes if index.unique]
    assert unique and all("chat_id" in index.columns for index in unique)


def test_chat_sync_does_not_use_one_sequence_number_for_every_chat():
    sync = next(e for e in parse_api(CHAT.API) if e.path.endswith("/sync"))
    assert not any("seq" in name for name in sync.query + sync.body), sync


def test_netflix_origin_is_not_said_to_serve_viewers():
    points = [p.point for points in load_session("session3_netflix").deep_dive.values() for p in points]
    texts = points + [answer for _, _, answer in NETFLIX.DEEP_DIVE]
    assert not any("serves the long tail" in text for text in texts)


def test_the_day_shortcut_is_described_by_what_it_does():
    from authoring.sections import estimation_intro

    text = estimation_intro()[0].source
    assert "13.6 % low" in text and "13.6 % off" not in text


def test_the_bitrate_card_labels_each_figure_with_its_page_version():
    labels = list(cards.video_bitrates().index)
    netflix = [label for label in labels if "Netflix" in label]
    assert netflix and all("older page" in label or "current page" in label for label in netflix)
    older = {label.split(": ")[-1] for label in netflix if "older page" in label}
    assert older == {"SD", "HD", "Ultra HD"}



def _deep_dive(session, name: str) -> str:
    return next(answer for grade_id, _, answer in session.DEEP_DIVE if grade_id == name)


def _bullets(text: str) -> list[str]:
    """The model answer's bullets, each joined onto one line."""
    return [" ".join(b.split()) for b in re.split(r"\n\s*- ", "\n" + text) if b.strip()]


def test_the_chat_reconnect_key_point_uses_the_per_device_cursor():
    """Sequence numbers are per chat: "after the device's last sequence number" names no position at all."""
    points = [p.point for p in load_session("session1_chat").deep_dive["offline_delivery"]]
    reconnect = [p for p in points if "reconnect" in p.lower()]
    assert reconnect and all("cursor" in p and "per chat" in p for p in reconnect), reconnect
    assert not any("last sequence number" in p for p in points)


def test_the_chat_diagram_holds_the_connections_its_own_estimate_counts():
    """10 M sockets at 1 M a server need 10 chat servers: the model diagram cannot draw fewer (it drew 4)."""
    from course.architecture import parse_architecture

    needed = math.ceil(CHAT.exact_chat_servers(CHAT.SAMPLE))
    assert needed == 10
    graph = parse_architecture(CHAT.ARCHITECTURE)
    drawn = sum(data["replicas"] for _, data in graph.nodes(data=True) if data["kind"] == "websocket")
    assert drawn > needed, f"{drawn} chat servers drawn, {needed} needed before any spare"


def test_a_generated_code_can_meet_an_alias_taken_earlier():
    """Aliases share the key space, so "a counter never collides" holds only against other generated codes."""
    answer = _deep_dive(SHORTENER, "uniqueness")
    points = [p.point for p in load_session("session2_url_shortener").deep_dive["uniqueness"]]
    for text in [*_bullets(answer), *points]:
        assert not re.search(r"counter never collides(?! with itself)", text), text
        if "alias" in text.lower():
            assert "generated code" in text and "next id" in text, text


def test_a_302_cached_at_the_edge_counts_its_clicks_from_the_edge_logs():
    """A redirect the edge answers never reaches the servers: "302 keeps every click" needs the edge's logs."""
    answers = [_deep_dive(SHORTENER, name) for name in ("hot_urls", "analytics")]
    session = load_session("session2_url_shortener")
    points = [p.point for name in ("hot_urls", "analytics") for p in session.deep_dive[name]]
    texts = [bullet for answer in answers for bullet in _bullets(answer)] + points
    assert any("302" in text for text in texts)
    for text in texts:
        if "302" in text and ("edge" in text.lower() or "cache-control" in text.lower()):
            assert "log" in text, text


def test_cached_links_still_end_when_deleted_or_expired():
    """Links can be deleted and expire: "immutable" data would let a cache redirect a deleted link forever."""
    first_bullet = _bullets(_deep_dive(SHORTENER, "hot_urls"))[0]
    first_point = load_session("session2_url_shortener").deep_dive["hot_urls"][0].point
    for text in (first_bullet, first_point):
        assert "immutable" not in text and "delete" in text and "expires_at" in text, text


def test_the_renditions_key_holds_two_bitrates_at_one_height():
    """A ladder has several rungs per resolution (Netflix's fixed ladder: 4,300 and 5,800 kbps at 1080p;
    Apple's HLS ladder: 6,000 and 7,800 kbps at 1080p), so (video, height, codec) cannot be unique."""
    table = parse_schema(NETFLIX.SCHEMA).table("renditions")
    keys = [table.primary_key, *(index.columns for index in table.indexes if index.unique)]
    assert keys[0]
    for key in keys:
        assert not set(key) <= {"video_id", "height", "codec"}, key


def test_watch_history_updated_at_moves_with_every_overwrite():
    """The row is overwritten in place; with DEFAULT alone, updated_at keeps the first watch and the
    continue-watching row (ORDER BY updated_at DESC) sorts by when a title was started."""
    block = re.search(r"CREATE TABLE watch_history \((.*?)\n\);", NETFLIX.SCHEMA, re.S).group(1)
    line = next(line for line in block.splitlines() if line.strip().startswith("updated_at"))
    assert re.search(r"ON UPDATE CURRENT_TIMESTAMP", line, re.I), line
    parse_schema(NETFLIX.SCHEMA)  # and it still parses


def test_the_latency_card_speed_up_range_is_the_computed_one():
    card = cards.latency_numbers()
    speedups = {name: float(value.rstrip("×")) for name, value in card["~2012 ÷ ~2020"].items() if value}
    memory_and_ssd = [v for name, v in speedups.items() if "memory" in name or "SSD" in name]
    low, high = re.search(r"memory and SSD figures improved by (\d+)–(\d+)×", cards.latency_numbers.__doc__).groups()
    assert (int(low), int(high)) == (math.floor(min(memory_and_ssd)), round(max(memory_and_ssd)))
    seek = re.search(r"a disk seek by (\d+)×", cards.latency_numbers.__doc__).group(1)
    assert float(seek) == speedups["disk seek"]


def test_the_recommender_intro_does_not_say_cosine_measures_agreement():
    """Ratings are 1–5 with 0 for unrated: plain cosine is high whenever the same viewers rated both titles,
    whatever they thought of them, so "similar when the same viewers rate them alike" is not what it computes."""
    loved, hated = [5, 5], [1, 1]  # two viewers: both loved one title, both hated the other
    dot = sum(a * b for a, b in zip(loved, hated))
    assert dot / (math.hypot(*loved) * math.hypot(*hated)) == pytest.approx(1.0)
    intro = next(cell.source for cell in NETFLIX.cells() if "Item-item collaborative filtering" in cell.source)
    assert "alike" not in intro
    assert "rated both" in intro and "adjusted cosine" in intro
