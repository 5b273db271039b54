"""The student's JupyterLab: ``make start`` and ``make lab`` (``python -m course start``).

Copies each released session and the plan notebook (``plan.ipynb``) into ``work/`` once (the student's
work there is never overwritten), then
serves ``work/`` with JupyterLab on the loopback interface, with the student's configuration
(``course/labconfig``: no instructor panels, no news or update checks, Validate runs the self-check).
With a display and a browser it opens the first session in the browser; without one (a server, a
container, CI) it prints the URL to open, token included, and keeps serving until Ctrl-C.

Nothing is installed into the venv or the user's Jupyter folders: the configuration reaches only this
server, through ``JUPYTER_CONFIG_PATH`` and ``--LabApp.app_settings_dir``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import webbrowser
from pathlib import Path

from . import labconfig

ROOT = Path(__file__).resolve().parent.parent
#: The plan notebook (the three-week plan and the progress plots), beside the sessions in release/ and work/.
PLAN_NOTEBOOK = "plan.ipynb"
#: nbgrader's exchange when no configuration names one.
NBGRADER_DEFAULT_EXCHANGE = "/srv/nbgrader/exchange"
STARTUP_TIMEOUT = 120  # seconds; JupyterLab starts in about 5


def prepare_workspace(root: Path = ROOT) -> Path:
    """Copy each released session and the plan notebook into ``work/`` once; a student's own work there
    is never overwritten."""
    work = root / "work"
    for session in sorted((root / "release").iterdir()):
        if session.is_dir() and not (work / session.name).exists():
            shutil.copytree(session, work / session.name)
    plan = root / "release" / PLAN_NOTEBOOK
    if plan.is_file() and not (work / PLAN_NOTEBOOK).exists():
        work.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(plan, work / PLAN_NOTEBOOK)
    return work


def can_open_browser() -> bool:
    """True when a browser can be shown here: a display (or macOS, Windows) and a browser to open."""
    if os.environ.get("BROWSER"):
        return True
    if sys.platform not in ("darwin", "win32") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    try:
        webbrowser.get()
    except webbrowser.Error:
        return False
    return True


def configured_exchange(cwd: Path | None = None) -> Path | None:
    """The nbgrader exchange this student's JupyterLab would use, if it exists; ``None`` for a self-learner.

    ``COURSE_EXCHANGE`` (the JupyterHub class sets it), else ``Exchange.root`` from the ``nbgrader_config``
    files on the Jupyter config path and in ``cwd``, as nbgrader's Assignment List reads them, else
    nbgrader's default ``/srv/nbgrader/exchange``.
    """
    root = os.environ.get("COURSE_EXCHANGE") or _configured_exchange_root(cwd) or NBGRADER_DEFAULT_EXCHANGE
    path = Path(root).expanduser()
    return path if path.is_dir() else None


def _configured_exchange_root(cwd: Path | None) -> str | None:
    from jupyter_core.paths import jupyter_config_path
    from traitlets.config.loader import Config, JSONFileConfigLoader, PyFileConfigLoader

    config = Config()
    folders = [*reversed(jupyter_config_path()), *([str(cwd)] if cwd else [])]  # lowest priority first
    for folder in folders:
        for loader in (JSONFileConfigLoader, PyFileConfigLoader):
            name = "nbgrader_config." + ("json" if loader is JSONFileConfigLoader else "py")
            if not (Path(folder) / name).is_file():
                continue
            try:
                config.merge(loader(name, path=folder).load_config())
            except Exception as exc:  # noqa: BLE001 - a broken file is nbgrader's to report, not ours
                print(f"(ignoring {Path(folder) / name}: {exc})", file=sys.stderr)
    root = config.Exchange.get("root") if "Exchange" in config else None
    return str(root) if root else None


def lab_environment(exchange: bool, base: dict[str, str] | None = None) -> dict[str, str]:
    """The server's environment: the student's Jupyter config folders first on ``JUPYTER_CONFIG_PATH``."""
    env = dict(os.environ if base is None else base)
    folders = [str(labconfig.STUDENT)] + ([] if exchange else [str(labconfig.SELF_LEARNER)])
    rest = [p for p in env.get("JUPYTER_CONFIG_PATH", "").split(os.pathsep) if p and p not in folders]
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(folders + rest)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def lab_command(work: Path, *, port: int, token: str, open_browser: bool, notebook: str | None = None) -> list[str]:
    """``jupyter lab`` on ``work`` for a student (see the module docstring)."""
    args = [sys.executable, "-m", "jupyterlab",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={work}", f"--IdentityProvider.token={token}",
            "--ServerApp.answer_yes=True",  # one Ctrl-C stops it
            f"--LabApp.app_settings_dir={labconfig.SETTINGS}"]
    if os.geteuid() == 0:
        args.append("--allow-root")
    if open_browser:
        args += ["--ServerApp.open_browser=True"] + ([notebook] if notebook else [])
    else:
        args.append("--ServerApp.open_browser=False")
    return args


def free_port(first: int = 8888, tries: int = 50) -> int:
    """The first port from ``first`` on that nothing listens on (JupyterLab's own default is 8888)."""
    for port in range(first, first + tries):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(process: subprocess.Popen, base: str, token: str) -> bool:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    request = urllib.request.Request(f"{base}/api/status", headers={"Authorization": f"token {token}"})
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through an http_proxy
    while process.poll() is None and time.monotonic() < deadline:
        try:
            with direct.open(request, timeout=5):
                return True
        except OSError:
            time.sleep(0.25)
    return False


def start(root: Path = ROOT, *, port: int | None = None, open_browser: bool | None = None) -> int:
    """Serve the student's ``work/`` with JupyterLab until it is stopped; its exit status."""
    work = prepare_workspace(root)
    notebooks = sorted(work.glob("*/*.ipynb"))
    first = notebooks[0].relative_to(work).as_posix() if notebooks else None
    if open_browser is None:
        open_browser = can_open_browser()
    exchange = configured_exchange(work)
    port = port or free_port()
    token = secrets.token_hex(24)
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(lab_command(work, port=port, token=token, open_browser=open_browser, notebook=first),
                               cwd=work, env=lab_environment(exchange is not None))
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: process.terminate())  # stopping this stops the server
    try:
        if not _wait_until_up(process, base, token):
            if process.poll() is None:
                process.terminate()
            print(f"JupyterLab did not start (exit status {process.wait()}); its messages are above.", file=sys.stderr)
            return process.returncode or 1
        url = f"{base}/lab/tree/{first}?token={token}" if first else f"{base}/lab?token={token}"
        print(_banner(work, url, port, opened=open_browser, exchange=exchange), flush=True)
        return process.wait()
    except KeyboardInterrupt:  # the server got the same Ctrl-C and stops by itself
        try:
            return process.wait(20)
        except subprocess.TimeoutExpired:
            process.terminate()
            return process.wait()


def _banner(work: Path, url: str, port: int, *, opened: bool, exchange: Path | None) -> str:
    where = "in your browser" if opened else "(no display here, so no browser was opened)"
    lines = ["", "=" * 78,
             f"JupyterLab is serving your sessions in {work} {where}.", "Open:", "", f"    {url}", ""]
    if not opened:
        lines.append(f"On another machine: ssh -N -L {port}:127.0.0.1:{port} <this host>, then open the same URL.")
    lines.append("Validate (in the notebook's toolbar) grades your notebook with the hidden checks too.")
    if exchange:
        lines.append(f"Nbgrader → Assignment List fetches and submits through the exchange in {exchange}.")
    lines += ["Your work is saved in work/ and never overwritten. Stop the server with Ctrl-C.", "=" * 78, ""]
    return "\n".join(lines)
