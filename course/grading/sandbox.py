"""The grading sandbox: each submission's kernel runs in bubblewrap and sees only its own working copy.

Built from an allow-list, not by hiding things: the sandbox's root is empty, and only these are mounted
in it (``bwrap_argv`` spells them out):

- read-only: the system (``/usr``, ``/etc``, the ``/bin``-style links), the Python that runs the grader
  and its venv, the ``course`` package the notebooks import, and nothing else of the repository or the
  course folder: not ``source/`` or ``authoring/`` (solutions, hidden tests), not the gradebook, not
  ``submitted/``, ``autograded/`` or ``feedback/`` (classmates' work), not ``/root`` or ``/home``;
- read-write: a private home, ``/home/student``, whose ``<assignment>/`` folder is the kernel's working
  copy (the assignment's extra files are mounted in it read-only; the notebook with the hidden tests is
  not), and the folder of the kernel's connection file and IPC sockets. All of it is thrown away with the
  kernel; the course folder's path does not even exist inside;
- a private ``/tmp``, ``/proc`` of its own PID namespace, a minimal ``/dev``; no network (a new network
  namespace: nothing, not even 127.0.0.1, is reachable), no capabilities, no further user namespaces,
  a cleared environment (no ``COURSE_DB_URL``), a new session (no terminal injection), and the kernel
  is killed with its grader (``--die-with-parent``).

The kernel talks to nbgrader over IPC sockets in its own runtime folder (TCP would need the network),
and is interrupted by message (a signal to bwrap does not reach a process in its own session).
Only ``python -m course grade`` uses this kernel manager; students' own kernels are untouched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import List, Unicode, default

COURSE_PACKAGE = Path(__file__).resolve().parent.parent
SYSTEM_DIRS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
HIDDEN_SYSTEM_FILES = ("/etc/shadow", "/etc/gshadow", "/etc/jupyter")
# Variables the kernel may inherit; everything else (database URLs, tokens, ...) is cleared.
PASSED_ENV = ("PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "NBGRADER_EXECUTION", "MPLBACKEND",
              "COURSE_STATIC_WIDGETS", "PYDEVD_DISABLE_FILE_VALIDATION", "JUPYTER_PLATFORM_DIRS",
              "PYTHONHASHSEED", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
TMP_SIZE = 256 * 1024 * 1024
INSTALL_HINT = ("install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; `make system-deps` does it), "
                "or pass --no-sandbox to grade without one (student code can then read the hidden tests, "
                "the gradebook and classmates' work)")


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create the namespaces it needs on this machine."""


def python_roots() -> list[Path]:
    """The folders the grader's interpreter and venv live in (the kernel runs the same interpreter)."""
    roots = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
    roots.add(Path(os.path.realpath(sys.executable)).parent.parent)
    return sorted(roots)


@lru_cache(maxsize=None)
def _bwrap_help(bwrap: str) -> str:
    return subprocess.run([bwrap, "--help"], capture_output=True, text=True).stdout


SANDBOX_HOME = Path("/home/student")


