"""Verification outside the kernel, piece by piece: the channel's plain data, the comparators, the verdict
nbgrader scores, fresh scenarios, and every session's cases against its own reference solution."""

from __future__ import annotations

import json
import random

import pytest
from nbformat.notebooknode import NotebookNode
from nbgrader.utils import determine_grade

from authoring.sessions import SESSIONS
from course.grading import channel, compare, reference
from course.grading.cases import Case, fresh_scenario, scenario_input, step
from course.grading.verify import (
    case_sources, cell_rng, judge, results_of, submission_seed, verdict_outputs,
)
from tests.helpers import source_nb


# -- the channel ----------------------------------------------------------------------------------------

def test_plain_values_keep_their_exact_types():
    encoded = channel.encode([1, 1.0, True, None, "x", (1, "a"), {"k": 2}, {3}, range(2, 5), b"\x00\xff"])
    assert encoded == [1, 1.0, True, None, "x", {"$tuple": [1, "a"]}, {"$dict": [["k", 2]]}, {"$set": [3]},
                       {"$range": [2, 5, 1]}, {"$bytes": "00ff"}]
    back = json.loads(json.dumps(encoded))
    assert type(back[0]) is int and type(back[1]) is float and back[2] is True


def test_quantities_numpy_and_tables_become_plain_data():
    import numpy as np
    import pandas as pd

    from course.units import q

    assert channel.encode(q("5 MB/s")) == {"$q": [5, "megabyte / second"]}
    assert channel.encode(np.float64(2.5)) == 2.5 and channel.encode(np.int64(7)) == 7
    frame = channel.encode(pd.DataFrame({"a": [1, 2]}, index=["x", "y"]))
    assert frame == {"$df": {"index": ["x", "y"], "columns": ["a"], "data": [[1], [2]]}}


def test_look_alike_objects_are_named_not_trusted():
    class Rigged(float):
        def __eq__(self, other):
            return True

    fake = type("float64", (), {"__module__": "numpy", "item": lambda self: "nope"})()
    assert channel.encode(Rigged(3)) == {"$other": f"{__name__}.Rigged"}
    assert channel.encode(fake) == "nope"


def test_huge_and_deeply_nested_results_are_refused_not_followed():
    deep: list = []
    for _ in range(50_000):
        deep = [deep]
    ns = {"huge": list(range(channel.MAX_NODES + 10)), "deep": deep}
    assert channel.evaluate({"kind": "value", "name": "huge"}, ns) == {"$toolarge": channel.MAX_NODES}
    assert "$toolarge" in channel.evaluate({"kind": "value", "name": "deep"}, ns)


def test_calls_and_scripts_report_errors_and_missing_names_as_results():
    ns = {"f": lambda x: 1 / x}
    assert channel.evaluate({"kind": "call", "name": "f", "args": [0]}, ns) == {"$raises": ["ZeroDivisionError", "division by zero"]}
    assert channel.evaluate({"kind": "call", "name": "g", "args": []}, ns) == {"$missing": "g"}
    script = {"kind": "script", "steps": [step("dict", let="d", keep=False), step("d.setdefault", "a", 1),
                                          step("d.get", "a"), step("nothing.here")]}
    assert channel.evaluate(script, ns) == [1, 1, {"$missing": "nothing"}]
    failing = {"kind": "script", "steps": [step("f", 0, let="x", keep=False), step("x.real")]}
    assert channel.evaluate(failing, ns) == [{"$raises": ["ZeroDivisionError", "division by zero"]}]


def test_the_probe_adds_no_name_to_the_notebook_and_publishes_one_result():
    published = []
    ns = {"f": lambda a: a * 2}
    source = channel.probe_source({"cases": [{"kind": "call", "name": "f", "args": [21]}]})
    import IPython.display

    real = IPython.display.publish_display_data
    IPython.display.publish_display_data = lambda data, **kwargs: published.append(data)
    try:
        exec(source, ns)  # noqa: S102 - the probe, as the kernel runs it
    finally:
        IPython.display.publish_display_data = real
    assert published == [{channel.MIME: {"results": [42]}}]
    assert sorted(k for k in ns if k != "__builtins__") == ["f"]


# -- comparators ----------------------------------------------------------------------------------------

CASE = Case("call", "f", label="f")


