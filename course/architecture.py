"""Architecture diagrams from text: a small language, a layered drawing, and structural checks.

Students write the high-level design in an answer cell, one statement per line::

    # clients and edge
    Mobile App [client] <-> Load Balancer [lb x2]
    Load Balancer -> API Gateway [gateway x2] -> Chat Service [service x3]
    Chat Service -> Message Queue [queue x3] -> Message Store [db x3]
    Chat Service <-> Presence Cache [cache x2]

The language:

- **Arrows** point from the caller to what it calls (or to where the data goes): ``A -> B``. ``A <- B``
  means ``B -> A`` and ``A <-> B`` goes both ways. Arrows chain: ``A -> B -> C`` is two edges.
- **Components** are names of letters, digits, spaces and ``_-./()``, optionally followed by ``[kind]``
  or ``[kind xN]`` (N ≥ 1 replicas; ``[xN]`` alone keeps the inferred kind). Names are case-insensitive
  (``chat service`` is ``Chat Service``), shown with their first spelling. A line may declare a component
  alone (``Message Store [db x3]``). A kind or replica count given twice must agree.
- **Kinds**: client, cdn, dns, lb, gateway, service, websocket, cache, queue, db, object_store, search,
  analytics, id_generator, notification, coordination, and synonyms such as ``load balancer``,
  ``worker``, ``kafka``, ``pub/sub``, ``database``, ``kv store``, ``s3``, ``kgs``, ``zookeeper``.
  Without ``[kind]``, the kind is read from the name's last recognised word or phrase (its head noun):
  "User Service" is a service, "Redis Cache" a cache, "Service Load Balancer" a load balancer,
  "Mobile App" a client, "Chat Server" a WebSocket server. A name with no such word needs ``[kind]``.
- **Labels**: text after `` : `` labels every edge on the line (``Chat Service -> Message Store : writes``).
- ``#`` starts a comment; blank lines are ignored.

A malformed line raises :class:`~course.errors.CourseInputError` with its line number and text.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NoReturn

import ipywidgets as widgets
import networkx as nx
from IPython.display import Image, display
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from .checks import CheckFailed, fail
from .errors import CourseInputError
from .runtime import is_grading

__all__ = [
    "KINDS",
    "ArchitectureEditor",
    "architecture_editor",
    "answer_cell",
    "architecture_problems",
    "assert_architecture",
    "cache_on_read_path",
    "draw_architecture",
    "missing_kinds",
    "parse_architecture",
    "path_exists",
    "show_architecture",
    "single_points_of_failure",
]

GraphOrText = nx.DiGraph | str
Point = tuple[float, float]  # inches on the drawing


# --- kinds ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Kind:
    name: str
    title: str  # shown in the box and in messages
    tier: int  # the layer of a component no client reaches
    colour: str
    synonyms: tuple[str, ...]


_KIND_TABLE: tuple[_Kind, ...] = (
    _Kind("client", "client", 0, "#dbeafe",
          ("user", "browser", "app", "mobile", "mobile app", "web client", "ios", "android", "frontend")),
    _Kind("cdn", "CDN", 1, "#cffafe", ("edge cache", "cloudfront", "akamai")),
    _Kind("dns", "DNS", 1, "#f1f5f9", ("domain name system",)),
    _Kind("lb", "load balancer", 1, "#fef3c7",
          ("load balancer", "balancer", "reverse proxy", "nginx", "haproxy", "elb", "alb")),
    _Kind("gateway", "API gateway", 2, "#fde68a", ("api gateway", "gw", "rate limiter")),
    _Kind("service", "service", 3, "#dcfce7",
          ("svc", "server", "app server", "application server", "web server", "api server", "worker",
           "backend", "microservice", "api")),
    _Kind("websocket", "WebSocket server", 3, "#ccfbf1",
          ("web socket", "ws", "real time", "realtime", "chat server", "connection server",
           "websocket server", "websocket gateway", "socket server")),
    _Kind("cache", "cache", 4, "#fee2e2", ("redis", "memcached", "memcache")),
    _Kind("queue", "message queue", 4, "#ffedd5",
          ("message queue", "mq", "kafka", "pub/sub", "pubsub", "stream", "broker", "message broker",
           "rabbitmq", "sqs", "kinesis", "event bus")),
    _Kind("db", "database", 5, "#ede9fe",
          ("database", "sql", "nosql", "kv store", "key value store", "kv", "store", "data store",
           "datastore", "rdbms", "cassandra", "mysql", "postgres", "postgresql", "dynamodb", "mongodb",
           "hbase", "bigtable")),
    _Kind("object_store", "object store", 5, "#fae8ff",
          ("object storage", "blob", "blob store", "blob storage", "s3", "gcs", "file store",
           "file storage")),
    _Kind("search", "search index", 5, "#fce7f3",
          ("search index", "search service", "elasticsearch", "solr")),
    _Kind("analytics", "analytics", 5, "#e0e7ff",
          ("data warehouse", "warehouse", "olap", "data lake", "hadoop", "spark", "clickhouse", "bigquery")),
    _Kind("id_generator", "ID generator", 4, "#f5f5f4",
          ("id generator", "kgs", "key generation service", "key generator", "id service", "snowflake",
           "ticket server")),
    _Kind("notification", "notifications", 4, "#ecfccb",
          ("notification service", "push notification", "push service", "apns", "fcm")),
    _Kind("coordination", "coordination", 4, "#e5e7eb",
          ("zookeeper", "service discovery", "etcd", "consul", "coordinator")),
)

#: The canonical kind names, in the order error messages list them.
KINDS: tuple[str, ...] = tuple(kind.name for kind in _KIND_TABLE)
_BY_NAME = {kind.name: kind for kind in _KIND_TABLE}
_WORD = re.compile(r"[^\W_]+")  # runs of letters and digits: `_-./` and spaces separate words
_VOCABULARY = frozenset(
    word for kind in _KIND_TABLE for phrase in (kind.name, *kind.synonyms) for word in _WORD.findall(phrase)
)


def _words(text: str) -> tuple[str, ...]:
    """The lower-case words of a name or kind; plurals of known words become singular ("Workers")."""
    words = []
    for word in _WORD.findall(text.casefold()):
        if word not in _VOCABULARY and word.endswith("s") and word[:-1] in _VOCABULARY:
            word = word[:-1]
        words.append(word)
    return tuple(words)


_PHRASES: dict[tuple[str, ...], str] = {
    _words(phrase): kind.name for kind in _KIND_TABLE for phrase in (kind.name, *kind.synonyms)
}
_LONGEST_PHRASE = max(len(words) for words in _PHRASES)


def _kind_named(text: str) -> str | None:
    """The canonical kind for ``text`` (a kind name or synonym), or None."""
    return _PHRASES.get(_words(text))


def _infer_kind(name: str) -> str | None:
    """The kind of the name's head noun: the known phrase ending last, the longest on a tie."""
    words = _words(name)
    best: tuple[int, int, str] | None = None
    for start in range(len(words)):
        for end in range(start + 1, min(len(words), start + _LONGEST_PHRASE) + 1):
            kind = _PHRASES.get(words[start:end])
            if kind and (best is None or (end, end - start) > best[:2]):
                best = (end, end - start, kind)
    return best[2] if best else None


