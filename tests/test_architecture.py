"""The architecture language, its drawing, the structural checks and the sketchpad widget."""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import io
import json
import textwrap

import networkx as nx
import pytest
from IPython.display import Image
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch

import course.architecture as arch
from course.architecture import (
    KINDS,
    architecture_editor,
    architecture_problems,
    assert_architecture,
    cache_on_read_path,
    draw_architecture,
    missing_kinds,
    parse_architecture,
    path_exists,
    show_architecture,
    single_points_of_failure,
)
from course.checks import CheckFailed
from course.errors import CourseInputError

CHAT = """\
# clients and edge
Mobile App [client] <-> Load Balancer [lb x2]
Load Balancer -> API Gateway [gateway x2] -> Chat Service [service x3]
Chat Service -> Message Queue [queue x3] -> Message Store [db x3]
Chat Service <-> Presence Cache [cache x2]
"""


def node(graph: nx.DiGraph, name: str) -> dict:
    return graph.nodes[name.casefold()]


# --- parsing --------------------------------------------------------------------------------------


def test_the_docstring_example_parses_to_the_expected_graph():
    assert all(line in arch.__doc__ for line in CHAT.splitlines())
    g = parse_architecture(CHAT)
    assert list(g) == ["mobile app", "load balancer", "api gateway", "chat service", "message queue",
                       "message store", "presence cache"]
    assert node(g, "Load Balancer") == {"label": "Load Balancer", "kind": "lb", "replicas": 2, "line": 2}
    assert node(g, "Mobile App")["replicas"] == 1
    assert set(g.edges) == {
        ("mobile app", "load balancer"), ("load balancer", "mobile app"),
        ("load balancer", "api gateway"), ("api gateway", "chat service"),
        ("chat service", "message queue"), ("message queue", "message store"),
        ("chat service", "presence cache"), ("presence cache", "chat service"),
    }


def test_chains_and_arrow_directions():
    g = parse_architecture("App -> Service <- Worker\nService <-> Redis\nDB <- Service")
    assert set(g.edges) == {("app", "service"), ("worker", "service"), ("service", "redis"),
                            ("redis", "service"), ("service", "db")}


def test_kinds_synonyms_and_replicas_in_brackets():
    g = parse_architecture(
        "Users -> Front [load balancer x2] -> Orders [app server] -> Events [Kafka x3]\n"
        "Orders -> Ledger [database] \nOrders -> Photos [object_store]\nOrders -> Fanout Worker [x4]"
    )
    kinds = {name: data["kind"] for name, data in g.nodes(data=True)}
    assert kinds == {"users": "client", "front": "lb", "orders": "service", "events": "queue",
                     "ledger": "db", "photos": "object_store", "fanout worker": "service"}
    assert node(g, "front")["replicas"] == 2 and node(g, "events")["replicas"] == 3
    assert node(g, "fanout worker")["replicas"] == 4  # [xN] alone keeps the inferred kind (service)
    assert node(g, "Events")["label"] == "Events"


@pytest.mark.parametrize(("name", "kind"), [
    ("Redis Cache", "cache"), ("Load Balancer", "lb"), ("Cassandra", "db"), ("MySQL", "db"),
    ("Message Store", "db"), ("Kafka", "queue"), ("Queue", "queue"), ("CDN", "cdn"), ("S3", "object_store"),
    ("Object Storage", "object_store"), ("Blob", "object_store"), ("Mobile App", "client"),
    ("Browser", "client"), ("Client", "client"), ("WebSocket", "websocket"), ("Chat Server", "websocket"),
    ("Chat Service", "service"), ("User Service", "service"), ("Web Servers", "service"), ("Users", "client"),
    ("App Server", "service"), ("Service Load Balancer", "lb"), ("Push Notification Service", "notification"),
    ("Key-Value Store", "db"), ("Pub/Sub", "queue"), ("Service Discovery", "coordination"),
    ("KGS", "id_generator"),
])
def test_kind_inferred_from_the_head_noun_of_the_name(name, kind):
    assert node(parse_architecture(name), name)["kind"] == kind


def test_every_synonym_names_one_kind():
    for kind in arch._KIND_TABLE:
        for phrase in (kind.name, *kind.synonyms):
            assert parse_architecture(f"X [{phrase}]").nodes["x"]["kind"] == kind.name, phrase


