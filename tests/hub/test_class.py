"""A class on JupyterHub, driven through the hub's REST API: release → fetch → submit → collect → autograde →
feedback, with one instructor and two students who are real Unix accounts.

The instructor releases a session from the Formgrader; both students fetch it; student 1 answers every
question (the solutions), student 2 hands it in untouched; the instructor collects, autogrades, generates
and releases feedback; each student fetches their own. Then what must stay private is checked: a student
cannot open another student's server, submission, home or feedback, nor the instructor's gradebook, and
only the instructor has the Formgrader. Before the collect, student 2 also tries to cheat it with their own
Unix account: a folder in student 1's name with a later timestamp, links to the instructor's gradebook and
solutions and to /dev/zero in their own submission, a FIFO, a folder name the collect cannot read. The
collect (course.exchange.VerifiedCollect) must refuse or skip each of them and still collect everyone's
own work. The steps and their timings are written to ``test-artifacts/hub/class-loop.txt``.
"""

from __future__ import annotations

import datetime
import html
import json
import os
import pwd
import re
import shlex
import stat
import time
from pathlib import Path

import nbformat
import pytest

from course import submissions
from course.exchange import read_collect_report
from tests.hub.conftest import ARTIFACTS, COURSE_DIR, COURSE_ID, INSTRUCTOR, PREFIX, ROOT, STUDENTS, Hub, run_as

pytestmark = pytest.mark.hub

SESSION = sorted(p.name for p in (ROOT / "release").iterdir() if (p / f"{p.name}.ipynb").is_file())[0]
SOLVER, BLANK = STUDENTS


def _result(response) -> dict:
    """nbgrader's handlers answer JSON, sometimes a JSON string of JSON."""
    assert response.status_code < 400, \
        f"{response.request.method} {response.url}: {response.status_code} {response.text[:1000]}"
    body = response.json()
    return json.loads(body) if isinstance(body, str) else body


def _ok(response) -> dict:
    result = _result(response)
    if not result.get("success", True):
        details = "\n".join(str(result.get(key) or "") for key in ("error", "log"))
        raise AssertionError(f"{response.url} failed:\n{details[-6000:]}")
    return result


def _autograded_points(session: str) -> float:
    """Points of the autograded tests in the instructor's notebook: what a fully correct student earns."""
    nb = nbformat.read(ROOT / "source" / session / f"{session}.ipynb", as_version=4)
    return sum(float(c.metadata["nbgrader"].get("points", 0)) for c in nb.cells
               if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata["nbgrader"].get("solution"))


class Transcript:
    """The steps of the loop with their timings, for people reading the CI artifacts."""

    def __init__(self, path: Path) -> None:
        self.path, self.lines, self.start = path, [], time.monotonic()
        self.last = self.start

    def step(self, text: str) -> None:
        now = time.monotonic()
        self.lines.append(f"{now - self.start:7.1f}s  (+{now - self.last:5.1f}s)  {text}")
        self.last = now
        self.path.write_text("\n".join(self.lines) + "\n")