def _require_kind(text: str) -> str:
    __tracebackhide__ = True
    kind = _kind_named(text)
    if kind is None:
        raise CourseInputError(f"unknown kind '{text}': use one of {', '.join(KINDS)}")
    return kind


# --- parsing --------------------------------------------------------------------------------------

_ARROW_RUN = re.compile(r"([<>=\-]*[<>=][<>=\-]*|-{2,})")  # anything arrow-like; only three are valid
_ARROWS = ("->", "<-", "<->")
_NAME_CHARS = frozenset(" _-./()")
_UNICODE_ARROWS = frozenset("→←↔⇒⇐⇔⟶⟵")
_SEGMENT = re.compile(r"(?P<name>[^\[\]]*?)\s*(?:\[(?P<spec>[^\[\]]*)\])?")
_REPLICAS = re.compile(r"[x×](\d+)", re.IGNORECASE)
_BAD_REPLICAS = re.compile(r"[x×][\d.,+-]*|\d+[x×]?", re.IGNORECASE)
_STRAY_REPLICAS = re.compile(r"\s[x×]\d+$", re.IGNORECASE)


@dataclass(frozen=True)
class _Mention:
    """A component as written at one place on a line."""

    name: str
    kind: str | None
    replicas: int | None


@dataclass
class _Node:
    """A component merged over every line that mentions it."""

    label: str
    line: int
    kind: str | None = None
    kind_line: int = 0
    replicas: int | None = None
    replicas_line: int = 0


@dataclass(frozen=True)
class _Line:
    """One source line, for error messages."""

    number: int
    text: str

    def fail(self, message: str) -> NoReturn:
        __tracebackhide__ = True
        raise CourseInputError(message, line=self.number, text=self.text)


def parse_architecture(text: str) -> nx.DiGraph:
    """Parse the architecture language (see the module docstring) into a directed graph.

    Nodes are keyed by the normalised name (lower case, single spaces) with attributes ``label`` (first
    spelling), ``kind`` (canonical), ``replicas`` (default 1) and ``line`` (first mention); edges carry
    ``label`` ("" when none) and ``line``. Raises :class:`CourseInputError` naming the line of any mistake.
    """
    __tracebackhide__ = True
    if not isinstance(text, str):
        raise CourseInputError(f"expected the architecture as text, got {type(text).__name__}")
    lines = [_Line(number, raw) for number, raw in enumerate(text.splitlines(), start=1)]
    nodes: dict[str, _Node] = {}
    edges: dict[tuple[str, str], dict[str, Any]] = {}
    for line in lines:
        parsed = _parse_line(line)
        if parsed is None:
            continue
        mentions, pairs, label = parsed
        keys = [_declare(nodes, mention, line) for mention in mentions]
        for a, b in pairs:
            source, target = keys[a], keys[b]
            if source == target:
                line.fail(f"an arrow from '{nodes[source].label}' to itself")
            edge = edges.setdefault((source, target), {"label": "", "line": line.number})
            if label and label not in edge["label"].split(", "):
                edge["label"] = f"{edge['label']}, {label}" if edge["label"] else label
    graph = nx.DiGraph()
    for key, node in nodes.items():
        kind = node.kind or _infer_kind(node.label)
        if kind is None:
            lines[node.line - 1].fail(
                f"can't tell what kind of component '{node.label}' is: add it in brackets, "
                f"e.g. '{node.label} [service]' (kinds: {', '.join(KINDS)})"
            )
        graph.add_node(key, label=node.label, kind=kind, replicas=node.replicas or 1, line=node.line)
    for (source, target), attrs in edges.items():
        graph.add_edge(source, target, **attrs)
    return graph


