"""course.api: the endpoint language, matching by shape, pagination, and the checks' messages."""

from __future__ import annotations

import pytest

from course.api import Endpoint, assert_api, check_api, find_endpoint, pagination_style, parse_api
from course.errors import CourseInputError

API = """\
# chat service
POST /v1/messages                  body: chat_id, client_msg_id, content
GET  /v1/chats/{chat_id}/messages  query: before_seq, limit

POST /v1/messages/{message_id}/ack body: status
WS   /v1/stream                    # real-time delivery
"""

REQUIRED = [
    ("POST", "/v1/messages", "send a message"),
    ("GET", "/v1/chats/{}/messages", "fetch history"),
    ("POST|PUT|PATCH", "/v1/messages/{}/ack|/v1/messages/{}/status", "acknowledge delivery"),
    ("WS", "/v1/stream", "real-time delivery"),
]
HISTORY = [("GET", "/v1/chats/{}/messages")]


# --- parsing -----------------------------------------------------------------------------------------


def test_example_is_parsed_with_lines_and_parameters():
    assert parse_api(API) == [
        Endpoint("POST", "/v1/messages", (), (), ("chat_id", "client_msg_id", "content"), 2),
        Endpoint("GET", "/v1/chats/{chat_id}/messages", ("chat_id",), ("before_seq", "limit"), (), 3),
        Endpoint("POST", "/v1/messages/{message_id}/ack", ("message_id",), (), ("status",), 5),
        Endpoint("WS", "/v1/stream", (), (), (), 6),
    ]
    assert str(parse_api(API)[1]) == "GET /v1/chats/{chat_id}/messages"


def test_query_string_sections_in_any_order_and_any_case():
    (endpoint,) = parse_api("get\t/v1/users/{user_id}/chats?cursor&limit=50  body: a  QUERY: fields")
    assert endpoint.method == "GET" and endpoint.path == "/v1/users/{user_id}/chats"
    assert endpoint.path_params == ("user_id",)
    assert endpoint.query == ("cursor", "limit", "fields") and endpoint.body == ("a",)


def test_same_path_with_different_methods_or_versions_is_fine():
    assert len(parse_api("GET /v1/x\nDELETE /v1/x\nGET /v2/x")) == 3


MALFORMED = [
    ("FETCH /v1/messages", "unknown method 'FETCH': use one of GET, POST, PUT, PATCH, DELETE, WS"),
    ("GET", "GET has no path"),
    ("GET v1/messages", "the path must start with '/', found 'v1/messages'"),
    ("/v1/messages", "put the method first, like GET /v1/messages"),
    ("GET https://chat.example.com/v1/messages", "write the path only"),
    ("GET /v1/chats/{chat_id/messages", "unbalanced braces in /v1/chats/{chat_id/messages: a { is never closed"),
    ("GET /v1/chats/chat_id}/messages", "unbalanced braces in /v1/chats/chat_id}/messages: a } closes nothing"),
    ("GET /v1/chats/{a{b}}", "a { opens inside another"),
    ("GET /v1/chats/{}/messages", "empty path parameter {}"),
    ("GET /v1/chats/{chat-id}", "path parameter {chat-id} is not a name"),
    ("GET /v1/chats/{chat id}/messages", "a path cannot contain spaces"),
    ("GET /v1/chats/{id}/members/{id}", "path parameter {id} appears twice"),
    ("GET //v1/chats", "empty segment"),
    ("GET /v1/chats (paginated)", "unexpected '(paginated)' after the path"),
    ("GET /v1/chats query: cursor limit", "'cursor limit' in query: is not a parameter name"),
    ("GET /v1/chats query: cursor,", "an empty name in query: (a stray comma?)"),
    ("GET /v1/chats query:", "query: lists no parameters"),
    ("GET /v1/chats query: a body: b query: c", "two query: lists"),
    ("GET /v1/chats?limit query: limit", "query parameter limit is listed twice"),
    ("POST /v1/messages", "duplicate endpoint: POST /v1/messages is already on line 2"),
    ("GET /V1/Chats/{id}/messages/", "duplicate endpoint: GET /v1/chats/{chat_id}/messages is already on line 3"),
]


