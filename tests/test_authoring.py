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