def _parse_line(line: _Line) -> tuple[list[_Mention], list[tuple[int, int]], str] | None:
    """The components, edges (as index pairs) and label of one line; None for a blank or comment line."""
    __tracebackhide__ = True
    body = line.text.split("#", 1)[0].strip()
    if not body:
        return None
    body, colon, label = body.partition(":")
    label = label.strip()
    if colon and not label:
        line.fail("empty label after ':': write it as 'A -> B : label', or drop the ':'")
    arrow = next((char for char in body if char in _UNICODE_ARROWS), None)
    if arrow:
        line.fail(f"unknown arrow '{arrow}': use ->, <- or <->")
    pieces = _ARROW_RUN.split(body)
    segments, arrows = pieces[0::2], pieces[1::2]
    for arrow in arrows:
        if arrow not in _ARROWS:
            line.fail(f"unknown arrow '{arrow}': use ->, <- or <->")
    for index, segment in enumerate(segments):
        if segment.strip():
            continue
        if index == 0:  # (a line without arrows is one non-blank segment)
            line.fail(f"the arrow '{arrows[0]}' at the start has no component before it")
        if index == len(segments) - 1:
            line.fail(f"the arrow '{arrows[-1]}' at the end has no component after it")
        line.fail(f"empty component between '{arrows[index - 1]}' and '{arrows[index]}'")
    if label and not arrows:
        line.fail("a label (after ':') needs an arrow on the line: write 'A -> B : label'")
    mentions = [_parse_component(segment.strip(), line) for segment in segments]
    pairs: list[tuple[int, int]] = []
    for index, arrow in enumerate(arrows):
        if arrow in ("->", "<->"):
            pairs.append((index, index + 1))
        if arrow in ("<-", "<->"):
            pairs.append((index + 1, index))
    return mentions, pairs, label


def _parse_component(segment: str, line: _Line) -> _Mention:
    """``Name``, ``Name [kind]``, ``Name [kind xN]`` or ``Name [xN]``."""
    __tracebackhide__ = True
    match = _SEGMENT.fullmatch(segment)
    if match is None:
        line.fail(f"bad brackets in '{segment}': write 'Name [kind]' or 'Name [kind x3]', brackets last")
    name, spec = " ".join(match["name"].split()), match["spec"]
    if not name:
        line.fail(f"a component needs a name before '[{spec}]'")
    for char in name:
        if not (char.isalnum() or char in _NAME_CHARS):
            hint = " (one target per arrow: write 'A -> B' and 'A -> C')" if char in ",&+" else ""
            line.fail(f"unexpected character '{char}' in '{name}': names use letters, digits, "
                      f"spaces and _-./(){hint}")
    if not any(char.isalnum() for char in name):
        line.fail(f"the name '{name}' needs a letter or digit")
    if stray := _STRAY_REPLICAS.search(name):
        bare = name[:stray.start()]
        line.fail(f"put the replica count in the brackets: '{bare} [{_infer_kind(bare) or 'kind'} "
                  f"{stray[0].strip()}]'")
    kind, replicas = _parse_spec(spec, line) if spec is not None else (None, None)
    return _Mention(name, kind, replicas)


def _parse_spec(spec: str, line: _Line) -> tuple[str | None, int | None]:
    """The kind and replica count inside ``[...]``."""
    __tracebackhide__ = True
    words = spec.split()
    if not words:
        line.fail("empty brackets: write a kind, e.g. [db] or [db x3]")
    replicas = None
    if match := _REPLICAS.fullmatch(words[-1]):
        replicas = int(match[1])
        if replicas < 1:
            line.fail(f"replica count '{words[-1]}' must be at least x1")
        words = words[:-1]
    elif _BAD_REPLICAS.fullmatch(words[-1]):
        line.fail(f"bad replica count '{words[-1]}': write a whole number after the kind, e.g. [db x3]")
    if not words:
        return None, replicas
    kind_text = " ".join(words)
    kind = _kind_named(kind_text)
    if kind is None:
        line.fail(f"unknown kind '{kind_text}': use one of {', '.join(KINDS)}")
    return kind, replicas


