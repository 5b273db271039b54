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
    """In feedback, show a failed check as its plain-words message, never the code or traceback behind it.

    Test cells' tracebacks quote the hidden tests (nbgrader issue #917); the last line of an error,
    ``CheckFailed: traffic: expected ... got ...``, is what the student needs.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources
