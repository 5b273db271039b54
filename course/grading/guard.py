"""The kernel side of supervised grading: check cells run on a restored kernel, and prove that they ran.

At autograde time nbgrader runs a submission's cells, then the check cells, all in one kernel: the
student's code runs first and can patch builtins, the ``course`` modules or IPython itself (measured in
the course notes: a wrong answer then scored full marks). The grader (``course.nbgrader_ext.Supervise``
and ``VerifySupervision``) and this module work together:

1. :func:`arm` runs in a cell the grader puts *before* every notebook cell, so no student code has run:
   it imports the checker modules, snapshots what the checks depend on (``builtins``, the ``course``
   modules and ``sys.modules`` entries, the classes they use and those classes' modules, trace and GC
   hooks, signal handlers, the standard streams), loads *private* copies of the checker modules straight
   from their files (never placed in ``sys.modules``, with their own copy of the builtins), and makes a
   random key that only the grader learns (it is published once as this cell's output).
2. Each check cell is sent as ``run(cell, nonce, source)`` instead of its own text. :func:`run` restores
   the snapshot (reporting what it undid), refuses to go on while a thread the notebook started is
   alive, compiles and executes the check cell's source itself (IPython's input and AST transformers
   never see it) against the untouched builtins, restores again between the visible and the hidden
   checks (the answer ran in between), and only when every check passed publishes a receipt:
   an HMAC of the cell, the nonce and the source's hash under the key.
3. The grader keeps the receipt out of the notebook and gives the cell no points when the receipt is
   missing or wrong: a blanked, rewritten or skipped cell, or a faked success, earns nothing.

Hidden checks use ``course.grading.verified``: the private checkers, which notebook code holds no
reference to, so patching ``course.checks`` even while a check is calling the student's function
changes nothing.

Limits (stated in the README): student code shares the kernel. Code written against this module (digging
the key or the private copies out of memory with ``gc``/frames, audit hooks, patching the shared pint
classes from inside an answer while a check runs) can still defeat it; the static scan
(``course.grading.scan``) flags every such technique for a person, and the sandbox keeps the files out
of reach. The guard makes the generic tampering measured in the notes earn nothing.
"""

from __future__ import annotations

import builtins
import gc
import hashlib
import hmac
import importlib
import importlib.util
import linecache
import secrets
import signal
import sys
import threading
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

#: The mimetype of receipts (grader-side: ``course.nbgrader_ext``); the key is published once with it.
RECEIPT_MIME = "application/vnd.course.receipt+json"
KEY_MIME = "application/vnd.course.supervision-key+json"
HIDDEN_MARKER = "### BEGIN HIDDEN TESTS"

#: Modules whose checkers hidden tests get as private copies (``course.grading.verified``).
PRIVATE_MODULES = ("course.checks", "course.assumptions", "course.architecture", "course.schema", "course.api")
#: Classes a private copy shares with the public module: answers are instances of them, or they are raised.
SHARED_CLASSES = {"course.checks": ("CheckFailed",), "course.assumptions": ("Assumptions",)}
#: Standard modules hidden tests use directly; their functions and classes are restored too.
STDLIB_MODULES = ("random", "math", "itertools", "functools", "collections", "operator", "re", "json",
                  "string", "heapq", "bisect", "copy", "statistics", "hashlib", "hmac")

#: Packages whose own thread classes may start during a notebook (pyzmq's garbage collector, for one).
KERNEL_THREAD_MODULES = ("zmq", "ipykernel", "IPython", "jupyter_client", "tornado", "comm")

_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: classes defined in Python, which can be patched


class GradingIntegrityError(AssertionError):
    """A check cell could not be run under the grader's supervision (the message says why)."""