def _declare(nodes: dict[str, _Node], mention: _Mention, line: _Line) -> str:
    """Merge a mention into its node (checking it agrees with earlier lines); return the node key."""
    __tracebackhide__ = True
    key = mention.name.casefold()
    node = nodes.setdefault(key, _Node(label=mention.name, line=line.number))
    if mention.kind is not None:
        if node.kind is None:
            node.kind, node.kind_line = mention.kind, line.number
        elif node.kind != mention.kind:
            line.fail(f"'{node.label}' is [{mention.kind}] here but [{node.kind}] on line {node.kind_line}")
    if mention.replicas is not None:
        if node.replicas is None:
            node.replicas, node.replicas_line = mention.replicas, line.number
        elif node.replicas != mention.replicas:
            line.fail(f"'{node.label}' has x{mention.replicas} here but x{node.replicas} "
                      f"on line {node.replicas_line}")
    return key


def _as_graph(graph_or_text: GraphOrText) -> nx.DiGraph:
    __tracebackhide__ = True
    if isinstance(graph_or_text, nx.DiGraph):
        return graph_or_text
    if isinstance(graph_or_text, str):
        return parse_architecture(graph_or_text)
    raise CourseInputError(f"expected the architecture as text, got {type(graph_or_text).__name__}")


# --- structural checks ----------------------------------------------------------------------------

#: Components a read request passes through on its way from a client to a cache.
_REQUEST_PATH = frozenset({"cdn", "lb", "gateway", "service", "websocket"})


def _of_kind(graph: nx.DiGraph, kind: str) -> list[str]:
    return [node for node, node_kind in graph.nodes(data="kind") if node_kind == kind]


def _reaches(graph: nx.DiGraph, sources: Iterable[str], targets: set[str]) -> bool:
    reached = {node for layer in nx.bfs_layers(graph, list(sources)) for node in layer}
    return not reached.isdisjoint(targets)


def missing_kinds(graph: GraphOrText, kinds: Iterable[str] | str) -> list[str]:
    """The kinds among ``kinds`` (names or synonyms) that no component has, as canonical names."""
    __tracebackhide__ = True
    graph = _as_graph(graph)
    wanted = [_require_kind(kinds)] if isinstance(kinds, str) else [_require_kind(kind) for kind in kinds]
    present = {kind for _, kind in graph.nodes(data="kind")}
    return [kind for kind in dict.fromkeys(wanted) if kind not in present]


def path_exists(graph: GraphOrText, from_kind: str = "client", to_kind: str = "db") -> bool:
    """True when some ``from_kind`` component reaches some ``to_kind`` component along the arrows."""
    __tracebackhide__ = True
    graph = _as_graph(graph)
    sources = _of_kind(graph, _require_kind(from_kind))
    return _reaches(graph, sources, set(_of_kind(graph, _require_kind(to_kind))))


def single_points_of_failure(graph: GraphOrText, src_kind: str = "client", dst_kind: str = "db") -> list[str]:
    """Labels of the components whose failure cuts every ``src_kind`` off from every ``dst_kind``.

    A component counts when it has fewer than 2 replicas, is not itself a ``src_kind`` (the clients are
    the users, not the system), and removing it leaves no path from any client to any store. A store
    counts too when it has 1 replica and is the only one reachable. Empty when no path exists to begin
    with (see :func:`path_exists`). In the order of first mention.
    """
    __tracebackhide__ = True
    graph = _as_graph(graph)
    src_kind, dst_kind = _require_kind(src_kind), _require_kind(dst_kind)
    sources, targets = _of_kind(graph, src_kind), set(_of_kind(graph, dst_kind))
    if not _reaches(graph, sources, targets):
        return []
    found = []
    for node, data in graph.nodes(data=True):
        if data.get("kind") == src_kind or data.get("replicas", 1) >= 2:
            continue
        if not _reaches(nx.restricted_view(graph, [node], []), sources, targets - {node}):
            found.append(data.get("label", str(node)))
    return found


def cache_on_read_path(graph: GraphOrText) -> bool:
    """True when a client reaches a ``cache`` through request-path components only.

    The rule: following the arrows from some client, a ``cache`` is reached directly or through any
    number of CDNs, load balancers, API gateways, services and WebSocket servers. A cache reached only
    through a queue, a database or another store (written by a worker, say) is not on the read path.
    """
    __tracebackhide__ = True
    graph = _as_graph(graph)
    seen = set(_of_kind(graph, "client"))
    frontier = list(seen)
    while frontier:
        node = frontier.pop()
        for successor in graph.successors(node):
            kind = graph.nodes[successor].get("kind")
            if kind == "cache":
                return True
            if kind in _REQUEST_PATH and successor not in seen:
                seen.add(successor)
                frontier.append(successor)
    return False


