"""The static scan (course/grading/scan.py): every rule fires, honest work scans clean, and it never fails silently.

The scan is a signal for a person, never a grade. What it must never do is come back empty because it
failed: a cell it cannot read (a very long expression, a syntax error, code hidden in a cell magic, a
huge cell) is a flag. Flags name the rule, the cell's position and the line, never the student's cell id
or grade id.
"""

from __future__ import annotations

import json
import time

import nbformat
import pytest

from authoring.sessions import SESSIONS
from course import submissions
from course.grading.scan import MAX_CELL_CHARS, MAX_NOTEBOOK_CHARS, RULES, scan_notebook, scan_source
from tests.helpers import release_nb, source_nb

SESSION = "session1_chat"

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
    "frontend-code": "%%javascript\nalert(1)",
    "unscanned": "def f(:\n    pass",
}
PATCH = "import builtins\nbuiltins.abs = len"  # builtins-patch on lines 1 and 2 of the code


def _rules(found):
    return {rule for _, rule, _ in found}


def _at(found, rule):
    return sorted(line for line, r, _ in found if r == rule)


def _notebook(tmp_path, *sources, name=f"{SESSION}.ipynb", raw_cells=None):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    data = json.loads(nbformat.writes(nb))
    if raw_cells is not None:
        data["cells"] = raw_cells
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


# -- the rules -------------------------------------------------------------------------------------

def test_every_rule_has_an_example():
    assert set(RULE_EXAMPLES) == set(RULES)


@pytest.mark.parametrize("rule", RULES)
def test_every_rule_has_a_name_and_fires(rule):
    assert rule in _rules(scan_source(RULE_EXAMPLES[rule]))


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


#: Code a cheating student adds after the set-up cell, and the rules that must name it.
ATTACKS = {
    "shadow_abs": ("abs = lambda x: 0", {"builtins-patch"}),
    "shadow_checkers": ("check = expect_equal = lambda *args, **kwargs: None", {"course-internals"}),
    "patch_builtins_and_course": ("import builtins\nimport course.checks\nbuiltins.abs = lambda x: 0.0\n"
                                  "course.checks.check = lambda *a, **k: None", {"builtins-patch", "course-internals"}),
    "input_transformer": ("get_ipython().input_transformers_cleanup.append(lambda lines: [])", {"ipython-hooks"}),
    "pre_run_cell": ("get_ipython().events.register('pre_run_cell', lambda info: None)", {"ipython-hooks"}),
    "custom_exc": ("ip = get_ipython()\nip.set_custom_exc((BaseException,), lambda *a, **k: None)", {"custom-exc"}),
    "run_cell_replaced": ("ip = get_ipython()\nip.run_cell_async = None", {"ipython-hooks"}),
    "sys_modules_swap": ("import sys, types\nsys.modules['course.checks'] = types.ModuleType('x')", {"sys-modules"}),
    "grading_machinery": ("import course.grading.channel as channel\nchannel.send = print", {"course-internals"}),
    "settrace": ("import sys\nsys.settrace(lambda *a: None)", {"settrace"}),
    "patching_thread": ("import threading\nthreading.Thread(target=print).start()", {"threads"}),
    "snoop": ("import pathlib\n_hidden = pathlib.Path('session1_chat.ipynb').read_text()\n"
              "_gb = open('../../../gradebook.db', 'rb').read(16)", {"file-access"}),
    "rigged_eq": ("class Rigged(float):\n    def __eq__(self, other):\n        return True", {"rigged-object"}),
    "frames": ("import sys\nf = sys._getframe(1)\nprint(f.f_back.f_locals)", {"introspection"}),
    "hidden_in_capture": ("%%capture\nimport builtins\nbuiltins.abs = len", {"builtins-patch"}),
    "hidden_in_time": ("%time __import__('builtins').abs = len", {"dynamic-code"}),
    "js_in_the_page": ("%%javascript\nIPython.notebook.kernel.execute('x')", {"frontend-code"}),
}


