"""Endpoint checks: read an API written one endpoint per line, find endpoints by shape, judge pagination.

The language, one endpoint per line::

    POST /v1/messages                  body: chat_id, client_msg_id, content
    GET  /v1/chats/{chat_id}/messages  query: before_seq, limit
    GET  /v1/users/{user_id}/chats?cursor&limit=50
    WS   /v1/stream                    # real-time delivery

- ``METHOD PATH``, then optionally ``query: a, b`` and ``body: c, d`` (either order; names separated by commas).
- METHOD is GET, POST, PUT, PATCH, DELETE or WS, in any case.
- PATH starts with ``/``; ``{name}`` is a path parameter. A query string (``?a&b=50``) adds query parameters
  (values are ignored).
- ``#`` starts a comment; blank lines are ignored.
- An endpoint may appear once: the same method with the same path shape (``/chats/{id}`` and
  ``/chats/{chat_id}`` have the same shape) is a duplicate.

Matching (:func:`find_endpoint`) is by shape: in a pattern, ``{}`` (or any ``{name}``) matches any path
parameter, literal segments compare case-insensitively and a trailing ``/`` is ignored. A version prefix
(``/v1``, ``/api``, ``/api/v2``) is ignored on both sides, so the pattern ``/v1/messages`` matches
``/messages``, ``/v1/messages`` and ``/api/v2/messages``: the check is about the design, not the versioning.
Method and path may list alternatives: ``"PUT|PATCH"``, ``"/v1/messages/{}/ack|/v1/messages/{}/status"``.

Pagination (:func:`pagination_style`) is read off the parameter names (query and body; snake_case,
camelCase or kebab-case): "offset" when one is offset-like (offset, page, skip...), else "cursor" when there
is both a page size (limit, page_size, per_page, first...) and a cursor (cursor, before, after, before_seq,
since, max_id, page_token, next_token...), else "none".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from .checks import CheckFailed, fail
from .errors import CourseInputError

__all__ = ["METHODS", "Endpoint", "parse_api", "find_endpoint", "pagination_style", "check_api", "assert_api"]

#: The methods an endpoint line may start with (WS is a WebSocket upgrade).
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "WS")

_PATH_PARAM = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\[\]-]*$")
_SECTION = re.compile(r"\b(query|body)\s*:", re.IGNORECASE)
_VERSION = re.compile(r"^v\d+(?:\.\d+)*$")

# Makes the error for a problem on the line being read.
_Fail = Callable[[str], CourseInputError]

_PAGE_SIZES = {"limit", "page_size", "per_page", "size", "count", "max_results", "max_items", "first", "last",
               "top", "take", "n", "num", "batch_size", "page_limit"}
_OFFSETS = {"offset", "page", "page_number", "page_num", "page_no", "pageno", "skip", "start", "start_index"}
_CURSORS = {"cursor", "next", "prev", "marker", "anchor", "continuation", "starting_after", "ending_before",
            "start_after"}
_CURSOR_LIKE = re.compile(r"^(?:\w*cursor\w*|(?:page|next|prev|continuation|pagination|resume|sync)_?token"
                          r"|(?:before|after|since|until)(?:_\w+)?"
                          r"|(?:max|min|since|last|from)_(?:id|seq|sequence|ts|time|timestamp|\w+_id|\w+_seq))$")


@dataclass(frozen=True)
class Endpoint:
    """One endpoint: method, path (without query string), its parameters, and the line it came from."""

    method: str
    path: str
    path_params: tuple[str, ...] = ()
    query: tuple[str, ...] = ()
    body: tuple[str, ...] = ()
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


# --- reading the API ---------------------------------------------------------------------------------


def parse_api(text: str) -> list[Endpoint]:
    """Read one endpoint per line (see the module docstring for the language).

    A malformed line (unknown method, a path not starting with ``/``, unbalanced braces, a duplicate
    endpoint...) raises :class:`CourseInputError` naming the line and quoting it.
    """
    __tracebackhide__ = True
    if not isinstance(text, str):
        raise CourseInputError(f"expected the API as a string, one endpoint per line, got a {type(text).__name__}")
    endpoints: list[Endpoint] = []
    seen: dict[tuple[str, tuple[str, ...]], Endpoint] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        endpoint = _parse_line(line, number, raw)
        key = (endpoint.method, _segments(endpoint.path))
        if key in seen:
            raise CourseInputError(f"duplicate endpoint: {seen[key]} is already on line {seen[key].line}",
                                   line=number, text=raw)
        seen[key] = endpoint
        endpoints.append(endpoint)
    if not endpoints:
        raise CourseInputError("the API is empty: write one endpoint per line, like GET /v1/chats/{chat_id}/messages")
    return endpoints


def _parse_line(line: str, number: int, raw: str) -> Endpoint:
    __tracebackhide__ = True

    def fail(message: str) -> CourseInputError:
        return CourseInputError(message, line=number, text=raw)

    word, target, rest = (line.split(None, 2) + ["", ""])[:3]
    method = word.upper()
    if word.startswith("/"):
        raise fail(f"the line starts with a path: put the method first, like GET {word}")
    if method not in METHODS:
        raise fail(f"unknown method {word!r}: use one of {', '.join(METHODS)}")
    if not target:
        raise fail(f"{method} has no path: write it like {method} /v1/messages")
    if "://" in target:
        raise fail(f"write the path only, like /v1/messages, without the scheme and host: {target}")
    if not target.startswith("/"):
        raise fail(f"the path must start with '/', found {target!r}")
    if target.count("{") > target.count("}") and "}" in rest:
        raise fail(f"the path breaks at a space after {target!r}: a path cannot contain spaces")
    path, _, query_string = target.partition("?")
    if "//" in path:
        raise fail(f"the path {path} has an empty segment (//)")
    path_params = _path_params(path, fail)
    query = [name.partition("=")[0].strip() for name in query_string.split("&") if name.strip()]
    for name in query:
        if not _FIELD.match(name):
            raise fail(f"{name!r} in the query string is not a parameter name")
    sections = _sections(rest, fail)
    query += sections["query"]
    for kind, names in (("query", query), ("body", sections["body"])):
        for name in {n for n in names if names.count(n) > 1}:
            raise fail(f"{kind} parameter {name} is listed twice")
    return Endpoint(method, path, path_params, tuple(query), tuple(sections["body"]), number)


def _path_params(path: str, fail: _Fail) -> tuple[str, ...]:
    """The ``{name}`` parameters of a path, checking the braces pair up and hold a name."""
    __tracebackhide__ = True
    params: list[str] = []
    opened: int | None = None
    for i, char in enumerate(path):
        if char == "{":
            if opened is not None:
                raise fail(f"unbalanced braces in {path}: a {{ opens inside another")
            opened = i
        elif char == "}":
            if opened is None:
                raise fail(f"unbalanced braces in {path}: a }} closes nothing")
            name, opened = path[opened + 1 : i].strip(), None
            if not name:
                raise fail(f"empty path parameter {{}} in {path}: name it, like {{chat_id}}")
            if not _PATH_PARAM.match(name):
                raise fail(f"path parameter {{{name}}} is not a name: use letters, digits and _")
            if name in params:
                raise fail(f"path parameter {{{name}}} appears twice in {path}")
            params.append(name)
    if opened is not None:
        raise fail(f"unbalanced braces in {path}: a {{ is never closed")
    return tuple(params)


def _sections(rest: str, fail: _Fail) -> dict[str, list[str]]:
    """The names listed after the path in ``query: a, b`` and ``body: c, d``."""
    __tracebackhide__ = True
    found: dict[str, list[str]] = {"query": [], "body": []}
    rest = rest.strip()
    if not rest:
        return found
    marks = list(_SECTION.finditer(rest))
    if not marks or marks[0].start() > 0:
        stray = rest[: marks[0].start()].strip() if marks else rest
        raise fail(f"unexpected {stray!r} after the path: list parameters as 'query: a, b' or 'body: c, d', "
                   "and start a comment with #")
    for mark, after in zip(marks, [*marks[1:], None]):
        kind = mark[1].lower()
        if found[kind]:
            raise fail(f"two {kind}: lists: put all the {kind} parameters in one")
        names = [n.strip() for n in rest[mark.end() : after.start() if after else None].split(",")]
        if names == [""]:
            raise fail(f"{kind}: lists no parameters")
        for name in names:
            if not name:
                raise fail(f"an empty name in {kind}: (a stray comma?)")
            if not _FIELD.match(name):
                raise fail(f"{name!r} in {kind}: is not a parameter name: separate names with commas, "
                           f"like {kind}: chat_id, limit")
        found[kind] = names
    return found


# --- matching ----------------------------------------------------------------------------------------


def _segments(path: str) -> tuple[str, ...]:
    """A path's shape: lower-case literal segments, ``{}`` for parameters, no empty segments."""
    return tuple(re.sub(r"\{[^{}]*\}", "{}", s).lower() for s in path.split("?")[0].split("/") if s)


