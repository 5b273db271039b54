"""The grading sandbox: each submission's kernel runs in bubblewrap, sees only what it needs, within limits.

Built from an allow-list, not by hiding things: the sandbox's root is empty, and only these are mounted
in it (``bwrap_argv`` spells them out):

- read-only: the system (``/usr``, ``/etc``, the ``/bin``-style links), the Python that runs the grader
  and its venv, the ``course`` package the notebooks import **minus** ``course/grading/`` (an empty
  read-only tmpfs over it: the kernel cannot even import the grader), and the files the instructor
  released with the assignment (``source/<assignment>/``: regular files, not notebooks, not symlinks),
  in the kernel's working folder. Nothing a student handed in besides the notebook is mounted, so no
  ``checks.py`` next to it can shadow an import. Not ``source/``'s notebooks or ``authoring/``, not the
  gradebook, not ``submitted/``, ``autograded/`` or ``feedback/``, not ``/root`` or ``/home``;
- writable, all of it size-capped tmpfs (RAM, thrown away with the kernel, never the host's disk): the
  home ``/home/student`` holding the working folder ``/home/student/<assignment>``, ``/tmp``,
  ``/dev/shm``, and ``/run/jupyter`` where the kernel binds its IPC sockets. The grader reaches those
  sockets through ``/proc/<sandbox pid>/root/run/jupyter/...``; the folder holding the connection file
  is mounted read-only. matplotlib's font cache is bind-mounted read-only into a writable config folder;
- a ``/proc`` of its own PID namespace, a minimal ``/dev``; no network (a new network namespace: nothing,
  not even 127.0.0.1, is reachable), no capabilities, no further user namespaces, a cleared environment
  (no ``COURSE_DB_URL``), a new session (no terminal injection), and the kernel is killed with its
  grader (``--die-with-parent``).

**Limits** (:class:`Limits`; ``SandboxedKernelManager`` traits, settable in ``nbgrader_config.py``):

- inside the sandbox, after bwrap made its user namespace, a tiny launcher sets rlimits and then execs
  the kernel: ``RLIMIT_AS`` (memory per process, default 3 GiB: a ``MemoryError``), ``RLIMIT_NPROC``
  (128 processes and threads), ``RLIMIT_FSIZE`` (largest file, 64 MiB), ``RLIMIT_NOFILE`` (1024) and
  ``RLIMIT_CORE`` 0; BLAS/OpenMP use one thread;
- writable space is the tmpfs sizes above (``disk``, 128 MiB each for the home and ``/tmp``);
- each kernel gets its own cgroups where the machine lets the grader make them (cgroup v1 ``pids``,
  ``memory``, ``cpu`` controllers, or delegated v2 ones): ``pids.max`` (the process cap), a memory cap
  for the whole sandbox (tmpfs pages included) and one core of CPU, so a fork bomb or a busy loop cannot
  starve the kernels graded beside it (v1 ``cpuacct``, or v2 ``cpu.stat``, counts its CPU time: the
  journal's ``kernel.cpu``). **As root the process cap needs the cgroup**: Linux never applies
  ``RLIMIT_NPROC`` to uid 0, and a root grader's sandbox is uid 0 (mapped) in its namespace. Set before
  bwrap, the rlimit would instead count every process of the grader's user. :func:`describe_limits`
  says which caps hold here; the grading command prints a warning for any that does not.

The kernel talks to nbgrader over IPC sockets (TCP would need the network), and is interrupted by message
(a signal to bwrap does not reach a process in its own session). Only ``python -m course grade`` uses this
kernel manager; students' own kernels are untouched.
"""

from __future__ import annotations

import fnmatch
import json
import os
import secrets
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Float, Integer, List, Unicode, default

MiB, GiB = 1 << 20, 1 << 30
COURSE_PACKAGE = Path(__file__).resolve().parent.parent
GRADING_PACKAGE = Path(__file__).resolve().parent
SYSTEM_DIRS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
HIDDEN_SYSTEM_FILES = ("/etc/shadow", "/etc/gshadow", "/etc/jupyter")
# Variables the kernel may inherit; everything else (database URLs, tokens, ...) is cleared.
PASSED_ENV = ("PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "NBGRADER_EXECUTION", "MPLBACKEND",
              "COURSE_STATIC_WIDGETS", "PYDEVD_DISABLE_FILE_VALIDATION", "JUPYTER_PLATFORM_DIRS",
              "PYTHONHASHSEED")