class _Snapshot:
    """Everything :func:`run` restores, taken by :func:`arm` before any notebook code ran."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.builtins = dict(builtins.__dict__)
        self.modules: dict[str, tuple[types.ModuleType, dict[str, Any]]] = {}
        self.classes: dict[type, dict[str, Any]] = {}
        course_names = [name for name in sys.modules if name == "course" or name.startswith("course.")]
        for name in course_names:
            self._module(sys.modules[name])
        for name in STDLIB_MODULES:
            if name in sys.modules:
                self._module(sys.modules[name])
        for module, _ in list(self.modules.values()):
            for value in list(vars(module).values()):
                if isinstance(value, type):
                    self._class(value)
                elif isinstance(value, types.ModuleType) and module.__name__.split(".")[0] == "course":
                    self._module(value)
        for cls in list(self.classes):
            owner = sys.modules.get(cls.__module__)
            if owner is not None:
                self._module(owner)
        self.sys_modules = {name: module for name, (module, _) in self.modules.items()
                            if sys.modules.get(name) is module}
        self.trace = (sys.gettrace(), sys.getprofile(), threading.gettrace(), threading.getprofile())
        self.gc_callbacks = list(gc.callbacks)
        self.signals = {}
        for sig in signal.valid_signals():
            try:
                handler = signal.getsignal(sig)
            except (ValueError, OSError):
                continue
            if handler is not None:
                self.signals[sig] = handler
        self.streams = (sys.stdout, sys.stderr, sys.displayhook, sys.excepthook)
        self.threads = {thread.ident for thread in threading.enumerate()}
        self.meta_path, self.path_hooks = list(sys.meta_path), list(sys.path_hooks)
        # Private references: what run() itself calls.
        self.compile, self.exec, self.print = builtins.compile, builtins.exec, builtins.print
        self.hmac_new, self.sha256, self.compare = hmac.new, hashlib.sha256, hmac.compare_digest
        self.publish = shell.display_pub.publish if shell is not None else None
        self.user_ns = shell.user_ns if shell is not None else None

    def _module(self, module: types.ModuleType) -> None:
        name = getattr(module, "__name__", None)
        if isinstance(name, str) and name not in self.modules:
            self.modules[name] = (module, dict(vars(module)))

    def _class(self, cls: type) -> None:
        for klass in cls.__mro__:
            if klass.__flags__ & _HEAPTYPE and klass not in self.classes:
                self.classes[klass] = dict(vars(klass))

    # -- restoring ---------------------------------------------------------------------------------
    def restore(self) -> list[str]:
        """Put back everything the snapshot holds; the names of what had been changed."""
        undone: list[str] = []
        tracing = (sys.gettrace(), sys.getprofile(), threading.gettrace(), threading.getprofile())
        if tracing != self.trace:
            sys.settrace(self.trace[0])
            sys.setprofile(self.trace[1])
            threading.settrace(self.trace[2])
            threading.setprofile(self.trace[3])
            undone.append("sys.settrace/setprofile")
        if gc.callbacks != self.gc_callbacks:
            gc.callbacks[:] = self.gc_callbacks
            undone.append("gc.callbacks")
        undone += self._restore_signals()
        streams = (sys.stdout, sys.stderr, sys.displayhook, sys.excepthook)
        if not all(_same(a, b) for a, b in zip(streams, self.streams)):
            sys.stdout, sys.stderr, sys.displayhook, sys.excepthook = self.streams
            undone.append("sys.stdout/stderr/displayhook/excepthook")
        if sys.meta_path != self.meta_path or sys.path_hooks != self.path_hooks:
            sys.meta_path[:], sys.path_hooks[:] = self.meta_path, self.path_hooks
            undone.append("sys.meta_path/path_hooks")
        undone += _restore_namespace(builtins.__dict__, self.builtins, "builtins", lambda key, value: False)
        for name, module in self.sys_modules.items():
            if sys.modules.get(name) is not module:
                sys.modules[name] = module
                undone.append(f"sys.modules[{name!r}]")
        for name, (module, saved) in self.modules.items():
            ours = name == "course" or name.startswith("course.")
            undone += _restore_namespace(
                vars(module), saved, name,
                (lambda key, value: not isinstance(value, types.ModuleType)) if ours
                else (lambda key, value: key in self.builtins and not key.startswith("__")),
            )
        for cls, saved in self.classes.items():
            undone += _restore_class(cls, saved)
        return undone

    def _restore_signals(self) -> list[str]:
        undone = []
        if threading.current_thread() is not threading.main_thread():
            return undone
        for timer in (signal.ITIMER_REAL, signal.ITIMER_VIRTUAL, signal.ITIMER_PROF):
            if signal.getitimer(timer) != (0.0, 0.0):
                signal.setitimer(timer, 0)
                undone.append("signal timers")
        for sig, handler in self.signals.items():
            try:
                if signal.getsignal(sig) is not handler:
                    signal.signal(sig, handler)
                    undone.append(f"signal handler {signal.Signals(sig).name}")
            except (ValueError, OSError, TypeError):
                continue
        return undone

    def new_threads(self) -> list[str]:
        """Threads started since :func:`arm` other than the kernel's own machinery (zmq, ipykernel)."""
        return [thread.name for thread in threading.enumerate()
                if thread.ident not in self.threads and thread.is_alive()
                and type(thread).__module__.split(".")[0] not in KERNEL_THREAD_MODULES]