def architecture_problems(graph: GraphOrText, *, require_kinds: Iterable[str] = ("client", "db"),
                          read_cache: bool = False, no_spof: bool = False) -> list[str]:
    """Every structural problem, as plain-English sentences; an empty list means the design passes.

    Checks that the ``require_kinds`` are present; that a client reaches a database (whenever the design
    has both, or ``no_spof`` asks); with ``read_cache``, :func:`cache_on_read_path`; with ``no_spof``,
    that :func:`single_points_of_failure` finds none.
    """
    __tracebackhide__ = True
    graph = _as_graph(graph)
    problems = [f"no {_BY_NAME[kind].title} (a component marked [{kind}])"
                for kind in missing_kinds(graph, require_kinds)]
    has_both = bool(_of_kind(graph, "client")) and bool(_of_kind(graph, "db"))
    if (has_both or no_spof) and not path_exists(graph, "client", "db"):
        problems.append("no path from a client to a database: arrows point from the caller to what it "
                        "calls, e.g. 'App -> Service -> DB'")
    if read_cache and not cache_on_read_path(graph):
        problems.append("no cache on the read path: a client should reach a [cache] through load "
                        "balancers, gateways or services, e.g. 'Chat Service <-> Redis [cache x2]'")
    if no_spof:
        spofs = single_points_of_failure(graph)
        if spofs:
            many = len(spofs) > 1
            problems.append(
                f"{'single points' if many else 'a single point'} of failure: {', '.join(spofs)} "
                f"({'one replica each' if many else 'one replica'}, and every path from a client to a "
                f"database goes through {'them' if many else 'it'}): add replicas, e.g. [lb x2], "
                f"or a second path"
            )
    return problems


def assert_architecture(text: GraphOrText, *, require_kinds: Iterable[str] = ("client", "db"),
                        read_cache: bool = False, no_spof: bool = False) -> None:
    """Assert the design passes :func:`architecture_problems`; print a one-line summary when it does.

    Raises :class:`~course.checks.CheckFailed` (an ``AssertionError``) listing every problem:
    ``architecture: <problem>; <problem>``. Bad text raises :class:`CourseInputError` naming the line.
    """
    __tracebackhide__ = True
    graph = _as_graph(text)
    problems = architecture_problems(graph, require_kinds=require_kinds, read_cache=read_cache, no_spof=no_spof)
    if problems:
        fail("architecture: " + "; ".join(problems))
    required = [_require_kind(require_kinds)] if isinstance(require_kinds, str) else [
        _require_kind(kind) for kind in require_kinds]
    connections = len({frozenset(edge) for edge in graph.edges})
    summary = f"✓ architecture: {graph.number_of_nodes()} components, {connections} connections"
    if required:
        summary += f"; required kinds present: {', '.join(dict.fromkeys(required))}"
    if read_cache:
        summary += "; cache on the read path"
    if no_spof:
        summary += "; no single point of failure"
    print(summary)


# --- drawing --------------------------------------------------------------------------------------

# Geometry in inches: the axes fill the figure and data units are inches, so arcs and text sizes agree.
_BOX_W, _BOX_H = 1.85, 0.72
_X_PITCH, _Y_PITCH = 2.25, 1.3  # between boxes in a layer, between layers (top-down)
_MARGIN, _TITLE_BAND = 0.3, 0.45
_INK = "#475569"
_CURVES = (0.0, 0.25, -0.25, 0.45, -0.45, 0.65, -0.65, 0.9, -0.9)  # arc3 bends, in order of preference


def draw_architecture(graph_or_text: GraphOrText, *, title: str | None = None) -> Figure:
    """A layered, top-down diagram of the architecture, as a new (pyplot-free) ``Figure``.

    Layer = BFS distance from the clients along the arrows. A component no client reaches goes by its
    kind's tier (clients; DNS, CDN, load balancers; gateways; services; caches, queues and helpers;
    stores): it joins the first layer holding a reachable component of the same or a later tier, or a
    new last layer (with no clients at all, the tiers are the layers). Within a layer, components sit
    under their neighbours above, else in order of first mention. Boxes are coloured by kind, with the
    kind in small type, a "×N" badge for replicas, arrows (double-headed both ways, bent around other
    boxes where they can be) and edge labels. Deterministic.
    """
    __tracebackhide__ = True
    graph = _as_graph(graph_or_text)
    if graph.number_of_nodes() == 0:
        raise CourseInputError("nothing to draw: write one connection per line, e.g. 'App -> Service -> DB'")
    layers = _layers(graph)
    centres = _positions(graph, layers, top=_MARGIN + (_TITLE_BAND if title else 0.0))
    widest = max(x for x, _ in centres.values()) + _BOX_W / 2 + _MARGIN
    width = max(widest, 3.0, 0.11 * len(title or "") + 2 * _MARGIN)  # room for the title (12 pt bold)
    height = max(y for _, y in centres.values()) + _BOX_H / 2 + _MARGIN
    shift = (width - widest) / 2
    centres = {node: (x + shift, height - y) for node, (x, y) in centres.items()}  # y up from here on

    fig = Figure(figsize=(width, height), dpi=100, facecolor="white")
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_axis_off()
    if title:
        ax.text(width / 2, height - (_MARGIN + _TITLE_BAND) / 2, title, ha="center", va="center",
                fontsize=12, fontweight="bold", color="#0f172a")
    boxes = {node: _draw_box(ax, graph.nodes[node], node, centres[node]) for node in graph}
    _draw_edges(ax, graph, centres, boxes)
    return fig


