"""A real JupyterHub class on this machine: Unix accounts, ``hub/install.sh``, ``hub/jupyterhub_config.py``.

Needs root (it creates accounts and the hub switches to them), Debian's ``/usr/bin/python3`` with venv
(every account must be able to run the course's Python, so not the one under /root) and
``configurable-http-proxy`` (``make system-deps``). Without them the tests skip loudly; under CI=true
they fail.

Everything lives under PREFIX (``COURSE_HUB_TEST_PREFIX``, default ``/var/tmp/sysdesign-lab-hubtest``):
the venv ``hub/install.sh`` builds (kept between runs: only the course package is reinstalled), the
homes of the test accounts, the exchange and the hub state (both new for every run). The accounts are
``sdl-instructor``, ``sdl-student1`` and ``sdl-student2``; they, their processes and their homes are
removed at the end.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.needs import missing

ROOT = Path(__file__).resolve().parents[2]
PREFIX = Path(os.environ.get("COURSE_HUB_TEST_PREFIX", "/var/tmp/sysdesign-lab-hubtest"))
INSTRUCTOR = "sdl-instructor"
STUDENTS = ("sdl-student1", "sdl-student2")
COURSE_ID = "sysdesign-lab"
COURSE_DIR = "sysdesign-lab"
ARTIFACTS = ROOT / "test-artifacts" / "hub"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_as(user: str, *command: str, check: bool = False) -> subprocess.CompletedProcess:
    """Run a command as a Unix user, in their home, with a clean environment."""
    home = pwd.getpwnam(user).pw_dir
    env = ["env", "-i", f"HOME={home}", f"USER={user}", f"LOGNAME={user}", "LANG=C.UTF-8",
           f"PATH={PREFIX / 'venv' / 'bin'}:/usr/bin:/bin"]
    return subprocess.run(["runuser", "-u", user, "--", *env, *command], cwd=home, capture_output=True,
                          text=True, timeout=120, check=check)


# --- accounts ---------------------------------------------------------------------------------------


def _user_pids(user: str) -> list[int]:
    out = subprocess.run(["ps", "-u", user, "-o", "pid="], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def _remove_account(user: str) -> None:
    """End the account's processes (each by its pid), then delete the account and its home."""
    try:
        pwd.getpwnam(user)
    except KeyError:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in _user_pids(user):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while _user_pids(user) and time.monotonic() < deadline:
            time.sleep(0.2)
    subprocess.run(["userdel", "--remove", user], capture_output=True, text=True)


def _create_account(user: str) -> None:
    try:
        existing = pwd.getpwnam(user)
    except KeyError:
        existing = None
    if existing is not None:
        if not existing.pw_dir.startswith(str(PREFIX / "home")):
            pytest.fail(f"account {user} exists and was not made by this test (home {existing.pw_dir}); "
                        "remove it or set COURSE_HUB_TEST_PREFIX", pytrace=False)
        _remove_account(user)  # left over by an interrupted run
    home = PREFIX / "home" / user
    if home.exists():
        shutil.rmtree(home)
    subprocess.run(["useradd", "--create-home", "--home-dir", str(home), "--shell", "/bin/bash",
                    "--user-group", user], check=True, capture_output=True, text=True)
    home.chmod(0o700)  # Debian's useradd leaves homes world-readable


# --- the hub ----------------------------------------------------------------------------------------


