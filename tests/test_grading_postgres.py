"""The gradebook on a real PostgreSQL server, graded in parallel by several worker processes.

The test starts its own PostgreSQL (Debian's ``postgresql`` package: ``initdb`` + ``pg_ctl`` in a
scratch folder, listening only on a Unix socket there), points the course at it the documented way
(``COURSE_DB_URL``) and grades a class with three jobs at once; then stops the server.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from course import submissions
from course.scores import assignment_scores

from .grading_class import (
    SESSION, append_to_answer, grade, journal, middle_answer, new_class, read_csv, require, sandbox_available, submit,
)

pytestmark = pytest.mark.e2e


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_server_user(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    """PostgreSQL refuses to run as root: as root, run it as the ``postgres`` user the package creates."""
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, **kwargs)


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL server of its own for this module: yields a SQLAlchemy URL of an empty database."""
    import psycopg

    bindir = _postgres_bin()
    require(bindir is not None, "PostgreSQL (Debian package postgresql) is not installed")
    base = Path(tempfile.mkdtemp(prefix="sdl-pg-"))
    data, sockets = base / "data", base / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(sockets, "postgres")
    result = _as_server_user([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                              "--no-sync", "-E", "UTF8"])
    assert result.returncode == 0, result.stderr
    options = f"-k {sockets} -c listen_addresses='' -c fsync=off -c max_connections=50"
    result = _as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(base / "log"),
                              "-w", "-t", "120", "start"])
    assert result.returncode == 0, result.stderr + (base / "log").read_text()
    try:
        with psycopg.connect(host=str(sockets), user="postgres", dbname="postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE gradebook")
        yield f"postgresql+psycopg://postgres@/gradebook?host={sockets}"
    finally:
        _as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def graded_on_postgres(postgres, tmp_path_factory):
    ok, why = sandbox_available()
    require(ok, why)
    cls = new_class(tmp_path_factory.mktemp("pg") / "course")
    course, release, source, ids = cls["dir"], cls["release"], cls["source"], cls["ids"]
    class_ = {f"s{i}": submissions.fill(release, source, ids[: (i * len(ids)) // 5]) for i in range(6)}
    class_["crash"] = append_to_answer(submissions.fill(release, source), middle_answer(cls), "import os\nos._exit(0)")
    for student, nb in class_.items():
        submit(course, student, nb)
    env = {"COURSE_DB_URL": postgres}
    start = time.monotonic()
    first = grade(course, "--jobs", "3", env=env)
    second = grade(course, "--jobs", "3", env=env)
    return {"dir": course, "url": postgres, "students": sorted(class_), "first": first, "second": second,
            "elapsed": time.monotonic() - start}


def test_grading_writes_to_postgres_not_sqlite(graded_on_postgres):
    assert graded_on_postgres["first"].returncode == 1, graded_on_postgres["first"].stderr  # "crash" fails
    # The class was released into its SQLite gradebook; the command registered the assignment in PostgreSQL
    # from source/ by itself, and graded there only.
    with Gradebook(f"sqlite:///{graded_on_postgres['dir'] / 'gradebook.db'}", course_id="sysdesign-lab") as gb:
        assert gb.assignment_submissions(SESSION) == []
    with Gradebook(graded_on_postgres["url"], course_id="sysdesign-lab") as gb:
        assert gb.engine.dialect.name == "postgresql"
        assert sorted(s.student.id for s in gb.assignment_submissions(SESSION)) == graded_on_postgres["students"]


def test_three_workers_graded_at_once(graded_on_postgres):
    """Three workers share the class; a student graded again alone afterwards (a kernel that died beside
    others) runs in a process of its own, which is not one of the three."""
    entries = journal(graded_on_postgres["dir"])
    assert len({entry["worker"] for entry in entries if not entry.get("graded_alone")}) == 3


def test_each_student_has_one_submission_and_one_grade_per_cell(graded_on_postgres):
    from nbgrader.api import Grade, SubmittedAssignment

    with Gradebook(graded_on_postgres["url"], course_id="sysdesign-lab") as gb:
        cells = sum(len(nb.grade_cells) for nb in gb.find_assignment(SESSION).notebooks)
        students = len(graded_on_postgres["students"])
        assert gb.db.query(SubmittedAssignment).count() == students
        assert gb.db.query(Grade).count() == cells * students


def test_the_csv_agrees_with_the_postgres_gradebook(graded_on_postgres):
    rows = read_csv(graded_on_postgres["dir"])
    scores = assignment_scores(graded_on_postgres["url"], "sysdesign-lab", SESSION)
    assert set(rows) == set(graded_on_postgres["students"])
    for student, row in rows.items():
        assert float(row["score"]) == scores[student].autograded, student
    assert rows["s0"]["score"] == "0" and rows["s5"]["score"] == rows["s5"]["max_score"]
    assert 0 < float(rows["s2"]["score"]) < float(rows["s2"]["max_score"])
    assert rows["crash"]["status"] == "failed: kernel died"
    assert all(rows[f"s{i}"]["status"] == "graded" for i in range(6))


def test_a_rerun_against_postgres_grades_nobody_again(graded_on_postgres):
    second = graded_on_postgres["second"]
    assert "0 graded in this run" in second.stdout, second.stdout + second.stderr
    assert len(journal(graded_on_postgres["dir"])) == len(graded_on_postgres["students"])