def _layers(graph: nx.DiGraph) -> dict[str, int]:
    """Layer index per node: BFS distance from the clients, else by kind tier; no layer left empty."""
    depth: dict[str, int] = {}
    for distance, nodes in enumerate(nx.bfs_layers(graph, _of_kind(graph, "client"))):
        depth.update(dict.fromkeys(nodes, distance))
    tiers = {node: _tier(kind) for node, kind in graph.nodes(data="kind")}
    if depth:
        beyond = max(depth.values()) + 1
        raw = {node: depth[node] if node in depth else min(
            (d for other, d in depth.items() if tiers[other] >= tiers[node]), default=beyond) for node in graph}
    else:
        raw = tiers
    renumber = {value: index for index, value in enumerate(sorted(set(raw.values())))}
    return {node: renumber[value] for node, value in raw.items()}


def _tier(kind: str | None) -> int:
    return _BY_NAME[kind].tier if kind in _BY_NAME else 3


def _positions(graph: nx.DiGraph, layers: dict[str, int], *, top: float) -> dict[str, Point]:
    """Box centres in inches (x from the left, y from the top), one row per layer."""
    slots = _slots(graph, layers)
    return {
        node: (_MARGIN + _BOX_W / 2 + slots[node] * _X_PITCH, top + _BOX_H / 2 + layers[node] * _Y_PITCH)
        for node in graph
    }


def _slots(graph: nx.DiGraph, layers: dict[str, int]) -> dict[str, float]:
    """Horizontal position per node, in box pitches from 0, layer by layer from the top.

    Each node wants the mean position of its neighbours in the layers above (nodes with none line up
    under the middle, in order of first mention); a layer is sorted by those wishes, pushed apart to one
    pitch, and shifted back so that on average each node sits where it wanted.
    """
    rows: list[list[str]] = [[] for _ in range(max(layers.values()) + 1)]
    for node in graph:
        rows[layers[node]].append(node)
    x: dict[str, float] = {}
    for row in rows:
        centre = (min(x.values()) + max(x.values())) / 2 if x else 0.0
        above = {node: [x[other] for other in nx.all_neighbors(graph, node) if other in x] for node in row}
        loose = [node for node in row if not above[node]]
        wish = {node: sum(above[node]) / len(above[node]) if above[node]
                else centre + loose.index(node) - (len(loose) - 1) / 2 for node in row}
        order = sorted(row, key=wish.__getitem__)
        placed: list[float] = []
        for node in order:
            placed.append(wish[node] if not placed else max(wish[node], placed[-1] + 1))
        drift = sum(slot - wish[node] for slot, node in zip(placed, order)) / len(order)
        x.update((node, slot - drift) for slot, node in zip(placed, order))
    left = min(x.values())
    return {node: value - left for node, value in x.items()}


def _draw_box(ax: Axes, data: dict[str, Any], node: str, centre: Point) -> FancyBboxPatch:
    x, y = centre
    kind = data.get("kind")
    colour = _BY_NAME[kind].colour if kind in _BY_NAME else "#ffffff"
    replicas = int(data.get("replicas", 1))
    corner = (x - _BOX_W / 2, y - _BOX_H / 2)
    style = "round,pad=0,rounding_size=0.12"
    if replicas > 1:  # a second box peeking out behind: "there are several of these"
        ax.add_patch(FancyBboxPatch((corner[0] + 0.07, corner[1] - 0.07), _BOX_W, _BOX_H, boxstyle=style,
                                    facecolor=colour, edgecolor=_INK, linewidth=0.8, zorder=2))
    box = FancyBboxPatch(corner, _BOX_W, _BOX_H, boxstyle=style, facecolor=colour, edgecolor=_INK,
                         linewidth=1.2, zorder=3, gid=f"node:{node}")
    ax.add_patch(box)
    label = str(data.get("label", node))
    lines = textwrap.wrap(label, 20) or [label]
    size = 9.0
    if len(lines) > 2:
        lines, size = textwrap.wrap(label, 26, max_lines=3, placeholder="…"), 7.5
    ax.text(x, y + 0.08, "\n".join(lines), ha="center", va="center", fontsize=size, fontweight="bold",
            color="#0f172a", zorder=4, linespacing=1.1)
    caption = _BY_NAME[kind].title if kind in _BY_NAME else str(kind or "")
    ax.text(x, y - _BOX_H / 2 + 0.06, caption, ha="center", va="bottom", fontsize=7.5, style="italic",
            color="#334155", zorder=4)
    if replicas > 1:
        ax.text(x + _BOX_W / 2 - 0.05, y + _BOX_H / 2 - 0.02, f"×{replicas}", ha="center", va="center",
                fontsize=7.5, fontweight="bold", color="#0f172a", zorder=5,
                bbox={"boxstyle": "round,pad=0.25", "facecolor": "white", "edgecolor": _INK, "linewidth": 0.8})
    return box