@pytest.mark.parametrize("expected, got, same", [
    (7, 7, True), (7, 7.0, False), (1, True, False), ([1, 2], [1, 2], True), ({"$tuple": [1]}, [1], False),
    ({"$raises": ["ValueError", "bad"]}, {"$raises": ["ValueError", "other words"]}, True),
    ({"$raises": ["ValueError", "bad"]}, {"$raises": ["ValueError", ""]}, False),
    ({"$raises": ["ValueError", "bad"]}, {"$raises": ["TypeError", "bad"]}, False),
    ({"$raises": ["ValueError", "bad"]}, None, False),
])
def test_exact_comparison_is_type_strict(expected, got, same):
    assert (compare.exact()(expected, got, CASE) is None) is same


def test_a_wrong_figure_gets_the_diagnosis_of_its_mistake():
    check = compare.quantity()
    want = {"$q": [57870.37, "message / second"]}
    assert check(want, {"$q": [57870.37 * 1.01, "message / second"]}, CASE) is None
    message = check(want, {"$q": [57870.37 * 8, "message / second"]}, CASE)
    assert "8× too high" in message and "bits vs bytes" in message
    assert "per day vs per second" in check(want, {"$q": [57870.37 * 86400, "message / second"]}, CASE)
    assert "rate per second" in check(want, {"$q": [57870.37 * 86400, "message / day"]}, CASE)  # not QPS
    assert check({"$q": [5e9, "message / day"]}, {"$q": [57870.37, "message / second"]}, CASE) is None
    assert "expected a number with units" in check(want, "57870", CASE)
    assert "stub" in check(want, {"$raises": ["NotImplementedError", ""]}, CASE)
    for malformed in ({"$q": [1, {"a": 1}]}, {"$q": ["1", "s"]}, {"$q": [float("nan"), "s"]}, {"$q": [1, "furlongs of doom"]}):
        assert check(want, malformed, CASE)


def test_a_count_rounded_up_on_an_exact_edge_accepts_either_honest_rounding():
    judge_count = compare.ceiling(lambda s: float(s["need"]), "server")
    on_edge = Case("call", "servers", label="servers", scenario={"need": "10"})
    off_edge = Case("call", "servers", label="servers", scenario={"need": "10.4"})
    for got in (10, 11):
        assert judge_count({"$q": [10, "server"]}, {"$q": [got, "server"]}, on_edge) is None
    assert judge_count({"$q": [10, "server"]}, {"$q": [12, "server"]}, on_edge)
    assert judge_count({"$q": [11, "server"]}, {"$q": [12, "server"]}, off_edge)
    assert judge_count({"$q": [11, "server"]}, {"$q": [11, "server"]}, off_edge) is None


def test_text_checks_refuse_what_is_not_text_and_never_crash():
    def checker(text, **kwargs):
        if "db" not in text:
            raise AssertionError("no database")

    judge_text = compare.text_check(checker)
    assert judge_text(None, "app -> db", CASE) is None
    assert judge_text(None, "app", CASE) == "no database"
    assert "expected text" in judge_text(None, 42, CASE)
    assert "keep it under" in judge_text(None, "db" * 40_000, CASE)
    boom = compare.text_check(lambda text: 1 / 0)
    assert "could not be checked" in boom(None, "x", CASE)


# -- the verdict nbgrader scores --------------------------------------------------------------------------

def _cell(outputs):
    return NotebookNode(cell_type="code", source="", outputs=outputs, execution_count=None,
                        metadata=NotebookNode(nbgrader=NotebookNode(grade=True, solution=False, points=3, grade_id="t")))


@pytest.mark.parametrize("passed, failures, score", [(2, [], 3.0), (1, ["f: wrong"], 1.5), (0, ["f: wrong", "g: wrong"], 0.0)])
def test_the_verdict_scores_in_nbgrader_as_it_says(passed, failures, score):
    outputs, said = verdict_outputs(3, passed, 2, [CASE, CASE], failures)
    assert said == score
    assert determine_grade(_cell(outputs))[0] == score


def test_only_the_channels_message_counts_and_within_its_size():
    good = [NotebookNode(output_type="display_data", data={channel.MIME: {"results": [1, 2]}}, metadata={})]
    assert results_of(good, 2, 1000) == ([1, 2], "")
    assert results_of([], 2, 1000)[0] is None
    assert results_of(good, 3, 1000)[0] is None
    assert "too large" in results_of(good, 2, 5)[1]
    errors = [NotebookNode(output_type="error", ename="KeyboardInterrupt", evalue="", traceback=[])]
    assert "could not evaluate" in results_of(errors, 2, 1000)[1]