@pytest.mark.parametrize("name", list(ATTACKS))
def test_every_attack_is_named_by_its_rule(name, tmp_path):
    code, rules = ATTACKS[name]
    nb = submissions.fill(submissions.read(release_nb(SESSION)), submissions.read(source_nb(SESSION)))
    setup = next(i for i, c in enumerate(nb.cells) if c.get("id") == "setup")
    nb.cells.insert(setup + 1, nbformat.v4.new_code_cell(code))
    path = submissions.write(nb, tmp_path / "submitted" / name / SESSION / f"{SESSION}.ipynb")
    flags = scan_notebook(path)
    assert rules <= {flag.split(":", 1)[0] for flag in flags}, flags
    assert all(flag.startswith(tuple(f"{r}: cell {setup + 2} line " for r in RULES)) for flag in flags), flags


# -- what a flag says ------------------------------------------------------------------------------

def test_flags_name_rule_cell_and_line(tmp_path):
    nb = submissions.read(release_nb(SESSION))
    nb.cells.insert(3, nbformat.v4.new_code_cell("x = 1\nabs = len"))
    path = submissions.write(nb, tmp_path / f"{SESSION}.ipynb")
    assert scan_notebook(path) == ["builtins-patch: cell 4 line 2: shadows the builtin 'abs'"]


def test_flags_name_cells_by_position_never_by_the_students_ids(tmp_path):
    nb = submissions.read(release_nb(SESSION))
    answer = next(i for i, c in enumerate(nb.cells) if submissions.grade_id(c) == "traffic")
    nb.cells[answer].source += "\nimport socket"
    nb.cells[answer].id = "EVIL-cell-id"
    nb.cells[answer].metadata["nbgrader"]["grade_id"] = "traffic"
    pasted = nbformat.v4.new_code_cell("import signal")
    pasted.id = "pasted-EVIL"
    pasted.metadata["nbgrader"] = {"grade_id": "EVIL_grade_id", "solution": True, "grade": False, "locked": False}
    nb.cells.insert(answer + 1, pasted)
    path = submissions.write(nb, tmp_path / f"{SESSION}.ipynb")
    flags = scan_notebook(path)
    assert {f.split(" line")[0] for f in flags} == {f"network: cell {answer + 1}", f"signal: cell {answer + 2}"}
    assert not any("EVIL" in flag or "traffic" in flag for flag in flags), flags


def test_flags_are_one_printable_line_without_the_csv_separator(tmp_path):
    path = _notebook(tmp_path, "open('/etc/x;\\x1b[31m\\u202e' + '; rm -rf')\nx = '../gradebook;\\n.db'\n"
                               "eval('a;\\nb')")
    flags = scan_notebook(path)
    assert flags
    for flag in flags:
        assert flag.isprintable() and ";" not in flag and "\n" not in flag and len(flag) < 260, flag


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
    path.write_text('{"cells": 5}')
    assert scan_notebook(path) == ["unreadable: broken.ipynb: no list of cells"]


def test_scan_command_exits_1_when_anything_is_flagged(tmp_path, capsys):
    from course.cli import main

    nb = submissions.read(release_nb(SESSION))
    nb.cells.insert(3, nbformat.v4.new_code_cell("import sys\nsys.modules.clear()"))
    submissions.write(nb, tmp_path / "bad" / f"{SESSION}.ipynb")
    assert main(["scan", str(release_nb(SESSION))]) == 0
    assert main(["scan", str(tmp_path)]) == 1
    assert "sys-modules: cell 4 line 2" in capsys.readouterr().out


# -- code inside magics is scanned -----------------------------------------------------------------

@pytest.mark.parametrize("magic", ["%%capture", "%%capture out --no-stderr", "%%time", "%%timeit -n 1 -r 1",
                                   "%%prun -q", "%%debug"])
def test_code_in_a_kernel_cell_magic_is_scanned_at_its_lines(magic):
    found = scan_source(f"{magic}\n{PATCH}")
    assert _at(found, "builtins-patch") == [2, 3], found


def test_nested_cell_magics_and_leading_blank_lines_keep_the_line_numbers():
    found = scan_source(f"\n\n%%capture\n%%time\n{PATCH}")
    assert _at(found, "builtins-patch") == [5, 6], found


