"""The committed notebooks are exactly what the authoring specs and nbgrader generate."""

import nbformat
import pytest
from nbgrader.nbgraderformat import MetadataValidator

from authoring.build import render, stale
from authoring.sessions import SESSIONS

from .helpers import source_nb


def test_source_and_release_are_up_to_date():
    problems = stale()
    assert problems == [], "stale: " + ", ".join(problems) + " (run: make release)"


@pytest.mark.parametrize("session_id", SESSIONS)
def test_source_notebooks_are_valid_nbgrader_notebooks_without_outputs(session_id):
    nb = nbformat.reads(render(session_id), as_version=4)
    nbformat.validate(nb)
    MetadataValidator().validate_nb(nb)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("session_id", SESSIONS)
def test_every_session_has_the_shared_sections_in_order(session_id):
    text = source_nb(session_id).read_text()
    headings = ["## The problem", "## 1 · Requirements", "## 2 · Back-of-the-envelope estimation",
                "## 3 · High-level design", "## 4 · Detailed design", "## 5 · Deep dive", "## 6 · Wrap-up"]
    positions = [text.find(h) for h in headings]
    assert -1 not in positions, dict(zip(headings, positions))
    assert positions == sorted(positions)


@pytest.mark.parametrize("session_id", SESSIONS)
def test_no_check_cell_of_the_release_spells_out_an_answer(session_id):
    """Check cells name what they check; the sample's figures live in course/data, out of the notebook."""
    import ast
    import json
    import re

    from course.errors import CourseInputError
    from course.nbgrader_ext import is_test_cell
    from course.units import q

    from .helpers import release_nb

    release = nbformat.read(release_nb(session_id), as_version=4)
    sample = json.loads((source_nb(session_id).parents[2] / "course" / "data" / f"{session_id}.sample.json").read_text())
    assert sample["expected"] and sample["assumptions"]
    for cell in release.cells:
        if not is_test_cell(cell):
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and re.match(r"^\s*[-\d.,_]+\s+\S", node.value):  # "57870.37 msg/s", not a label like "4K"
                try:
                    quantity = q(node.value)
                except CourseInputError:
                    continue
                assert quantity.dimensionless, f"{cell.id}: the check cell spells out {node.value!r}"
        for value in [*sample["expected"].values(), *sample["assumptions"].values()]:
            if " " in value:
                assert value not in cell.source, f"{cell.id}: {value!r}"


@pytest.mark.parametrize("session_id", SESSIONS)
def test_the_sample_figures_file_is_what_the_spec_says(session_id):
    from authoring.build import sample_data

    from course.content import load_session

    session = load_session(session_id)
    spec = SESSIONS[session_id]
    assert session.sample["assumptions"] == dict(spec.SAMPLE)
    assert session.sample["expected"] == {name: values["sample"] for name, values in spec.EXPECTED.items()}
    assert sample_data(session_id).strip()
