"""Submission hygiene (course/grading/hygiene.py): foreign nbgrader cells and special files never break grading.

Cells: a pasted cell with an unknown grade id, a duplicated cell, a relabelled cell or metadata of any
shape must not make nbgrader refuse the notebook ("invalid notebook", an empty score); the honest
student is graded as if the cell were a plain one, and the flag names the cell by its position only.
Measured through nbgrader's real Autograde of a scratch course, with a control run showing that
nbgrader's own sanitize step refuses the same notebook.

Files: ``safe_copy_tree`` copies regular files and folders only; links, FIFOs, sockets and devices are
refused without being followed or opened, and sizes and counts are capped.
"""

from __future__ import annotations

import copy
import json
import os
import random
import re
import signal
import socket
import stat
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest
from nbgrader.nbgraderformat import MetadataValidator as MetadataValidatorV3

from course import submissions
from course.grading import hygiene
from course.grading.hygiene import (
    DropUnknownCells, KnownCell, hygiene_flags, known_cells_from_gradebook, known_cells_from_notebook,
    refuse_special_files, safe_copy_tree, sanitize_cells, with_hygiene,
)
from tests.helpers import release_nb, source_nb

SESSION = "session1_chat"
OTHER = "session2_url_shortener"
#: What a flag may contain: fixed words, positions, numbers and known ids (never the student's text).
SAFE_FLAG = re.compile(r"[a-z-]+: [A-Za-z0-9 ,:()'/._\-]+")  # no ";": the grading command joins flags with "; "


def _release():
    return submissions.read(release_nb(SESSION))


def _filled():
    return submissions.fill(_release(), submissions.read(source_nb(SESSION)))


def _known():
    return known_cells_from_notebook(_release())


def _index(nb, grade_id):
    return next(i for i, c in enumerate(nb.cells) if submissions.grade_id(c) == grade_id)


def _meta(grade_id, *, grade=False, solution=False, locked=False, points=None, cell_type="code"):
    meta = {"grade": grade, "solution": solution, "locked": locked, "grade_id": grade_id, "schema_version": 3,
            "cell_type": cell_type}
    if points is not None:
        meta["points"] = points
    return meta


def _cell(source="x = 1", meta=None, cell_type="code"):
    cell = nbformat.v4.new_code_cell(source) if cell_type == "code" else nbformat.v4.new_markdown_cell(source)
    if meta is not None:
        cell.metadata["nbgrader"] = meta
    return cell


def _copy_of(cell):
    """A cell pasted in JupyterLab: the same content and metadata, a new cell id."""
    pasted = copy.deepcopy(cell)
    pasted["id"] = nbformat.v4.new_code_cell().id
    return pasted


def _nbgrader_accepts(nb) -> None:
    """What nbgrader's sanitize step checks after this one: its metadata schema, one cell per grade id."""
    MetadataValidatorV3().validate_nb(nb)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        if meta and (meta.get("grade") or meta.get("solution") or meta.get("locked")):
            assert isinstance(meta["grade_id"], str)
    nbformat.validate(nb)


def _assert_safe(flags):
    for flag in flags:
        assert SAFE_FLAG.fullmatch(flag), flag
        assert "EVIL" not in flag and "\n" not in flag, flag


# -- cells, without a kernel -----------------------------------------------------------------------

def test_an_honest_notebook_is_left_alone():
    nb = _filled()
    before = copy.deepcopy(nb)
    assert sanitize_cells(nb, _known()) == []
    assert nb == before


@pytest.mark.parametrize("roles", [dict(solution=True), dict(grade=True, locked=True, points=3), dict(locked=True),
                                   dict(grade=True, solution=True, points=2)])
def test_a_pasted_cell_with_an_unknown_grade_id_becomes_a_plain_cell(roles):
    nb = _filled()
    nb.cells.insert(5, _cell("y = 2", _meta("key_space", **roles)))
    flags = sanitize_cells(nb, _known())
    assert len(flags) == 1 and flags[0].startswith("unknown-cell: cell 6: ") and "key_space" not in flags[0]
    assert "nbgrader" not in nb.cells[5].metadata and nb.cells[5].source == "y = 2"
    _nbgrader_accepts(nb)