def _unversioned(segments: tuple[str, ...]) -> tuple[str, ...]:
    """The shape without a leading ``/api``, ``/vN`` or ``/api/vN``."""
    if segments[:1] == ("api",):
        segments = segments[1:]
    return segments[1:] if segments and _VERSION.match(segments[0]) else segments


def _methods(method: str) -> set[str]:
    __tracebackhide__ = True
    methods = {m.strip().upper() for m in str(method).split("|") if m.strip()}
    unknown = methods - set(METHODS)
    if not methods or unknown:
        raise CourseInputError(f"unknown method {method!r} in the check: use {', '.join(METHODS)} (or a|b)")
    return methods


def _shapes(path_pattern: str) -> list[tuple[str, ...]]:
    __tracebackhide__ = True
    patterns = [p.strip() for p in str(path_pattern).split("|")]
    for pattern in patterns:
        if not pattern.startswith("/"):
            raise CourseInputError(f"the path pattern {pattern!r} in the check must start with '/'")
    return [_unversioned(_segments(p)) for p in patterns]


def find_endpoint(endpoints: Sequence[Endpoint] | str, method: str, path_pattern: str) -> Endpoint | None:
    """The first endpoint with ``method`` whose path has the shape of ``path_pattern``, or None.

    ``/v1/chats/{}/messages`` matches ``GET /chats/{chat_id}/messages``; version prefixes are ignored and
    ``method``/``path_pattern`` may list alternatives (``"PUT|PATCH"``). ``endpoints`` may be API text.
    """
    __tracebackhide__ = True
    if isinstance(endpoints, str):
        endpoints = parse_api(endpoints)
    methods, shapes = _methods(method), _shapes(path_pattern)
    return next((e for e in endpoints if e.method in methods and _unversioned(_segments(e.path)) in shapes), None)


# --- pagination --------------------------------------------------------------------------------------


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower().replace("-", "_").replace(".", "_").strip("_")


def _page_params(endpoint: Endpoint) -> tuple[list[str], list[str], list[str]]:
    """The endpoint's page-size, cursor and offset parameters, as the student named them."""
    sizes, cursors, offsets = [], [], []
    for name in (*endpoint.query, *endpoint.body):
        snake = _snake(name)
        if snake in _OFFSETS:
            offsets.append(name)
        elif snake in _PAGE_SIZES:
            sizes.append(name)
        elif snake in _CURSORS or _CURSOR_LIKE.match(snake):
            cursors.append(name)
    return sizes, cursors, offsets


def pagination_style(endpoint: Endpoint) -> Literal["cursor", "offset", "none"]:
    """"offset" (offset, page, skip...), "cursor" (a page size plus a cursor such as before_seq), or "none"."""
    sizes, cursors, offsets = _page_params(endpoint)
    if offsets:
        return "offset"
    return "cursor" if sizes and cursors else "none"


# --- checks ------------------------------------------------------------------------------------------


def _missing(endpoints: list[Endpoint], method: str, pattern: str, description: str) -> str:
    """Why no endpoint matches: the same path with another method, or what the student has instead."""
    shapes = _shapes(pattern)
    same_path = [str(e) for e in endpoints if _unversioned(_segments(e.path)) in shapes]
    wanted = f"{description}: expected {method} {pattern}"
    if same_path:
        return f"{wanted}, found {', '.join(same_path)} (is the method right?)"
    methods = _methods(method)
    same_method = [str(e) for e in endpoints if e.method in methods]
    if same_method:
        return f"{wanted}, found no such path (your {method} endpoints: {', '.join(same_method)})"
    return f"{wanted}, found no {method} endpoint at all"


