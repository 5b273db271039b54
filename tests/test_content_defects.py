"""Content defects found by the audit, each pinned so it cannot come back."""

from __future__ import annotations

import re

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