def _same(now: Any, then: Any) -> bool:
    """Identity, except that a bound method made anew (``shell.excepthook``) is the same method."""
    if now is then:
        return True
    bound = (types.MethodType, types.BuiltinMethodType)
    return isinstance(now, bound) and isinstance(then, bound) and type(now) is type(then) and now == then


def _restore_namespace(namespace: dict, saved: dict, label: str, drop_added: Callable[[str, Any], bool]) -> list[str]:
    undone = []
    for key, value in saved.items():
        if key not in namespace or not _same(namespace[key], value):
            namespace[key] = value
            undone.append(f"{label}.{key}")
    for key in [k for k in namespace if k not in saved]:
        if drop_added(key, namespace[key]):
            del namespace[key]
            undone.append(f"{label}.{key}")
    return undone


def _restore_class(cls: type, saved: dict) -> list[str]:
    undone = []
    current = vars(cls)
    for key, value in saved.items():
        if not _same(current.get(key, _MISSING), value):
            try:
                type.__setattr__(cls, key, value)
                undone.append(f"{cls.__module__}.{cls.__qualname__}.{key}")
            except (AttributeError, TypeError):
                pass
    ours = cls.__module__.split(".")[0] == "course"
    for key in [k for k in current if k not in saved]:
        shadows = any(key in vars(base) for base in cls.__mro__[1:])
        if ours or shadows or (key.startswith("__") and key.endswith("__")):
            try:
                type.__delattr__(cls, key)
                undone.append(f"{cls.__module__}.{cls.__qualname__}.{key}")
            except (AttributeError, TypeError):
                pass
    return undone


_MISSING = object()


# -- private checkers ------------------------------------------------------------------------------

def _noop(*args: Any, **kwargs: Any) -> None:
    """Hidden checks stay quiet when they pass (their ✓ lines would show hidden data in the feedback)."""


def _load_private_modules(pristine: dict[str, Any]) -> dict[str, types.ModuleType]:
    """Fresh copies of :data:`PRIVATE_MODULES` from their files, wired to each other, never in ``sys.modules``."""
    private: dict[str, types.ModuleType] = {}
    real_import = pristine["__import__"]

    def private_import(name, globals=None, locals=None, fromlist=(), level=0):
        package = (globals or {}).get("__package__")
        if level == 1 and package == "course" and f"course.{name}" in private:
            return private[f"course.{name}"]
        return real_import(name, globals, locals, fromlist, level)

    own_builtins = dict(pristine)
    own_builtins["__import__"] = private_import
    own_builtins["print"] = _noop
    for name in PRIVATE_MODULES:
        public = importlib.import_module(name)
        spec = importlib.util.spec_from_file_location(name, public.__file__)
        module = importlib.util.module_from_spec(spec)
        module.__dict__["__builtins__"] = own_builtins
        spec.loader.exec_module(module)
        for shared in SHARED_CLASSES.get(name, ()):
            setattr(module, shared, getattr(public, shared))
        for key, value in list(vars(module).items()):
            if value is pristine["print"]:
                setattr(module, key, _noop)
        private[name] = module
    return private


_STATE: _State | None = None
_UNARMED_PRIVATE: dict[str, types.ModuleType] | None = None


class _State:
    def __init__(self, shell: Any) -> None:
        self.snapshot = _Snapshot(shell)
        self.private = types.MappingProxyType(_load_private_modules(self.snapshot.builtins))
        self.key = secrets.token_bytes(32)


