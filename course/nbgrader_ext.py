"""nbgrader preprocessors the course plugs in through ``nbgrader_config.py``."""

from __future__ import annotations

from nbgrader.preprocessors import NbGraderPreprocessor

CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"


class TextAnswerStub(NbGraderPreprocessor):
    """Where an answer is text in a string (a diagram, DDL, prose), release a prompt instead of a code stub.

    The prompt comes from the cell's ``metadata.course.stub``. Runs right after ``ClearSolutions`` and before
    the checksums, so an untouched answer is still recognised (and a written one still scores 0).
    """

    def preprocess_cell(self, cell, resources, index):
        stub = cell.metadata.get("course", {}).get("stub")
        if cell.cell_type == "code" and stub:
            cell.source = cell.source.replace(CODE_STUB, stub)
        return cell, resources


class RedactTracebacks(NbGraderPreprocessor):
    """In feedback, show a failed check as its plain-words message, never a traceback.

    A test cell's error is the grader's verdict (``CheckFailed: traffic: expected ... got ...``): its
    message is what the student needs, not the frames of whatever raised it.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources


def is_test_cell(cell) -> bool:
    """An autograded test cell: a grade cell with code that is not also an answer."""
    meta = cell.get("metadata", {}).get("nbgrader", {}) if isinstance(cell.get("metadata"), dict) else {}
    return cell.get("cell_type") == "code" and isinstance(meta, dict) and bool(meta.get("grade")) \
        and not meta.get("solution")