@pytest.fixture(scope="module")
def loop(hub: Hub) -> dict:
    """Run the whole release → feedback loop once; the tests below check what it left behind."""
    log = Transcript(ARTIFACTS / "class-loop.txt")
    assignment = f"formgrader/api/assignment/{SESSION}"
    seconds = hub.start_servers([INSTRUCTOR, *STUDENTS])
    log.step(f"hub: started the servers of {INSTRUCTOR}, {', '.join(STUDENTS)} ({seconds:.1f}s)")

    for student in STUDENTS:  # Manage Students
        _result(hub.server(INSTRUCTOR, "PUT", f"formgrader/api/student/{student}",
                           json={"first_name": "Test", "last_name": student, "email": None, "lms_user_id": None}))
    log.step(f"{INSTRUCTOR}: added {len(STUDENTS)} students to the gradebook")
    _ok(hub.server(INSTRUCTOR, "POST", f"{assignment}/assign"))
    log.step(f"{INSTRUCTOR}: generated the student version of {SESSION}")
    _ok(hub.server(INSTRUCTOR, "POST", f"{assignment}/release"))
    log.step(f"{INSTRUCTOR}: released {SESSION} to the exchange")

    listed = {}
    for student in STUDENTS:
        found = _result(hub.server(student, "GET", "assignments", params={"course_id": COURSE_ID}))["value"]
        listed[student] = {a["assignment_id"]: a["status"] for a in found}
        _ok(hub.server(student, "POST", "assignments/fetch", data={"course_id": COURSE_ID, "assignment_id": SESSION}))
        log.step(f"{student}: saw {listed[student]}, fetched {SESSION}")

    notebook = f"api/contents/{SESSION}/{SESSION}.ipynb"
    fetched = _result(hub.server(SOLVER, "GET", notebook))["content"]
    answered = submissions.fill(nbformat.from_dict(fetched),
                                submissions.read(ROOT / "source" / SESSION / f"{SESSION}.ipynb"))
    _result(hub.server(SOLVER, "PUT", notebook, json={"type": "notebook", "format": "json", "content": answered}))
    log.step(f"{SOLVER}: answered every question and saved the notebook")
    for student in STUDENTS:
        _ok(hub.server(student, "POST", "assignments/submit", data={"course_id": COURSE_ID, "assignment_id": SESSION}))
        log.step(f"{student}: submitted")

    cheats = _cheat_the_collect(BLANK, victim=SOLVER)
    log.step(f"{BLANK}: as their Unix account, made {len(cheats['folders'])} folders in inbound/ to cheat the collect")

    collected = _ok(hub.server(INSTRUCTOR, "POST", f"{assignment}/collect"))
    (ARTIFACTS / "collect.log").write_text(collected.get("log") or "")
    log.step(f"{INSTRUCTOR}: collected the submissions (its log: collect.log)")
    for student in STUDENTS:
        _ok(hub.server(INSTRUCTOR, "POST", f"formgrader/api/submission/{SESSION}/{student}/autograde"))
        log.step(f"{INSTRUCTOR}: autograded {student}")
    scores = {s["student"]: s for s in _result(hub.server(INSTRUCTOR, "GET", f"formgrader/api/submissions/{SESSION}"))}
    log.step("formgrader scores: " + ", ".join(f"{s}={v['score']:g}/{v['max_score']:g}" for s, v in scores.items()))
    _ok(hub.server(INSTRUCTOR, "POST", f"{assignment}/generate_feedback"))
    log.step(f"{INSTRUCTOR}: generated feedback")
    _ok(hub.server(INSTRUCTOR, "POST", f"{assignment}/release_feedback"))
    log.step(f"{INSTRUCTOR}: released feedback")

    feedback = {}
    for student in STUDENTS:
        _ok(hub.server(student, "POST", "assignments/fetch_feedback",
                       data={"course_id": COURSE_ID, "assignment_id": SESSION}))
        folders = _result(hub.server(student, "GET", f"api/contents/{SESSION}/feedback"))["content"]
        assert len(folders) == 1, f"{student}: expected one feedback folder, got {[f['name'] for f in folders]}"
        page = f"api/contents/{SESSION}/feedback/{folders[0]['name']}/{SESSION}.html"
        feedback[student] = _result(hub.server(student, "GET", page, params={"format": "text"}))["content"]
        log.step(f"{student}: fetched feedback ({len(feedback[student]) // 1024} KB of HTML)")
    return {"listed": listed, "scores": scores, "feedback": feedback, "log": log,
            "cheats": cheats, "collect_log": collected.get("log") or ""}


def _cheat_the_collect(cheat: str, victim: str) -> dict:
    """What a student can do to nbgrader's collect with their own Unix account (run as ``cheat``)."""
    inbound = PREFIX / "exchange" / COURSE_ID / "inbound"
    course = Path(f"~{INSTRUCTOR}").expanduser() / COURSE_DIR
    later = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)).strftime(
        "%Y-%m-%d %H:%M:%S.%f UTC")
    folders = {
        "forged": f"{victim}+{SESSION}+{later}+forged",  # the victim's name, the cheat's bad notebook
        "links": f"{cheat}+{SESSION}+{later}+links",  # the cheat's own, with links to the instructor's files
        "unreadable": f"{victim}+{SESSION}+next tuesday+x",  # stops nbgrader's own collect altogether
        "symlink": f"{victim}+{SESSION}+{later}+symlink",  # a link to the cheat's folder
    }
    targets = {"gradebook.db": course / "gradebook.db", f"{SESSION}-solutions.ipynb":
               course / "source" / SESSION / f"{SESSION}.ipynb", "source": course / "source", "zero": "/dev/zero"}
    q = {key: shlex.quote(str(inbound / name)) for key, name in folders.items()}
    script = [
        "set -eu",
        f'cache=$(ls -d "$HOME/.local/share/jupyter/nbgrader_cache/{COURSE_ID}/{cheat}+{SESSION}+"* | head -n 1)',
        f'mkdir {q["forged"]} {q["links"]} {q["unreadable"]}',
        *(f'cp "$cache"/* {q[key]}/' for key in ("forged", "links", "unreadable")),
        *(f'ln -s {shlex.quote(str(target))} {q["links"]}/{shlex.quote(name)}' for name, target in targets.items()),
        f'mkfifo {q["links"]}/pipe',
        f'ln -s {q["links"]} {q["symlink"]}',
    ]
    made = run_as(cheat, "sh", "-c", "\n".join(script))
    assert made.returncode == 0, made.stderr
    return {"folders": folders, "links": sorted(targets), "course": course}


def test_both_students_fetch_the_released_session(loop: dict) -> None:
    for student in STUDENTS:
        assert loop["listed"][student].get(SESSION) == "released", loop["listed"][student]


def test_autograde_scores_the_solver_fully_and_the_blank_submission_zero(loop: dict) -> None:
    scores, auto = loop["scores"], _autograded_points(SESSION)
    assert set(scores) == set(STUDENTS)
    assert auto > 0
    assert scores[SOLVER]["autograded"] and scores[BLANK]["autograded"]
    assert scores[SOLVER]["score"] == pytest.approx(auto), "the solutions should earn every autograded point"
    assert scores[BLANK]["score"] == 0
    assert scores[SOLVER]["max_score"] == scores[BLANK]["max_score"] >= auto


def test_each_student_gets_their_own_feedback_with_nothing_fetched_from_the_internet(loop: dict) -> None:
    scores, feedback = loop["scores"], loop["feedback"]
    for student in STUDENTS:
        text = html.unescape(re.sub(r"<[^>]+>", " ", feedback[student]))
        score = scores[student]["score"]
        assert re.search(rf"Autograded:\s*{score:g}\s*/", text), \
            f"{student}'s feedback does not show their score {score:g}"
        external = re.findall(r"""(?:src|href)\s*=\s*["'](?:https?:)?//[^"']+""", feedback[student])
        assert not external, f"{student}'s feedback loads from the internet: {external}"
    assert feedback[SOLVER] != feedback[BLANK]


def test_students_cannot_open_each_others_work_or_the_gradebook(hub: Hub, loop: dict) -> None:
    log = loop["log"]
    # Through the hub: student 2's own token does not open student 1's server, nor the instructor's.
    token = hub.api("POST", f"users/{BLANK}/tokens", json={"note": "isolation test", "expires_in": 600})
    assert token.status_code in (200, 201), token.text
    own = token.json()["token"]
    assert hub.server(BLANK, "GET", f"api/contents/{SESSION}", token=own).status_code == 200
    refused = {}
    for user, path in ((SOLVER, f"api/contents/{SESSION}/{SESSION}.ipynb"),
                       (SOLVER, f"api/contents/{SESSION}/feedback"),
                       (INSTRUCTOR, f"formgrader/api/submissions/{SESSION}")):
        refused[f"/user/{user}/{path}"] = status = hub.server(user, "GET", path, token=own).status_code
        assert status == 403, f"{BLANK} got {status} for /user/{user}/{path}"
    log.step(f"{BLANK} with their own token: " + ", ".join(f"{p} -> {s}" for p, s in refused.items()))

    # On disk, as the Unix account of student 2.
    inbound = PREFIX / "exchange" / COURSE_ID / "inbound"
    solver_uid = pwd.getpwnam(SOLVER).pw_uid
    submitted = [p for p in inbound.glob(f"{SOLVER}+{SESSION}+*") if p.lstat().st_uid == solver_uid]
    assert len(submitted) == 1, submitted
    solver_home = Path(f"~{SOLVER}").expanduser()
    instructor_course = Path(f"~{INSTRUCTOR}").expanduser() / COURSE_DIR
    private = {
        "the inbound folder's listing": ["ls", str(inbound)],
        "student 1's submission, by its exact name": ["cat", str(submitted[0] / f"{SESSION}.ipynb")],
        "student 1's own notebook": ["cat", str(solver_home / SESSION / f"{SESSION}.ipynb")],
        "student 1's feedback": ["ls", str(solver_home / SESSION / "feedback")],
        "the instructor's gradebook": ["cat", str(instructor_course / "gradebook.db")],
        "the instructor's collected submissions": ["ls", str(instructor_course / "submitted")],
    }
    for what, command in private.items():
        result = run_as(BLANK, *command)
        assert result.returncode != 0 and "Permission denied" in result.stderr, f"{BLANK} could read {what}"
    # ...while their own submission and the released session are theirs to read.
    assert run_as(BLANK, "cat", str(Path(f"~{BLANK}").expanduser() / SESSION / f"{SESSION}.ipynb")).returncode == 0
    log.step(f"{BLANK}: refused by the hub and by Unix permissions on each of {len(private) + 3} private things")


