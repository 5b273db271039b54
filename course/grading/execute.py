"""nbgrader's ``Execute`` preprocessor as the grading command runs it: sandboxed, limited, crash-honest.

``GradingExecute`` extends the course's verifying ``Execute`` (``course.grading.verify``, or nbgrader's own
before that exists) and stays in nbgrader's Autograde pipeline, between the sanitizing and
``SaveAutoGrades``:

- **What ran is scored.** When the kernel dies (``os._exit``, out of memory) or stops answering (a loop
  that ignores the interrupt), nbgrader throws the whole notebook away and leaves every grade empty.
  Here the cells that ran keep their outputs, the cell that was running and every later cell get an
  error output (so a test that never ran earns nothing, never full marks), the notebook goes on to
  ``SaveAutoGrades``, and the failure is recorded for the status column.
- **Limits.** Output is counted while it streams in: past ``output_limit`` characters per notebook
  nothing more is stored, the kernel is killed and the rest is not run ("output limit"); the kernel
  client refuses any single message bigger than that (its connection drops, which is noticed), so the
  grader's memory stays bounded whatever the kernel prints. A notebook has ``time_budget`` seconds in
  all: each cell's timeout is the smaller of nbgrader's per-cell ``timeout`` and what is left ("time
  budget"). The sandbox's caps (``course.grading.sandbox``) are reported by name: "memory limit"
  (a ``MemoryError``, or a kill by the memory cgroup), "process limit" (a fork refused by the cap: the
  kernel is stopped there), "disk limit" (a full home or ``/tmp``).
- **Warm kernels.** In the sandbox, the kernel comes from ``course.grading.pool``: started, with the source
  notebook's imports done, while the previous student ran, if it was made from the same recipe (else a
  cold one, as before); the next student's kernel is launched as soon as this one answers. Each kernel
  serves one notebook. ``warm_kernels`` (or ``COURSE_WARM_KERNELS=0``) turns it off.
- **Where the time goes**: kernel start (for a warm kernel: taking it), cells, kernel shutdown, recorded per
  notebook, with the kernel's pid, whether it was warm, and its CPU time (where a cgroup counts it).

The failures and the timings go to ``RECORDS[resources["nbgrader"]["course_grading"]]``, a dict the
converter (``course.grading.worker``) registers (nbconvert deep-copies ``resources`` between
preprocessors, so the dict itself cannot travel in it).
"""

from __future__ import annotations

import asyncio
import importlib.util
import math
import os
import time

import zmq
import zmq.asyncio
from jupyter_client.asynchronous.client import AsyncKernelClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async, run_sync
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer, default
from zmq.utils.monitor import parse_monitor_message

from . import pool

if importlib.util.find_spec(f"{__package__}.verify") is not None:
    from .verify import VerifiedExecute as _Base
else:  # before test cells were verified outside the kernel
    _Base = Execute

FAILURE_ENAME = "GradingFailure"
RECORDS: dict[str, dict] = {}  # this process's grading records, by the key in resources["nbgrader"]
OUTPUT_LIMIT = 2_000_000   # characters of output a notebook may produce (a real session: about 200 000)
TIME_BUDGET = 300          # seconds for a whole notebook (nbgrader's per-cell timeout still applies)
MESSAGE_SLACK = 64 * 1024  # a message may exceed the output limit by its headers, no more
MESSAGE_QUEUE = 32         # messages the client's sockets queue before the grader reads them
MESSAGE_OVERHEAD = 100     # what each output counts for beyond its text, so a flood of empty ones adds up

# What the notebook's cells are told when a failure stops them (``{}`` is the limit's size).
WHY = {
    "kernel died": "the grading kernel died",
    "timed out": "the grading kernel stopped answering",
    "output limit": "the notebook printed more than its output limit ({})",
    "time budget": "the notebook used up its time budget ({})",
    "process limit": "the notebook started more processes or threads than its process limit ({})",
    "memory limit": "the grading kernel went over its memory limit ({})",
}
LIMIT_REASONS = ("memory limit", "output limit", "time budget", "process limit", "disk limit")