# One thread for numerical libraries: a kernel is one core's work, and threads count against the process cap.
FORCED_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "NUMEXPR_NUM_THREADS": "1", "MALLOC_ARENA_MAX": "2"}
SANDBOX_HOME = Path("/home/student")
IPC_DIR = "/run/jupyter"  # inside the sandbox: the kernel's sockets (and its JUPYTER_RUNTIME_DIR)
# Files of source/<assignment>/ never mounted (nbgrader's own CourseDirectory.ignore, plus hidden files).
RELEASE_IGNORE = (".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*")

# Default caps per grading kernel (the SandboxedKernelManager traits of the same meaning).
MEMORY_LIMIT = 3 * GiB        # address space of each process (RLIMIT_AS); also the cgroup's memory, plus tmpfs
PROCESS_LIMIT = 128           # processes + threads of the whole sandbox (cgroup pids.max; RLIMIT_NPROC)
DISK_LIMIT = 128 * MiB        # each writable tmpfs: the home (with the working folder) and /tmp
FILE_SIZE_LIMIT = 64 * MiB    # the largest file the kernel may write (RLIMIT_FSIZE, its log included)
OPEN_FILES_LIMIT = 1024       # RLIMIT_NOFILE
CPU_LIMIT = 1.0               # cores (cgroup cpu quota)
SHM_SIZE = 16 * MiB           # /dev/shm
IPC_SIZE = 1 * MiB            # /run/jupyter (sockets only)
INSTALL_HINT = ("install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; `make system-deps` does it), "
                "or pass --no-sandbox to grade without one (student code can then read the hidden tests, "
                "the gradebook and classmates' work)")

# Run by the sandbox's Python before the kernel: set the rlimits (soft = hard, so they cannot be raised)
# and exec the kernel. argv: NAME=VALUE,NAME=VALUE kernel_cmd...
LAUNCHER = ("import os,resource as r,sys\n"
            "for s in sys.argv[1].split(','):\n"
            "    n,v=s.split('=');v=int(v);r.setrlimit(getattr(r,n),(v,v))\n"
            "os.execvp(sys.argv[2],sys.argv[2:])")


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create the namespaces it needs on this machine."""


@dataclass(frozen=True)
class Limits:
    """What one grading kernel may use (bytes, counts, cores)."""

    memory: int = MEMORY_LIMIT
    processes: int = PROCESS_LIMIT
    disk: int = DISK_LIMIT
    file_size: int = FILE_SIZE_LIMIT
    open_files: int = OPEN_FILES_LIMIT
    cpus: float = CPU_LIMIT

    def rlimits(self) -> dict[str, int]:
        return {"RLIMIT_AS": self.memory, "RLIMIT_NPROC": self.processes, "RLIMIT_FSIZE": self.file_size,
                "RLIMIT_NOFILE": self.open_files, "RLIMIT_CORE": 0}

    def sandbox_memory(self) -> int:
        """The memory cgroup's cap: the memory limit plus every tmpfs the kernel can fill, plus slack."""
        return self.memory + 2 * self.disk + SHM_SIZE + IPC_SIZE + 64 * MiB


def python_roots() -> list[Path]:
    """The folders the grader's interpreter and venv live in (the kernel runs the same interpreter)."""
    roots = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
    roots.add(Path(os.path.realpath(sys.executable)).parent.parent)
    return sorted(roots)


@lru_cache(maxsize=None)
def _bwrap_help(bwrap: str) -> str:
    return subprocess.run([bwrap, "--help"], capture_output=True, text=True).stdout


def released_files(folder: str | Path, ignore: Sequence[str] = RELEASE_IGNORE) -> dict[str, Path]:
    """``{relative name: path}`` of the files released with an assignment (its ``source/<assignment>/``).

    Regular files only: no notebook, no symlink (nor anything under a symlinked folder), nothing ignored.
    """
    folder = Path(folder)
    found: dict[str, Path] = {}
    if folder.is_symlink() or not folder.is_dir():
        return found

    def ignored(name: str) -> bool:
        return any(fnmatch.fnmatch(name, pattern) for pattern in ignore)

    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not ignored(d) and not os.path.islink(os.path.join(root, d)))
        for name in sorted(files):
            path = Path(root) / name
            if ignored(name) or path.suffix == ".ipynb":
                continue
            try:
                if stat.S_ISREG(os.lstat(path).st_mode):
                    found[path.relative_to(folder).as_posix()] = path
            except OSError:
                continue
    return found