def test_only_the_instructor_has_the_formgrader(hub: Hub, loop: dict) -> None:
    formgrader = "formgrader/manage_assignments"
    assert hub.server(INSTRUCTOR, "GET", formgrader).status_code == 200
    for student in STUDENTS:
        assert hub.server(student, "GET", formgrader).status_code == 404, f"{student} has a formgrader"
        disabled = _disabled_lab_extensions(hub, student)
        assert "@jupyter/nbgrader:formgrader" in disabled, disabled
        assert "@jupyter/nbgrader:create-assignment" in disabled, disabled
    assert "@jupyter/nbgrader:formgrader" not in _disabled_lab_extensions(hub, INSTRUCTOR)
    loop["log"].step("only the instructor's server has the Formgrader (students: 404, and no menu entry)")


def _disabled_lab_extensions(hub: Hub, user: str) -> list[str]:
    """The JupyterLab plugins switched off for ``user``, from the page config their server sends."""
    page = hub.server(user, "GET", "lab")
    assert page.status_code == 200, page.status_code
    data = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page.text, re.S)
    return json.loads(data.group(1)).get("disabledExtensions", [])


def test_collect_takes_each_submission_from_its_own_account_and_only_regular_files(loop: dict) -> None:
    cheats, collect_log = loop["cheats"], loop["collect_log"]
    folders, course = cheats["folders"], cheats["course"]
    inbound = PREFIX / "exchange" / COURSE_ID / "inbound"
    submitted = course / "submitted"

    # The folder in student 1's name is refused, naming its real owner; student 1's own is collected.
    refusals = [line for line in collect_log.splitlines() if line.startswith("[ERROR] Refused")]
    forged = [line for line in refusals if folders["forged"] in line]
    assert len(forged) == 1 and f"belongs to Unix account {BLANK}" in forged[0], collect_log
    assert any(folders["unreadable"] in line and "cannot be read" in line for line in refusals), collect_log
    assert any(folders["symlink"] in line and "symbolic link" in line for line in refusals), collect_log
    solver_uid = pwd.getpwnam(SOLVER).pw_uid
    [own] = [p for p in inbound.glob(f"{SOLVER}+{SESSION}+*") if p.lstat().st_uid == solver_uid]
    assert (submitted / SOLVER / SESSION / f"{SESSION}.ipynb").read_bytes() == (own / f"{SESSION}.ipynb").read_bytes()
    # (and test_autograde_scores_the_solver_fully_and_the_blank_submission_zero: student 1 earns every point)

    # Nothing of the instructor's, and nothing but small regular files, reached submitted/.
    instructor_files = {(course / "gradebook.db").read_bytes(),
                        (course / "source" / SESSION / f"{SESSION}.ipynb").read_bytes()}
    for path in submitted.rglob("*"):
        mode = path.lstat().st_mode
        assert stat.S_ISREG(mode) or stat.S_ISDIR(mode), f"{path} is a {stat.filemode(mode)}"
        if stat.S_ISREG(mode):
            assert path.stat().st_size < 2_000_000, f"{path}: {path.stat().st_size} bytes"
            assert path.read_bytes() not in instructor_files, f"{path} is a copy of an instructor's file"
    cheat_folder = inbound / folders["links"]
    regular = sorted(n for n in os.listdir(cheat_folder) if stat.S_ISREG((cheat_folder / n).lstat().st_mode))
    assert sorted(os.listdir(submitted / BLANK / SESSION)) == regular

    # The collect report says what was refused and what was skipped.
    by_folder = {entry["folder"]: entry for entry in read_collect_report(course, SESSION)}
    assert by_folder[folders["forged"]]["decision"] == "refused"
    assert by_folder[folders["forged"]]["owner"] == BLANK
    links = by_folder[folders["links"]]
    assert links["decision"] == "collected" and links["student"] == BLANK
    assert {s["path"]: s["kind"] for s in links["skipped"]} == {
        **{name: "symbolic link" for name in cheats["links"]}, "pipe": "FIFO"}
    loop["log"].step(f"collect: refused {len(refusals)} folders, skipped {len(links['skipped'])} links and FIFOs of "
                     f"{BLANK}, collected {SOLVER}'s own submission")
