"""A student's set-up: `make start` on a machine without a display, the student install, the student's
JupyterLab (no instructor panels, no news, Validate = the self-check) and the feedback page's scores.

The headless start runs for real: ``python -m course start`` in a subprocess on a scratch course with a
free port and its own Jupyter folders; the test waits for the URL it prints, opens it and stops it.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from course import labconfig, start, submissions
from tests.fake_students import student

ROOT = Path(__file__).resolve().parent.parent
SESSION = "session1_chat"
UNANSWERED = "ordering"  # the one answer this student leaves out: test_ordering (3 points) fails
STARTUP_TIMEOUT = 120
NBGRADER_PANELS = ["@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                   "@jupyter/nbgrader:course-list"]


def _almost_solved(*left: str) -> object:
    """Session 1 with every answer from the solutions but ``left`` (as released) and ``ordering``: the hidden
    checks score it 24 / 27 (``test_ordering``, 3 points, fails)."""
    release = submissions.read(ROOT / "release" / SESSION / f"{SESSION}.ipynb")
    source = submissions.read(ROOT / "source" / SESSION / f"{SESSION}.ipynb")
    skip = {UNANSWERED, *left}
    return submissions.fill(release, source, [i for i in submissions.answer_ids(release) if i not in skip])


def typed_in() -> object:
    """Session 1 solved, but the traffic figures typed in from the sample: the visible checks pass (nbgrader's
    Validate says "Success! Your notebook passes all the tests"); the hidden ones score it 22 / 27."""
    release = submissions.read(ROOT / "release" / SESSION / f"{SESSION}.ipynb")
    source = submissions.read(ROOT / "source" / SESSION / f"{SESSION}.ipynb")
    return student(release, source, "hardcoded")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _student_env(tmp: Path) -> dict[str, str]:
    """No display, no browser, no exchange, and every piece of Jupyter state under ``tmp``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("JUPYTER", "NBGRADER", "COURSE_", "IPYTHON", "PYTEST"))
           and k not in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER")}
    for name, sub in [("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"), ("JUPYTER_RUNTIME_DIR", "runtime"),
                      ("JUPYTERLAB_SETTINGS_DIR", "lab-settings"), ("JUPYTERLAB_WORKSPACES_DIR", "lab-workspaces"),
                      ("IPYTHONDIR", "ipython")]:
        (tmp / "jupyter" / sub).mkdir(parents=True, exist_ok=True)
        env[name] = str(tmp / "jupyter" / sub)
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    return env


@dataclass
class Started:
    url: str        # what `make start` printed
    base: str
    token: str
    course: Path
    banner: str
    process: subprocess.Popen
    log: Path

    def get(self, path: str, method: str = "GET", timeout: float = 30) -> tuple[int, str]:
        request = urllib.request.Request(f"{self.base}/{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")


@contextlib.contextmanager
def student_start(tmp: Path, work: dict[str, object] | None = None) -> Iterator[Started]:
    """``python -m course start`` on a scratch course in ``tmp``, headless, once it has printed the URL.

    ``work`` maps a session to the notebook the student already has in ``work/`` (start must keep it).
    """
    course = tmp / "course"
    shutil.copytree(ROOT / "release", course / "release")
    for session, nb in (work or {}).items():
        submissions.write(nb, course / "work" / session / f"{session}.ipynb")
    port, log = _free_port(), tmp / "jupyterlab.log"
    with open(log, "w") as err:
        process = subprocess.Popen([sys.executable, "-m", "course", "start", "--root", str(course), "--port", str(port)],
                                   cwd=tmp, env=_student_env(tmp), stdout=subprocess.PIPE, stderr=err, text=True,
                                   start_new_session=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    printed, match = [], None
    deadline = time.monotonic() + STARTUP_TIMEOUT
    try:
        while match is None:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"no URL printed in {STARTUP_TIMEOUT} s:\n{''.join(printed)}\n{log.read_text()[-3000:]}")
            printed.append(line)
            match = re.search(rf"http://127\.0\.0\.1:{port}/\S*\?token=(\w+)", line)
        for _ in range(20):  # the rest of the banner
            try:
                printed.append(lines.get(timeout=1))
            except queue.Empty:
                break
        yield Started(match.group(0), f"http://127.0.0.1:{port}", match.group(1), course, "".join(printed), process, log)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # as a service manager would: start stops its server
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(process.pid, signal.SIGKILL)  # whatever is left of the group (kernels)
        except ProcessLookupError:
            pass
        shutil.copy(log, _artifacts() / f"student-start-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.log")