def bwrap_argv(kernel_cmd: list[str], *, runtime: str | Path, assignment: str = "assignment",
               released: Mapping[str, Path] | None = None, read_only: Sequence[str | Path] = (),
               env: dict[str, str] | None = None, limits: Limits = Limits(), info_fd: int | None = None,
               mpl_cache: Sequence[Path] | None = None, bwrap: str = "bwrap") -> list[str]:
    """The ``bwrap`` command line that runs ``kernel_cmd`` in the sandbox, within ``limits``.

    Inside, the kernel's home is ``/home/student`` and its working directory ``/home/student/<assignment>``
    (one tmpfs), where the ``released`` files are mounted read-only under their relative names.
    ``runtime`` (the connection file) is mounted read-only at its own path; the sockets go in
    ``/run/jupyter``. ``info_fd`` gets bwrap's JSON with the sandbox's pid. Nothing of the course
    folder exists inside: not even its path.
    """
    runtime = Path(runtime)
    env = dict(os.environ if env is None else env)
    cwd = SANDBOX_HOME / assignment
    argv = [bwrap, "--unshare-user", "--unshare-all", "--cap-drop", "ALL", "--die-with-parent", "--new-session"]
    if "--disable-userns" in _bwrap_help(bwrap):
        argv.append("--disable-userns")
    argv += ["--proc", "/proc", "--dev", "/dev", "--size", str(SHM_SIZE), "--tmpfs", "/dev/shm",
             "--remount-ro", "/dev", "--size", str(limits.disk), "--tmpfs", "/tmp"]
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            argv += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            argv += ["--ro-bind", path, path]
    for path in HIDDEN_SYSTEM_FILES:
        if os.path.isdir(path):
            argv += ["--size", "4096", "--tmpfs", path, "--remount-ro", path]
        elif os.path.exists(path):
            argv += ["--ro-bind", "/dev/null", path]
    for path in [*python_roots(), COURSE_PACKAGE, *map(Path, read_only)]:
        if path.exists():
            argv += ["--ro-bind", str(path), str(path)]
    # The grader's own package: a read-only tmpfs over it, holding only an __init__.py that refuses imports.
    argv += ["--size", "65536", "--tmpfs", str(GRADING_PACKAGE)]
    stub = _grading_stub()
    if stub is not None:
        argv += ["--ro-bind", str(stub), str(GRADING_PACKAGE / "__init__.py")]
    argv += ["--remount-ro", str(GRADING_PACKAGE)]
    argv += ["--ro-bind", str(runtime), str(runtime), "--size", str(IPC_SIZE), "--tmpfs", IPC_DIR]
    argv += ["--size", str(limits.disk), "--tmpfs", str(SANDBOX_HOME), "--dir", str(cwd),
             "--dir", str(SANDBOX_HOME / ".matplotlib")]
    for item in _matplotlib_fontlists() if mpl_cache is None else mpl_cache:
        argv += ["--ro-bind", str(item), str(SANDBOX_HOME / ".matplotlib" / Path(item).name)]
    for name, path in sorted((released or {}).items()):
        argv += ["--ro-bind", str(path), str(cwd / name)]
    argv += ["--remount-ro", "/", "--chdir", str(cwd), "--clearenv"]
    settings = {name: env[name] for name in PASSED_ENV if name in env}
    venv_bin = str(Path(sys.executable).parent)
    if venv_bin not in settings.get("PATH", "").split(os.pathsep):
        settings["PATH"] = os.pathsep.join(filter(None, [venv_bin, settings.get("PATH", "/usr/bin:/bin")]))
    settings.update(FORCED_ENV)
    settings.update(HOME=str(SANDBOX_HOME), IPYTHONDIR=str(SANDBOX_HOME / ".ipython"),
                    MPLCONFIGDIR=str(SANDBOX_HOME / ".matplotlib"), XDG_CACHE_HOME=str(SANDBOX_HOME / ".cache"),
                    XDG_CONFIG_HOME=str(SANDBOX_HOME / ".config"), JUPYTER_RUNTIME_DIR=IPC_DIR, TMPDIR="/tmp",
                    PYTHONDONTWRITEBYTECODE="1")
    for name, value in sorted(settings.items()):
        argv += ["--setenv", name, value]
    if info_fd is not None:
        argv += ["--info-fd", str(info_fd)]
    spec = ",".join(f"{name}={value}" for name, value in limits.rlimits().items())
    return [*argv, "--", sys.executable, "-S", "-c", LAUNCHER, spec, *kernel_cmd]


