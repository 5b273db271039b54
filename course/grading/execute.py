"""nbgrader's ``Execute`` preprocessor as the grading command runs it: sandboxed, timed, and crash-honest.

Two changes to nbgrader's own preprocessor (it stays in nbgrader's Autograde pipeline, between the
sanitizing and ``SaveAutoGrades``):

- **What ran is scored.** When the kernel dies (``os._exit``, out of memory) or stops answering (a loop
  that ignores the interrupt), nbgrader throws the whole notebook away and leaves every grade empty.
  Here the cells that ran keep their outputs, the cell that was running and every later cell get an
  error output (so a test that never ran earns nothing, never full marks), the notebook goes on to
  ``SaveAutoGrades``, and the failure is recorded for the status column.
- **Where the time goes**: kernel start, cells, kernel shutdown, recorded per notebook.

The failure and the timings go to ``RECORDS[resources["nbgrader"]["course_grading"]]``, a dict the
converter (``course.grading.worker``) registers (nbconvert deep-copies ``resources`` between
preprocessors, so the dict itself cannot travel in it).
"""

from __future__ import annotations

import time

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, default

FAILURE_ENAME = "GradingFailure"
RECORDS: dict[str, dict] = {}  # this process's grading records, by the key in resources["nbgrader"]


def failure_reason(exc: BaseException, *, started: bool) -> str:
    """The status-column words for an execution failure: ``kernel died``, ``timed out``, ..."""
    if not started:
        return "kernel did not start"
    if isinstance(exc, DeadKernelError) or "Kernel died" in str(exc):
        return "kernel died"
    if isinstance(exc, (CellTimeoutError, TimeoutError)):
        return "timed out"
    return f"error while running ({type(exc).__name__})"


class GradingExecute(Execute):
    """``nbgrader.preprocessors.Execute`` in the bubblewrap sandbox, keeping what ran when a kernel fails."""

    sandbox = Bool(True, help="Run the kernel in the bubblewrap sandbox (course.grading.sandbox).").tag(config=True)

    @default("shutdown_kernel")
    def _default_shutdown_kernel(self) -> str:
        # Every cell has replied by then; a graceful shutdown only waits for the kernel to tidy up (~1 s).
        return "immediate"

    @default("iopub_timeout")
    def _default_iopub_timeout(self) -> int:
        # nbclient waits 4 s for a cell's last outputs after its reply, then gives up on the whole notebook.
        # With a kernel per core busy, outputs can lag longer than that; a spurious "timed out" costs more
        # than waiting a few seconds for a kernel that really hangs.
        return 10

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.sandbox:
            from .sandbox import SandboxedKernelManager

            self.kernel_manager_class = SandboxedKernelManager

    # -- timings -----------------------------------------------------------------------------------
    def _timed(self, key: str, func, *args, **kwargs):
        start = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            self._timings[key] = self._timings.get(key, 0.0) + time.perf_counter() - start

    def start_new_kernel(self, **kwargs):
        self._km_ref = self.km  # nbclient drops self.km when a start fails; its log is still wanted
        return self._timed("kernel_start", super().start_new_kernel, **kwargs)

    def start_new_kernel_client(self):
        return self._timed("kernel_start", super().start_new_kernel_client)

    def _cleanup_kernel(self):
        km = self.km
        try:
            return self._timed("kernel_stop", super()._cleanup_kernel)
        finally:  # whatever path nbclient took (a dead kernel is not shut down), drop the sandbox folders
            discard = getattr(km, "discard_sandbox", None)
            if callable(discard):
                discard()

    def preprocess_cell(self, cell, resources, index):
        self._running = index
        result = self._timed("cells", super().preprocess_cell, cell, resources, index)
        self._ran = index
        return result

    # -- crash handling ----------------------------------------------------------------------------
    def preprocess(self, nb, resources=None, km=None):
        self._timings, self._running, self._ran, self._km_ref = {}, None, -1, None
        record = RECORDS.get((resources or {}).get("nbgrader", {}).get("course_grading", ""))
        try:
            nb, resources = super().preprocess(nb, resources, km)
        except Exception as exc:
            started = self._running is not None
            reason = failure_reason(exc, started=started)
            detail = "" if started else self._kernel_log()  # why a kernel (or its sandbox) would not start
            if record is not None:
                record.setdefault("failures", []).append(
                    {"reason": reason, "cell": self._cell_name(nb, self._running), "error": f"{type(exc).__name__}: {exc}",
                     "kernel_log": detail})
            if not started:
                raise  # nothing ran: nbgrader's own failure handling (no grades, no autograded copy)
            self._mark_not_run(nb, self._ran + 1, reason)
            return nb, resources
        else:
            timed_out = [i for i, cell in enumerate(nb.cells) for out in cell.get("outputs", [])
                         if out.get("output_type") == "error" and out.get("ename") == self.error_on_timeout.get("ename")]
            if timed_out and record is not None:  # interrupted after the per-cell limit; later cells did run
                record.setdefault("failures", []).append(
                    {"reason": "timed out", "cell": self._cell_name(nb, timed_out[0]),
                     "error": f"no reply within {self.timeout} s, interrupted", "kernel_log": ""})
            return nb, resources
        finally:
            if record is not None:
                for key, value in self._timings.items():
                    record.setdefault("timings", {})[key] = record.get("timings", {}).get(key, 0.0) + value

    def _kernel_log(self) -> str:
        tail = getattr(self.km or getattr(self, "_km_ref", None), "kernel_log_tail", None)
        return tail() if callable(tail) else ""

    @staticmethod
    def _cell_name(nb, index: int | None) -> str | None:
        if index is None or index >= len(nb.cells):
            return None
        cell = nb.cells[index]
        return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") or cell.get("id") or f"cell {index}"

    @staticmethod
    def _mark_not_run(nb, first: int, reason: str) -> None:
        """Give every code cell from ``first`` on an error output, so no unrun test counts as passed."""
        for index, cell in enumerate(nb.cells):
            if index < first or cell.cell_type != "code":
                continue
            words = (f"the grading kernel {reason} while this cell was running" if index == first
                     else f"not run: the grading kernel {reason} in an earlier cell")
            cell.setdefault("outputs", []).append(NotebookNode(
                output_type="error", ename=FAILURE_ENAME, evalue=words, traceback=[f"{FAILURE_ENAME}: {words}"]))
