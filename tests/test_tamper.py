"""Tampering earns nothing: adversarial fake students through a real nbgrader autograde, and the static scan.

Every adversary in ``tests/fake_students.py`` hands in WRONG traffic estimates plus code that tries to
pass them anyway (shadowed or patched builtins and checkers, IPython input/AST transformers and event
hooks, a swallowed exception, an injected ``execute_result``, a replaced ``run_cell``, swapped
``sys.modules`` entries, a fake guard, tracing, a patching thread, rigged ``__eq__`` objects, hard-coded
numbers). Each must score 0 on the traffic test cell and no more than the honest wrong student overall,
and the scan must name the rule. A control run with nbgrader's own pipeline shows the attacks are real.
"""

from __future__ import annotations

import json

import nbformat
import pytest
from nbformat.notebooknode import NotebookNode
from nbgrader.api import Gradebook

from authoring.sessions import SESSIONS
from course import submissions
from course.demo import api_for, make_course
from course.grading import guard
from course.grading.scan import RULES, scan_notebook, scan_source
from course.nbgrader_ext import INTEGRITY_ENAME, SUPERVISION_CELL_ID, Supervise, VerifySupervision, is_test_cell
from tests.fake_students import ADVERSARIES, SESSION, student
from tests.helpers import release_nb, source_nb

STUDENTS = ["perfect", "wrong", *ADVERSARIES]
#: Attacks that beat nbgrader's own pipeline (measured: a wrong answer scored full marks on every test cell).
BEATS_PLAIN_NBGRADER = ["f2b_patch_while_checked", "f3_input_transformer", "ast_transformer", "custom_exc",
                        "execute_result_injection", "run_cell_replaced"]


def _grade(course_dir, names, *, plain_nbgrader: bool = False) -> dict:
    if plain_nbgrader:  # nbgrader's default Autograde pipeline: no supervision
        config = course_dir / "nbgrader_config.py"
        config.write_text(config.read_text().replace("c.Autograde.autograde_preprocessors = [", "_plain = ["))
    api = api_for(course_dir)
    assert api.generate_assignment(SESSION, force=True)["success"]
    release = submissions.read(course_dir / "release" / SESSION / f"{SESSION}.ipynb")
    source = submissions.read(course_dir / "source" / SESSION / f"{SESSION}.ipynb")
    for name in names:
        submissions.write(student(release, source, name), course_dir / "submitted" / name / SESSION / f"{SESSION}.ipynb")
    api.autograde(SESSION, "*", force=True)  # one batch; a student whose kernel dies fails alone
    with Gradebook(api.coursedir.db_url, course_id=api.coursedir.course_id) as gb:
        cells = {s.student.id: {g.name: g.auto_score for nb in s.notebooks for g in nb.grades if g.name.startswith("test_")}
                 for s in gb.assignment_submissions(SESSION)}
    return {"dir": course_dir, "cells": cells, "total": {k: sum(v or 0 for v in c.values()) for k, c in cells.items()},
            "max": sum(c.metadata["nbgrader"]["points"] for c in source.cells if is_test_cell(c))}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return _grade(make_course(tmp_path_factory.mktemp("tamper")), STUDENTS)


def _autograded(graded, name) -> NotebookNode:
    return submissions.read(graded["dir"] / "autograded" / name / SESSION / f"{SESSION}.ipynb")


def _outputs(nb, grade_id):
    return next(c.outputs for c in nb.cells if submissions.grade_id(c) == grade_id)


# -- the real autograde ----------------------------------------------------------------------------

@pytest.mark.e2e
def test_perfect_student_gets_every_point_and_no_note(graded):
    assert graded["total"]["perfect"] == graded["max"] > 0
    text = json.dumps(_autograded(graded, "perfect"))
    assert "Grading note" not in text and INTEGRITY_ENAME not in text


@pytest.mark.e2e
def test_honest_wrong_answers_lose_the_traffic_points(graded):
    assert graded["cells"]["wrong"]["test_traffic"] == 0
    assert graded["total"]["wrong"] < graded["max"]