def check(bwrap: str = "bwrap") -> str:
    """The path of a working ``bwrap``; :class:`SandboxUnavailable` with the reason and the fix otherwise.

    Runs the interpreter in a sandbox built exactly as a grading kernel's is (limits included), importing
    ``course``.
    """
    found = shutil.which(bwrap)
    if not found:
        raise SandboxUnavailable(f"no grading sandbox: bubblewrap (bwrap) is not installed; {INSTALL_HINT}")
    with tempfile.TemporaryDirectory(prefix="sdl-check-") as tmp:
        (Path(tmp) / "run").mkdir()
        argv = bwrap_argv([sys.executable, "-c", "import course, socket; print('ok')"], runtime=Path(tmp) / "run",
                          bwrap=found, mpl_cache=())
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


#: The temporary folders a grading process names ``sdl-<kind>-<pid>-*``, removed once that pid is gone.
STALE_KINDS = ("kernel", "inflight", "submission", "register")


def prepare() -> None:
    """One-off set-up before grading starts (and before worker processes fork).

    Builds the font cache template, finds the cgroups kernels can get, and removes what a grader that was
    killed left behind: ``sdl-kernel-<pid>-*``, ``sdl-inflight-<pid>-*``, ``sdl-submission-<pid>-*`` and
    ``sdl-register-<pid>-*`` folders in the temporary folder, and kernel cgroups, for pids no longer running.
    """
    _matplotlib_template()
    _grading_stub()
    support = cgroup_support()
    tmp = Path(tempfile.gettempdir())
    stale = [*(p for kind in STALE_KINDS for p in tmp.glob(f"sdl-{kind}-*-*")),
             *(p for _, parent in support.values() for p in parent.glob("sdl-kernel-*-*"))]
    for folder in stale:
        pid = folder.name.split("-")[2]
        try:
            if not pid.isdigit() or folder.stat().st_uid != os.getuid():
                continue
            os.kill(int(pid), 0)
        except ProcessLookupError:
            if folder.parent in {parent for _, parent in support.values()}:
                KernelCgroups({"": folder}).remove()
            else:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


@lru_cache(maxsize=1)
def _matplotlib_template() -> Path | None:
    """A folder holding a matplotlib font cache built by this interpreter, made once per machine and user."""
    template = Path(tempfile.gettempdir()) / f"sdl-mplcache-{os.getuid()}-{sys.version_info[0]}{sys.version_info[1]}"
    template.mkdir(mode=0o700, exist_ok=True)
    if template.stat().st_uid != os.getuid():
        return None  # someone else's folder in a shared /tmp: never show their files to a kernel
    if not any(template.glob("fontlist-*.json")):
        env = {**os.environ, "MPLCONFIGDIR": str(template), "MPLBACKEND": "Agg"}
        subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], env=env,
                       capture_output=True, timeout=300)
    return template if any(template.glob("fontlist-*.json")) else None


GRADING_STUB = ('raise ImportError("course.grading is the grader\'s own package: it is not available in the '
                'grading sandbox")\n')


@lru_cache(maxsize=1)
def _grading_stub() -> Path | None:
    """A file whose import fails, mounted as ``course/grading/__init__.py`` in the sandbox."""
    folder = Path(tempfile.gettempdir()) / f"sdl-stub-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    if folder.stat().st_uid != os.getuid():
        return None
    stub = folder / "__init__.py"
    if not stub.is_file() or stub.read_text() != GRADING_STUB:
        tmp = folder / f".stub-{os.getpid()}"
        tmp.write_text(GRADING_STUB)
        os.replace(tmp, stub)
    return stub