def test_labels_apply_to_every_edge_on_their_line():
    g = parse_architecture("App -> Service -> DB : writes\nService <-> Cache : get/set\nApp -> CDN")
    assert g.edges["app", "service"]["label"] == "writes"
    assert g.edges["service", "db"]["label"] == "writes"
    assert g.edges["service", "cache"]["label"] == g.edges["cache", "service"]["label"] == "get/set"
    assert g.edges["app", "cdn"]["label"] == ""


def test_comments_and_blank_lines_are_ignored_but_counted():
    g = parse_architecture("# heading\n\n   \nApp -> DB   # the simplest design\n# App -> Cache")
    assert list(g) == ["app", "db"]
    assert node(g, "App")["line"] == 4 and g.edges["app", "db"]["line"] == 4


def test_names_are_case_insensitive_and_keep_the_first_spelling():
    g = parse_architecture("Mobile App -> chat  service\nCHAT SERVICE -> Message Store\nmessage store [db x3]")
    assert list(g) == ["mobile app", "chat service", "message store"]
    assert node(g, "chat service")["label"] == "chat service"
    assert node(g, "Message Store") == {"label": "Message Store", "kind": "db", "replicas": 3, "line": 2}


def test_a_declaration_may_give_the_kind_a_name_lacks():
    g = parse_architecture("App -> Shortener -> DB\nShortener [service x2]")
    assert node(g, "Shortener")["kind"] == "service" and node(g, "Shortener")["replicas"] == 2


def test_an_empty_text_is_an_empty_graph():
    assert parse_architecture("# nothing yet\n").number_of_nodes() == 0


GOOD = "App -> Service -> DB\n# a comment\n"


@pytest.mark.parametrize(("line", "fragment"), [
    ("Service ->", "the arrow '->' at the end has no component after it"),
    ("<- DB", "the arrow '<-' at the start has no component before it"),
    ("App -> -> DB", "empty component between '->' and '->'"),
    ("App -> DB [db", "bad brackets in 'DB [db'"),
    ("App -> DB db]", "bad brackets"),
    ("App -> DB [db] primary", "bad brackets"),
    ("App -> [db]", "a component needs a name before '[db]'"),
    ("App -> DB []", "empty brackets"),
    ("App -> DB [db x0]", "replica count 'x0' must be at least x1"),
    ("App -> DB [db x]", "bad replica count 'x'"),
    ("App -> DB [db 3]", "bad replica count '3'"),
    ("App => DB", "unknown arrow '=>'"),
    ("App --> DB", "unknown arrow '-->'"),
    ("App → DB", "unknown arrow '→'"),
    ("App -> DB, Cache", "unexpected character ','"),
    ("App -> DB [spaceship]", "unknown kind 'spaceship': use one of client, cdn, dns, lb"),
    ("App -> Widget", "can't tell what kind of component 'Widget' is"),
    ("App -> DB :", "empty label"),
    ("DB : primary", "needs an arrow"),
    ("App -> app", "an arrow from 'App' to itself"),
    ("Load Balancer x2 -> App", "put the replica count in the brackets: 'Load Balancer [lb x2]'"),
    ("- -> DB", "needs a letter or digit"),
])
def test_a_malformed_line_names_its_number_and_text(line, fragment):
    with pytest.raises(CourseInputError) as caught:
        parse_architecture(GOOD + line)
    message = str(caught.value)
    assert caught.value.line == 3 and message.startswith("line 3: ")
    assert fragment in message
    assert message.endswith("\n    " + line)


def test_unknown_kind_lists_every_known_kind():
    with pytest.raises(CourseInputError, match="unknown kind") as caught:
        parse_architecture("Thing [gizmo]")
    assert all(kind in str(caught.value) for kind in KINDS)


def test_an_uninferable_name_is_reported_on_the_line_it_first_appears():
    with pytest.raises(CourseInputError, match=r"^line 2: can't tell .* 'Widget \[service\]'") as caught:
        parse_architecture("App -> DB\nApp -> Widget\nWidget -> DB")
    assert caught.value.text == "App -> Widget"


def test_conflicting_kinds_name_both_lines():
    with pytest.raises(CourseInputError) as caught:
        parse_architecture("App -> Store [db]\n\nstore [cache]")
    assert str(caught.value).startswith("line 3: 'Store' is [cache] here but [db] on line 1")


def test_conflicting_replica_counts_name_both_lines():
    with pytest.raises(CourseInputError, match=r"^line 2: 'LB' has x3 here but x2 on line 1"):
        parse_architecture("App -> LB [lb x2]\nLB [x3] -> Service")


