"""Warm grading kernels: the next student's sandboxed kernel starts and imports while this student runs.

A grading process (``course.grading.worker``) keeps at most one warm kernel. When a student's notebook
asks for a kernel (``GradingExecute.create_kernel_manager``), the warm kernel is taken if it was started
from the same recipe, and the next one is launched as soon as this one answers, so its start (about
0.6 s) and its imports (the set-up cell's ``course``, pint, pandas, ipywidgets: about 1.4 s) overlap this
student's cells and nbgrader's work. A kernel serves exactly one submission and is then destroyed.

**Why per process, bound to a student only when taken.** The grading process is handed one student at a
time (``worker.grade``) and never sees the queue, so it cannot know who comes next; it does not need to.

Until it is taken, a warm kernel has the smallest CPU weight of its cgroup (``cpu.shares`` 2, or
``cpu.weight`` 1): it uses only CPU that nothing else wants, so where every core is busy it slows no
student and costs nothing when no student comes after all (the last one of each grading process); when
taken it gets the usual weight back, and whatever of its warm-up is left runs then.

**Why a kernel can start before its student is known.** In the sandbox (``course.grading.sandbox``) the
kernel's working folder ``/home/student/<assignment>`` is a fresh tmpfs holding only the files released
with the assignment (read-only); nothing of the submission is ever mounted (the cells arrive over the
kernel's sockets), and home, ``/tmp``, ``/dev/shm`` and the cgroups are its own. So what a kernel can see
depends on the assignment (and the limits, the kernel, the environment), never on the student: the
pool binds a kernel to a student when it is taken. The recipe (:func:`recipe`) is compared at that
moment; on any difference the warm kernel is destroyed and the student gets a cold one. Without the
sandbox the kernel's folder is the student's own ``autograded/`` folder: no pool there.

**What the warm-up may change.** It imports the modules the assignment's source notebook imports
(:func:`setup_imports`), in a throw-away namespace, as a silent request (``store_history=False``): the
student's code sees the same user namespace, ``In``/``Out``, execution count, working folder,
environment and files as in a cold kernel; only ``sys.modules`` is already filled. A warm-up that fails
(an import error) or a kernel that died while waiting is never handed to a student.

Off with ``COURSE_WARM_KERNELS=0`` or ``c.GradingExecute.warm_kernels = False``.
"""

from __future__ import annotations

import ast
import collections
import json
import os
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import zmq
from jupyter_client.blocking import BlockingKernelClient
from jupyter_core.utils import run_sync

ENV_SWITCH = "COURSE_WARM_KERNELS"  # "0", "off", "false" or "no": no warm kernels
WARMUP_TIMEOUT = 120.0               # seconds a taken kernel may still need to finish its warm-up

# Run in the kernel (through ``exec`` in a fresh dict, so the student's namespace gains no name): import each
# module; for ``from package import name``, import ``package.name`` only where it is a submodule. Any failure
# makes the reply an error, and the kernel is then never used.
WARMUP = """\
import importlib, importlib.util, sys
failed = []
for name, submodule in {modules!r}:
    try:
        if submodule:
            parent = sys.modules.get(name.rpartition(".")[0])
            if parent is None or not hasattr(parent, "__path__") or importlib.util.find_spec(name) is None:
                continue
        importlib.import_module(name)
    except Exception as exc:
        failed.append(name + ": " + type(exc).__name__)
if failed:
    raise ImportError("warm-up failed: " + "; ".join(failed))
"""


def enabled(default: bool = True) -> bool:
    """Whether warm kernels are on: ``COURSE_WARM_KERNELS`` overrides ``default`` (the config trait)."""
    value = os.environ.get(ENV_SWITCH, "").strip().lower()
    if value in ("0", "off", "false", "no"):
        return False
    if value in ("1", "on", "true", "yes"):
        return True
    return default