def _matplotlib_fontlists() -> list[Path]:
    template = _matplotlib_template()
    return sorted(p for p in template.glob("fontlist-*.json") if p.is_file()) if template else []


# -- cgroups ----------------------------------------------------------------------------------------

CONTROLLERS = ("pids", "memory", "cpu", "cpuacct")  # cpuacct (cgroup v1): counts the kernel's CPU, caps nothing


def _own_cgroups() -> tuple[dict[str, tuple[int, Path]], list[str]]:
    """``{controller: (version, folder of this process's cgroup)}`` from /proc/self/{mountinfo,cgroup}."""
    try:
        mountinfo = Path("/proc/self/mountinfo").read_text().splitlines()
        membership = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return {}, []
    paths_v1: dict[str, str] = {}
    path_v2 = None
    for line in membership:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if parts[0] == "0" and parts[1] == "":
            path_v2 = parts[2]
        for name in parts[1].split(","):
            paths_v1[name] = parts[2]
    found: dict[str, tuple[int, Path]] = {}
    v2_dir = None
    for line in mountinfo:
        if " - " not in line:
            continue
        left, right = line.split(" - ", 1)
        fields, rights = left.split(), right.split()
        if len(fields) < 5 or len(rights) < 3:
            continue
        root, mount, fstype, options = fields[3], fields[4], rights[0], rights[2].split(",")
        if fstype == "cgroup":
            for name in CONTROLLERS:
                own = paths_v1.get(name)
                if name in options and own is not None and name not in found:
                    relative = os.path.relpath(own, root) if own.startswith(root) else None
                    if relative is not None:
                        found[name] = (1, Path(mount) / relative if relative != "." else Path(mount))
        elif fstype == "cgroup2" and path_v2 is not None and v2_dir is None:
            relative = os.path.relpath(path_v2, root) if path_v2.startswith(root) else None
            if relative is not None:
                v2_dir = Path(mount) / relative if relative != "." else Path(mount)
    v2_controllers: list[str] = []
    if v2_dir is not None:
        try:
            v2_controllers = (v2_dir / "cgroup.subtree_control").read_text().split()
        except OSError:
            v2_controllers = []
        for name in CONTROLLERS:
            if name not in found and name in v2_controllers:
                found[name] = (2, v2_dir)
    return found, v2_controllers


@lru_cache(maxsize=1)
def cgroup_support() -> dict[str, tuple[int, Path]]:
    """The controllers each kernel can get a cgroup of here: ``{name: (version, parent folder)}``.

    A controller counts only where a child cgroup can really be made (a probe is created and removed).
    """
    usable: dict[str, tuple[int, Path]] = {}
    candidates, _ = _own_cgroups()
    for name, (version, parent) in candidates.items():
        probe = parent / f"sdl-probe-{os.getpid()}-{secrets.token_hex(3)}"
        try:
            probe.mkdir()
        except OSError:
            continue
        try:
            usable[name] = (version, parent)
        finally:
            try:
                probe.rmdir()
            except OSError:
                pass
    return usable