def test_an_answer_passes_only_when_all_its_cases_do():
    cases = [Case("call", "f", label="f 1"), Case("call", "f", label="f 2"), Case("call", "g", label="g")]
    passed, failures = judge(cases, [1, 2, 3], [1, 5, 3], "")
    assert passed == ["g"] and failures == ["f 2: expected 2, got 5"]


# -- fresh scenarios and seeds -----------------------------------------------------------------------------

def test_fresh_scenarios_keep_the_shape_of_the_problem():
    template = {"users": "100 M user", "fraction": "0.1", "ratio": "2", "days": "30 day", "size": "1.5 KB/msg",
                "factor": "1.7", "one": "1"}
    seen = set()
    for seed in range(200):
        fresh = fresh_scenario(template, random.Random(seed), keep=["size"])
        assert fresh["size"] == "1.5 KB/msg"
        assert 0 < float(fresh["fraction"]) < 1
        # a factor above 1 never becomes 1: a forgotten factor would then give the right figure
        assert float(fresh["ratio"]) >= 2 and float(fresh["ratio"]) == int(float(fresh["ratio"]))
        assert float(fresh["factor"]) >= 1.5 and float(fresh["one"]) >= 1
        assert fresh["users"].endswith(" M user") and fresh["days"].endswith(" day")
        seen.add(fresh["users"])
    assert len(seen) > 5


def test_the_same_submission_gets_the_same_cases_and_any_change_new_ones():
    nb = {"cells": [{"cell_type": "code", "source": "x = 1"}]}
    changed = {"cells": [{"cell_type": "code", "source": "x = 2"}]}
    a = submission_seed(b"k", "s1", "s1", "alice", nb)
    assert a == submission_seed(b"k", "s1", "s1", "alice", nb)
    assert a != submission_seed(b"k", "s1", "s1", "alice", changed)
    assert a != submission_seed(b"k", "s1", "s1", "bob", nb)
    assert a != submission_seed(b"other", "s1", "s1", "alice", nb)
    assert cell_rng(a, "t1").random() != cell_rng(a, "t2").random()


# -- every session: its cases, its reference ---------------------------------------------------------------

@pytest.mark.parametrize("session", list(SESSIONS))
def test_every_test_cell_has_cases(session):
    from course.nbgrader_ext import is_test_cell
    from course import submissions

    sources = case_sources(session)
    tests = [submissions.grade_id(c) for c in submissions.read(source_nb(session)).cells if is_test_cell(c)]
    assert tests and set(tests) == set(sources)


@pytest.mark.parametrize("session", list(SESSIONS))
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_reference_passes_its_own_cases_on_any_draw(session, seed):
    """Self-consistency: the reference's answers, sent through the same channel, pass every case."""
    ns = reference.namespace(source_nb(session))
    for grade_id, sources in case_sources(session).items():
        rng = random.Random(f"{seed}/{grade_id}")
        cases = [case for source in sources for case in source(rng)]
        requests = [case.request() for case in cases]
        expected = reference.evaluate(source_nb(session), requests)
        got = json.loads(json.dumps([channel.evaluate(r, ns) for r in requests]))
        passed, failures = judge(cases, expected, got, "")
        assert not failures, (grade_id, failures[:3])
        assert len(passed) == len({case.unit for case in cases})


@pytest.mark.parametrize("session", list(SESSIONS))
def test_hidden_scenarios_are_fresh_and_computed_by_the_reference(session):
    spec = SESSIONS[session]
    sources = case_sources(session)
    estimate_cells = [gid for gid, srcs in sources.items()
                      if any(c.kind == "call" and c.hidden and c.scenario for s in srcs for c in s(random.Random(0)))]
    assert estimate_cells
    gid = estimate_cells[0]
    draws = [[c for s in sources[gid] for c in s(random.Random(seed)) if c.hidden] for seed in (1, 2)]
    assert draws[0][0].scenario != draws[1][0].scenario
    assert all(dict(c.scenario) not in [dict(v) for v in spec.HIDDEN.values()] for c in draws[0])
    assert draws[0][0].args[0] == scenario_input(draws[0][0].scenario)