def test_a_roleless_cell_with_an_unknown_id_is_tidied_quietly():
    nb = _filled()
    nb.cells.insert(5, _cell("y = 2", _meta("whatever")))
    nb.cells.insert(6, _cell("z = 3", {}))
    assert sanitize_cells(nb, _known()) == []
    assert "nbgrader" not in nb.cells[5].metadata and "nbgrader" not in nb.cells[6].metadata
    _nbgrader_accepts(nb)


def test_roleless_metadata_nbgrader_accepts_is_kept():
    nb = _filled()
    nb.cells.insert(5, _cell("y = 2", {"grade": False, "solution": False, "locked": False, "schema_version": 3}))
    assert sanitize_cells(nb, _known()) == [] and "nbgrader" in nb.cells[5].metadata


def test_a_copied_test_cell_keeps_its_id_in_the_first_copy():
    nb = _filled()
    test = _index(nb, "test_traffic")
    nb.cells.insert(test + 1, _copy_of(nb.cells[test]))
    flags = sanitize_cells(nb, _known())
    assert flags == [f"duplicate-cell: cell {test + 2}: a copy of the nbgrader cell 'test_traffic' (graded in cell "
                     f"{test + 1}), so it runs as a plain cell"]
    assert submissions.grade_id(nb.cells[test]) == "test_traffic" and "nbgrader" not in nb.cells[test + 1].metadata
    _nbgrader_accepts(nb)


def test_a_copy_that_was_relabelled_loses_to_the_one_that_fits():
    nb = _filled()
    answer = _index(nb, "traffic")
    pasted = _copy_of(nb.cells[answer])
    pasted.metadata["nbgrader"]["locked"] = True  # the copy above was changed; the original below was not
    nb.cells.insert(answer, pasted)
    flags = sanitize_cells(nb, _known())
    assert flags == [f"duplicate-cell: cell {answer + 1}: a copy of the nbgrader cell 'traffic' (graded in cell "
                     f"{answer + 2}), so it runs as a plain cell"]
    assert submissions.grade_id(nb.cells[answer + 1]) == "traffic"


def test_many_copies_keep_one():
    nb = _filled()
    answer = _index(nb, "offline_delivery")
    for _ in range(50):
        nb.cells.append(_copy_of(nb.cells[answer]))
    flags = sanitize_cells(nb, _known())
    assert len(flags) == 50 and all(f.startswith("duplicate-cell: ") for f in flags)
    assert [submissions.grade_id(c) for c in nb.cells].count("offline_delivery") == 1
    _nbgrader_accepts(nb)


def _relabel_test_cell(nb):
    cell = nb.cells[_index(nb, "test_traffic")]
    cell.metadata["nbgrader"].update(locked=False, solution=True, points=100)
    cell.source = "pass"


def _answer_to_markdown(nb):
    cell = nb.cells[_index(nb, "traffic")]
    nb.cells[_index(nb, "traffic")] = nbformat.v4.new_markdown_cell(cell.source, metadata=cell.metadata, id=cell.id)


def _unmark_answer(nb):
    nb.cells[_index(nb, "traffic")].metadata["nbgrader"].update(solution=False)


def _wrong_types(nb):
    nb.cells[_index(nb, "test_traffic")].metadata["nbgrader"].update(grade="yes", points="3", schema_version="3")


def _extra_key(nb):
    nb.cells[_index(nb, "traffic")].metadata["nbgrader"]["EVIL_extra"] = "<script>"