@lru_cache(maxsize=32)
def _imports_of(path: str, mtime: float) -> tuple[tuple[str, bool], ...]:
    try:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ()
    found: dict[tuple[str, bool], None] = {}
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = source if isinstance(source, str) else "".join(source)
        try:
            tree = ast.parse(source)
        except SyntaxError:  # IPython magics, a student-style stub: nothing to learn from this cell
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    found[(alias.name, False)] = None
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module != "__future__":
                found[(node.module, False)] = None
                for alias in node.names:
                    if alias.name != "*":
                        found[(f"{node.module}.{alias.name}", True)] = None
    return tuple(found)


def setup_imports(source_notebook: str | Path | None) -> tuple[tuple[str, bool], ...]:
    """``((module, only_if_submodule), ...)`` the instructor's notebook imports, in order (cached per file)."""
    if not source_notebook:
        return ()
    path = Path(source_notebook)
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return ()
    return _imports_of(str(path), mtime)


def warmup_code(modules: tuple[tuple[str, bool], ...]) -> str:
    """The silent request a warm kernel runs: the imports, in a namespace of their own."""
    return f"exec({WARMUP.format(modules=list(modules))!r}, {{}})"


def recipe(km: Any, *, working_name: str, extra_arguments: list[str], modules: tuple, env: dict | None = None) -> tuple:
    """Everything a grading kernel's start depends on; a warm kernel serves only an equal recipe.

    ``km`` is a not-yet-started ``SandboxedKernelManager`` as the student's grading would make it.
    """
    from .sandbox import PASSED_ENV

    env = os.environ if env is None else env
    return (type(km).__qualname__, km.kernel_name, km.limits, km.released_root, tuple(km.read_only), km.bwrap,
            km.client_class, getattr(km, "max_message_size", None), working_name, tuple(extra_arguments),
            tuple((name, env[name]) for name in PASSED_ENV if name in env), tuple(modules))


@dataclass
class WarmKernel:
    """A started kernel, its warm-up request in flight, waiting for a student."""

    km: Any
    key: tuple
    client: BlockingKernelClient
    msg_id: str
    launched: float


@dataclass
class TakeResult:
    """What :meth:`WarmPool.take` found: the kernel (None: start a cold one) and why."""

    km: Any = None
    outcome: str = "none"          # "warm", "none", "recipe changed", "died", "warm-up failed", "warm-up timed out"
    waited: float = 0.0            # seconds spent waiting for the warm-up to finish


