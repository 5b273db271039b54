"""Cheating earns nothing: adversarial students through the real grading command and the real nbgrader cycle.

For every session, a class of fake students (``tests/fake_students.py``) is graded twice: by
``python -m course grade`` (sandboxed, two workers, attackers beside honest students) and by nbgrader's
own ``autograde`` with the course's configuration. Every adversary hands in the honest ``wrong``
student's wrong answers plus an attack; none may score more than ``wrong``, and the attacked cell scores
0. Honest students score the same beside the attackers as alone. Nothing a kernel printed while the
grader probed it reaches the autograded notebook or the feedback.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys

import pytest
from nbgrader.api import Gradebook

from authoring.sessions import SESSIONS
from course import submissions
from course.demo import api_for, make_course
from course.nbgrader_ext import is_test_cell
from tests.fake_students import GENERIC, _group_of, first_group, submission
from tests.grading_class import require, sandbox_available

pytestmark = pytest.mark.e2e

STUDENTS = ["perfect", "wrong", "untouched", *GENERIC]


def _scores(course_dir, session) -> dict[str, dict[str, float]]:
    api = api_for(course_dir)
    with Gradebook(api.coursedir.db_url, course_id=api.coursedir.course_id) as gb:
        return {s.student.id: {g.name: g.auto_score or 0.0 for nb in s.notebooks for g in nb.grades
                               if g.name.startswith("test_")}
                for s in gb.assignment_submissions(session)}


def _class(tmp_path_factory, session: str, label: str):
    course_dir = make_course(tmp_path_factory.mktemp(f"{label}-{session}"))
    with open(course_dir / "nbgrader_config.py", "a") as config:
        config.write("\nc.Execute.timeout = 60  # tests: a loaded machine\n")
    api = api_for(course_dir)
    assert api.generate_assignment(session, force=True)["success"]
    release = submissions.read(course_dir / "release" / session / f"{session}.ipynb")
    source = submissions.read(course_dir / "source" / session / f"{session}.ipynb")
    spec = SESSIONS[session]
    for name in STUDENTS:
        submissions.write(submission(spec, release, source, name),
                          course_dir / "submitted" / name / session / f"{session}.ipynb")
    gid, _ = first_group(spec, source)
    points = {submissions.grade_id(c): c.metadata["nbgrader"]["points"] for c in source.cells if is_test_cell(c)}
    estimates = {f"test_{_group_of(source, name)}" for name in spec.EXPECTED}
    return course_dir, api, {"attacked": f"test_{gid}", "points": points, "max": sum(points.values()),
                             "estimates": estimates}


def _plain(tmp_path_factory, session: str) -> dict:
    """The class graded by nbgrader's own autograde (the course's config, no sandbox)."""
    course_dir, api, info = _class(tmp_path_factory, session, "plain")
    result = api.autograde(session, "*", force=True)
    assert result["success"], result.get("error")
    return {"session": session, "dir": course_dir, "scores": _scores(course_dir, session), **info}


def _command(tmp_path_factory, session: str) -> dict:
    """The class graded by ``python -m course grade`` in the sandbox, two students at a time."""
    ok, why = sandbox_available()
    require(ok, why)
    course_dir, _, info = _class(tmp_path_factory, session, "command")
    # Links instead of a notebook: to the instructor's solution, the gradebook and a device.
    linked = course_dir / "submitted" / "symlinks" / session
    linked.mkdir(parents=True)
    (linked / f"{session}.ipynb").symlink_to(course_dir / "source" / session / f"{session}.ipynb")
    (linked / "gradebook.db").symlink_to(course_dir / "gradebook.db")
    (linked / "zero.bin").symlink_to("/dev/zero")
    # A package beside the untouched release, to shadow the course's imports.
    shadow = course_dir / "submitted" / "shadow" / session
    (shadow / "course").mkdir(parents=True)
    (shadow / "course" / "__init__.py").write_text("raise SystemExit('shadowed')\n")
    (shadow / "pint").mkdir()
    (shadow / "pint" / "__init__.py").write_text("Quantity = None\n")
    (shadow / f"{session}.ipynb").write_text((course_dir / "release" / session / f"{session}.ipynb").read_text())
    env = {k: v for k, v in os.environ.items() if k != "COURSE_DB_URL"}
    run = subprocess.run([sys.executable, "-m", "course", "grade", session, "--jobs", "2"], cwd=course_dir,
                         env=env, capture_output=True, text=True, timeout=1800)
    with open(course_dir / "autograded" / f"{session}.csv", newline="") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    return {"session": session, "dir": course_dir, "scores": _scores(course_dir, session), "rows": rows,
            "run": run, **info}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Each (pipeline, session) class, graded once for the whole module."""
    done: dict[tuple[str, str], dict] = {}

    def get(pipeline: str, session: str) -> dict:
        if (pipeline, session) not in done:
            make = _plain if pipeline == "plain" else _command
            done[(pipeline, session)] = make(tmp_path_factory, session)
        return done[(pipeline, session)]

    return get