class LimitExceeded(RuntimeError):
    """The notebook went past one of the grader's limits; ``reason`` names it (``"output limit"``, ...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def failure_reason(exc: BaseException, *, started: bool) -> str:
    """The status-column words for an execution failure: ``kernel died``, ``timed out``, ..."""
    if not started:
        return "kernel did not start"
    if isinstance(exc, LimitExceeded):
        return exc.reason
    if isinstance(exc, DeadKernelError) or "Kernel died" in str(exc):
        return "kernel died"
    if isinstance(exc, (CellTimeoutError, TimeoutError)):
        return "timed out"
    return f"error while running ({type(exc).__name__})"


def message_size(msg: dict) -> int:
    """What a kernel message counts for against the output limit: its text and data, in characters."""
    size = MESSAGE_OVERHEAD + sum(len(b) for b in msg.get("buffers") or ())
    stack = [msg.get("content")]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            size += len(value)
        elif isinstance(value, dict):
            size += 2 + sum(len(str(k)) + 4 for k in value)  # as JSON: braces, quotes, colon, comma
            stack.extend(value.values())
        elif isinstance(value, (list, tuple)):
            size += 2 + len(value)
            stack.extend(value)
        elif isinstance(value, (bytes, bytearray, memoryview)):
            size += len(value)
        else:
            size += 8
    return size


class CappedKernelClient(AsyncKernelClient):
    """A kernel client whose sockets refuse any message bigger than its manager's ``max_message_size``.

    libzmq checks a message's size before reading it and drops the connection instead (the grader's
    monitor sees it), so no single print can make the grading process allocate more than that.
    """

    def _context_default(self):
        context = super()._context_default()
        size = getattr(self.parent, "max_message_size", None)
        if size:
            context.setsockopt(zmq.MAXMSGSIZE, int(size))
            context.setsockopt(zmq.RCVHWM, MESSAGE_QUEUE)
        return context


def _size_words(n: int) -> str:
    return f"{n / 1e6:g} MB" if n >= 1e6 else f"{n / 1e3:g} kB"


class GradingExecute(_Base):
    """The verifying ``Execute`` in the bubblewrap sandbox, within limits, keeping what ran when a kernel fails."""

    sandbox = Bool(True, help="Run the kernel in the bubblewrap sandbox (course.grading.sandbox).").tag(config=True)
    output_limit = Integer(OUTPUT_LIMIT, help="Characters of output one notebook may produce; past it the "
                                              "kernel is stopped (status 'failed: output limit').").tag(config=True)
    time_budget = Integer(TIME_BUDGET, help="Seconds one notebook may run in all (0: no budget); past it the "
                                            "rest is not run (status 'failed: time budget').").tag(config=True)
    warm_kernels = Bool(True, help="Start each student's sandboxed kernel, and its set-up imports, while the "
                                   "previous student runs (course.grading.pool); the COURSE_WARM_KERNELS "
                                   "environment variable (0/1) overrides it.").tag(config=True)

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
        self._timings, self._kernel = {}, {"pool": "off"}
        if self.sandbox:
            from .sandbox import SandboxedKernelManager

            self.kernel_manager_class = SandboxedKernelManager

    # -- kernel, client and timings ------------------------------------------------------------------
    def _timed(self, key: str, func, *args, **kwargs):
        start = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            self._timings[key] = self._timings.get(key, 0.0) + time.perf_counter() - start

    def _new_kernel_manager(self):
        """A kernel manager as nbclient makes one (not started), with the client's message cap."""
        if not self.kernel_name:
            name = self.nb.metadata.get("kernelspec", {}).get("name")
            if name is not None:
                self.kernel_name = name
        kwargs = {"kernel_name": self.kernel_name} if self.kernel_name else {}
        km = self.kernel_manager_class(config=self.config, **kwargs)
        km.client_class = f"{__name__}.CappedKernelClient"
        km.max_message_size = self.output_limit + MESSAGE_SLACK
        return km

    def create_kernel_manager(self):
        self.km = self._km_ref = self._new_kernel_manager()
        self._warm_next = None
        if self.sandbox and pool.enabled(self.warm_kernels):
            self._timed("kernel_start", self._take_warm_kernel)
        return self.km

    def _take_warm_kernel(self) -> None:
        """Use the warm kernel started for this recipe (if any); the next student's is launched once this
        one answers (``_launch_next``): a sandbox that cannot start is not started twice."""
        fresh = self.km
        args = list(self.extra_arguments)
        if getattr(fresh, "ipykernel", False) and self.ipython_hist_file and \
                not any(arg.startswith("--HistoryManager.hist_file") for arg in args):
            args.append(f"--HistoryManager.hist_file={self.ipython_hist_file}")  # as nbclient's start adds it
        cwd = (self.resources or {}).get("metadata", {}).get("path") or None
        modules = pool.setup_imports(getattr(self, "_source_nb", None))
        key = pool.recipe(fresh, working_name=fresh.working_name(cwd), extra_arguments=args, modules=modules)
        warm = pool.get_pool()
        taken = warm.take(key)
        self._kernel["pool"] = taken.outcome
        self._timings["warm_wait"] = taken.waited
        if taken.km is not None:
            self.km = self._km_ref = taken.km
        self._warm_next = (key, cwd or os.getcwd(), args, modules)

    def _launch_next(self) -> None:
        if not getattr(self, "_warm_next", None):
            return
        key, cwd, args, modules = self._warm_next
        self._warm_next = None
        start = time.perf_counter()
        pool.get_pool().launch(key, self._new_kernel_manager, cwd=cwd, extra_arguments=args, modules=modules)
        self._timings["warm_launch"] = time.perf_counter() - start

    def start_new_kernel(self, **kwargs):
        self._km_ref = self.km  # nbclient drops self.km when a start fails; its log is still wanted
        return self._timed("kernel_start", super().start_new_kernel, **kwargs)

    def start_new_kernel_client(self):
        kc = self._timed("kernel_start", super().start_new_kernel_client)
        self._kernel["pid"] = getattr(self.km, "sandbox_pid", None) or getattr(
            getattr(getattr(self.km, "provisioner", None), "process", None), "pid", None)
        self._monitor(kc)
        self._launch_next()
        return kc

    def _monitor(self, kc) -> None:
        """Monitor the iopub and shell sockets: a dropped connection means a message over the size cap."""
        for channel in (kc.iopub_channel, kc.shell_channel):
            socket = getattr(channel, "socket", None)
            if socket is None:
                continue
            try:
                monitor = socket.get_monitor_socket(zmq.EVENT_DISCONNECTED)
                self._monitors.append((socket, monitor, zmq.Socket.shadow(monitor.underlying)))
            except zmq.ZMQError:
                continue

    def _connection_dropped(self) -> bool:
        for _, _, reader in self._monitors:
            try:
                while reader.poll(0):
                    event = parse_monitor_message(reader.recv_multipart(zmq.NOBLOCK))
                    if event["event"] & zmq.EVENT_DISCONNECTED:
                        self._dropped = True
            except (zmq.ZMQError, ValueError):
                continue
        return self._dropped

    async def _watch(self) -> None:
        """While a cell runs, every half second: a refused fork stops the kernel at once ("process limit");
        a dropped connection with the kernel still alive is a message over the size cap ("output limit")."""
        poller = zmq.asyncio.Poller()
        for _, monitor, _ in self._monitors:
            poller.register(monitor, zmq.POLLIN)
        while True:
            for monitor, _ in await poller.poll(timeout=500):
                event = parse_monitor_message(await monitor.recv_multipart())
                if event["event"] & zmq.EVENT_DISCONNECTED:
                    self._dropped = True
                    await asyncio.sleep(0.5)  # a kernel that is dying closes its sockets first
                    if self.km is not None and await ensure_async(self.km.is_alive()):
                        self._trip("output limit")
                    return
            if self._events().get("processes", 0) > 0:
                self._trip("process limit")
                return

    async def _async_poll_kernel_alive(self) -> None:
        self._alive_task = asyncio.current_task()  # nbclient keeps no handle on it; a tripped cell must stop it
        await super()._async_poll_kernel_alive()

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        watcher = asyncio.ensure_future(self._watch()) if self.km is not None else None
        try:
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        finally:
            for task in (watcher, getattr(self, "_alive_task", None)):
                if task is not None and not task.done():
                    task.cancel()

    execute_cell = run_sync(async_execute_cell)

    def _unwatch(self) -> None:
        for socket, monitor, _ in self._monitors:
            try:
                socket.disable_monitor()
            except zmq.ZMQError:
                pass
            monitor.close(linger=0)
        self._monitors = []

    def _kernel_alive(self) -> bool:
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        return process is None or process.poll() is None

    def _events(self, km=None) -> dict:
        km = km or self.km or getattr(self, "_km_ref", None)
        events = getattr(km, "limit_events", None)
        try:
            return events() if callable(events) else {}
        except OSError:
            return {}

    def _cleanup_kernel(self):
        km = self.km
        self._final_events = self._events(km)
        self._connection_dropped()
        self._unwatch()
        try:
            return self._timed("kernel_stop", super()._cleanup_kernel)
        finally:  # whatever path nbclient took (a dead kernel is not shut down), drop the sandbox
            discard = getattr(km, "discard_sandbox", None)
            if callable(discard):
                discard()
            if getattr(km, "cpu_seconds", None) is not None:
                self._kernel["cpu"] = round(km.cpu_seconds, 3)  # its whole life: start, warm-up, cells

    # -- limits --------------------------------------------------------------------------------------
    def process_message(self, msg, cell, cell_index):
        if msg.get("msg_type") not in ("status", "execute_input"):  # not the kernel's echo of our own request
            self._output_size += message_size(msg)
            if self._output_size > self.output_limit:
                self._trip("output limit")
                return None  # never stored
        return super().process_message(msg, cell, cell_index)

    def _trip(self, reason: str) -> None:
        """Stop the running cell for ``reason`` (nbclient then treats the kernel as gone and kills it)."""
        self._limit = self._limit or reason
        task = getattr(self, "task_poll_for_reply", None)
        if task is not None and not task.done():
            task.cancel()

    def _get_timeout(self, cell):
        timeout = super()._get_timeout(cell)
        if cell is None or self._deadline is None:
            return timeout
        left = self._deadline - time.monotonic()
        if timeout is None or left < timeout:
            self._budget_cut.add(self._running)
            return max(1, math.ceil(left))
        return timeout

    def _check_before(self, index: int) -> None:
        if self.time_budget and self._deadline is None:
            self._deadline = time.monotonic() + self.time_budget
        if self._deadline is not None and time.monotonic() >= self._deadline:
            raise LimitExceeded("time budget")

    def _check_after(self, cell, index: int) -> None:
        if self._limit:
            raise LimitExceeded(self._limit)
        if self._connection_dropped():
            time.sleep(0.5)  # a kernel that is dying closes its sockets first
            if not self._kernel_alive():
                raise DeadKernelError("Kernel died")
            self._limit = "output limit"
            raise LimitExceeded(self._limit)
        events = self._events()
        refused = events.get("processes", 0) > 0
        if "processes" not in events:  # no pids cgroup: the rlimit's refusals show as errors
            refused = any(_refused_fork(out) for out in cell.get("outputs", []))
        if refused:
            self._limit = "process limit"
            raise LimitExceeded(self._limit)
        if events.get("disk_full"):
            self._soft.setdefault("disk limit", index)

    def preprocess_cell(self, cell, resources, index):
        self._running, self._in_cell = index, False
        self._check_before(index)
        self._in_cell = True
        result = self._timed("cells", super().preprocess_cell, cell, resources, index)
        self._check_after(cell, index)
        self._ran = index
        return result

    # -- crash handling ----------------------------------------------------------------------------
    def preprocess(self, nb, resources=None, km=None):
        self._timings, self._running, self._ran, self._km_ref = {}, None, -1, None
        self._output_size, self._limit, self._dropped, self._monitors = 0, None, False, []
        self._deadline, self._budget_cut, self._soft, self._final_events = None, set(), {}, {}
        self._in_cell, self._kernel = False, {"pool": "off"}
        record = RECORDS.get((resources or {}).get("nbgrader", {}).get("course_grading", ""))
        try:
            nb, resources = super().preprocess(nb, resources, km)
        except Exception as exc:
            started = self._running is not None
            reason = self._reason(exc, started)
            detail = "" if started else self._kernel_log()  # why a kernel (or its sandbox) would not start
            if record is not None:
                record.setdefault("failures", []).append(
                    {"reason": reason, "cell": self._cell_name(nb, self._running), "error": self._error(exc, reason),
                     "kernel_log": detail})
            if not started:
                raise  # nothing ran: nbgrader's own failure handling (no grades, no autograded copy)
            self._mark_not_run(nb, self._ran + 1, reason, self._limit_size(reason), running=self._in_cell)
            return nb, resources
        else:
            timed_out = [i for i, cell in enumerate(nb.cells) for out in cell.get("outputs", [])
                         if out.get("output_type") == "error" and out.get("ename") == self.error_on_timeout.get("ename")]
            if timed_out and record is not None:  # interrupted after the per-cell limit; later cells did run
                budget = [i for i in timed_out if i in self._budget_cut]
                first = (budget or timed_out)[0]
                record.setdefault("failures", []).append(
                    {"reason": "time budget" if budget else "timed out", "cell": self._cell_name(nb, first),
                     "error": (f"the notebook's time budget of {self.time_budget} s ran out, interrupted" if budget
                               else f"no reply within {self.timeout} s, interrupted"), "kernel_log": ""})
            return nb, resources
        finally:
            if record is not None:
                for key, value in self._timings.items():
                    record.setdefault("timings", {})[key] = record.get("timings", {}).get(key, 0.0) + value
                record.setdefault("kernels", []).append(dict(self._kernel))
                self._record_soft_limits(nb, record)

    def _reason(self, exc: BaseException, started: bool) -> str:
        if not started:
            return "kernel did not start"
        if self._limit:
            return self._limit
        if isinstance(exc, LimitExceeded):
            return exc.reason
        if self._final_events.get("oom_kills"):
            return "memory limit"
        if self._final_events.get("processes"):
            return "process limit"
        if isinstance(exc, DeadKernelError) or "Kernel died" in str(exc):
            log = self._kernel_log(lines=20)
            if any(words in log for words in ("MemoryError", "Cannot allocate memory", "std::bad_alloc")):
                return "memory limit"
            return "kernel died"
        if self._dropped:
            return "output limit"  # a message over the size cap was refused; nbclient waited for it in vain
        if isinstance(exc, (CellTimeoutError, TimeoutError)) and self._running in self._budget_cut:
            return "time budget"
        return failure_reason(exc, started=True)

    def _error(self, exc: BaseException, reason: str) -> str:
        if reason == "output limit":
            return f"the notebook printed more than {_size_words(self.output_limit)}; the kernel was stopped"
        if reason == "time budget":
            return f"the notebook ran for its whole time budget of {self.time_budget} s; the kernel was stopped"
        if reason == "process limit":
            return "a new process or thread was refused by the sandbox's process cap; the kernel was stopped"
        if reason == "memory limit" and not isinstance(exc, LimitExceeded):
            return f"the kernel was killed at the sandbox's memory cap ({type(exc).__name__}: {exc})"
        return f"{type(exc).__name__}: {exc}"

    def _limit_size(self, reason: str) -> str:
        if reason == "output limit":
            return _size_words(self.output_limit)
        if reason == "time budget":
            return f"{self.time_budget} s"
        km = self.km or getattr(self, "_km_ref", None)
        if reason == "memory limit":
            limit = getattr(km, "memory_limit", None)
            return f"{limit / (1 << 30):g} GiB" if limit else "the sandbox's"
        if reason == "process limit":
            limit = getattr(km, "process_limit", None)
            return f"{limit} in all" if limit else "the sandbox's"
        return ""

    def _record_soft_limits(self, nb, record: dict) -> None:
        """Limits the kernel survived (a ``MemoryError``, a full disk): named in the status, the rest still ran."""
        soft = dict(self._soft)
        if self._final_events.get("oom_kills"):
            soft.setdefault("memory limit", self._running)
        if self._final_events.get("disk_full"):
            soft.setdefault("disk limit", self._running)
        for index, cell in enumerate(nb.cells):
            for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else ():
                if out.get("output_type") != "error":
                    continue
                text = f"{out.get('ename', '')}: {out.get('evalue', '')}"
                if out.get("ename") == "MemoryError":
                    soft.setdefault("memory limit", index)
                elif any(words in text for words in ("[Errno 28]", "No space left on device", "[Errno 27]",
                                                     "File too large")):
                    soft.setdefault("disk limit", index)
        known = {failure["reason"] for failure in record.get("failures", [])}
        for reason, index in sorted(soft.items(), key=lambda item: (item[1] is None, item[1] or 0)):
            if reason in known:
                continue
            words = {"memory limit": "a MemoryError, or a process killed at the sandbox's memory cap",
                     "disk limit": "the sandbox's writable space (home or /tmp) filled up"}[reason]
            record.setdefault("failures", []).append(
                {"reason": reason, "cell": self._cell_name(nb, index), "error": words, "kernel_log": ""})

    def _kernel_log(self, lines: int = 5) -> str:
        tail = getattr(self.km or getattr(self, "_km_ref", None), "kernel_log_tail", None)
        return tail(lines) if callable(tail) else ""

    @staticmethod
    def _cell_name(nb, index: int | None) -> str | None:
        if index is None or index >= len(nb.cells):
            return None
        cell = nb.cells[index]
        return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") or cell.get("id") or f"cell {index}"

    @staticmethod
    def _mark_not_run(nb, first: int, reason: str, size: str = "", running: bool = True) -> None:
        """Give every code cell from ``first`` on an error output, so no unrun test counts as passed.

        ``running``: the cell at ``first`` had started when it happened (else it never ran either).
        """
        why = WHY.get(reason, f"the grading kernel failed ({reason})").format(size)
        for index, cell in enumerate(nb.cells):
            if index < first or cell.cell_type != "code":
                continue
            words = (f"{why} while this cell was running" if index == first and running
                     else f"not run: {why} in an earlier cell")
            cell.setdefault("outputs", []).append(NotebookNode(
                output_type="error", ename=FAILURE_ENAME, evalue=words, traceback=[f"{FAILURE_ENAME}: {words}"]))


def _refused_fork(output: dict) -> bool:
    """An error output saying a new process or thread was refused (EAGAIN from fork or clone)."""
    if output.get("output_type") != "error":
        return False
    text = f"{output.get('ename', '')}: {output.get('evalue', '')}"
    return (output.get("ename") == "BlockingIOError" and "[Errno 11]" in text) or "can't start new thread" in text