@dataclass
class WarmPool:
    """This process's warm kernel (at most one): :meth:`take` it, :meth:`launch` the next, :meth:`close` at exit."""

    timeout: float = WARMUP_TIMEOUT
    warm: WarmKernel | None = None
    owner: int = field(default_factory=os.getpid)
    history: collections.deque = field(default_factory=lambda: collections.deque(maxlen=64))  # take()'s outcomes
    broken: set = field(default_factory=set)           # recipes whose warm-up failed: not tried again
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)  # one grading thread at a time

    def launch(self, key: tuple, make_km: Callable[[], Any], *, cwd: str, extra_arguments: list[str],
               modules: tuple) -> None:
        """Start a kernel from ``make_km()`` for the next student and send it its warm-up (does not wait)."""
        with self.lock:
            if os.getpid() != self.owner:  # a forked copy of another process's pool: its kernels are not ours
                return
            old, self.warm = self.warm, None
            if old is not None:
                _destroy(old.km, old.client)
            if key not in self.broken:
                self._launch(key, make_km, cwd=cwd, extra_arguments=extra_arguments, modules=modules)

    def _launch(self, key: tuple, make_km: Callable[[], Any], *, cwd: str, extra_arguments: list[str],
                modules: tuple) -> None:
        km, client = make_km(), None
        try:
            background = getattr(km, "set_background", None)
            if callable(background):
                background(True)  # until taken, it runs only on CPU nobody else wants: never slows a student
            run_sync(km._async_start_kernel)(extra_arguments=list(extra_arguments), cwd=cwd)
            client = BlockingKernelClient()
            client.load_connection_info(km.get_connection_info())
            client.context.setsockopt(zmq.MAXMSGSIZE, 1 << 20)
            client.start_channels(shell=True, iopub=False, stdin=False, hb=False, control=False)
            msg_id = client.execute(warmup_code(modules), silent=True, store_history=False, allow_stdin=False)
            if getattr(km, "sandbox_pid", True) is None or not _alive(km):
                raise RuntimeError("the sandbox did not start")
        except Exception:  # noqa: BLE001 - no warm kernel: the next student starts a cold one, as before
            _destroy(km, client)
            return
        self.warm = WarmKernel(km, key, client, msg_id, time.perf_counter())

    def take(self, key: tuple) -> TakeResult:
        """The warm kernel if it was started from ``key``, finished its warm-up and is alive; else None.

        Whatever is not handed out is destroyed.
        """
        with self.lock:
            warm, self.warm = self.warm, None
        if warm is None or os.getpid() != self.owner:
            return self._note(TakeResult())
        if warm.key != key:
            _destroy(warm.km, warm.client)
            return self._note(TakeResult(outcome="recipe changed"))
        start = time.perf_counter()
        foreground = getattr(warm.km, "set_background", None)
        if callable(foreground):
            foreground(False)  # the student's kernel: the usual CPU weight, as a cold one has
        outcome = self._finish_warmup(warm)
        waited = time.perf_counter() - start
        if outcome != "warm":
            if outcome == "warm-up failed":
                self.broken.add(key)
            _destroy(warm.km, warm.client)
            return self._note(TakeResult(outcome=outcome, waited=waited))
        _close_client(warm.client)
        return self._note(TakeResult(warm.km, "warm", waited))

    def _finish_warmup(self, warm: WarmKernel) -> str:
        deadline = time.monotonic() + self.timeout
        while True:
            if not _alive(warm.km):
                return "died"
            left = deadline - time.monotonic()
            if left <= 0:
                return "warm-up timed out"
            try:
                reply = warm.client.get_shell_msg(timeout=min(0.25, left))
            except Exception:  # noqa: BLE001 - queue.Empty: not yet; check the kernel is alive and wait again
                continue
            if reply.get("parent_header", {}).get("msg_id") != warm.msg_id:
                continue
            if reply.get("content", {}).get("status") != "ok":
                return "warm-up failed"
            return "warm" if _alive(warm.km) else "died"

    def _note(self, result: TakeResult) -> TakeResult:
        self.history.append(result.outcome)
        return result

    def discard(self) -> None:
        """Destroy the warm kernel, if any (it served nobody)."""
        with self.lock:
            warm, self.warm = self.warm, None
        if warm is not None and os.getpid() == self.owner:
            _destroy(warm.km, warm.client)

    close = discard


def _alive(km: Any) -> bool:
    process = getattr(getattr(km, "provisioner", None), "process", None)
    return process is not None and process.poll() is None


def _close_client(client: BlockingKernelClient | None) -> None:
    if client is None:
        return
    try:
        client.stop_channels()
        if not client.context.closed:
            client.context.destroy(linger=0)
    except Exception:  # noqa: BLE001 - a socket already gone
        pass


def _destroy(km: Any, client: BlockingKernelClient | None = None) -> None:
    """Kill a kernel that will serve nobody and remove its sandbox (cgroups, folder)."""
    _close_client(client)
    try:
        if km.has_kernel:
            run_sync(km._async_shutdown_kernel)(now=True)
    except Exception:  # noqa: BLE001 - already dead: only its sandbox is left to remove
        pass
    finally:
        discard = getattr(km, "discard_sandbox", None)
        if callable(discard):
            discard()


_POOL: WarmPool | None = None


def get_pool() -> WarmPool:
    """This process's pool (made on first use; its warm kernel is destroyed when the process exits)."""
    global _POOL
    if _POOL is None or _POOL.owner != os.getpid():
        import atexit
        from multiprocessing import util

        _POOL = WarmPool()
        atexit.register(_POOL.close)  # a plain process
        util.Finalize(_POOL, _POOL.close, exitpriority=20)  # a multiprocessing worker (it skips atexit)
    return _POOL