@pytest.mark.parametrize(("change", "grade_id", "words"), [
    (_relabel_test_cell, "test_traffic", "marked answer, unmarked locked, points changed"),
    (_answer_to_markdown, "traffic", "type code turned markdown"),
    (_unmark_answer, "traffic", "unmarked answer"),
    (_wrong_types, "test_traffic", "grade is a string, points changed"),
    (_extra_key, "traffic", "metadata of the wrong shape"),
])
def test_a_relabelled_known_cell_is_put_back_as_the_gradebook_has_it(change, grade_id, words):
    nb = _filled()
    change(nb)
    where = _index(nb, grade_id)
    source = nb.cells[where].source
    flags = sanitize_cells(nb, _known())
    assert flags == [f"relabelled-cell: cell {where + 1}: the nbgrader cell '{grade_id}' was changed ({words}), "
                     "put back as the gradebook has it"]
    cell = nb.cells[where]
    assert cell.metadata["nbgrader"] == _known()[grade_id].metadata()
    assert cell.cell_type == _known()[grade_id].cell_type and cell.source == source  # nbgrader restores locked ones
    _nbgrader_accepts(nb)
    _assert_safe(flags)


MALFORMED = [[1, 2], "yes", None, 3, True, {"grade": "yes"}, {"grade": True}, {"solution": True, "grade_id": 7},
             {"locked": True, "grade_id": "has space"}, {"grade": True, "grade_id": "x" * 200, "points": 1},
             {"grade_id": ["traffic"]}, {"grade_id": {"a": 1}, "solution": True}, {"task": 1, "grade_id": "t"},
             {"grade": False, "solution": False, "locked": False, "schema_version": 0},
             {"grade": 0, "solution": [], "locked": None}, {"schema_version": 3}]


@pytest.mark.parametrize("meta", MALFORMED, ids=[json.dumps(m)[:30] for m in MALFORMED])
def test_malformed_metadata_becomes_a_plain_cell(meta):
    nb = _filled()
    nb.cells.insert(5, _cell("y = 2", copy.deepcopy(meta)))
    flags = sanitize_cells(nb, _known())
    assert "nbgrader" not in nb.cells[5].metadata and nb.cells[5].source == "y = 2"
    assert all(f.startswith("malformed-cell: cell 6: ") for f in flags), flags
    _nbgrader_accepts(nb)
    _assert_safe(flags)


def test_flags_never_quote_the_student():
    nb = _filled()
    evil = "EVIL;=cmd|' /C calc'!A0<script>\n\u202e"
    for meta in ({"grade": True, "grade_id": evil, "points": 1, "locked": True},
                 {"solution": True, "grade_id": "EVIL_but_valid"}, {evil: evil}, [evil]):
        cell = _cell(evil, meta)
        cell["id"] = "EVIL-id"
        nb.cells.append(cell)
    nb.cells.append(_copy_of(nb.cells[_index(nb, "traffic")]))
    nb.cells[-1]["id"] = "EVIL-copy"
    flags = hygiene_flags(nb, _known())
    assert [f.split(":")[0] for f in flags] == ["malformed-cell", "unknown-cell", "malformed-cell", "duplicate-cell"]
    _assert_safe(flags)  # (the roleless cell with a junk key is tidied without a flag)


def test_hygiene_flags_changes_nothing():
    nb = _filled()
    nb.cells.insert(5, _cell("y = 2", _meta("key_space", solution=True)))
    _relabel_test_cell(nb)
    before = copy.deepcopy(nb)
    flags = hygiene_flags(nb, _known())
    assert len(flags) == 2 and nb == before
    assert sanitize_cells(nb, _known()) == flags


def test_plain_json_works_too():
    data = json.loads(nbformat.writes(_filled()))
    data["cells"].insert(5, {"cell_type": "code", "source": "y", "metadata": {"nbgrader": [1]}, "outputs": [],
                             "execution_count": None})
    assert hygiene_flags(data, _known()) == ["malformed-cell: cell 6: its nbgrader metadata is a list, not a "
                                             "mapping, so it runs as a plain cell"]
    assert hygiene_flags({"cells": 5}, _known()) == ["malformed-cell: the notebook has no list of cells"]
    assert hygiene_flags({"cells": ["x", 5]}, _known()) == ["malformed-cell: cell 1: not a notebook cell, left as it is",
                                                            "malformed-cell: cell 2: not a notebook cell, left as it is"]