@pytest.fixture(scope="module")
def started(tmp_path_factory) -> Iterator[Started]:
    """The student's JupyterLab, headless; the student's earlier work on Session 1 is in ``work/``."""
    with student_start(tmp_path_factory.mktemp("student"), {SESSION: typed_in()}) as server:
        yield server


def _artifacts() -> Path:
    path = ROOT / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


def _page_config(html: str) -> dict:
    return json.loads(re.search(r'id="jupyter-config-data"[^>]*>(.*?)</script>', html, re.S).group(1))


# --- make start without a display ------------------------------------------------------------------------

@pytest.mark.e2e
def test_headless_start_prints_a_url_that_opens_jupyterlab_on_work(started: Started) -> None:
    assert "no display here, so no browser was opened" in started.banner
    assert started.url.startswith(f"{started.base}/lab/tree/{SESSION}/{SESSION}.ipynb?token=")
    status, _ = started.get(started.url.removeprefix(started.base + "/"))
    assert status == 200
    status, page = started.get(f"lab?token={started.token}")
    assert status == 200 and _page_config(page)["serverRoot"].rstrip("/").endswith("work")
    released = sorted(p.name for p in (ROOT / "release").iterdir() if p.is_dir())
    assert sorted(p.name for p in (started.course / "work").iterdir() if p.is_dir()) == released
    assert (started.course / "work" / "plan.ipynb").is_file()  # the three-week plan, next to the sessions
    # the student's earlier work is untouched; the other sessions are fresh copies of the release
    kept = submissions.read(started.course / "work" / SESSION / f"{SESSION}.ipynb")
    assert [c.source for c in kept.cells] == [c.source for c in typed_in().cells]
    other = released[1]
    assert (started.course / "work" / other / f"{other}.ipynb").read_bytes() == \
        (ROOT / "release" / other / f"{other}.ipynb").read_bytes()
    with pytest.raises(urllib.error.HTTPError) as refused:  # without the token, nothing
        urllib.request.urlopen(f"{started.base}/api/contents/{SESSION}", timeout=30)
    assert refused.value.code == 403


@pytest.mark.e2e
def test_no_instructor_panels_no_news_and_no_assignment_list_without_an_exchange(started: Started) -> None:
    _, page = started.get(f"lab?token={started.token}")
    config = _page_config(page)
    disabled = set(config["disabledExtensions"])
    assert set(NBGRADER_PANELS) <= disabled
    if start.configured_exchange() is None:  # nothing to fetch from or submit to: a self-learner
        assert "@jupyter/nbgrader:assignment-list" in disabled
    assert "@jupyter/nbgrader:validate-assignment" not in disabled  # wired to the self-check instead
    assert config["news"] == {"disabled": True}
    assert started.get("formgrader")[0] == 404  # the server extension is off, not only its panel
    status, body = started.get("lab/api/update")
    assert status == 200 and json.loads(body) == {"notification": None}  # never asks PyPI
    status, body = started.get("lab/api/settings/@jupyterlab/apputils-extension:notification")
    schema = json.loads(body)["schema"]["properties"]
    assert schema["fetchNews"]["default"] == "false"  # no "Would you like to receive news?" pop-up
    assert schema["checkForUpdates"]["default"] is False


@pytest.mark.e2e
def test_validate_runs_the_selfcheck_with_the_hidden_checks(started: Started) -> None:
    """nbgrader's Validate says "Success! Your notebook passes all the tests" here; the self-check does not."""
    from nbgrader.validator import Validator

    notebook = started.course / "work" / SESSION / f"{SESSION}.ipynb"
    assert Validator().validate(str(notebook)) == {}  # what nbgrader's own Validate button answered
    status, body = started.get(f"assignments/validate?path={SESSION}/{SESSION}.ipynb", method="POST", timeout=600)
    assert status == 200
    result = json.loads(body)
    assert result["success"] is True
    failed = result["value"]["failed"]
    assert [f["source"] for f in failed] == ["Check “traffic” (test_traffic): 0 / 3 points",
                                             "Check “bandwidth” (test_bandwidth): 0 / 2 points"]
    assert "messages_per_second on a new scenario" in failed[0]["error"]
    assert "Autograded: 22 / 27, hidden checks included" in failed[-1]["error"]
    assert notebook.with_name(f"{SESSION}.feedback.html").is_file()
    status, _ = started.get("assignments/validate?path=../outside.ipynb", method="POST")
    assert status == 403
    status, body = started.get("nbgrader_version?version=0.9.6")  # the button's version check still answers
    assert status == 200 and json.loads(body) == {"success": True}