def _pagination_problem(endpoint: Endpoint) -> str | None:
    """What keeps ``endpoint`` from being cursor-paginated, or None when it is."""
    sizes, cursors, offsets = _page_params(endpoint)
    if offsets:
        return (f"{endpoint} pages with an offset ({', '.join(offsets)}): items shift as new ones arrive, so "
                "pages skip or repeat them: page with a cursor (such as before_seq or page_token) and a limit")
    if sizes and cursors:
        return None
    if cursors:
        return f"{endpoint} has a cursor ({', '.join(cursors)}) but no page size: add a limit"
    if sizes:
        return (f"{endpoint} has a page size ({', '.join(sizes)}) but no cursor to ask for the next page: "
                "add one such as before_seq or page_token")
    listed = ", ".join(endpoint.query) or "none"
    return (f"{endpoint} is not paginated (query parameters: {listed}): "
            "add a cursor (such as before_seq or page_token) and a limit")


def _evaluate(text: str, required: Sequence[tuple[str, str, str]],
              cursor_paginated: Sequence[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """(problems, what passed) of :func:`check_api`."""
    __tracebackhide__ = True
    endpoints = parse_api(text)
    problems: list[str] = []
    passed = [f"{len(endpoints)} endpoint{'s' if len(endpoints) != 1 else ''}"]
    missing: set[tuple[str, str]] = set()
    for method, pattern, description in required:
        found = find_endpoint(endpoints, method, pattern)
        if found is None:
            problems.append(_missing(endpoints, method, pattern, description))
            missing.add((method.upper(), pattern))
        else:
            passed.append(f"{description}: {found}")
    for method, pattern in cursor_paginated:
        found = find_endpoint(endpoints, method, pattern)
        if found is None:
            if (method.upper(), pattern) not in missing:
                problems.append(f"expected a cursor-paginated {method} {pattern}, found none")
        elif problem := _pagination_problem(found):
            problems.append(problem)
        else:
            sizes, cursors, _ = _page_params(found)
            passed.append(f"{found} cursor-paginated ({', '.join(cursors + sizes)})")
    return problems, passed


def check_api(text: str, *, required: Sequence[tuple[str, str, str]],
              cursor_paginated: Sequence[tuple[str, str]] = ()) -> list[str]:
    """Problems with an API, in plain English (what is missing, what was found); empty when it passes.

    ``required`` lists ``(method, path pattern, description)``, e.g. ``("POST", "/v1/messages", "send a
    message")``; ``cursor_paginated`` lists ``(method, path pattern)`` of endpoints that must page with a
    cursor and a limit. A malformed API raises :class:`CourseInputError`.
    """
    __tracebackhide__ = True
    return _evaluate(text, required, cursor_paginated)[0]


def assert_api(text: str, *, required: Sequence[tuple[str, str, str]],
               cursor_paginated: Sequence[tuple[str, str]] = ()) -> None:
    """Like :func:`check_api`, but raise :class:`CheckFailed` ("api: ...; ...") or print ✓ and what passed."""
    __tracebackhide__ = True
    problems, passed = _evaluate(text, required, cursor_paginated)
    if problems:
        fail("api: " + "; ".join(problems))
    print("✓ api: " + "; ".join(passed))