def test_without_the_gradebook_only_shapes_and_duplicates_are_judged():
    nb = _filled()
    nb.cells.append(_copy_of(nb.cells[_index(nb, "traffic")]))
    nb.cells.insert(5, _cell("y = 2", _meta("key_space", solution=True)))  # unknown: cannot tell, kept
    nb.cells.insert(6, _cell("z = 3", [1]))
    flags = sanitize_cells(nb, None)
    assert [f.split(":")[0] for f in flags] == ["malformed-cell", "duplicate-cell"]
    assert submissions.grade_id(nb.cells[5]) == "key_space"
    _nbgrader_accepts(nb)


def test_metadata_of_any_shape_never_crashes():
    """Random metadata, roles, ids, types and copies: the result always passes nbgrader's checks."""
    rng = random.Random(20240607)
    known = _known()
    values = [None, True, False, 0, 1, 2.5, -1, "", "x", "yes", "traffic", "test_traffic", "EVIL id", [], [1],
              {}, {"a": 1}, "x" * 300]
    keys = ["grade", "solution", "locked", "task", "grade_id", "points", "schema_version", "checksum", "cell_type",
            "EVIL"]
    base = _filled()
    for _ in range(150):
        nb = copy.deepcopy(base)
        for _ in range(rng.randint(1, 6)):
            where = rng.randrange(len(nb.cells))
            roll = rng.random()
            if roll < 0.3:
                nb.cells.insert(where, _copy_of(nb.cells[rng.randrange(len(nb.cells))]))
            elif roll < 0.5:
                cell = nb.cells[where]
                nb.cells[where] = (nbformat.v4.new_markdown_cell(cell.source, metadata=cell.metadata)
                                   if cell.cell_type == "code" else
                                   nbformat.v4.new_code_cell(cell.source, metadata=cell.metadata))
            elif roll < 0.6:
                nb.cells[where].metadata["nbgrader"] = rng.choice(values)
            else:
                meta = nb.cells[where].metadata.setdefault("nbgrader", {})
                if not isinstance(meta, dict):
                    meta = nb.cells[where].metadata["nbgrader"] = {}
                for key in rng.sample(keys, rng.randint(1, 4)):
                    meta[key] = rng.choice(values)
        for cell in nb.cells:  # nbformat's own rule (JupyterLab gives pasted cells new ids)
            cell["id"] = nbformat.v4.new_code_cell().id
        flags = sanitize_cells(nb, known)
        _nbgrader_accepts(nb)
        _assert_safe(flags)


def test_with_hygiene_puts_the_step_first_once():
    from traitlets.config import Config
    from nbgrader.preprocessors import ClearOutput, OverwriteCells

    assert with_hygiene(Config())[0] is DropUnknownCells and len(with_hygiene(Config())) == 6
    config = Config()
    config.Autograde.sanitize_preprocessors = [ClearOutput, "course.grading.hygiene.DropUnknownCells", OverwriteCells]
    assert with_hygiene(config) == [DropUnknownCells, ClearOutput, OverwriteCells]


def test_the_course_config_runs_the_step_first():
    from course.coursedir import load_course_config
    from tests.helpers import ROOT

    assert load_course_config(ROOT).Autograde.sanitize_preprocessors[0] is DropUnknownCells


def test_the_preprocessor_without_a_gradebook_still_tidies_and_hands_over_its_flags(tmp_path):
    from course.grading.execute import RECORDS

    nb = _filled()
    nb.cells.insert(5, _cell("y", [1]))
    RECORDS["ada/s"] = record = {}
    try:
        resources = {"nbgrader": {"db_url": f"sqlite:///{tmp_path}/missing/gradebook.db", "assignment": SESSION,
                                  "notebook": SESSION, "course_grading": "ada/s"}}
        nb, resources = DropUnknownCells().preprocess(nb, resources)
    finally:
        RECORDS.pop("ada/s", None)
    assert resources["course_flags"] == record["hygiene"] and record["hygiene"][0].startswith("malformed-cell: cell 6")
    assert "nbgrader" not in nb.cells[5].metadata


# -- through nbgrader's real Autograde -------------------------------------------------------------

def _pasted_unknown(release, source, other):
    nb = submissions.fill(release, source)
    foreign = [c for c in other.cells if submissions.grade_id(c) in ("key_space", "test_key_space", "hot_urls")]
    assert len(foreign) == 3
    setup = _index(nb, "setup")
    nb.cells.insert(setup + 1, _copy_of(foreign[0]))          # an answer cell of another session
    nb.cells.append(_copy_of(foreign[1]))                       # its test cell
    nb.cells.append(_copy_of(foreign[2]))                       # a written answer
    return nb


def _duplicated(release, source, other):
    nb = submissions.fill(release, source)
    test = _index(nb, "test_traffic")
    nb.cells.insert(test + 1, _copy_of(nb.cells[test]))       # a test cell copied right below itself
    nb.cells.append(_copy_of(nb.cells[_index(nb, "traffic")]))  # an answer copied to the end
    written = _index(nb, "offline_delivery")
    nb.cells.insert(written + 1, _copy_of(nb.cells[written]))  # a written answer copied (a second draft)
    nb.cells[written + 1].source = "offline_delivery = 'second draft'"
    return nb


def _relabelled(release, source, other):
    nb = submissions.fill(release, source)
    _answer_to_markdown(nb)      # one key press (M) on the answer cell: nbgrader and this step make it code again
    _relabel_test_cell(nb)       # a test cell unlocked, made an answer, worth 100 and emptied
    return nb


def _malformed(release, source, other):
    nb = submissions.fill(release, source)
    setup = _index(nb, "setup")
    for meta in reversed(MALFORMED):
        nb.cells.insert(setup + 1, _cell("pass", copy.deepcopy(meta)))
    return nb


def _deleted(release, source, other):
    """An answer cell deleted together with its test cell (nbgrader's own re-adding fails with KeyError)."""
    nb = submissions.fill(release, source)
    nb.cells = [c for c in nb.cells if submissions.grade_id(c) not in ("traffic", "test_traffic")]
    return nb


STUDENTS = {"pasted_unknown": _pasted_unknown, "duplicated": _duplicated, "relabelled": _relabelled,
            "malformed": _malformed}