def _draw_edges(ax: Axes, graph: nx.DiGraph, centres: dict[str, Point],
                boxes: dict[str, FancyBboxPatch]) -> None:
    """One arrow per connected pair (double-headed when both ways), bent around other boxes, labelled."""
    drawn: set[frozenset[str]] = set()
    for source, target, label in graph.edges(data="label"):
        pair = frozenset((source, target))
        if pair in drawn:
            continue
        drawn.add(pair)
        both = graph.has_edge(target, source)
        labels = [label or ""] + ([graph.edges[target, source].get("label") or ""] if both else [])
        text = " / ".join(dict.fromkeys(part for part in labels if part))
        start, end = centres[source], centres[target]
        others = [centres[node] for node in graph if node not in pair]
        crossings = {bend: _crossings(start, end, bend, others) for bend in _CURVES}
        rad = min(_CURVES, key=crossings.__getitem__)  # the first of the fewest crossings
        # An arrow that cannot avoid a box is drawn over it (under the text), never hidden behind it:
        # hidden, it would seem to start at the box it passes.
        over = crossings[rad] > 0
        ax.add_patch(FancyArrowPatch(
            start, end, arrowstyle="<|-|>" if both else "-|>", mutation_scale=13, linewidth=1.1,
            color=_INK, alpha=0.75 if over else 1.0, connectionstyle=f"arc3,rad={rad}",
            patchA=boxes[source], patchB=boxes[target], shrinkA=2, shrinkB=2, zorder=3.5 if over else 1,
        ))
        if text:
            mx, my = _curve_point(start, end, rad, 0.5)
            ax.text(mx, my, textwrap.fill(text, 24), ha="center", va="center", fontsize=7.5,
                    color="#1e293b", zorder=6,
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none",
                          "alpha": 0.9})


def _curve_point(start: Point, end: Point, rad: float, t: float) -> Point:
    """A point of matplotlib's ``arc3`` quadratic Bézier (control = midpoint + rad × (dy, −dx))."""
    (x1, y1), (x2, y2) = start, end
    cx, cy = (x1 + x2) / 2 + rad * (y2 - y1), (y1 + y2) / 2 - rad * (x2 - x1)
    a, b, c = (1 - t) ** 2, 2 * (1 - t) * t, t**2
    return a * x1 + b * cx + c * x2, a * y1 + b * cy + c * y2


def _crossings(start: Point, end: Point, rad: float, others: list[Point]) -> int:
    """How many of 20 points along the arc fall inside another box (padded a little)."""
    half_w, half_h = _BOX_W / 2 + 0.05, _BOX_H / 2 + 0.05
    points = (_curve_point(start, end, rad, step / 20) for step in range(1, 20))
    return sum(any(abs(px - ox) < half_w and abs(py - oy) < half_h for ox, oy in others) for px, py in points)


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, facecolor="white")
    return buffer.getvalue()


def show_architecture(text: GraphOrText, title: str | None = None) -> None:
    """Display the diagram inline as a PNG and release the figure; bad text raises CourseInputError."""
    __tracebackhide__ = True
    fig = draw_architecture(text, title=title)
    display(Image(data=_png(fig)))
    fig.clear()


# --- the sketchpad widget -------------------------------------------------------------------------

_ERROR_COLOUR = "#b91c1c"
_OK_COLOUR = "#15803d"
_EDITOR_CSS = "<style>.course-architecture-text textarea { font-family: monospace; }</style>"
_PLACEHOLDER = "Mobile App [client] -> Load Balancer [lb x2] -> Chat Service [service x3] -> Message Store [db x3]"


def answer_cell(text: str, name: str = "architecture") -> str:
    """The answer cell's source holding ``text``: ``architecture = \"\"\"…\"\"\"`` (a plain string literal
    when the text holds a backslash or triple quotes), ready to paste over the answer cell."""
    __tracebackhide__ = True
    if not isinstance(text, str):
        raise CourseInputError(f"expected the architecture as text, got {type(text).__name__}")
    if not name.isidentifier():
        raise CourseInputError(f"{name!r} is not a Python variable name")
    body = text.strip("\n")
    if '"""' in body or "\\" in body or body.endswith('"'):
        return f"{name} = {body!r}"
    return f'{name} = """\n{body}\n"""'


