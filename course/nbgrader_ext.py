"""nbgrader preprocessors the course plugs in through ``nbgrader_config.py``."""

from __future__ import annotations

import hmac

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


# -- supervised autograding (see course/grading/guard.py for the kernel side) ----------------------

SUPERVISION_CELL_ID = "course-supervision"
INTEGRITY_ENAME = "GradingIntegrityError"
_ARM_SOURCE = "__import__('course.grading.guard', fromlist=['arm']).arm()"


def is_test_cell(cell) -> bool:
    """An autograded test cell: a grade cell with code that is not also an answer."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def _integrity_error(words: str):
    from nbformat.notebooknode import NotebookNode

    return NotebookNode(output_type="error", ename=INTEGRITY_ENAME, evalue=words,
                        traceback=[f"{INTEGRITY_ENAME}: {words}"])


class Supervise(NbGraderPreprocessor):
    """Before ``Execute``: a first cell that arms the kernel, and every test cell sent through the guard.

    The arm cell runs before any notebook cell (``course.grading.guard.arm``); each test cell's source
    becomes ``guard.run(grade_id, nonce, source)``, which restores what the notebook may have patched,
    runs the source itself and publishes a receipt. :class:`VerifySupervision` undoes both changes.
    """

    def preprocess(self, nb, resources):
        import secrets

        from nbformat.v4 import new_code_cell

        record = {}
        for cell in nb.cells:
            if is_test_cell(cell):
                grade_id = cell.metadata["nbgrader"]["grade_id"]
                nonce = secrets.token_hex(16)
                record[grade_id] = {"nonce": nonce, "source": cell.source}
                cell.source = (f"__import__('course.grading.guard', fromlist=['run']).run("
                               f"{grade_id!r}, {nonce!r}, {cell.source!r})")
        arm = new_code_cell(_ARM_SOURCE, metadata={"course": {"supervision": "arm"}})
        arm["id"] = SUPERVISION_CELL_ID
        nb.cells.insert(0, arm)
        resources["course_supervision"] = record
        return nb, resources


class VerifySupervision(NbGraderPreprocessor):
    """After ``Execute``: remove the arm cell, put the test cells' sources back, and check every receipt.

    A test cell without a valid receipt that shows no error of its own gets one
    (``GradingIntegrityError``), placed first so nbgrader scores the cell 0: it was blanked, rewritten,
    skipped or faked by something in the notebook. Receipts and any ``execute_result`` (which nbgrader
    would read as partial credit) are removed from test cells.
    """

    def preprocess(self, nb, resources):
        from course.grading.guard import KEY_MIME, RECEIPT_MIME, receipt_mac

        record = resources.pop("course_supervision", None)
        if record is None:
            return nb, resources
        key, arm_problem = None, "the grader could not prepare the kernel"
        if nb.cells and nb.cells[0].get("id") == SUPERVISION_CELL_ID:
            arm = nb.cells.pop(0)
            for output in arm.get("outputs", []):
                if output.get("output_type") == "display_data" and KEY_MIME in output.get("data", {}):
                    key = bytes.fromhex(output["data"][KEY_MIME]["key"])
                    break
                if output.get("output_type") == "error":
                    arm_problem = f"the grader could not prepare the kernel: {output.get('evalue', '')}"
        for cell in nb.cells:
            if not is_test_cell(cell):
                continue
            grade_id = cell.metadata["nbgrader"]["grade_id"]
            entry = record.get(grade_id)
            if entry is None:
                continue
            cell.source = entry["source"]
            valid = False
            kept = []
            for output in cell.get("outputs", []):
                data = output.get("data", {}) if output.get("output_type") == "display_data" else {}
                if RECEIPT_MIME in data:
                    receipt = data[RECEIPT_MIME]
                    expected = receipt_mac(key, grade_id, entry["nonce"], entry["source"]) if key else None
                    valid = valid or (expected is not None and receipt.get("nonce") == entry["nonce"]
                                      and receipt.get("cell") == grade_id
                                      and hmac.compare_digest(str(receipt.get("mac", "")), expected))
                    continue
                if output.get("output_type") == "execute_result":
                    continue
                kept.append(output)
            cell.outputs = kept
            if not valid and not any(o.get("output_type") == "error" for o in kept):
                words = (arm_problem if key is None else
                         "this check cell did not run to the end under the grader's supervision: something in the "
                         "notebook changed how cells run (an IPython hook, a patched import or display system, a "
                         "skipped or rewritten cell). It earns no points; a person will review the notebook.")
                cell.outputs.insert(0, _integrity_error(words))
        return nb, resources