def _write(nb, path: Path) -> Path:
    """Write the notebook as it is, metadata of any shape included (nbformat.write would validate it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(json.loads(json.dumps(nb)), indent=1), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from course.demo import api_for, make_course
    from course.scores import assignment_scores

    course = make_course(tmp_path_factory.mktemp("hygiene"))
    api = api_for(course)
    assert api.generate_assignment(SESSION, force=True)["success"]
    release = submissions.read(course / "release" / SESSION / f"{SESSION}.ipynb")
    source = submissions.read(course / "source" / SESSION / f"{SESSION}.ipynb")
    other = submissions.read(release_nb(OTHER))
    notebooks = {"perfect": submissions.fill(release, source),
                 **{name: make(release, source, other) for name, make in STUDENTS.items()},
                 "deleted": _deleted(release, source, other)}
    results = {}
    for name, nb in notebooks.items():
        _write(nb, course / "submitted" / name / SESSION / f"{SESSION}.ipynb")
        results[name] = api.autograde(SESSION, name, force=True)
    scores = assignment_scores(api.coursedir.db_url, api.coursedir.course_id, SESSION)
    return {"dir": course, "api": api, "results": results, "scores": scores, "release": release,
            "notebooks": notebooks}


@pytest.mark.e2e
def test_the_gradebook_knows_the_cells_the_release_shows(graded):
    api = graded["api"]
    import dataclasses

    def roles(cells):  # the gradebook keeps the source's checksums (hidden tests included), the release its own
        return {name: dataclasses.replace(cell, checksum=None) for name, cell in cells.items()}

    from_gradebook = known_cells_from_gradebook(api.coursedir.db_url, SESSION, SESSION)
    assert roles(from_gradebook) == roles(known_cells_from_notebook(graded["release"]))
    assert all(isinstance(cell, KnownCell) and len(cell.checksum) == 32 for cell in from_gradebook.values())


@pytest.mark.e2e
@pytest.mark.parametrize("name", list(STUDENTS))
def test_the_honest_student_is_graded_normally(graded, name):
    result = graded["results"][name]
    assert result["success"], (result.get("log") or "")[-2000:]
    score, perfect = graded["scores"][name], graded["scores"]["perfect"]
    assert perfect.autograded == perfect.autograded_max > 0
    assert score.autograded == perfect.autograded and score.crashed_cells == ()


@pytest.mark.e2e
@pytest.mark.parametrize(("name", "rules"), [("pasted_unknown", {"unknown-cell"}), ("duplicated", {"duplicate-cell"}),
                                             ("relabelled", {"relabelled-cell"}), ("malformed", {"malformed-cell"})])
def test_the_log_names_the_cells_by_position(graded, name, rules):
    log = graded["results"][name].get("log") or ""
    flags = re.findall(r"Cell hygiene: (.*)", log)
    assert rules == {flag.split(":")[0] for flag in flags}, flags
    assert all(re.match(r"[a-z-]+: cell \d+: ", flag) for flag in flags)
    _assert_safe(flags)


@pytest.mark.e2e
def test_an_answer_turned_into_markdown_is_graded_as_code_with_its_text(graded):
    autograded = submissions.read(graded["dir"] / "autograded" / "relabelled" / SESSION / f"{SESSION}.ipynb")
    submitted = graded["notebooks"]["relabelled"]
    cell = autograded.cells[_index(autograded, "traffic")]
    assert cell.cell_type == "code" and cell.source == submitted.cells[_index(submitted, "traffic")].source


@pytest.mark.e2e
def test_plain_nbgrader_refuses_the_pasted_cell(graded, tmp_path):
    """Control: nbgrader's own sanitize step fails on the same notebook ("invalid notebook", empty score)."""
    from course.demo import api_for

    course = graded["dir"]
    config = course / "nbgrader_config.py"
    original = config.read_text()
    try:
        config.write_text(original + "\nfrom nbgrader.converters import Autograde as _Plain\n"
                          "c.Autograde.sanitize_preprocessors = _Plain.class_traits()['sanitize_preprocessors'].default()\n")
        api = api_for(course)
        result = api.autograde(SESSION, "pasted_unknown", force=True)
    finally:
        config.write_text(original)
    assert not result["success"] and "KeyError: 'grade_id'" in (result.get("log") or "") + (result.get("error") or "")


# -- regular files only ----------------------------------------------------------------------------

@contextmanager
def _deadline(seconds: int):
    """Fail instead of hanging (a FIFO or /dev/zero that was followed would block or never end)."""
    def stop(signum, frame):
        raise TimeoutError("blocked: something was followed or opened")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _tree(root: Path) -> dict[str, bytes | None]:
    """Every entry under ``root`` (``None`` for folders), without following anything."""
    out = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            out[str(path.relative_to(root))] = None if path.is_dir() and not path.is_symlink() else (
                b"<link>" if path.is_symlink() else path.read_bytes())
    return out