class KernelCgroups:
    """One kernel's own cgroups (one folder per hierarchy), their caps, their events, their removal."""

    def __init__(self, dirs: dict[str, Path], versions: dict[str, int] | None = None) -> None:
        self.dirs = dirs                    # controller -> folder
        self.versions = versions or {}
        self._fds: list[int] = []

    @classmethod
    def create(cls, limits: Limits, support: dict[str, tuple[int, Path]] | None = None) -> "KernelCgroups":
        """Make the cgroups for one kernel (those the machine allows; none is not an error)."""
        support = cgroup_support() if support is None else support
        name = f"sdl-kernel-{os.getpid()}-{secrets.token_hex(4)}"
        made: dict[Path, Path] = {}
        dirs: dict[str, Path] = {}
        versions: dict[str, int] = {}
        for controller, (version, parent) in support.items():
            folder = made.get(parent)
            if folder is None:
                folder = parent / name
                try:
                    folder.mkdir()
                except OSError:
                    continue
                made[parent] = folder
            try:
                _set_limit(controller, version, folder, limits)
            except OSError:
                continue
            dirs[controller], versions[controller] = folder, version
        for folder in made.values():
            if folder not in dirs.values():
                _remove_dir(folder)
        return cls(dirs, versions)

    def preexec(self) -> Callable[[], None] | None:
        """A ``preexec_fn`` moving the new process into these cgroups before it execs bwrap (and forks)."""
        folders = sorted(set(self.dirs.values()))
        if not folders:
            return None
        self._fds = [os.open(folder / "cgroup.procs", os.O_WRONLY) for folder in folders]
        fds = list(self._fds)

        def join() -> None:  # in the child, between fork and exec: no locks, no allocation worth naming
            for fd in fds:
                os.write(fd, b"0")
        return join

    def close_fds(self) -> None:
        for fd in self._fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self._fds = []

    def set_background(self, background: bool) -> bool:
        """The smallest CPU weight (the kernel then runs only on CPU nothing else wants), or the default back.

        For a warm kernel waiting for its student (``course.grading.pool``). False where no cpu cgroup.
        """
        folder = self.dirs.get("cpu")
        if folder is None:
            return False
        name, value = (("cpu.shares", "2" if background else "1024") if self.versions.get("cpu", 1) == 1
                       else ("cpu.weight", "1" if background else "100"))
        try:
            (folder / name).write_text(value)
        except OSError:
            return False
        return True

    def cpu_seconds(self) -> float | None:
        """CPU time used so far by everything in these cgroups (None where no cgroup counts it)."""
        try:
            if "cpuacct" in self.dirs:
                return int((self.dirs["cpuacct"] / "cpuacct.usage").read_text()) / 1e9
            if "cpu" in self.dirs and self.versions.get("cpu") == 2:
                return _counter(self.dirs["cpu"] / "cpu.stat", "usage_usec") / 1e6
        except (OSError, ValueError):
            pass
        return None

    def events(self) -> dict[str, int]:
        """How often each cap was hit: ``{"processes": forks refused, "oom_kills": processes killed}``."""
        out = {}
        if "pids" in self.dirs:
            out["processes"] = _counter(self.dirs["pids"] / "pids.events", "max")
        if "memory" in self.dirs:
            events = "memory.oom_control" if self.versions.get("memory", 1) == 1 else "memory.events"
            out["oom_kills"] = _counter(self.dirs["memory"] / events, "oom_kill")
        return out

    def remove(self) -> None:
        """Kill whatever still runs in these cgroups (only this kernel's processes) and remove them."""
        self.close_fds()
        for folder in sorted(set(self.dirs.values())):
            _remove_dir(folder)
        self.dirs = {}


def _set_limit(controller: str, version: int, folder: Path, limits: Limits) -> None:
    def write(name: str, value: str, optional: bool = False) -> None:
        try:
            (folder / name).write_text(value)
        except OSError:
            if not optional:
                raise

    if controller == "pids":
        write("pids.max", str(limits.processes))
    elif controller == "memory" and version == 1:
        write("memory.limit_in_bytes", str(limits.sandbox_memory()))
        write("memory.memsw.limit_in_bytes", str(limits.sandbox_memory()), optional=True)
    elif controller == "memory":
        write("memory.max", str(limits.sandbox_memory()))
        write("memory.swap.max", "0", optional=True)
    elif controller == "cpu" and version == 1:
        write("cpu.cfs_period_us", "100000")
        write("cpu.cfs_quota_us", str(max(1000, int(limits.cpus * 100000))))
    elif controller == "cpu":
        write("cpu.max", f"{max(1000, int(limits.cpus * 100000))} 100000")


