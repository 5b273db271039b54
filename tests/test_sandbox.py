"""The grading sandbox, proved from inside a submission: a spying student sees and keeps nothing.

The ``snoop`` student's first answer cell tries everything the course notes measured a grading kernel
can do (read the instructor's ``source/`` and run its solutions, read and write the gradebook, read a
classmate's work, write outside its folder, reach the network, read the grader's environment) and prints
what worked; its other answer cells run whatever solutions it stole. The same notebook graded
``--no-sandbox`` (the control) steals full marks, which proves the attack is real; in the sandbox every
probe fails and it scores 0.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import sys
import threading
import uuid
from pathlib import Path

import pytest

from course import submissions
from course.grading import sandbox

from .grading_class import (
    ROOT, SESSION, autograded_answer_ids, autograded_nb, copy_class, grade, new_class, read_csv, require,
    sandbox_available, submit,
)

SECRET = "GRADER_SECRET_TOKEN"

PROBE = '''
import json as _json, os as _os, socket as _socket, sqlite3 as _sqlite3
_found, _SOLUTIONS = {{}}, {{}}

def _try(name, action):
    try:
        action()
        _found[name] = True
    except Exception:
        _found[name] = False

def _steal(path):
    for _cell in _json.load(open(path))["cells"]:
        _meta = _cell.get("metadata", {{}}).get("nbgrader", {{}})
        if _meta.get("solution"):
            _text = "".join(_cell["source"]) if isinstance(_cell["source"], list) else _cell["source"]
            _SOLUTIONS[_meta["grade_id"]] = "\\n".join(
                l for l in _text.split("\\n") if l.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))

_try("read_source_and_steal_solutions", lambda: _steal({source!r}))
_try("read_repo_source", lambda: _os.listdir({repo_source!r}))
_try("read_repo_authoring", lambda: _os.listdir({repo_authoring!r}))
_try("read_gradebook", lambda: _sqlite3.connect("file:" + {gradebook!r} + "?mode=ro", uri=True).execute(
    "select count(*) from grade").fetchone())
_try("open_gradebook_for_writing", lambda: open({gradebook!r}, "r+b").close())
_try("read_classmate_submission", lambda: open({classmate!r}).read(10))
_try("list_autograded", lambda: _os.listdir({autograded!r}))
_try("read_own_notebook_with_hidden_tests", lambda: open({own_notebook!r}).read(10))
_try("write_in_course_folder", lambda: open({course_file!r}, "w").write("pwned"))
_try("write_in_classmate_folder", lambda: open({classmate_file!r}, "w").write("pwned"))
_try("write_in_tmp", lambda: open({tmp_file!r}, "w").write("pwned"))
_try("connect_to_localhost", lambda: _socket.create_connection(("127.0.0.1", {port}), timeout=3).close())
_try("read_grader_secret", lambda: _os.environ[{secret!r}])
_try("write_own_working_copy", lambda: open("scratch.txt", "w").write("ok"))
_try("import_the_grader", lambda: __import__("course.grading.runner"))
_try("import_a_handed_in_module", lambda: __import__("handed_in"))
_try("read_a_released_file", lambda: open("released.txt").read())
def _fill(path):
    try:
        with open(path, "wb") as _f:
            _f.write(b"x" * 300 * 2**20)
    finally:
        _os.unlink(path)

_try("fill_the_host_disk", lambda: _fill({tmp_file!r} + ".big"))
_found["visible_processes"] = len([p for p in _os.listdir("/proc") if p.isdigit()])
print("SANDBOX-PROBE " + _json.dumps(_found, sort_keys=True))
exec(_SOLUTIONS.get({first!r}, ""))
'''


def snoop_notebook(cls: dict, course: Path, port: int, tmp_file: str):
    """The release, with a probe in the first answer and stolen solutions (if any) run in every answer."""
    answers = autograded_answer_ids(cls)
    first = answers[0]
    probe = PROBE.format(
        source=str(course / "source" / SESSION / f"{SESSION}.ipynb"),
        repo_source=str(ROOT / "source"), repo_authoring=str(ROOT / "authoring"),
        gradebook=str(course / "gradebook.db"),
        classmate=str(course / "submitted" / "perfect" / SESSION / f"{SESSION}.ipynb"),
        autograded=str(course / "autograded"), own_notebook=f"{SESSION}.ipynb",
        course_file=str(course / "pwned.txt"),
        classmate_file=str(course / "submitted" / "perfect" / SESSION / "pwned.txt"),
        tmp_file=tmp_file, port=port, secret=SECRET, first=first)
    nb = submissions.replace_answer(cls["release"], first, probe)
    for gid in answers[1:]:
        nb = submissions.replace_answer(nb, gid, f"exec(_SOLUTIONS.get({gid!r}, ''))")
    return nb


def probe_result(course: Path, student: str = "snoop") -> dict:
    for cell in autograded_nb(course, student).cells:
        for output in cell.get("outputs", []):
            text = output.get("text", "")
            if output.get("output_type") == "stream" and "SANDBOX-PROBE " in text:
                return json.loads(text.split("SANDBOX-PROBE ", 1)[1].splitlines()[0])
    raise AssertionError("the probe printed nothing")


class Listener:
    """A TCP server on the grader's 127.0.0.1 that counts the connections it gets."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()