class ArchitectureEditor(widgets.VBox):
    """The live sketchpad: ``textarea`` (the text), ``status`` (a one-line HTML verdict), ``output``
    (the diagram), and ``graph`` (the last text that parsed, or None).

    ``copy_button`` ("copy to answer") turns the current text into the answer cell's source
    (:func:`answer_cell`) and puts it in ``paste`` (HTML: the code, ready to select, with what to do) and
    on the browser's clipboard (``clipboard``, an Output holding a one-line script; where the browser
    refuses, the code in ``paste`` is there to copy by hand). The kernel cannot edit another cell, and
    the graded answer is the answer cell's text, so the student pastes it there: the button never sets
    ``architecture`` itself, which would let the visible check pass on an answer cell that still holds the
    stub (and scores 0 at grading). ``copied`` is the last source copied.
    """

    def __init__(self, text: str = "", *, title: str | None = None) -> None:
        textarea = widgets.Textarea(value=text, rows=12, continuous_update=True, placeholder=_PLACEHOLDER,
                                    layout=widgets.Layout(width="100%"))
        textarea.add_class("course-architecture-text")
        status, output = widgets.HTML(), widgets.Output()
        copy_button = widgets.Button(description="copy to answer", icon="copy",
                                     tooltip="Copy this sketch as the answer cell's code, to paste over it")
        paste, clipboard = widgets.HTML(), widgets.Output(layout=widgets.Layout(display="none"))
        super().__init__(children=[widgets.HTML(_EDITOR_CSS), textarea, status, output, copy_button, paste,
                                   clipboard])
        self.add_class("course-architecture-editor")  # a stable hook for styling and the browser tests
        self.textarea, self.status, self.output = textarea, status, output
        self.copy_button, self.paste, self.clipboard = copy_button, paste, clipboard
        self.copied: str | None = None
        self.title = title
        self.graph: nx.DiGraph | None = None
        self._drawn: tuple[Any, ...] | None = None
        textarea.observe(self._on_text, names="value")
        copy_button.on_click(lambda _: self.copy_to_answer())
        self._refresh(text)

    def copy_to_answer(self) -> str:
        """Put the current text, as the answer cell's code, in ``paste`` and on the clipboard; returns it."""
        text = self.textarea.value
        source = answer_cell(text)
        self.copied = source
        warning = ""
        try:
            graph = parse_architecture(text)
        except CourseInputError as exc:
            warning = (f'<p style="color:{_ERROR_COLOUR}">The sketch has an error, so the check will fail until '
                       f"it is fixed: {html.escape(str(exc), quote=False)}</p>")
        else:
            if graph.number_of_nodes() == 0:
                warning = f'<p style="color:{_ERROR_COLOUR}">The sketch is empty: there is nothing to grade yet.</p>'
        self.paste.value = (
            "<p><b>Copied.</b> Paste it over the whole answer cell below (Ctrl+V or ⌘V), then run that cell: "
            "the answer cell is what is graded. If nothing pastes, select the code here and copy it.</p>"
            f'{warning}<pre class="course-architecture-answer" style="user-select:all">{html.escape(source)}</pre>')
        script = (f"(function(t){{if(navigator.clipboard){{navigator.clipboard.writeText(t).catch(function(){{}});}}}})"
                  f"({json.dumps(source)});").replace("<", "\\u003c")  # no "</script>" in any case
        self.clipboard.outputs = ({
            "output_type": "display_data",
            "data": {"application/javascript": script, "text/plain": ""},
            "metadata": {},
        },)
        return source

    def _on_text(self, change: dict[str, Any]) -> None:
        self._refresh(change["new"])

    def _refresh(self, text: str) -> None:
        """Redraw when the text parses to a different design; on an error keep the last good diagram."""
        try:
            graph = parse_architecture(text)
        except CourseInputError as exc:
            self.status.value = (f'<div style="color:{_ERROR_COLOUR}; white-space:pre-wrap; '
                                 f'font-family:monospace">✗ {html.escape(str(exc), quote=False)}</div>')
            return
        self.graph = graph
        if graph.number_of_nodes() == 0:
            self.output.outputs = ()
            self._drawn = None
            self.status.value = ('<span style="color:#64748b">One connection per line, e.g. '
                                 '<code>App -&gt; Service [service x2] -&gt; DB [db x3]</code></span>')
            return
        signature = _signature(graph, self.title)
        if signature != self._drawn:
            png = base64.b64encode(_png(draw_architecture(graph, title=self.title))).decode("ascii")
            self.output.outputs = ({
                "output_type": "display_data",
                "data": {"image/png": png, "text/plain": "<architecture diagram>"},
                "metadata": {},
            },)
            self._drawn = signature
        connections = len({frozenset(edge) for edge in graph.edges})
        self.status.value = (f'<span style="color:{_OK_COLOUR}">✓ {graph.number_of_nodes()} components, '
                             f'{connections} connections</span>')


def _signature(graph: nx.DiGraph, title: str | None) -> tuple[Any, ...]:
    """What the drawing depends on (not line numbers), to skip redraws for comments and spacing."""
    nodes = tuple((node, data["label"], data["kind"], data["replicas"]) for node, data in graph.nodes(data=True))
    return nodes, tuple(graph.edges(data="label")), title


def architecture_editor(text: str = "", *, title: str | None = None) -> ArchitectureEditor | None:
    """A sketchpad: type the architecture and watch the diagram redraw; mistakes show in red.

    What is graded is the text in the answer cell; the editor is only for trying ideas (copy the text
    across when happy). Under grading (``course.runtime.is_grading()``) there are no widgets: it displays
    a static diagram of ``text`` (or the error message) and returns None.
    """
    __tracebackhide__ = True
    if not isinstance(text, str):
        raise CourseInputError(f"expected the architecture as text, got {type(text).__name__}")
    if not is_grading():
        return ArchitectureEditor(text, title=title)
    try:
        graph = parse_architecture(text)
    except CourseInputError as exc:
        print(f"architecture sketchpad: {exc}")
        return None
    if graph.number_of_nodes():
        show_architecture(graph, title=title)
    return None