@pytest.mark.parametrize(("magic", "rule"), [("%%bash", "subprocess"), ("%%sh", "subprocess"),
                                             ("%%script bash", "subprocess"), ("%%python", "subprocess"),
                                             ("%%python3", "subprocess"), ("%%writefile helper.py", "file-access"),
                                             ("%%html", "frontend-code"), ("%%javascript", "frontend-code"),
                                             ("%%js", "frontend-code")])
def test_cell_magics_that_leave_the_kernel_are_rules_themselves(magic, rule):
    found = scan_source(f"{magic}\necho hello")
    assert (1, rule) in {(line, r) for line, r, _ in found}, found


@pytest.mark.parametrize("magic", ["%%python", "%%python3", "%%script python3", "%%writefile helper.py"])
def test_python_run_elsewhere_is_scanned_too(magic):
    assert _at(scan_source(f"{magic}\n{PATCH}"), "builtins-patch") == [2, 3]


def test_a_shell_cell_magic_is_read_for_the_paths_it_mentions():
    found = scan_source("%%bash\ncd /tmp\ncat ../../gradebook.db")
    assert (3, "file-access") in {(line, r) for line, r, _ in found}, found


def test_a_data_file_written_by_writefile_is_not_an_unscanned_cell():
    found = scan_source("%%writefile data.csv\nname,qps\nchat,57870")
    assert _rules(found) == {"file-access"}


def test_an_unknown_cell_magic_is_scanned_as_python_or_flagged():
    assert _at(scan_source(f"%%mystery\n{PATCH}"), "builtins-patch") == [2, 3]
    found = scan_source("%%mystery\nhello world!")
    assert _rules(found) == {"unscanned"} and "mystery" in found[0][2]


@pytest.mark.parametrize("line", ["%time builtins.abs = len", "%timeit -n 1 -r 1 builtins.abs = len",
                                  "%prun -q builtins.abs = len", "x = %time builtins.abs = len",
                                  "get_ipython().magic('time builtins.abs = len')",
                                  "get_ipython().run_line_magic('time', 'builtins.abs = len')",
                                  "get_ipython().run_cell_magic('capture', '', 'builtins.abs = len')"])
def test_code_in_a_line_magic_is_scanned(line):
    found = scan_source(f"import builtins\n{line}")
    assert {2, 3} & set(_at(found, "builtins-patch")), found  # an explicit run_cell_magic body starts a line below


def test_a_line_magic_inside_a_block_is_scanned():
    found = scan_source("import builtins\nfor _ in range(1):\n    %time builtins.abs = len")
    assert 3 in _at(found, "builtins-patch"), found


@pytest.mark.parametrize(("line", "rule"), [("!ls /", "subprocess"), ("files = !ls", "subprocess"),
                                            ("!!cat x", "subprocess"), ("%pip install requests", "subprocess"),
                                            ("%load_ext evil", "ipython-hooks"), ("%run other.py", "dynamic-code"),
                                            ("%rerun 1", "dynamic-code"), ("%autocall 2", "ipython-hooks"),
                                            ("%pycat ../x.py", "file-access"), ("%history -f h.py", "introspection"),
                                            ("%sx ls", "subprocess"), ("%system ls", "subprocess")])
def test_line_magics_and_shell_lines_are_flagged(line, rule):
    assert rule in _rules(scan_source(line))


def test_harmless_magics_are_not_flagged():
    assert scan_source("%matplotlib inline\n%%time\nx = sum(range(10))") == []
    assert scan_source("%%markdown\n# Title\nSome *text*.") == []


# -- it never fails silently -----------------------------------------------------------------------

def test_a_long_expression_is_flagged_and_the_rest_still_scanned():
    """1,500 terms: Python runs it, the recursive scan cannot walk it; the statements around it are scanned."""
    long = "+".join(["1"] * 1500)
    found = scan_source(f"x = {long}\nimport socket\ny = eval({long})")
    assert (1, "unscanned") in {(line, r) for line, r, _ in found}
    assert 2 in _at(found, "network") and 3 in _at(found, "dynamic-code"), found