@pytest.fixture(scope="module")
def snooped(tmp_path_factory):
    ok, why = sandbox_available()
    require(ok, why)
    listener = Listener()
    results = {}
    template = new_class(tmp_path_factory.mktemp("snoop") / "template")
    (template["dir"] / "source" / SESSION / "released.txt").write_text("released with the assignment")
    for mode in ("sandbox", "control"):
        course = copy_class(template["dir"], tmp_path_factory.mktemp(mode) / "course", [])
        tmp_file = f"/tmp/sdl-probe-{uuid.uuid4().hex}.txt"
        submit(course, "perfect", submissions.fill(template["release"], template["source"]))
        submit(course, "snoop", snoop_notebook(template, course, listener.port, tmp_file))
        # handed in next to the notebook: a module that would shadow an import
        (course / "submitted" / "snoop" / SESSION / "handed_in.py").write_text("PWNED = True\n")
        before = listener.connections
        args = ["--jobs", "2"] + (["--no-sandbox"] if mode == "control" else [])
        run = grade(course, *args, env={SECRET: "s3cr3t"})
        results[mode] = {"dir": course, "run": run, "rows": read_csv(course), "probe": probe_result(course),
                         "connections": listener.connections - before, "tmp_file": Path(tmp_file),
                         "tmp_file_existed": Path(tmp_file).exists()}
        Path(tmp_file).unlink(missing_ok=True)
    listener.sock.close()
    return results


ATTACKS = ["read_source_and_steal_solutions", "read_repo_source", "read_repo_authoring", "read_gradebook",
           "open_gradebook_for_writing", "read_classmate_submission", "list_autograded",
           "read_own_notebook_with_hidden_tests", "write_in_course_folder", "write_in_classmate_folder",
           "connect_to_localhost", "read_grader_secret", "import_the_grader", "import_a_handed_in_module",
           "fill_the_host_disk"]


@pytest.mark.e2e
def test_without_the_sandbox_the_attack_works(snooped):
    """The control: the same notebook, graded --no-sandbox, steals the solutions and full marks."""
    control = snooped["control"]
    assert "WARNING: grading WITHOUT a sandbox" in control["run"].stderr
    probe = control["probe"]
    for attack in ("read_source_and_steal_solutions", "read_repo_source", "read_repo_authoring", "read_gradebook",
                   "read_classmate_submission", "write_in_course_folder", "connect_to_localhost", "read_grader_secret",
                   "import_the_grader", "import_a_handed_in_module"):
        assert probe[attack] is True, attack
    assert control["connections"] >= 1
    rows = control["rows"]
    assert rows["snoop"]["score"] == rows["snoop"]["max_score"]  # stolen full marks


@pytest.mark.e2e
@pytest.mark.parametrize("attack", ATTACKS)
def test_in_the_sandbox_the_attack_fails(snooped, attack):
    assert snooped["sandbox"]["probe"][attack] is False


@pytest.mark.e2e
def test_in_the_sandbox_the_spy_gets_no_points(snooped):
    rows = snooped["sandbox"]["rows"]
    assert rows["snoop"]["status"] == "graded"
    assert rows["snoop"]["score"] == "0"
    assert rows["perfect"]["score"] == rows["perfect"]["max_score"]


@pytest.mark.e2e
def test_in_the_sandbox_the_kernel_still_works_in_its_own_copy(snooped):
    probe = snooped["sandbox"]["probe"]
    assert probe["write_own_working_copy"] is True
    assert probe["read_a_released_file"] is True  # what the instructor released with the assignment is there
    assert probe["write_in_tmp"] is True  # a private /tmp ...
    assert not snooped["sandbox"]["tmp_file_existed"]  # ... that is not the grader's