@pytest.fixture
def submitted(tmp_path):
    """A submission with honest files and every kind of special entry."""
    src = tmp_path / "submitted" / "eve" / SESSION
    (src / "data" / "nested").mkdir(parents=True)
    (src / f"{SESSION}.ipynb").write_text('{"cells": []}')
    (src / "data" / "sizes.csv").write_text("name,bytes\nmsg,100\n")
    (src / "data" / "nested" / "notes.txt").write_bytes(b"\x00\x01 binary")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("the instructor's secret")
    os.mkfifo(outside / "fifo")
    (src / "to_secret").symlink_to(outside / "secret.txt")            # a file outside, absolute
    (src / "data" / "to_sizes").symlink_to("sizes.csv")                # a file inside, relative
    (src / "to_outside_dir").symlink_to(outside, target_is_directory=True)
    (src / "to_root").symlink_to("/")
    (src / "to_zero").symlink_to("/dev/zero")
    (src / "to_fifo_outside").symlink_to(outside / "fifo")
    (src / "dangling").symlink_to(tmp_path / "nothing")
    (src / "up").symlink_to("../../..")
    os.mkfifo(src / "data" / "fifo")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(src / "sock"))
    os.link(src / "data" / "sizes.csv", src / "hardlinked.csv")
    yield src
    sock.close()


def test_safe_copy_tree_copies_regular_files_and_refuses_the_rest(submitted, tmp_path):
    dst = tmp_path / "copy"
    with _deadline(20):
        flags = safe_copy_tree(submitted, dst, max_bytes=10_000, max_files=100)
    assert _tree(dst) == {f"{SESSION}.ipynb": b'{"cells": []}', "data": None, "data/nested": None,
                          "data/nested/notes.txt": b"\x00\x01 binary"}
    kinds = sorted(re.sub(r" \(file \d+, .*", "", flag) for flag in flags)
    assert kinds == sorted(["special-file: a symbolic link was refused"] * 8
                           + ["special-file: a FIFO (named pipe) was refused", "special-file: a socket was refused"]
                           + ["special-file: a file with 2 hard links was refused"] * 2)
    assert any("'to_secret'" in flag for flag in flags) and any("'data/fifo'" in flag for flag in flags)
    _assert_safe(flags)