def _counter(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            words = line.split()
            if len(words) == 2 and words[0] == key:
                return int(words[1])
    except (OSError, ValueError):
        pass
    return 0


def _remove_dir(folder: Path, wait: float = 3.0) -> None:
    deadline = time.monotonic() + wait
    while True:
        try:
            pids = [int(p) for p in (folder / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            pids = []
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            folder.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > deadline:
                return  # left for prepare() of a later run
            time.sleep(0.05)


def describe_limits(limits: Limits = Limits()) -> tuple[str, list[str]]:
    """One line naming each cap per kernel and how it holds here, and a warning for each cap that does not."""
    support = cgroup_support()
    warnings: list[str] = []

    def via(name: str) -> str:
        version = support[name][0]
        return f"cgroup v{version}"

    if "pids" in support:
        processes = f"{limits.processes} processes ({via('pids')})"
    elif os.geteuid() != 0:
        processes = f"{limits.processes} processes (rlimit)"
    else:
        processes = "processes NOT capped"
        warnings.append(
            "processes are NOT capped: the grader runs as root, where Linux ignores RLIMIT_NPROC, and no "
            "writable pids cgroup was found, so a fork bomb can starve or fail the students graded beside it. "
            "Grade as an unprivileged user, or where the cgroup pids controller is writable "
            "(/sys/fs/cgroup/pids, or a delegated cgroup v2).")
    memory = f"{_size(limits.memory)} memory per process"
    if "memory" in support:
        memory += f" ({via('memory')} for all)"
    if "cpu" in support:
        cpu = f"{limits.cpus:g} core ({via('cpu')})"
    else:
        cpu = "CPU not isolated"
        warnings.append("kernels are not CPU-isolated (no writable cpu cgroup): a busy student slows the ones "
                        "graded beside them; their cells may time out.")
    line = (f"limits per kernel: {memory}, {processes}, {_size(limits.disk)} disk, "
            f"{_size(limits.file_size)} per file, {cpu}")
    return line, warnings


def _size(n: int) -> str:
    for unit, scale in (("GiB", GiB), ("MiB", MiB)):
        if n >= scale:
            return f"{n / scale:g} {unit}"
    return f"{n} B"


def _read_info(fd: int, timeout: float = 30.0) -> dict:
    """bwrap's ``--info-fd`` JSON (``child-pid``, ...), or {} if bwrap exits or stays silent."""
    data = b""
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return {}
            chunk = os.read(fd, 65536)
            data += chunk
            try:
                info = json.loads(data)
                return info if isinstance(info, dict) else {}
            except ValueError:
                if not chunk:
                    return {}
    finally:
        os.close(fd)


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager that starts the kernel in the bubblewrap sandbox described in this module.

    Use it as ``Execute``'s ``kernel_manager_class`` (``course.grading.execute`` does, when sandboxing).
    """

    bwrap = Unicode("bwrap", help="The bubblewrap executable.").tag(config=True)
    read_only = List(Unicode(), help="Extra paths the kernel may read (e.g. a shared data folder).").tag(config=True)
    released_root = Unicode("", help="The course's source folder: the regular, non-notebook files of "
                                     "<released_root>/<assignment>/ are mounted read-only in the kernel's "
                                     "working folder. Nothing else next to a submission is.").tag(config=True)
    memory_limit = Integer(MEMORY_LIMIT, help="Bytes of memory per process (RLIMIT_AS).").tag(config=True)
    process_limit = Integer(PROCESS_LIMIT, help="Processes and threads of one sandbox.").tag(config=True)
    disk_limit = Integer(DISK_LIMIT, help="Bytes the kernel may write in its home, and in /tmp.").tag(config=True)
    file_size_limit = Integer(FILE_SIZE_LIMIT, help="The largest file the kernel may write.").tag(config=True)
    open_files_limit = Integer(OPEN_FILES_LIMIT, help="Open files per process.").tag(config=True)
    cpu_limit = Float(CPU_LIMIT, help="Cores per kernel, where a cpu cgroup can be made.").tag(config=True)

    _sandbox_dir: Path | None = None
    _sandbox_pid: int | None = None
    _cgroups: KernelCgroups | None = None
    _last_log: str = ""
    cpu_seconds: float | None = None  # the whole sandbox's CPU time, known once it is discarded (where counted)
    background: bool = False          # launched with the smallest CPU weight (see set_background)

    @property
    def limits(self) -> Limits:
        return Limits(memory=self.memory_limit, processes=self.process_limit, disk=self.disk_limit,
                      file_size=self.file_size_limit, open_files=self.open_files_limit, cpus=self.cpu_limit)

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
            run.mkdir()
            self.transport = "ipc"
            self.connection_file = str(run / "kernel.json")
            self.ip = f"{IPC_DIR}/{secrets.token_hex(6)}"  # the path inside; see _async_launch_kernel
        return await super()._async_pre_start_kernel(**kw)

    @staticmethod
    def working_name(cwd: str | Path | None) -> str:
        """The kernel's working folder's name for the ``cwd`` it is started with: only the name is used.

        nbgrader passes ``autograded/<student>/<assignment>``; the kernel gets ``/home/student/<assignment>``, a
        fresh tmpfs with the released files only, whoever the student is (so ``course.grading.pool`` can
        start it before the student is known).
        """
        return Path(cwd or os.getcwd()).resolve().name

    @property
    def sandbox_pid(self) -> int | None:
        """The pid (in the grader's namespace) of the sandbox's first process, once launched."""
        return self._sandbox_pid

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        assert self._sandbox_dir is not None
        name = self.working_name(kw.pop("cwd", None))  # nbgrader's autograded/<student>/<assignment>: its name
        released = released_files(Path(self.released_root) / name) if self.released_root else {}
        self._cgroups = KernelCgroups.create(self.limits)
        if self.background:
            self._cgroups.set_background(True)
        info_read, info_write = os.pipe()
        argv = bwrap_argv(kernel_cmd, runtime=self._sandbox_dir / "run", assignment=name, released=released,
                          read_only=self.read_only, env=kw.get("env"), limits=self.limits, info_fd=info_write,
                          bwrap=self.bwrap)
        kw["pass_fds"] = (*kw.get("pass_fds", ()), info_write)
        preexec = self._cgroups.preexec()
        if preexec is not None:
            kw["preexec_fn"] = preexec
        inner_ip = self.ip
        try:
            # The kernel's own stdout/stderr (start-up notes, crash messages) go to a log the grader reads;
            # RLIMIT_FSIZE caps it.
            with open(self._sandbox_dir / "kernel.log", "ab") as log:
                kw.update(stdout=log, stderr=log)
                await super()._async_launch_kernel(argv, cwd=str(self._sandbox_dir), **kw)
        finally:
            os.close(info_write)
            self._cgroups.close_fds()
        pid = _read_info(info_read).get("child-pid")
        if isinstance(pid, int) and pid > 0:
            # The sockets live in the sandbox's own /run/jupyter; the grader reaches them through its root.
            self._sandbox_pid = pid
            self.ip = f"/proc/{pid}/root{inner_ip}"

    def set_background(self, background: bool) -> None:
        """Run this kernel only on otherwise idle CPU (a warm kernel waiting), or at the usual weight again."""
        self.background = background
        if self._cgroups is not None:
            self._cgroups.set_background(background)

    def limit_events(self) -> dict[str, int | bool]:
        """Which caps this kernel hit so far: cgroup counters, and whether its home or /tmp is full."""
        events: dict[str, int | bool] = dict(self._cgroups.events()) if self._cgroups else {}
        events["disk_full"] = False
        if self._sandbox_pid:
            for mount in (SANDBOX_HOME, Path("/tmp")):
                try:
                    st = os.statvfs(f"/proc/{self._sandbox_pid}/root{mount}")
                except OSError:
                    continue
                if st.f_blocks and st.f_bavail * st.f_frsize < 256 * 1024:
                    events["disk_full"] = True
        return events

    def kernel_log_tail(self, lines: int = 5) -> str:
        """The last lines the kernel process printed (kept after the kernel is cleaned up)."""
        text = self._last_log
        if self._sandbox_dir is not None:
            try:
                with open(self._sandbox_dir / "kernel.log", "rb") as handle:
                    handle.seek(max(0, os.fstat(handle.fileno()).st_size - 64 * 1024))
                    text = handle.read().decode(errors="replace")
            except OSError:
                pass
        return "\n".join(text.strip().splitlines()[-lines:])

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            self.discard_sandbox()

    cleanup_resources = _async_cleanup_resources  # AsyncKernelManager binds the name to its own function

    def discard_sandbox(self) -> None:
        """Remove the kernel's cgroups and private folder (kept: the tail of its log). Also for a dead kernel."""
        if self._cgroups is not None:
            used = self._cgroups.cpu_seconds()
            self.cpu_seconds = used if used is not None else self.cpu_seconds
            self._cgroups.remove()
        if self._sandbox_dir is not None:
            self._last_log = self.kernel_log_tail(lines=20)
            shutil.rmtree(self._sandbox_dir, ignore_errors=True)
            self._sandbox_dir = None