@pytest.mark.parametrize("line, fragment", MALFORMED)
def test_malformed_line_names_its_number_and_text(line, fragment):
    text = API.replace("\n\n", f"\n{line}\n")  # the blank line 4 becomes the bad one
    with pytest.raises(CourseInputError) as caught:
        parse_api(text)
    assert caught.value.line == 4 and caught.value.text == line
    assert str(caught.value).startswith("line 4: ") and fragment in str(caught.value)
    assert str(caught.value).endswith(f"\n    {line}")


@pytest.mark.parametrize("text", ["", "\n  \n", "# just a comment\n# and another"])
def test_empty_api(text):
    with pytest.raises(CourseInputError, match="the API is empty"):
        parse_api(text)


def test_api_must_be_text():
    with pytest.raises(CourseInputError, match="expected the API as a string"):
        parse_api(["GET /x"])


# --- matching ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("method, pattern, expected", [
    ("GET", "/v1/chats/{}/messages", "GET /v1/chats/{chat_id}/messages"),
    ("get", "/v1/chats/{id}/messages", "GET /v1/chats/{chat_id}/messages"),  # any parameter name
    ("GET", "/chats/{}/messages", "GET /v1/chats/{chat_id}/messages"),  # version ignored in the pattern...
    ("GET", "/api/v2/chats/{}/messages/", "GET /v1/chats/{chat_id}/messages"),  # ...and in both
    ("GET", "/V1/CHATS/{}/MESSAGES", "GET /v1/chats/{chat_id}/messages"),
    ("PUT|POST", "/v1/messages/{}/read|/v1/messages/{}/ack", "POST /v1/messages/{message_id}/ack"),
    ("WS", "/v1/stream", "WS /v1/stream"),
    ("POST", "/v1/chats/{}/messages", None),  # wrong method
    ("GET", "/v1/chats/messages", None),  # a parameter is missing
    ("GET", "/v1/chats/{}/messages/{}", None),  # one too many
    ("POST", "/v1/messages/ack", None),  # a literal where the path has a parameter
    ("GET", "/v1/stream", None),
])
def test_find_endpoint_matches_by_shape(method, pattern, expected):
    found = find_endpoint(parse_api(API), method, pattern)
    assert (str(found) if found else None) == expected


def test_find_endpoint_accepts_the_text_and_unversioned_paths():
    assert str(find_endpoint("GET /api/chats/{id}", "GET", "/v1/chats/{}")) == "GET /api/chats/{id}"
    assert str(find_endpoint("GET /chats/{id}", "GET", "/v1/chats/{}")) == "GET /chats/{id}"


@pytest.mark.parametrize("method, pattern, fragment", [
    ("FETCH", "/v1/messages", "unknown method 'FETCH' in the check"),
    ("GET", "v1/messages", "must start with '/'"),
])
def test_bad_patterns_are_refused(method, pattern, fragment):
    with pytest.raises(CourseInputError, match=fragment):
        find_endpoint(parse_api(API), method, pattern)


# --- pagination --------------------------------------------------------------------------------------


@pytest.mark.parametrize("params, style", [
    (("before_seq", "limit"), "cursor"),
    (("cursor", "limit"), "cursor"),
    (("pageToken", "pageSize"), "cursor"),
    (("next_token", "max_results"), "cursor"),
    (("max_id", "count"), "cursor"),
    (("since", "limit"), "cursor"),
    (("after", "first"), "cursor"),
    (("before-id", "page-size"), "cursor"),
    (("offset", "limit"), "offset"),
    (("page", "per_page"), "offset"),
    (("skip", "take"), "offset"),
    (("cursor", "offset", "limit"), "offset"),  # an offset is an offset, cursor or not
    (("limit",), "none"),  # the first page only
    (("before_seq",), "none"),  # no page size
    (("access_token", "limit"), "none"),  # a token that is not a cursor
    ((), "none"),
])
def test_pagination_style(params, style):
    assert pagination_style(Endpoint("GET", "/v1/items", query=params)) == style