def test_repeating_a_kind_by_synonym_or_without_replicas_agrees():
    g = parse_architecture("App -> Store [db x2]\nStore [database]\nStore [x2]")
    assert node(g, "Store")["kind"] == "db" and node(g, "Store")["replicas"] == 2


def test_text_is_required():
    with pytest.raises(CourseInputError, match="expected the architecture as text, got list"):
        parse_architecture(["App -> DB"])


# --- structural checks ----------------------------------------------------------------------------


def test_a_single_load_balancer_is_a_single_point_of_failure():
    assert single_points_of_failure("App -> LB -> API [x3] -> DB [db x3]") == ["LB"]


def test_a_replicated_load_balancer_is_not():
    assert single_points_of_failure("App -> LB [x2] -> API [x3] -> DB [db x3]") == []


def test_a_bypass_path_removes_a_single_point_of_failure():
    text = "App -> LB -> API [x3] -> DB [db x3]\nApp -> Backup LB [lb] -> API"
    assert single_points_of_failure(text) == []


def test_a_single_replica_database_is_a_single_point_of_failure_and_clients_never_are():
    assert single_points_of_failure("App -> API [x2] -> DB") == ["DB"]
    assert single_points_of_failure("App -> API [x2] -> Primary DB\nAPI -> Replica DB") == []


def test_no_path_means_nothing_to_cut():
    assert single_points_of_failure("App -> API\nWorker -> DB") == []


def test_path_exists_follows_the_arrows():
    assert path_exists(CHAT)
    assert path_exists(CHAT, "client", "cache")
    assert not path_exists("App -> API\nDB -> API")
    assert not path_exists(CHAT, "client", "search")
    assert path_exists(CHAT, "user", "database")  # synonyms are accepted
    with pytest.raises(CourseInputError, match="unknown kind 'store room'"):
        path_exists(CHAT, "client", "store room")


@pytest.mark.parametrize(("text", "on_path"), [
    (CHAT, True),
    ("App -> Redis", True),
    ("App -> LB -> Gateway -> Service -> Feed Cache", True),
    ("App -> Service -> Queue -> Worker -> Feed Cache", False),  # behind a queue: the write side
    ("App -> Service -> DB -> Cache", False),
    ("App -> Service\nCache -> Service", False),  # the arrow points the wrong way
])
def test_cache_on_read_path(text, on_path):
    assert cache_on_read_path(text) is on_path


def test_missing_kinds_in_the_requested_order():
    assert missing_kinds(CHAT, ["search", "lb", "Redis", "cdn", "cache"]) == ["search", "cdn"]
    assert missing_kinds(CHAT, "db") == []
    with pytest.raises(CourseInputError, match="unknown kind 'warp drive'"):
        missing_kinds(CHAT, ["warp drive"])


def test_assert_architecture_prints_a_summary_when_the_design_passes(capsys):
    assert_architecture(CHAT, require_kinds=["client", "Load Balancer", "cache", "db"], read_cache=True,
                        no_spof=False)
    out = capsys.readouterr()
    assert out.out == ("✓ architecture: 7 components, 6 connections; required kinds present: client, lb, "
                       "cache, db; cache on the read path\n")
    assert out.err == ""


def test_assert_architecture_lists_every_problem():
    text = "App -> LB -> API [x2] -> DB\nAPI -> Queue -> Worker -> Cache"
    with pytest.raises(AssertionError) as caught:
        assert_architecture(text, require_kinds=["client", "db", "search"], read_cache=True, no_spof=True)
    assert isinstance(caught.value, CheckFailed)
    message = str(caught.value)
    assert message.startswith("architecture: ")
    problems = message.removeprefix("architecture: ").split("; ")
    assert len(problems) == 3
    assert problems[0].startswith("no search index")
    assert problems[1].startswith("no cache on the read path")
    assert problems[2].startswith("single points of failure: LB, DB")


def test_assert_architecture_reports_a_missing_path():
    with pytest.raises(AssertionError, match=r"^architecture: no path from a client to a database"):
        assert_architecture("App -> API [x2]\nDB [db x3] -> API")


def test_architecture_problems_is_empty_for_a_sound_design():
    assert architecture_problems(CHAT, read_cache=True, no_spof=True) == []


def test_assert_architecture_with_bad_text_names_the_line():
    with pytest.raises(CourseInputError, match="^line 1: "):
        assert_architecture("App =>")