def bwrap_argv(kernel_cmd: list[str], *, home: str | Path, work: str | Path, runtime: str | Path,
               assignment: str = "assignment", assignment_files: list[Path] = (), read_only: list[str | Path] = (),
               env: dict[str, str] | None = None, bwrap: str = "bwrap") -> list[str]:
    """The ``bwrap`` command line that runs ``kernel_cmd`` in the sandbox.

    Inside, the kernel's home is ``/home/student`` (backed by the private folder ``home``) and its working
    directory ``/home/student/<assignment>`` (backed by the private folder ``work``), where the
    ``assignment_files`` are mounted read-only under their own names. ``runtime`` (connection file, IPC
    sockets) is shared with the grader, read-write, at its own path. Nothing of the course folder exists
    inside: not even its path.
    """
    home, work, runtime = Path(home), Path(work), Path(runtime)
    env = dict(os.environ if env is None else env)
    cwd = SANDBOX_HOME / assignment
    argv = [bwrap, "--unshare-user", "--unshare-all", "--cap-drop", "ALL", "--die-with-parent", "--new-session"]
    if "--disable-userns" in _bwrap_help(bwrap):
        argv.append("--disable-userns")
    argv += ["--proc", "/proc", "--dev", "/dev", "--size", str(TMP_SIZE), "--tmpfs", "/tmp"]
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            argv += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            argv += ["--ro-bind", path, path]
    for path in HIDDEN_SYSTEM_FILES:
        if os.path.isdir(path):
            argv += ["--tmpfs", path]
        elif os.path.exists(path):
            argv += ["--ro-bind", "/dev/null", path]
    for path in [*python_roots(), COURSE_PACKAGE, *map(Path, read_only)]:
        if path.exists():
            argv += ["--ro-bind", str(path), str(path)]
    argv += ["--bind", str(runtime), str(runtime), "--bind", str(home), str(SANDBOX_HOME), "--bind", str(work), str(cwd)]
    for path in assignment_files:
        argv += ["--ro-bind", str(path), str(cwd / Path(path).name)]
    argv += ["--remount-ro", "/", "--chdir", str(cwd), "--clearenv"]
    settings = {name: env[name] for name in PASSED_ENV if name in env}
    venv_bin = str(Path(sys.executable).parent)
    if venv_bin not in settings.get("PATH", "").split(os.pathsep):
        settings["PATH"] = os.pathsep.join(filter(None, [venv_bin, settings.get("PATH", "/usr/bin:/bin")]))
    settings.update(HOME=str(SANDBOX_HOME), IPYTHONDIR=str(SANDBOX_HOME / ".ipython"),
                    MPLCONFIGDIR=str(SANDBOX_HOME / ".matplotlib"), XDG_CACHE_HOME=str(SANDBOX_HOME / ".cache"),
                    XDG_CONFIG_HOME=str(SANDBOX_HOME / ".config"), JUPYTER_RUNTIME_DIR=str(runtime), TMPDIR="/tmp",
                    PYTHONDONTWRITEBYTECODE="1")
    for name, value in sorted(settings.items()):
        argv += ["--setenv", name, value]
    return [*argv, "--", *kernel_cmd]


def check(bwrap: str = "bwrap") -> str:
    """The path of a working ``bwrap``; :class:`SandboxUnavailable` with the reason and the fix otherwise.

    Runs the interpreter in a sandbox built exactly as a grading kernel's is, importing ``course``.
    """
    found = shutil.which(bwrap)
    if not found:
        raise SandboxUnavailable(f"no grading sandbox: bubblewrap (bwrap) is not installed; {INSTALL_HINT}")
    with tempfile.TemporaryDirectory(prefix="sdl-check-") as tmp:
        for name in ("run", "home", "work"):
            (Path(tmp) / name).mkdir()
        argv = bwrap_argv([sys.executable, "-c", "import course, socket; print('ok')"], home=Path(tmp) / "home",
                          work=Path(tmp) / "work", runtime=Path(tmp) / "run", bwrap=found)
        try:
            result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            raise SandboxUnavailable(f"no grading sandbox: bwrap did not start within 60 s; {INSTALL_HINT}") from None
    if result.returncode != 0 or result.stdout.strip() != "ok":
        why = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise SandboxUnavailable(
            f"no grading sandbox: bwrap is installed but could not start a kernel here ({why[0]}). "
            "It needs user namespaces (sysctl kernel.unprivileged_userns_clone=1; on Ubuntu 24.04 also "
            f"kernel.apparmor_restrict_unprivileged_userns=0); {INSTALL_HINT}")
    return found


def prepare() -> None:
    """One-off set-up before grading starts (and before worker processes fork).

    Builds the font cache template, and removes the private folders of kernels whose grader was killed
    (``sdl-kernel-<grader pid>-*`` in the temporary folder, for pids no longer running).
    """
    _matplotlib_template()
    for folder in Path(tempfile.gettempdir()).glob("sdl-kernel-*-*"):
        pid = folder.name.split("-")[2]
        try:
            if not pid.isdigit() or folder.stat().st_uid != os.getuid():
                continue
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def seed_matplotlib_cache(target: Path) -> None:
    """Copy the grader's matplotlib font cache into a kernel's private home (else each kernel rebuilds it)."""
    template = _matplotlib_template()
    if template is None:
        return
    target.mkdir(parents=True, exist_ok=True)
    for item in template.glob("fontlist-*.json"):
        shutil.copy2(item, target / item.name)