def private_modules() -> Mapping[str, types.ModuleType]:
    """The private checker modules: the armed kernel's, or (outside grading) copies made now."""
    global _UNARMED_PRIVATE
    if _STATE is not None:
        return _STATE.private
    if _UNARMED_PRIVATE is None:
        _UNARMED_PRIVATE = _load_private_modules(dict(builtins.__dict__))
    return _UNARMED_PRIVATE


def arm() -> None:
    """Prepare this kernel for supervised grading. The grader runs it before any notebook cell.

    Publishes the key (once, as this cell's output, which the grader removes); raises when the
    ``course`` package the kernel imports is not the installed one (a folder named ``course`` next to
    the notebook would shadow it).
    """
    global _STATE
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        raise GradingIntegrityError("grading supervision needs an IPython kernel")
    import course

    here = Path.cwd().resolve()
    package = Path(course.__file__).resolve().parent
    if package.is_relative_to(here):
        raise GradingIntegrityError(
            f"the kernel imports the course package from the submission folder ({package}); "
            "a submission must not contain a `course` folder")
    for name in (*PRIVATE_MODULES, "course.grading.verified"):  # what the checks need, and nothing more
        importlib.import_module(name)
    state = _State(shell)
    _STATE = state
    # The snapshot holds this module's globals too: a replaced _STATE is put back like anything else.
    state.snapshot.modules[__name__][1]["_STATE"] = state
    state.snapshot.publish({KEY_MIME: {"key": state.key.hex()}}, metadata={})
    outputs = getattr(getattr(shell, "history_manager", None), "outputs", None)
    if isinstance(outputs, dict):
        outputs.pop(shell.execution_count, None)
        outputs.pop(shell.execution_count - 1, None)


def _parts(source: str) -> list[str]:
    """The visible checks, then the hidden ones: each compiled alone, with the cell's own line numbers."""
    lines = source.split("\n")
    cut = next((i for i, line in enumerate(lines) if line.strip() == HIDDEN_MARKER), None)
    if cut is None:
        return [source]
    return ["\n".join(lines[:cut]), "\n" * cut + "\n".join(lines[cut:])]


def receipt_mac(key: bytes, cell: str, nonce: str, source: str) -> str:
    """The receipt of a check cell that ran to the end: HMAC-SHA256 over the cell, nonce and source hash."""
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()
    return hmac.new(key, f"{cell}\0{nonce}\0{digest}".encode(), "sha256").hexdigest()


def run(cell: str, nonce: str, source: str) -> None:
    """Run a check cell's ``source`` on a restored kernel; publish its receipt when every check passed."""
    __tracebackhide__ = True
    state = _STATE
    if state is None:
        raise GradingIntegrityError("this kernel was not prepared for grading, so the checks cannot be trusted")
    snap = state.snapshot
    undone = snap.restore()
    if undone:
        names = list(dict.fromkeys(undone))
        shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
        snap.print(f"Grading note: before running these checks the grader undid changes the notebook made to {shown}.")
    threads = snap.new_threads()
    if threads:
        raise GradingIntegrityError(
            "a background thread started by the notebook is still running "
            f"({', '.join(threads)}), so the checks cannot run undisturbed")
    namespace = snap.user_ns
    # The check cell's own code sees the real builtins; the student's functions keep their globals.
    scope = {k: v for k, v in namespace.items()
             if k.startswith("__") or not (k in snap.builtins and v is not snap.builtins[k])}
    scope["__builtins__"] = builtins
    filename = f"<check cell {cell}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    try:
        for number, part in enumerate(_parts(source)):
            if number:  # the answer may have patched something while the visible checks called it
                snap.restore()
            snap.exec(snap.compile(part, filename, "exec", dont_inherit=True), scope)
    finally:
        for key, value in scope.items():  # what the check cell defined stays defined, as in a normal cell
            if key != "__builtins__" and namespace.get(key, _MISSING) is not value:
                namespace[key] = value
    mac = snap.hmac_new(state.key, f"{cell}\0{nonce}\0{snap.sha256(source.encode('utf-8')).hexdigest()}".encode(),
                        "sha256").hexdigest()
    snap.publish({RECEIPT_MIME: {"cell": cell, "nonce": nonce, "mac": mac}}, metadata={})