def test_pagination_reads_the_body_too():
    assert pagination_style(parse_api("POST /v1/search body: q, cursor, limit")[0]) == "cursor"


# --- checks ------------------------------------------------------------------------------------------


def test_example_passes(capsys):
    assert check_api(API, required=REQUIRED, cursor_paginated=HISTORY) == []
    assert_api(API, required=REQUIRED, cursor_paginated=HISTORY)
    out = capsys.readouterr()
    assert out.out == (
        "✓ api: 4 endpoints; send a message: POST /v1/messages; fetch history: GET /v1/chats/{chat_id}/messages; "
        "acknowledge delivery: POST /v1/messages/{message_id}/ack; real-time delivery: WS /v1/stream; "
        "GET /v1/chats/{chat_id}/messages cursor-paginated (before_seq, limit)\n")
    assert out.err == ""


def test_missing_endpoints_say_what_was_found():
    text = "PUT /v1/messages body: content\nGET /v1/messages/{id}\nGET /v1/chats/{chat_id}/messages?before_seq&limit"
    assert check_api(text, required=REQUIRED) == [
        "send a message: expected POST /v1/messages, found PUT /v1/messages (is the method right?)",
        "acknowledge delivery: expected POST|PUT|PATCH /v1/messages/{}/ack|/v1/messages/{}/status, "
        "found no such path (your POST|PUT|PATCH endpoints: PUT /v1/messages)",
        "real-time delivery: expected WS /v1/stream, found no WS endpoint at all",
    ]


@pytest.mark.parametrize("line, problem", [
    ("GET /v1/chats/{chat_id}/messages?offset&limit",
     "GET /v1/chats/{chat_id}/messages pages with an offset (offset): items shift as new ones arrive"),
    ("GET /v1/chats/{chat_id}/messages query: before_seq",
     "GET /v1/chats/{chat_id}/messages has a cursor (before_seq) but no page size: add a limit"),
    ("GET /v1/chats/{chat_id}/messages query: limit",
     "GET /v1/chats/{chat_id}/messages has a page size (limit) but no cursor to ask for the next page"),
    ("GET /v1/chats/{chat_id}/messages",
     "GET /v1/chats/{chat_id}/messages is not paginated (query parameters: none): add a cursor"),
])
def test_cursor_pagination_problems(line, problem):
    (found,) = check_api(line, required=[], cursor_paginated=HISTORY)
    assert found.startswith(problem)


def test_a_missing_paginated_endpoint_is_reported_once():
    text = "POST /v1/messages body: content"
    assert check_api(text, required=REQUIRED[1:2], cursor_paginated=HISTORY) == [
        "fetch history: expected GET /v1/chats/{}/messages, found no GET endpoint at all"]
    assert check_api(text, required=[], cursor_paginated=HISTORY) == [
        "expected a cursor-paginated GET /v1/chats/{}/messages, found none"]


def test_assert_api_failure_lists_every_problem():
    with pytest.raises(AssertionError) as caught:
        assert_api("GET /v1/chats/{id}/messages?page&limit", required=REQUIRED[:1], cursor_paginated=HISTORY)
    message = str(caught.value)
    assert message.startswith("api: send a message: expected POST /v1/messages, found no POST endpoint at all; ")
    assert message.count("; ") == 1 and "pages with an offset (page)" in message


def test_a_malformed_api_raises_the_input_error_from_the_check():
    with pytest.raises(CourseInputError, match="line 1: unknown method"):
        check_api("SEND /v1/messages", required=REQUIRED)