def test_an_expression_too_deep_to_parse_gets_a_token_scan():
    found = scan_source("import socket\nx = " + "+".join(["1"] * 50_000) + "\nopen('../gradebook.db')")
    assert "unscanned" in _rules(found) and {"network", "file-access"} <= _rules(found), found


def test_a_deep_attribute_chain_does_not_crash():
    found = scan_source("import sys\ny = sys" + ".a" * 3000 + "\nsys.settrace(None)")
    assert {"unscanned", "settrace"} <= _rules(found), found


@pytest.mark.parametrize(("code", "words"), [("def f(:\n    pass", "SyntaxError"), ("x = 1\x00", "null bytes"),
                                             ("x = (" * 300 + ")" * 300, "parenthes")])
def test_a_cell_that_does_not_parse_is_a_flag(code, words):
    found = scan_source(code)
    assert [r for _, r, _ in found] == ["unscanned"] and words in found[0][2], found


def test_a_syntax_error_names_its_line():
    assert scan_source("x = 1\n\ny = (\n") [0][:2] in [(3, "unscanned"), (4, "unscanned")]


def test_a_huge_cell_is_a_flag_with_a_token_scan():
    found = scan_source("import socket\n" + "x = 1\n" * (MAX_CELL_CHARS // 6 + 10))
    assert "unscanned" in _rules(found) and "network" in _rules(found)


def test_a_huge_notebook_is_scanned_within_a_budget(tmp_path, monkeypatch):
    """Past the notebook's budget of characters, cells get the cheap token scan (and one flag each)."""
    from course.grading import scan

    assert 1_000_000 <= MAX_NOTEBOOK_CHARS <= 10_000_000  # a class's notebooks are ~50 kB of code each
    monkeypatch.setattr(scan, "MAX_NOTEBOOK_CHARS", 20_000)
    filler = "x = 1\n" * 1000
    cells = [filler] * 5 + ["import socket\nsys.settrace(None)"]
    flags = scan_notebook(_notebook(tmp_path, *cells))
    assert [f for f in flags if f.startswith("unscanned")] == [
        f"unscanned: cell {n} line 1: could not be scanned in full: the notebook's code is over 20000 characters "
        "(a token scan was made)" for n in (4, 5, 6)]
    assert {f.split(":")[0] for f in flags if "cell 6 " in f} == {"unscanned", "network", "settrace"}, flags


def test_many_magics_in_a_big_cell_take_linear_time():
    body = "\n".join(f"x{i} = str({i})" for i in range(8000))
    code = body + "\n" + "\n".join("!ls" for _ in range(3000)) + "\nimport socket"
    started = time.perf_counter()
    found = scan_source(code)
    assert time.perf_counter() - started < 20
    assert "network" in _rules(found) and "subprocess" in _rules(found)


@pytest.mark.parametrize("cell", [
    {"cell_type": "code", "source": ["import ", "socket"], "metadata": {}, "outputs": []},
    {"cell_type": "code", "source": ["import socket\n", 5], "metadata": [], "outputs": []},
    {"cell_type": "code", "source": None, "metadata": {"nbgrader": [1]}},
    {"cell_type": "code", "source": 12, "metadata": {"nbgrader": {"grade_id": {"x": 1}}}},
    {"cell_type": "code"},
    "not a cell",
    ["not", "a", "cell"],
])
def test_malformed_cells_never_crash_the_scan(tmp_path, cell):
    flags = scan_notebook(_notebook(tmp_path, raw_cells=[cell, {"cell_type": "code", "source": "import signal"}]))
    assert "signal: cell 2 line 1: imports signal" in flags
    if isinstance(cell, dict) and "socket" in json.dumps(cell.get("source")):
        assert any(f.startswith("network: cell 1") for f in flags)


def test_a_scanner_bug_is_a_flag_not_an_empty_result(monkeypatch):
    from course.grading import scan

    def broken(self, node):
        raise KeyError("bug")

    monkeypatch.setattr(scan._Scanner, "visit_Import", broken)
    found = scan_source("import socket")
    assert [r for _, r, _ in found] == ["unscanned"] and "KeyError" in found[0][2]