@lru_cache(maxsize=1)
def _matplotlib_template() -> Path | None:
    """A folder holding a matplotlib font cache built by this interpreter, made once per machine and user."""
    template = Path(tempfile.gettempdir()) / f"sdl-mplcache-{os.getuid()}-{sys.version_info[0]}{sys.version_info[1]}"
    template.mkdir(mode=0o700, exist_ok=True)
    if template.stat().st_uid != os.getuid():
        return None  # someone else's folder in a shared /tmp: never copy their files into a kernel
    if not any(template.glob("fontlist-*.json")):
        env = {**os.environ, "MPLCONFIGDIR": str(template), "MPLBACKEND": "Agg"}
        subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], env=env,
                       capture_output=True, timeout=300)
    return template if any(template.glob("fontlist-*.json")) else None


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager that starts the kernel in the bubblewrap sandbox described in this module.

    Use it as ``Execute``'s ``kernel_manager_class`` (``course.grading.execute`` does, when sandboxing).
    """

    bwrap = Unicode("bwrap", help="The bubblewrap executable.").tag(config=True)
    read_only = List(Unicode(), help="Extra paths the kernel may read (e.g. a shared data folder).").tag(config=True)

    _sandbox_dir: Path | None = None

    @default("transport")
    def _default_transport(self) -> str:
        return "ipc"

    @property
    def kernel_spec(self):
        spec = super().kernel_spec
        if spec is not None:
            spec.interrupt_mode = "message"  # SIGINT to bwrap would not reach the kernel's own session
        return spec

    async def _async_pre_start_kernel(self, **kw):
        if self._sandbox_dir is None:
            self._sandbox_dir = Path(tempfile.mkdtemp(prefix=f"sdl-kernel-{os.getpid()}-"))
            run = self._sandbox_dir / "run"
            for name in ("run", "home", "work"):
                (self._sandbox_dir / name).mkdir()
            seed_matplotlib_cache(self._sandbox_dir / "home" / ".matplotlib")
            self.transport = "ipc"
            self.connection_file = str(run / "kernel.json")
            self.ip = str(run / "kernel")
        return await super()._async_pre_start_kernel(**kw)

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        assert self._sandbox_dir is not None
        folder = Path(kw.pop("cwd", None) or os.getcwd()).resolve()  # nbgrader's autograded/<student>/<assignment>
        files = sorted(p for p in folder.iterdir() if p.suffix != ".ipynb") if folder.is_dir() else []
        argv = bwrap_argv(kernel_cmd, home=self._sandbox_dir / "home", work=self._sandbox_dir / "work",
                          runtime=self._sandbox_dir / "run", assignment=folder.name, assignment_files=files,
                          read_only=self.read_only, env=kw.get("env"), bwrap=self.bwrap)
        # The kernel's own stdout/stderr (start-up notes, crash messages) go to a log the grader reads.
        with open(self._sandbox_dir / "kernel.log", "ab") as log:
            kw.update(stdout=log, stderr=log)
            await super()._async_launch_kernel(argv, cwd=str(self._sandbox_dir), **kw)

    _last_log: str = ""

    def kernel_log_tail(self, lines: int = 5) -> str:
        """The last lines the kernel process printed (kept after the kernel is cleaned up)."""
        text = self._last_log
        if self._sandbox_dir is not None:
            try:
                text = (self._sandbox_dir / "kernel.log").read_text(errors="replace")
            except OSError:
                pass
        return "\n".join(text.strip().splitlines()[-lines:])

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            self.discard_sandbox()

    cleanup_resources = _async_cleanup_resources  # AsyncKernelManager binds the name to its own function

    def discard_sandbox(self) -> None:
        """Delete the kernel's private folders (kept: the tail of its log). Also for a kernel that died."""
        if self._sandbox_dir is not None:
            self._last_log = self.kernel_log_tail(lines=20)
            shutil.rmtree(self._sandbox_dir, ignore_errors=True)
            self._sandbox_dir = None