@pytest.fixture(params=[(p, s) for s in SESSIONS for p in ("plain", "command")], ids=lambda ps: f"{ps[0]}-{ps[1]}")
def graded(request, runs):
    return runs(*request.param)


@pytest.fixture(params=list(SESSIONS))
def command(request, runs):
    return runs("command", request.param)


def _total(graded, name) -> float:
    return sum(graded["scores"][name].values())


def test_the_perfect_student_gets_every_point_and_the_untouched_release_none(graded):
    assert _total(graded, "perfect") == graded["max"] > 0
    assert _total(graded, "untouched") == 0


def test_the_honest_wrong_student_loses_exactly_the_wrong_answers(graded):
    """Wrong first estimates cost their cell (and estimates built on them), never another kind of answer."""
    wrong = graded["scores"]["wrong"]
    assert wrong[graded["attacked"]] == 0
    for cell, points in graded["points"].items():
        if cell not in graded["estimates"]:
            assert wrong[cell] == points, cell
    assert 0 < _total(graded, "wrong") < graded["max"]


@pytest.mark.parametrize("name", GENERIC)
def test_no_attack_earns_a_point_for_wrong_answers(graded, name):
    assert graded["scores"][name][graded["attacked"]] == 0, graded["scores"][name]
    assert _total(graded, name) <= _total(graded, "wrong"), graded["scores"][name]


def test_honest_students_beside_the_attackers_get_exactly_their_scores(command, runs):
    assert command["run"].returncode in (0, 1), command["run"].stderr[-2000:]
    alone = runs("plain", command["session"])  # the same notebooks, one at a time, with nbgrader's own autograde
    for name in ("perfect", "wrong"):
        assert command["scores"][name] == alone["scores"][name], name
        assert command["rows"][name]["status"] == "graded", command["rows"][name]


def test_links_in_a_submission_are_refused_and_flagged_never_followed(command):
    row = command["rows"]["symlinks"]
    assert row["status"] == "failed: no notebook submitted", row  # its only notebook was a link to the solution
    assert "symbolic link was refused" in row["flags"], row
    assert sum(command["scores"].get("symlinks", {}).values()) == 0


def test_a_package_beside_the_notebook_shadows_nothing(command):
    row = command["rows"]["shadow"]
    assert row["status"] == "graded", row
    assert sum(command["scores"]["shadow"].values()) == 0  # the untouched release, graded as such


def test_every_attacker_is_graded_not_crashed(command):
    """Attacks on the grader's channel cost the attacker points, never the grading run."""
    for name in GENERIC:
        assert command["rows"][name]["status"] in ("graded", "failed: kernel died"), command["rows"][name]


def test_nothing_the_kernel_printed_while_probed_reaches_the_notebook_or_the_feedback(command):
    session = command["session"]
    for kind, suffix in (("autograded", "ipynb"), ("feedback", "html")):
        path = command["dir"] / kind / "leak_and_frames" / session / f"{session}.{suffix}"
        text = path.read_text(encoding="utf-8")
        assert "LEAK: Assumptions" not in text and "LEAK-FRAME: [" not in text, f"{kind}: the probe's output was kept"
        assert "__sdl_probe" not in text


def test_a_failed_check_explains_itself_in_the_feedback(command):
    session = command["session"]
    page = (command["dir"] / "feedback" / "wrong" / session / f"{session}.html").read_text(encoding="utf-8")
    assert "Checked by the grader outside your notebook" in page
    assert "too high" in page or "expected" in page
    assert "Traceback (most recent call last)" not in page