@pytest.mark.e2e
def test_stopping_start_stops_jupyterlab(started: Started) -> None:
    started.process.send_signal(signal.SIGTERM)
    assert started.process.wait(60) == 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", int(started.base.rsplit(":", 1)[1])), timeout=1):
                time.sleep(0.5)
        except OSError:
            return
    pytest.fail("JupyterLab still listens after start was stopped")


# --- the configuration, without a server --------------------------------------------------------------------

def test_the_assignment_list_comes_back_with_a_course_exchange(tmp_path, monkeypatch) -> None:
    for var in ("COURSE_EXCHANGE", "JUPYTER_CONFIG_PATH"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setattr(start, "NBGRADER_DEFAULT_EXCHANGE", str(tmp_path / "no-such-exchange"))
    monkeypatch.setattr("jupyter_core.paths.SYSTEM_CONFIG_PATH", [])
    monkeypatch.setattr("jupyter_core.paths.ENV_CONFIG_PATH", [])
    assert start.configured_exchange() is None
    env = start.lab_environment(exchange=False, base={})
    assert env["JUPYTER_CONFIG_PATH"].split(os.pathsep) == [str(labconfig.STUDENT), str(labconfig.SELF_LEARNER)]

    exchange = tmp_path / "exchange"
    exchange.mkdir()
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "nbgrader_config.py").write_text(f"c.Exchange.root = {str(exchange)!r}\n")
    assert start.configured_exchange() == exchange
    (tmp_path / "config" / "nbgrader_config.py").unlink()
    monkeypatch.setenv("COURSE_EXCHANGE", str(exchange))  # the JupyterHub class's way
    assert start.configured_exchange() == exchange
    env = start.lab_environment(exchange=True, base={"JUPYTER_CONFIG_PATH": "/etc/mine"})
    assert env["JUPYTER_CONFIG_PATH"].split(os.pathsep) == [str(labconfig.STUDENT), "/etc/mine"]


def test_the_local_launch_hides_what_the_hub_hides_from_students() -> None:
    """The local student's config and the class's (hub/jupyter/student, hub/lab-overrides.json) agree."""
    assert json.loads((labconfig.SETTINGS / "overrides.json").read_text()) == \
        json.loads((ROOT / "hub" / "lab-overrides.json").read_text())
    ours = json.loads((labconfig.STUDENT / "labconfig" / "page_config.json").read_text())["disabledExtensions"]
    hub = json.loads((ROOT / "hub" / "jupyter" / "student" / "labconfig" / "page_config.json").read_text())
    # The hub hides nbgrader's Validate (its students have no hidden checks to run); locally Validate runs
    # the self-check instead (course.labconfig.validate), so it stays.
    validate = "@jupyter/nbgrader:validate-assignment"
    assert hub["disabledExtensions"].get(validate) is True and validate not in ours
    assert set(hub["disabledExtensions"]) - {validate} <= set(ours) and set(NBGRADER_PANELS) <= set(ours)
    server = json.loads((labconfig.STUDENT / "jupyter_server_config.json").read_text())
    extensions = server["ServerApp"]["jpserver_extensions"]
    assert extensions["nbgrader.server_extensions.formgrader"] is False
    assert extensions["nbgrader.server_extensions.validate_assignment"] is False
    assert extensions["course.labconfig.validate"] is True
    assert server["LabApp"]["news_url"] is None