@dataclass
class Hub:
    """The running hub, and a REST client holding the ``course-admin`` service token."""

    url: str
    token: str
    log: Path
    process: subprocess.Popen = field(repr=False)
    http: requests.Session = field(default_factory=requests.Session, repr=False)

    def __post_init__(self) -> None:
        self.http.headers["Authorization"] = f"token {self.token}"

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        """A call to the hub's REST API (``/hub/api/...``)."""
        return self.http.request(method, f"{self.url}/hub/api/{path}", timeout=60, **kwargs)

    def server(self, user: str, method: str, path: str, *, token: str | None = None, timeout: float = 300,
               **kwargs) -> requests.Response:
        """A call into ``user``'s own JupyterLab server, through the hub's proxy."""
        headers = {"Authorization": f"token {token}"} if token else {}
        return self.http.request(method, f"{self.url}/user/{user}/{path}", headers=headers, timeout=timeout,
                                 allow_redirects=False, **kwargs)

    def start_servers(self, users: list[str], timeout: float = 180) -> float:
        """Start each user's server (all at once) and wait until every one is ready; the seconds it took."""
        start = time.monotonic()
        # At once: each POST can block for JupyterHub's slow_spawn_timeout (10 s) before answering 202.
        with ThreadPoolExecutor(len(users)) as pool:
            responses = list(pool.map(lambda user: self.api("POST", f"users/{user}/server"), users))
        for response in responses:
            assert response.status_code in (201, 202, 400), response.text  # 400: already running
        waiting = set(users)
        while waiting:
            for user in sorted(waiting):
                model = self.api("GET", f"users/{user}").json()
                if (model.get("servers", {}).get("") or {}).get("ready"):
                    waiting.discard(user)
            if time.monotonic() - start > timeout:
                raise AssertionError(f"servers of {sorted(waiting)} not ready in {timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(0.3)
        return time.monotonic() - start

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _stop_hub(hub: Hub) -> None:
    """Stop the users' servers through the API, then the hub (which stops the proxy)."""
    if hub.process.poll() is None:
        for user in (INSTRUCTOR, *STUDENTS):
            try:
                hub.api("DELETE", f"users/{user}/server")
            except requests.RequestException:
                pass
        os.killpg(hub.process.pid, signal.SIGTERM)
        try:
            hub.process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(hub.process.pid, signal.SIGKILL)
            hub.process.wait()


def _prerequisites() -> None:
    if os.geteuid() != 0:
        missing("the JupyterHub class test needs root: it creates Unix accounts and the hub runs "
                "each user's server as that account (run it as root, or in CI)")
    for tool in ("useradd", "userdel", "runuser"):
        if not shutil.which(tool):
            missing(f"{tool} is not installed")
    if not shutil.which("configurable-http-proxy"):
        missing("configurable-http-proxy is not installed (make system-deps: npm install -g configurable-http-proxy)")
    python = os.environ.get("COURSE_HUB_PYTHON", "/usr/bin/python3")
    if subprocess.run([python, "-c", "import venv, ensurepip"], capture_output=True).returncode:
        missing(f"{python} cannot make a venv (apt-get install python3-venv)")


@pytest.fixture(scope="module")
def hub() -> Iterator[Hub]:
    """The class, installed and running: accounts, venv, instructor's course, exchange, hub, proxy."""
    _prerequisites()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    PREFIX.mkdir(parents=True, exist_ok=True)
    PREFIX.chmod(0o755)
    install = subprocess.run([str(ROOT / "hub" / "install.sh"), str(PREFIX)], capture_output=True, text=True)
    assert install.returncode == 0, f"hub/install.sh failed:\n{install.stdout}\n{install.stderr}"

    for path in (PREFIX / "exchange", PREFIX / "state"):  # a new exchange and hub database every run
        shutil.rmtree(path, ignore_errors=True)
    (PREFIX / "exchange").mkdir(mode=0o755)
    (PREFIX / "exchange").chmod(0o1777)
    (PREFIX / "state").mkdir(mode=0o700)
    (PREFIX / "home").mkdir(exist_ok=True)
    (PREFIX / "home").chmod(0o755)
    users = [INSTRUCTOR, *STUDENTS]
    try:
        for user in users:
            _create_account(user)
        _install_course(INSTRUCTOR)
        port = _free_port()
        (PREFIX / "class.toml").write_text(
            f'course_id = "{COURSE_ID}"\ncourse_dir = "{COURSE_DIR}"\n'
            f'instructors = ["{INSTRUCTOR}"]\nstudents = {json.dumps(list(STUDENTS))}\n'
            f'bind_url = "http://127.0.0.1:{port}"\n'
            f'hub_bind_url = "http://127.0.0.1:{_free_port()}"\n'
            f'proxy_api_url = "http://127.0.0.1:{_free_port()}"\n'
        )
        token = secrets.token_hex(32)
        env = {"PATH": f"{PREFIX / 'venv' / 'bin'}:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
               "HOME": str(PREFIX / "state"), "COURSE_HUB_PREFIX": str(PREFIX), "COURSE_HUB_API_TOKEN": token}
        log = ARTIFACTS / "jupyterhub.log"
        with open(log, "w") as out:
            process = subprocess.Popen(
                [str(PREFIX / "venv" / "bin" / "jupyterhub"), "-f", str(ROOT / "hub" / "jupyterhub_config.py")],
                cwd=PREFIX / "state", env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        running = Hub(f"http://127.0.0.1:{port}", token, log, process)
        try:
            deadline = time.monotonic() + 90
            while True:
                if process.poll() is not None:
                    pytest.fail(f"JupyterHub exited with {process.returncode}:\n{running.log_tail()}", pytrace=False)
                try:
                    if running.api("GET", "").status_code == 200:
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterHub did not answer in 90 s:\n{running.log_tail()}", pytrace=False)
                time.sleep(0.3)
            yield running
        finally:
            _stop_hub(running)
    finally:
        for user in users:
            _remove_account(user)
        # The class's data goes with its accounts (the venv stays: the next run reuses it).
        for path in (PREFIX / "exchange", PREFIX / "state", PREFIX / "class.toml"):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def _install_course(user: str) -> None:
    """The instructor's course folder, theirs: the repository's nbgrader config, the session sources and
    the session specs (``authoring/``: the grader takes each session's hidden cases from them)."""
    account = pwd.getpwnam(user)
    course = Path(account.pw_dir) / COURSE_DIR
    course.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", course)
    for folder in ("source", "authoring"):
        shutil.copytree(ROOT / folder, course / folder,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    for path in [course, *course.rglob("*")]:
        os.chown(path, account.pw_uid, account.pw_gid)