@pytest.mark.e2e
@pytest.mark.parametrize("name", list(ADVERSARIES))
def test_tampering_earns_nothing_for_wrong_answers(graded, name):
    cells = graded["cells"][name]
    assert cells["test_traffic"] == 0, f"{name} scored on the wrong traffic answers"
    assert graded["total"][name] <= graded["total"]["wrong"], f"{name} scored more than an honest wrong answer"
    if ADVERSARIES[name].ordering:
        assert cells["test_ordering"] == 0


@pytest.mark.e2e
@pytest.mark.parametrize("name", list(ADVERSARIES))
def test_scan_names_the_rule(graded, name):
    path = graded["dir"] / "submitted" / name / SESSION / f"{SESSION}.ipynb"
    flags = scan_notebook(path)
    found = {flag.split(":", 1)[0] for flag in flags}
    assert set(ADVERSARIES[name].rules) <= found, flags
    assert all(" line " in flag and "cell " in flag for flag in flags)


@pytest.mark.e2e
def test_scan_leaves_honest_students_alone(graded):
    for name in ("perfect", "wrong"):
        assert scan_notebook(graded["dir"] / "submitted" / name / SESSION / f"{SESSION}.ipynb") == []


@pytest.mark.e2e
def test_the_grader_says_what_it_undid(graded):
    notes = [o.text for o in _outputs(_autograded(graded, "f2_patch_builtins_and_course"), "test_assumptions")
             if o.output_type == "stream"]
    assert any("Grading note" in text and "builtins.abs" in text and "course.checks.check" in text for text in notes)


@pytest.mark.e2e
@pytest.mark.parametrize("name", ["f3_input_transformer", "run_cell_replaced", "fake_guard", "ast_transformer",
                                  "execute_result_injection", "custom_exc"])
def test_a_check_cell_that_did_not_really_run_gets_an_integrity_error(graded, name):
    outputs = _outputs(_autograded(graded, name), "test_traffic")
    assert outputs and outputs[0].output_type == "error", outputs
    assert outputs[0].ename in (INTEGRITY_ENAME, "CheckFailed")
    assert not any(o.output_type == "execute_result" for o in outputs)


@pytest.mark.e2e
def test_a_patching_thread_stops_the_checks(graded):
    outputs = _outputs(_autograded(graded, "patching_thread"), "test_traffic")
    assert any(o.output_type == "error" and "background thread" in o.evalue for o in outputs)


@pytest.mark.e2e
def test_supervision_leaves_no_trace_in_the_autograded_notebooks(graded):
    source = submissions.read(graded["dir"] / "source" / SESSION / f"{SESSION}.ipynb")
    masters = {submissions.grade_id(c): c.source for c in source.cells if is_test_cell(c)}
    for name in STUDENTS:
        nb = _autograded(graded, name)
        assert nb.cells[0].get("id") != SUPERVISION_CELL_ID
        outputs = json.dumps([cell.get("outputs", []) for cell in nb.cells])
        assert guard.RECEIPT_MIME not in outputs and guard.KEY_MIME not in outputs
        for cell in nb.cells:
            if is_test_cell(cell):
                assert cell.source == masters[submissions.grade_id(cell)]


@pytest.mark.e2e
def test_the_attacks_beat_plain_nbgrader(tmp_path):
    """Control: with nbgrader's own Autograde pipeline the same wrong answers score full marks."""
    plain = _grade(make_course(tmp_path / "plain"), BEATS_PLAIN_NBGRADER + ["wrong"], plain_nbgrader=True)
    assert plain["cells"]["wrong"]["test_traffic"] == 0
    for name in BEATS_PLAIN_NBGRADER:
        assert plain["cells"][name]["test_traffic"] == 3, name


# -- the grader side, without a kernel -------------------------------------------------------------

def _test_cell(grade_id="test_x", source="check(1)"):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "grade_id": grade_id,
                                 "points": 1, "schema_version": 3}
    return cell