def test_the_copy_keeps_contents_and_times(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_bytes(os.urandom(3_000_000))
    os.utime(src / "a.txt", (1_600_000_000, 1_600_000_000))
    assert safe_copy_tree(src, tmp_path / "dst", max_bytes=10_000_000, max_files=10) == []
    assert (tmp_path / "dst" / "a.txt").read_bytes() == (src / "a.txt").read_bytes()
    assert (tmp_path / "dst" / "a.txt").stat().st_mtime == 1_600_000_000


def test_refuse_special_files_reports_without_following(submitted):
    with _deadline(20):
        flags = refuse_special_files(submitted)
    assert len(flags) == 12 and all(f.startswith("special-file: ") for f in flags)
    assert (submitted / "to_secret").is_symlink()  # nothing changed


def test_a_folder_that_is_a_link_is_refused_whole(tmp_path, submitted):
    link = tmp_path / "link"
    link.symlink_to(submitted, target_is_directory=True)
    assert safe_copy_tree(link, tmp_path / "dst", max_bytes=10_000, max_files=100) == [
        "special-file: the submitted folder itself is a symbolic link, nothing was copied"]
    assert list((tmp_path / "dst").iterdir()) == [] if (tmp_path / "dst").exists() else True
    with pytest.raises(FileNotFoundError):
        safe_copy_tree(tmp_path / "missing", tmp_path / "dst2", max_bytes=1, max_files=1)


def test_a_file_over_the_byte_cap_is_skipped_and_the_rest_copied(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a_notebook.ipynb").write_text("{}")
    with open(src / "huge.bin", "wb") as handle:  # sparse: 20 GB that are never read
        handle.truncate(20 * 1024**3)
    (src / "z_small.txt").write_text("ok")
    with _deadline(20):
        flags = safe_copy_tree(src, tmp_path / "dst", max_bytes=1000, max_files=10)
    assert flags == [f"too-large: a file of {20 * 1024**3} bytes is over the 1000-byte limit of the submission, "
                     "not copied (file 2, 'huge.bin')"]
    assert sorted(p.name for p in (tmp_path / "dst").iterdir()) == ["a_notebook.ipynb", "z_small.txt"]


def test_the_byte_cap_counts_every_file(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(5):
        (src / f"f{i}").write_bytes(b"x" * 400)
    flags = safe_copy_tree(src, tmp_path / "dst", max_bytes=1000, max_files=10)
    assert len(list((tmp_path / "dst").iterdir())) == 2 and len(flags) == 3
    assert all(f.startswith("too-large: ") for f in flags)


def test_the_file_cap_stops_the_copy(tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    for i in range(30):
        (src / "sub" / f"f{i:02}").write_text("x")
    flags = safe_copy_tree(src, tmp_path / "dst", max_bytes=10_000, max_files=10)
    assert flags == ["too-many-files: more than 10 files and folders, the rest were not copied"]
    assert len(_tree(tmp_path / "dst")) == 10


def test_deep_folders_stop_at_a_depth(tmp_path):
    src = tmp_path / "src"
    deep = src.joinpath(*["d"] * 70)
    deep.mkdir(parents=True)
    (deep / "bottom.txt").write_text("x")
    flags = safe_copy_tree(src, tmp_path / "dst", max_bytes=10_000, max_files=1000)
    assert len(flags) == 1 and flags[0].startswith("too-deep: a folder more than 64 levels deep was not copied")
    _assert_safe(flags)


def test_odd_file_names_are_copied_but_never_quoted(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    name = "EVIL;=cmd|' calc'\n\u202e.txt"
    (src / name).write_text("x")
    (src / (name + ".lnk")).symlink_to("/etc/passwd")
    flags = safe_copy_tree(src, tmp_path / "dst", max_bytes=10_000, max_files=10)
    assert (tmp_path / "dst" / name).read_text() == "x"
    assert len(flags) == 1 and "EVIL_" in flags[0] and ";" not in flags[0] and "\n" not in flags[0]


def test_a_link_swapped_in_after_the_check_is_still_refused(submitted, tmp_path, monkeypatch):
    """The race: lstat saw a regular file, then it became a link. open(O_NOFOLLOW) and fstat refuse it."""
    real_stat = os.stat

    def stale_stat(name, *, dir_fd=None, follow_symlinks=True):
        info = real_stat(name, dir_fd=dir_fd, follow_symlinks=follow_symlinks)
        if stat.S_ISLNK(info.st_mode):  # pretend every link was still a regular file at the check
            return os.stat_result((stat.S_IFREG | 0o644, *tuple(info)[1:3], 1, *tuple(info)[4:]))
        return info

    monkeypatch.setattr(hygiene.os, "stat", stale_stat)
    with _deadline(20):
        flags = safe_copy_tree(submitted, tmp_path / "dst", max_bytes=10_000, max_files=100)
    copied = _tree(tmp_path / "dst")
    assert not any(name.startswith(("to_", "up", "dangling")) for name in copied), copied
    assert b"the instructor's secret" not in b"".join(v for v in copied.values() if v)
    assert sum("changed while copying" in f for f in flags) >= 7, flags


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
def test_a_device_node_is_refused_without_opening_it(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    os.mknod(src / "zero", stat.S_IFCHR | 0o644, os.makedev(1, 5))  # /dev/zero's numbers
    with _deadline(20):
        flags = safe_copy_tree(src, tmp_path / "dst", max_bytes=1000, max_files=10)
    assert flags == ["special-file: a character device was refused (file 1, 'zero')"]


@pytest.mark.e2e
def test_a_deleted_answer_and_its_test_cost_their_points_not_the_notebook(graded):
    result = graded["results"]["deleted"]
    assert result["success"], (result.get("log") or "")[-2000:]
    score, perfect = graded["scores"]["deleted"], graded["scores"]["perfect"]
    # test_traffic's 3 points, and test_bandwidth's 2: the bandwidth estimates call the deleted traffic functions
    assert score.autograded == perfect.autograded - 3 - 2
    assert re.search(r"Cell hygiene: restored: a deleted answer cell was put back as released", result.get("log") or "")
