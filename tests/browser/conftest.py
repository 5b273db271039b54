"""JupyterLab on a scratch copy of the course, driven by playwright-python in Debian's headless chromium.

One JupyterLab server per test process (per xdist worker), with every piece of Jupyter state in a temp
folder, nothing fetched from the internet (no news, no update checks, no extension manager), and a
browser that cannot resolve any host but the loopback one. Every request a page tries to send to another
host is recorded and fails the test.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest

from course import submissions
from tests.needs import missing

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-domain-reliability", "--metrics-recording-only",
    # belt and braces: no name but the loopback ones resolves, so nothing can leave the machine
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]
#: JupyterLab user settings for the test browser: no news toast, no update check.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
}
SERVER_CONFIG = """\
# Written by tests/browser/conftest.py: JupyterLab with no request leaving the machine.
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.handlers.announcements.NeverCheckForUpdate"
c.LabApp.extension_manager = "readonly"
c.ServerApp.ip = "127.0.0.1"
c.ServerApp.open_browser = False
"""
STARTUP_TIMEOUT = 90  # seconds; a cold start on a loaded 2-core runner takes about 5
# Every wait in these tests: generous, since the whole suite shares 2 cores with them in CI (an assertion
# that holds passes as soon as it holds; only a failure waits this long). Playwright's default is 5 s.
WAIT_MS = 60_000


def released_sessions() -> list[str]:
    """Every released session: ``release/<id>/<id>.ipynb``."""
    return sorted(p.name for p in (ROOT / "release").iterdir() if (p / f"{p.name}.ipynb").is_file())


def chromium_executable() -> str:
    """Debian's chromium (never a downloaded browser); ``COURSE_CHROMIUM`` points elsewhere."""
    return os.environ.get("COURSE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Lab:
    """A running JupyterLab: its base URL, token, server root (a scratch course copy) and log file."""

    url: str
    token: str
    root: Path
    log: Path
    process: subprocess.Popen = field(repr=False)

    def page_url(self, path: str = "lab", query: str = "reset") -> str:
        sep = "&" if query else ""
        return f"{self.url}/{path}?{query}{sep}token={self.token}"

    def api(self, method: str, path: str) -> object:
        request = urllib.request.Request(f"{self.url}/{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _workspace(root: Path) -> Path:
    """A scratch course: the nbgrader config and sources (for the Formgrader), and under ``work/`` each
    released session with every answer filled in from the solutions, as a student who solved it has it."""
    course = root / "course"
    course.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "source", course / "source")
    for session in released_sessions():
        work = course / "work" / session
        shutil.copytree(ROOT / "release" / session, work)
        release_nb = submissions.read(work / f"{session}.ipynb")
        source_nb = submissions.read(ROOT / "source" / session / f"{session}.ipynb")
        submissions.write(submissions.fill(release_nb, source_nb), work / f"{session}.ipynb")
    return course


def _jupyter_env(root: Path) -> dict[str, str]:
    """The environment of the server and its kernels: Jupyter state under ``root``, a student's kernel."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("JUPYTER", "NBGRADER", "COURSE_", "MPL", "IPYTHON", "PYTEST", "PLAYWRIGHT"))}
    dirs = {
        "JUPYTER_CONFIG_DIR": root / "jupyter" / "config",
        "JUPYTER_DATA_DIR": root / "jupyter" / "data",
        "JUPYTER_RUNTIME_DIR": root / "jupyter" / "runtime",
        "JUPYTERLAB_SETTINGS_DIR": root / "jupyter" / "lab-settings",
        "JUPYTERLAB_WORKSPACES_DIR": root / "jupyter" / "lab-workspaces",
        "IPYTHONDIR": root / "jupyter" / "ipython",
        "COURSE_JOURNAL_DIR": root / "journal",  # practice attempts of these kernels stay in the test's folder
    }
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    env.update({k: str(v) for k, v in dirs.items()})
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


@pytest.fixture(scope="session")
def chromium() -> str:
    """The browser binary, or a loud skip (a failure under CI=true)."""
    path = chromium_executable()
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        missing(f"no chromium at {path} (install it: `make system-deps`, i.e. apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing("playwright-python is not installed (make setup)")
    return path


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> Iterator[Lab]:
    """JupyterLab on a scratch course copy, loopback only, isolated Jupyter state, offline settings."""
    root = tmp_path_factory.mktemp("lab")
    course = _workspace(root)
    env = _jupyter_env(root)
    config_dir = Path(env["JUPYTER_CONFIG_DIR"])
    (config_dir / "jupyter_server_config.py").write_text(SERVER_CONFIG)
    # The Assignment List talks to this exchange; the course's own config (in the server's cwd) does the rest.
    (root / "exchange").mkdir()
    (config_dir / "nbgrader_config.py").write_text(f"c.Exchange.root = {str(root / 'exchange')!r}\n")
    for name, settings in LAB_SETTINGS.items():
        path = Path(env["JUPYTERLAB_SETTINGS_DIR"]) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))

    token, port = secrets.token_hex(16), _free_port()
    args = [sys.executable, "-m", "jupyterlab", f"--port={port}", "--port-retries=0",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={course}"]
    if os.geteuid() == 0:
        args.append("--allow-root")
    log = root / "jupyterlab.log"
    with open(log, "w") as out:
        process = subprocess.Popen(args, cwd=course, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    server = Lab(f"http://127.0.0.1:{port}", token, course, log, process)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"JupyterLab exited with {process.returncode}:\n{server.log_tail()}", pytrace=False)
            try:
                server.api("GET", "api/status")
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not answer in {STARTUP_TIMEOUT} s:\n{server.log_tail()}",
                                pytrace=False)
                time.sleep(0.2)
        yield server
    finally:
        _stop(server)
        # The server's log, for a failure in CI: test-artifacts/jupyterlab-<xdist worker>.log
        logs = ROOT / "test-artifacts"
        logs.mkdir(exist_ok=True)
        shutil.copy(log, logs / f"jupyterlab-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.log")


def _stop(server: Lab) -> None:
    """Shut the kernels down through the API, then stop the server's process group."""
    if server.process.poll() is None:
        try:
            for kernel in server.api("GET", "api/kernels") or []:
                server.api("DELETE", f"api/kernels/{kernel['id']}")
        except OSError:
            pass
        os.killpg(server.process.pid, signal.SIGTERM)
        try:
            server.process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait()


@pytest.fixture(scope="session")
def browser(chromium: str) -> Iterator[object]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@dataclass
class Watched:
    """A browser page and what it tried that a test must not allow: requests off the machine, errors."""

    page: object
    offbox: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def assert_offline(self) -> None:
        assert not self.offbox, f"requests tried to leave the machine: {sorted(set(self.offbox))}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Keep each phase's report on the test item, so a fixture can tell that its test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def watched(request: pytest.FixtureRequest, browser, lab: Lab) -> Iterator[Watched]:
    """A fresh browser context and page; every request to a non-loopback host is recorded.

    When the test fails, the page as it was goes to ``test-artifacts/screenshots/FAILED-<test>.png``.
    """
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    result = Watched(page)

    def on_request(request) -> None:
        url = request.url
        if not url.startswith(("data:", "blob:", "about:")) and urlparse(url).hostname not in LOOPBACK:
            result.offbox.append(url)

    def watch(p) -> None:
        p.on("request", on_request)
        p.on("console", lambda m: result.console_errors.append(m.text) if m.type == "error" else None)

    context.on("page", watch)
    watch(page)
    try:
        yield result
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            name = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in request.node.name)
            page.screenshot(path=str(SCREENSHOTS / f"FAILED-{name}.png"))
    finally:
        context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """``test-artifacts/screenshots/``: kept after the run (gitignored) for people and CI to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