def _supervised(outputs_for):
    """Supervise a one-test-cell notebook, then fill in what a kernel would have output."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# t"), _test_cell()])
    resources = {}
    nb, resources = Supervise().preprocess(nb, resources)
    key = bytes(range(32))
    nb.cells[0].outputs = [nbformat.v4.new_output("display_data", data={guard.KEY_MIME: {"key": key.hex()}})]
    entry = resources["course_supervision"]["test_x"]
    nb.cells[2].outputs = outputs_for(key, entry)
    return VerifySupervision().preprocess(nb, resources)[0]


def _receipt(key, entry, *, cell="test_x", source=None):
    mac = guard.receipt_mac(key, cell, entry["nonce"], entry["source"] if source is None else source)
    return nbformat.v4.new_output("display_data", data={guard.RECEIPT_MIME: {"cell": cell, "nonce": entry["nonce"], "mac": mac}})


def test_supervise_sends_test_cells_through_the_guard():
    nb = nbformat.v4.new_notebook(cells=[_test_cell(source="check(1)\n### BEGIN HIDDEN TESTS\n_check(2)\n### END HIDDEN TESTS")])
    nb, resources = Supervise().preprocess(nb, {})
    assert nb.cells[0].id == SUPERVISION_CELL_ID and "arm()" in nb.cells[0].source
    assert nb.cells[1].source.startswith("__import__('course.grading.guard', fromlist=['run']).run('test_x', ")
    assert "_check(2)" in nb.cells[1].source and resources["course_supervision"]["test_x"]["source"].startswith("check(1)")


def test_a_valid_receipt_keeps_the_cell_and_is_removed():
    nb = _supervised(lambda key, entry: [nbformat.v4.new_output("stream", text="✓ ok\n"), _receipt(key, entry)])
    assert len(nb.cells) == 2 and nb.cells[1].source == "check(1)"
    assert [o.output_type for o in nb.cells[1].outputs] == ["stream"]


@pytest.mark.parametrize("bad", ["missing", "wrong source", "other cell", "no key", "execute_result"])
def test_no_valid_receipt_means_an_integrity_error_first(bad):
    def outputs(key, entry):
        result = nbformat.v4.new_output("execute_result", data={"text/plain": "'full marks'"}, execution_count=1)
        return {"missing": [], "wrong source": [_receipt(key, entry, source="pass")],
                "other cell": [_receipt(key, entry, cell="test_y")],
                "no key": [_receipt(bytes(32), entry)], "execute_result": [result]}[bad]

    nb = _supervised(outputs)
    assert nb.cells[1].outputs[0].output_type == "error" and nb.cells[1].outputs[0].ename == INTEGRITY_ENAME
    assert not any(o.output_type in ("execute_result", "display_data") for o in nb.cells[1].outputs)


def test_the_guard_runs_visible_and_hidden_checks_apart_with_the_cells_line_numbers():
    source = "a = 1\nb = 2\n### BEGIN HIDDEN TESTS\nc = 3\n### END HIDDEN TESTS"
    visible, hidden = guard._parts(source)
    assert visible == "a = 1\nb = 2" and hidden.startswith("\n\n### BEGIN HIDDEN TESTS")
    assert guard._parts("x = 1") == ["x = 1"]


def test_unsupervised_hidden_checks_still_work_and_say_they_are_hidden():
    from course.grading import verified

    verified.check("x", "4 msg/s", "4 msg/s")
    with pytest.raises(AssertionError, match=r"^hidden check: x: expected 4 msg/s"):
        verified.check("x", "3 msg/s", "4 msg/s")
    with pytest.raises(AttributeError):
        verified.no_such_checker  # noqa: B018


def test_verified_checkers_ignore_patches_of_the_public_ones(monkeypatch):
    import builtins

    import course.checks
    from course.grading import verified

    verified.check("x", "4 msg/s", "4 msg/s")  # the private copies exist before anything is patched
    monkeypatch.setattr(course.checks, "_abs", lambda x: 0.0)
    monkeypatch.setattr(builtins, "abs", lambda x: 0.0)
    with pytest.raises(AssertionError):
        verified.check("x", "3 msg/s", "4 msg/s")


# -- the static scan -------------------------------------------------------------------------------

RULE_EXAMPLES = {
    "ipython-hooks": "get_ipython().events.register('pre_run_cell', print)",
    "custom-exc": "get_ipython().set_custom_exc((Exception,), print)",
    "builtins-patch": "import builtins\nbuiltins.abs = lambda x: 0",
    "sys-modules": "import sys\nsys.modules['course.checks'] = None",
    "course-internals": "import course.checks\ncourse.checks.check = print",
    "monkeypatch": "import math\nmath.isfinite = lambda x: True",
    "rigged-object": "class R(float):\n    def __eq__(self, other):\n        return True",
    "hard-coded": "def messages_per_second(a):\n    return q('57870 msg/s')",
    "introspection": "f = lambda: 0\nprint(f.__globals__)",
    "dynamic-code": "eval('1 + 1')",
    "settrace": "import sys\nsys.settrace(None)",
    "threads": "import threading",
    "file-access": "open('../../../gradebook.db')",
    "subprocess": "!ls",
    "signal": "import signal",
    "exit": "import sys\nsys.exit(0)",
    "network": "import socket",
}


@pytest.mark.parametrize("rule", RULES)
def test_every_rule_has_a_name_and_fires(rule):
    assert rule in {found[1] for found in scan_source(RULE_EXAMPLES[rule])}


@pytest.mark.parametrize("session", list(SESSIONS))
def test_reference_solutions_and_releases_scan_clean(session):
    """No false positive on any session: the solution cells, and the release, scan clean."""
    source = submissions.read(source_nb(session))
    for cell in source.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            assert scan_source(submissions.strip_markers(cell.source)) == [], submissions.grade_id(cell)
    assert scan_notebook(release_nb(session)) == []


@pytest.mark.parametrize("session", list(SESSIONS))
def test_a_filled_in_notebook_scans_clean_and_its_set_up_is_trusted(session, tmp_path):
    nb = submissions.fill(submissions.read(release_nb(session)), submissions.read(source_nb(session)))
    path = submissions.write(nb, tmp_path / "submitted" / "ada" / session / f"{session}.ipynb")
    assert scan_notebook(path) == []


def test_flags_name_rule_cell_and_line(tmp_path):
    nb = submissions.read(release_nb(SESSION))
    nb.cells.insert(3, nbformat.v4.new_code_cell("x = 1\nabs = len"))
    path = submissions.write(nb, tmp_path / f"{SESSION}.ipynb")
    assert scan_notebook(path) == ["builtins-patch: cell 4 line 2: shadows the builtin 'abs'"]


def test_the_set_up_cell_is_not_trusted_when_changed(tmp_path):
    nb = submissions.read(release_nb(SESSION))
    setup = next(c for c in nb.cells if c.get("id") == "setup")
    setup.source += "\nimport builtins\nbuiltins.abs = len"
    path = submissions.write(nb, tmp_path / "submitted" / "eve" / SESSION / f"{SESSION}.ipynb")
    assert any(flag.startswith("builtins-patch: cell") for flag in scan_notebook(path))


def test_an_unreadable_notebook_is_one_flag(tmp_path):
    path = tmp_path / "broken.ipynb"
    path.write_text("{not json")
    assert scan_notebook(path) == ["unreadable: broken.ipynb: JSONDecodeError"]


def test_scan_command_exits_1_when_anything_is_flagged(tmp_path, capsys):
    from course.cli import main

    nb = submissions.read(release_nb(SESSION))
    nb.cells.insert(3, nbformat.v4.new_code_cell("import sys\nsys.modules.clear()"))
    submissions.write(nb, tmp_path / "bad" / f"{SESSION}.ipynb")
    assert main(["scan", str(release_nb(SESSION))]) == 0
    assert main(["scan", str(tmp_path)]) == 1
    assert "sys-modules: cell 4 line 2" in capsys.readouterr().out


def test_hidden_messages_keep_the_scenarios_inputs_out():
    from course.assumptions import Assumptions
    from course.grading import verified

    scenario = Assumptions(peak_factor="2", retention="90 day")
    with pytest.raises(AssertionError) as failed:
        verified.check("peak (scenario 'small')", "10 msg/s", "20 msg/s", scenario=scenario)
    assert str(failed.value) == ("hidden check: peak (scenario 'small'): expected 20 msg/s (±2%), got 10 msg/s, "
                                 "2× too low.\nLikely mistake: a forgotten peak factor.")