@pytest.mark.e2e
def test_in_the_sandbox_nothing_was_written_outside(snooped):
    course = snooped["sandbox"]["dir"]
    assert not (course / "pwned.txt").exists()
    assert not (course / "submitted" / "perfect" / SESSION / "pwned.txt").exists()
    assert snooped["sandbox"]["connections"] == 0
    # the working copy is private: nothing the kernel wrote lands in nbgrader's autograded folder
    assert not (course / "autograded" / "snoop" / SESSION / "scratch.txt").exists()


@pytest.mark.e2e
def test_in_the_sandbox_no_other_process_is_visible(snooped):
    assert snooped["sandbox"]["probe"]["visible_processes"] <= 3


# --- where the sandbox cannot run ------------------------------------------------------------------------

@pytest.fixture
def tiny_course(tmp_path):
    from course.demo import make_course

    return make_course(tmp_path / "course")


def _path_without_bwrap(tmp_path: Path, fake: str | None = None) -> str:
    """A PATH with this venv's tools, and a fake ``bwrap`` (or none at all)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    if fake is not None:
        script = bindir / "bwrap"
        script.write_text(fake)
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
    venv_bin = str(Path(sys.executable).parent)
    return os.pathsep.join([str(bindir), venv_bin])


@pytest.mark.e2e
def test_without_bubblewrap_the_command_refuses_with_the_fix(tiny_course, tmp_path):
    run = grade(tiny_course, env={"PATH": _path_without_bwrap(tmp_path)})
    assert run.returncode == 2
    assert "bubblewrap" in run.stderr and "not installed" in run.stderr
    assert "--no-sandbox" in run.stderr and "apt-get install bubblewrap" in run.stderr
    assert not (tiny_course / "autograded" / f"{SESSION}.csv").exists()


@pytest.mark.e2e
def test_where_namespaces_are_refused_the_command_says_so(tiny_course, tmp_path):
    fake = "#!/bin/sh\necho 'bwrap: No permissions to creating new namespace' >&2\nexit 1\n"
    run = grade(tiny_course, env={"PATH": _path_without_bwrap(tmp_path, fake)})
    assert run.returncode == 2
    assert "No permissions to creating new namespace" in run.stderr
    assert "user namespaces" in run.stderr and "--no-sandbox" in run.stderr


def test_check_names_a_missing_bwrap():
    with pytest.raises(sandbox.SandboxUnavailable, match="not installed"):
        sandbox.check("no-such-bwrap-here")


def test_the_sandbox_is_built_from_an_allow_list(tmp_path):
    course = tmp_path / "course"
    released = course / "source" / SESSION / "data.csv"
    argv = sandbox.bwrap_argv(["python", "-m", "ipykernel_launcher"], runtime=tmp_path / "run", assignment=SESSION,
                              released={"data.csv": released},
                              env={"PATH": "/usr/bin", "COURSE_DB_URL": "postgresql://u:pw@db/x", "LANG": "C.UTF-8"},
                              bwrap=shutil.which("bwrap") or "bwrap")
    joined = " ".join(argv)
    for flag in ("--unshare-user", "--unshare-all", "--die-with-parent", "--new-session", "--clearenv",
                 "--remount-ro"):
        assert flag in argv, flag
    assert argv[argv.index("--cap-drop") + 1] == "ALL"
    # the course folder and the repository's solutions are never mounted; only the package and the venv
    mounted = {argv[i + 2] for i, a in enumerate(argv) if a in ("--bind", "--ro-bind")}
    assert "--bind" not in argv  # nothing of the host is writable: the writable places are size-capped tmpfs
    assert str(course) not in mounted and str(ROOT) not in mounted
    assert str(ROOT / "course") in mounted
    assert not any(m.startswith(str(ROOT / "source")) or m.startswith(str(ROOT / "authoring")) for m in mounted)
    assert not any(m.startswith(str(course)) for m in mounted)  # not even the path of the course exists inside
    assert f"/home/student/{SESSION}/data.csv" in mounted  # a released file, read-only, in the working folder
    tmpfs = [argv[i + 1] for i, a in enumerate(argv) if a == "--tmpfs"]
    assert "/home/student" in tmpfs and str(ROOT / "course" / "grading") in tmpfs  # the grader is masked
    assert argv[argv.index("--chdir") + 1] == f"/home/student/{SESSION}"
    assert "postgresql://" not in joined and "LANG" in joined
    assert argv[-3:] == ["python", "-m", "ipykernel_launcher"]
