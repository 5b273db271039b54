"""Every session notebook: the source passes all of its tests (hidden ones included), the release none,
and the source runs top to bottom without errors or stderr output."""

from __future__ import annotations

import os

import nbformat
import pytest
from nbclient import NotebookClient
from nbgrader.validator import Validator
from traitlets.config import Config

from authoring.sessions import SESSIONS

from .helpers import release_nb, source_nb

pytestmark = pytest.mark.e2e


def _validator(**kwargs) -> Validator:
    config = Config()
    config.Execute.timeout = 120
    return Validator(config=config, **kwargs)


@pytest.mark.parametrize("session_id", SESSIONS)
def test_source_passes_every_test(session_id):
    assert _validator().validate(str(source_nb(session_id))) == {}


@pytest.mark.parametrize("session_id", SESSIONS)
def test_release_untouched_passes_no_test(session_id):
    assert _validator(invert=True).validate(str(release_nb(session_id))) == {}


@pytest.mark.parametrize("session_id", SESSIONS)
def test_source_runs_clean_top_to_bottom(session_id, monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    nb = nbformat.read(source_nb(session_id), as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(source_nb(session_id).parent)}}).execute()
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            assert output.output_type != "error", f"cell {index} raised {output.get('ename')}: {output.get('evalue')}"
            assert not (output.output_type == "stream" and output.name == "stderr"), (
                f"cell {index} wrote to stderr: {output.text[:300]}"
            )


@pytest.mark.parametrize("session_id", SESSIONS)
def test_release_scaffolding_runs(session_id, monkeypatch):
    """In the untouched release only answer and check cells may fail: set-up, widgets and prose cells run."""
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    path = release_nb(session_id)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") or meta.get("grade"):
            continue
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        if errors and _depends_on_answers(cell.source):
            continue
        assert not errors, f"cell {index} ({cell.source[:60]!r}) raised {errors[0].ename}: {errors[0].evalue}"


def _depends_on_answers(source: str) -> bool:
    """Cells that display a student's answer (a diagram of it, its key points) may fail until it exists."""
    return any(name in source for name in ("show_architecture(architecture", "explore(", "SESSION.key_points("))