# --- drawing --------------------------------------------------------------------------------------


def drawn_boxes(fig: Figure) -> dict[str, tuple[float, float]]:
    """Node key -> box centre, from the patches tagged ``node:<key>``."""
    (ax,) = fig.axes
    out = {}
    for patch in ax.patches:
        gid = patch.get_gid() or ""
        if gid.startswith("node:"):
            box = patch.get_bbox()
            out[gid.removeprefix("node:")] = ((box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2)
    return out


def texts(fig: Figure) -> list[str]:
    return [text.get_text() for text in fig.axes[0].texts]


def test_draw_gives_a_figure_with_one_box_per_component():
    fig = draw_architecture(CHAT + "Chat Service -> Message Store : writes", title="Chat")
    assert isinstance(fig, Figure)
    assert sorted(drawn_boxes(fig)) == sorted(parse_architecture(CHAT))
    shown = texts(fig)
    for label in ("Mobile App", "Load Balancer", "API Gateway", "Chat Service", "Message Store"):
        assert shown.count(label) == 1
    assert {"load balancer", "database", "cache", "client"} <= set(shown)  # kind captions
    assert shown.count("×3") == 3 and shown.count("×2") == 3  # replica badges
    assert "writes" in shown and "Chat" in shown


def test_draw_layers_from_the_clients_down():
    boxes = drawn_boxes(draw_architecture(CHAT))
    heights = [boxes[name][1] for name in ("mobile app", "load balancer", "api gateway", "chat service",
                                           "message queue", "message store")]
    assert heights == sorted(heights, reverse=True)
    assert boxes["message queue"][1] == boxes["presence cache"][1]  # both one hop from the service


def test_unreachable_components_join_their_kinds_layer():
    boxes = drawn_boxes(draw_architecture("App -> Service -> DB\nCron Job [service] -> DB\nWarehouse"))
    assert boxes["cron job"][1] == boxes["service"][1]
    assert boxes["warehouse"][1] == boxes["db"][1]
    no_clients = drawn_boxes(draw_architecture("DB <- Service"))
    assert no_clients["service"][1] > no_clients["db"][1]


def test_one_arrow_per_connection_double_headed_both_ways():
    (ax,) = draw_architecture(CHAT).axes
    arrows = [patch for patch in ax.patches if isinstance(patch, FancyArrowPatch)]
    styles = sorted(type(arrow.get_arrowstyle()).__name__ for arrow in arrows)
    assert styles == ["CurveFilledAB"] * 2 + ["CurveFilledB"] * 4


def test_drawing_is_deterministic():
    def png() -> bytes:
        buffer = io.BytesIO()
        draw_architecture(CHAT, title="Chat").savefig(buffer, format="png")
        return buffer.getvalue()

    assert png() == png()


def test_drawing_nothing_is_an_error():
    with pytest.raises(CourseInputError, match="nothing to draw"):
        draw_architecture("# empty")


def test_show_displays_a_png_and_raises_on_bad_text(monkeypatch):
    shown = []
    monkeypatch.setattr(arch, "display", shown.append)
    assert show_architecture(CHAT, title="Chat") is None
    assert len(shown) == 1 and isinstance(shown[0], Image) and shown[0].data.startswith(b"\x89PNG")
    with pytest.raises(CourseInputError, match="^line 2: "):
        show_architecture("App -> DB\nApp ->")
    assert len(shown) == 1


# --- the sketchpad --------------------------------------------------------------------------------


@pytest.fixture
def live(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("COURSE_STATIC_WIDGETS", raising=False)


def test_editor_draws_the_initial_text(live):
    editor = architecture_editor("App -> Service -> DB", title="Sketch")
    assert editor.textarea.value == "App -> Service -> DB" and editor.textarea.rows == 12
    assert "course-architecture-text" in editor.textarea._dom_classes
    (bundle,) = editor.output.outputs
    assert bundle["output_type"] == "display_data" and bundle["data"]["image/png"].startswith("iVBOR")
    assert "✓ 3 components, 2 connections" in editor.status.value


def test_editor_redraws_when_the_text_changes(live):
    editor = architecture_editor("App -> Service -> DB")
    before = editor.output.outputs
    editor.textarea.value = "App -> LB [x2] -> Service -> DB"
    assert editor.output.outputs != before
    assert list(editor.graph) == ["app", "lb", "service", "db"]
    assert "✓ 4 components, 3 connections" in editor.status.value


def test_editor_shows_an_error_in_red_and_keeps_the_diagram_and_the_text(live):
    editor = architecture_editor("App -> Service -> DB")
    before, graph = editor.output.outputs, editor.graph
    bad = "App -> Service -> DB\nService =>"
    editor.textarea.value = bad
    assert "line 2: unknown arrow" in editor.status.value and arch._ERROR_COLOUR in editor.status.value
    assert editor.output.outputs is before and editor.graph is graph
    assert editor.textarea.value == bad
    editor.textarea.value = "App -> Service -> DB\nService -> Cache"
    assert "✓ 4 components" in editor.status.value and editor.output.outputs is not before


def test_editor_skips_redrawing_when_only_comments_change(live):
    editor = architecture_editor("App -> Service -> DB")
    before = editor.output.outputs
    editor.textarea.value = "# sketch\nApp -> Service -> DB   # v1"
    assert editor.output.outputs is before


def test_editor_starts_empty_with_a_hint(live):
    editor = architecture_editor()
    assert editor.output.outputs == () and "One connection per line" in editor.status.value


def test_editor_is_a_static_figure_under_grading(monkeypatch, capsys):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    shown = []
    monkeypatch.setattr(arch, "display", shown.append)
    assert architecture_editor("App -> Service -> DB") is None
    assert len(shown) == 1 and isinstance(shown[0], Image)
    assert architecture_editor("App ->") is None  # a broken sketch must not fail the grading run
    assert len(shown) == 1
    out = capsys.readouterr()
    assert "line 1: the arrow '->' at the end" in out.out and out.err == ""


def test_the_docstring_says_what_is_graded():
    assert "What is graded is the text in the answer cell" in textwrap.dedent(architecture_editor.__doc__)


@pytest.mark.parametrize("text", [
    CHAT,
    "App -> Service -> DB",
    'App -> Service : says """hi"""\nService -> DB',
    "App -> Service : C:\\path\nService -> DB",
    'App -> Service : "quoted"',
])
def test_copy_to_answer_gives_the_answer_cells_code_for_the_current_text(live, text):
    editor = architecture_editor("App -> Service")
    editor.textarea.value = text  # what the student typed last, not the initial sketch
    editor.copy_button.click()
    source = editor.copied
    assert source.startswith("architecture = ")
    namespace: dict = {}
    exec(compile(source, "<answer cell>", "exec"), namespace)  # pastes as a valid answer cell
    assert namespace["architecture"].strip("\n") == text.strip("\n")
    same = [arch._signature(parse_architecture(t), None) for t in (namespace["architecture"], text)]
    assert same[0] == same[1]  # the same components, kinds, replicas and connections
    # Shown ready to paste, escaped, with what to do ...
    assert html_unescape_pre(editor.paste.value) == source
    assert "Paste it over the whole answer cell" in editor.paste.value and "what is graded" in editor.paste.value
    # ... and offered to the browser's clipboard as a JSON string, with no markup able to close a script.
    (bundle,) = editor.clipboard.outputs
    script = bundle["data"]["application/javascript"]
    assert "navigator.clipboard.writeText" in script and "<" not in script
    assert json.loads(script[script.index('("') + 1: script.rindex(")")]) == source


def html_unescape_pre(value: str) -> str:
    import html as _html
    import re as _re

    (block,) = _re.findall(r"<pre[^>]*>(.*?)</pre>", value, flags=_re.S)
    return _html.unescape(block)


def test_copy_to_answer_warns_about_a_broken_or_empty_sketch_and_still_copies(live):
    editor = architecture_editor("App -> Service -> DB")
    editor.textarea.value = "App -> Service -> DB\nService =>"
    editor.copy_button.click()
    assert "The sketch has an error" in editor.paste.value and "line 2: unknown arrow" in editor.paste.value
    assert "Service =&gt;" in editor.paste.value
    editor.textarea.value = "   \n# nothing yet"
    editor.copy_button.click()
    assert "The sketch is empty" in editor.paste.value
    assert editor.copied == 'architecture = """\n   \n# nothing yet\n"""'


def test_answer_cell_refuses_bad_input():
    with pytest.raises(CourseInputError, match="as text"):
        arch.answer_cell(None)  # type: ignore[arg-type]
    with pytest.raises(CourseInputError, match="not a Python variable name"):
        arch.answer_cell("A -> B", name="my answer")