def test_nothing_is_installed_for_the_instructors_own_jupyter_lab() -> None:
    """The student's config reaches only the server `make start` launches (env and flags), never the venv."""
    args = start.lab_command(ROOT / "work", port=8888, token="t", open_browser=False)
    assert f"--LabApp.app_settings_dir={labconfig.SETTINGS}" in args
    env = start.lab_environment(exchange=False, base={})
    assert str(labconfig.STUDENT) in env["JUPYTER_CONFIG_PATH"]
    assert "JUPYTER_CONFIG_PATH" not in os.environ or str(labconfig.STUDENT) not in os.environ["JUPYTER_CONFIG_PATH"]
    for folder in (Path(sys.prefix) / "etc" / "jupyter", Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings"):
        if folder.is_dir():
            assert "labconfig" not in " ".join(p.read_text(errors="ignore") for p in folder.rglob("*.json"))


# --- the student install and make's stamps ---------------------------------------------------------------------

FAKE_PYTHON = """#!/bin/sh
# Stands in for python: `-m venv DIR` makes DIR/bin/python this script; anything else (pip) is recorded.
if [ "$1 $2" = "-m venv" ]; then
  mkdir -p "$3/bin" && cp "$0" "$3/bin/python" && echo "venv $3" >> "$(dirname "$0")/pip.log"
else
  echo "$*" >> "$(dirname "$0")/../../pip.log"
fi
"""


def _make(folder: Path, target: str) -> list[str]:
    log = folder / "pip.log"
    before = log.read_text().splitlines() if log.exists() else []
    subprocess.run(["make", "-s", target, f"PYTHON={folder / 'python3'}"], cwd=folder, check=True,
                   capture_output=True, text=True, timeout=60)
    after = log.read_text().splitlines() if log.exists() else []
    return [line.replace("-m pip install --quiet ", "") for line in after[len(before):] if "--upgrade pip" not in line]


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
def test_make_start_installs_the_course_alone_and_make_test_adds_the_dev_tools(tmp_path) -> None:
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    python = tmp_path / "python3"  # the machine's python: no .venv yet
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)

    assert _make(tmp_path, "install") == ["venv .venv", "-e ."]  # make start's first run: venv, no [dev]
    assert (tmp_path / ".venv" / "bin" / "python").is_file()
    assert _make(tmp_path, "install") == []                 # installed: nothing again
    assert _make(tmp_path, "setup") == ['-e .[dev]']        # make test on a student venv: the tools too
    assert _make(tmp_path, "install") == []                 # the full install covers the student's
    with open(tmp_path / "pyproject.toml", "a") as f:
        f.write("\n# changed\n")
    assert _make(tmp_path, "install") == ["-e ."]           # new dependencies: the student's again
    assert _make(tmp_path, "setup") == ['-e .[dev]']
    assert _make(tmp_path, "setup") == []


def test_the_student_install_leaves_out_the_dev_tools() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {re.split(r"[<>=!\[ ;]", r, maxsplit=1)[0].lower() for r in project["dependencies"]}
    assert not names & {"pytest", "pytest-xdist", "nbval", "playwright", "jupyterhub", "psycopg"}
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^start: install\b", makefile, re.M) and re.search(r"^test: setup\b", makefile, re.M)
    assert "test: " not in re.search(r"^start:.*$", makefile, re.M).group(0)
    assert not re.search(r"^test:.*\bstart\b", makefile, re.M)  # make test never runs make start (it serves forever)


# --- the feedback page ---------------------------------------------------------------------------------------------

def _text(page: str) -> str:
    import html

    body = page[page.index("<body"):]
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", body)))


@pytest.mark.e2e
def test_the_feedback_page_scores_the_autograded_part_and_names_each_check(tmp_path) -> None:
    from nbgrader.api import Gradebook

    from course.demo import api_for, make_course

    course = make_course(tmp_path / "course")
    api = api_for(course)
    assert api.generate_assignment(SESSION, force=True)["success"]
    submissions.write(_almost_solved("group_chat"), course / "submitted" / "sam" / SESSION / f"{SESSION}.ipynb")
    assert api.autograde(SESSION, "sam", force=True)["success"]
    page_path = course / "feedback" / "sam" / SESSION / f"{SESSION}.html"

    assert api.generate_feedback(SESSION, "sam", force=True)["success"]
    text = _text(page_path.read_text(encoding="utf-8"))
    assert "Autograded: 24 / 27" in text  # nbgrader's header said "21.0 / 30.0"
    assert "Written answers: graded by a person: pending (8 pts)" in text
    assert "ordering test_ordering: 0 / 3" in text and "traffic test_traffic: 3 / 3" in text
    assert "offline delivery offline_delivery: graded by a person: pending (2 pts)" in text
    assert "group chat group_chat: not answered: 0 / 2" in text
    assert "Test cell" not in text and "Coding free-response" not in text
    assert "Check: ordering · Grade cell: test_ordering" in text and "Score: 0.0 / 3.0" in text
    (tmp_path / "first.html").write_text(page_path.read_text(encoding="utf-8"))

    with Gradebook(api.coursedir.db_url, course_id=api.coursedir.course_id) as gb:  # a person grades three answers
        for name, points in (("offline_delivery", 1.5), ("message_ordering", 2.0), ("curveball_plan", 1.0)):
            grade = gb.find_grade(name, SESSION, SESSION, "sam")
            grade.manual_score = points
            grade.needs_manual_grade = False
        gb.db.commit()
    assert api.generate_feedback(SESSION, "sam", force=True)["success"]
    text = _text(page_path.read_text(encoding="utf-8"))
    assert "Autograded: 24 / 27" in text
    assert "Written answers: graded by a person: 4.5 / 8" in text
    assert "offline delivery offline_delivery: graded by a person: 1.5 / 2" in text
    assert "group chat group_chat: not answered: 0 / 2" in text
    assert "pending" not in text
    shutil.copy(page_path, _artifacts() / "feedback-autograded-and-written.html")
