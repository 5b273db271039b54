"""course.exchange.VerifiedCollect: a collect that takes each submission only from the account it names.

Each test builds an nbgrader exchange in a temporary folder and runs the real collect through nbgrader's
ExchangeFactory (as the formgrader does). Accounts come from a stand-in for ``pwd``: alice and bob own
their folders by uid. Giving folders to two different owners needs root (``chown``); those tests skip
elsewhere (and fail under CI=true). The JupyterHub class test (tests/hub) does the same with real Unix
accounts, as the students themselves.
"""

from __future__ import annotations

import datetime
import glob
import json
import os
import pwd
import shutil
import signal
import socket
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest
from nbgrader.api import Gradebook
from nbgrader.apps.api import NbGraderAPI
from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange import ExchangeFactory
from nbgrader.utils import capture_log
from traitlets.config import Config

import course.exchange
from course.exchange import VerifiedCollect, read_collect_report
from tests.needs import missing

ASSIGNMENT = "ps1"
ROOT_USER = os.geteuid() == 0
ALICE_UID, BOB_UID = (40001, 40002) if ROOT_USER else (os.geteuid(), os.geteuid())


def _ts(minutes: float = 0) -> str:
    """A timestamp as nbgrader's submit writes it, ``minutes`` from now."""
    when = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=minutes)
    return when.strftime("%Y-%m-%d %H:%M:%S.%f UTC")


class FakePwd:
    """``pwd`` for the collect: alice and bob (and whoever a test adds) are accounts, with these uids."""

    def __init__(self, accounts: dict[str, int]) -> None:
        self.accounts = accounts

    def getpwnam(self, name: str):
        if name not in self.accounts:
            raise KeyError(f"getpwnam(): name not found: {name!r}")
        return SimpleNamespace(pw_name=name, pw_uid=self.accounts[name])

    def getpwuid(self, uid: int):
        for name, known in self.accounts.items():
            if known == uid:
                return SimpleNamespace(pw_name=name, pw_uid=uid)
        return pwd.getpwuid(uid)


class Class:
    """An exchange, a course folder and a gradebook in ``tmp``; ``collect()`` runs the collect."""

    def __init__(self, tmp: Path, monkeypatch, gradebook: Path) -> None:
        self.tmp = tmp
        shutil.copy(gradebook, tmp / "gradebook.db")
        self.inbound = tmp / "exchange" / "course" / "inbound"
        self.inbound.mkdir(parents=True)
        self.course = tmp / "course"
        self.course.mkdir()
        self.accounts = {"alice": ALICE_UID, "bob": BOB_UID}
        monkeypatch.setattr(course.exchange, "pwd", FakePwd(self.accounts))

    def config(self, **collect) -> Config:
        config = Config()
        config.Exchange.root = str(self.tmp / "exchange")
        config.CourseDirectory.root = str(self.course)
        config.CourseDirectory.course_id = "course"
        config.CourseDirectory.db_url = f"sqlite:///{self.tmp / 'gradebook.db'}"
        config.ExchangeFactory.collect = "course.exchange.VerifiedCollect"
        for key, value in collect.items():
            setattr(config.VerifiedCollect, key, value)
        return config

    def make(self, config: Config):
        factory = ExchangeFactory(config=config)
        coursedir = CourseDirectory(config=config)
        coursedir.assignment_id = ASSIGNMENT
        app = factory.Collect(coursedir=coursedir, authenticator=Authenticator(config=config), config=config)
        app.update = True  # as the formgrader's collect
        return app

    def collect(self, **collect) -> dict:
        """Run the collect as the formgrader does; its result (success, log) and the report lines."""
        app = self.make(self.config(**collect))
        assert isinstance(app, VerifiedCollect)
        result = capture_log(app)
        assert result["success"], result
        result["report"] = read_collect_report(self.course, ASSIGNMENT)
        return result

    def submission(self, student: str, uid: int, files: dict[str, bytes | str], minutes: float = 0,
                   name: str | None = None) -> Path:
        """A submission folder as nbgrader's submit makes it, owned by ``uid``."""
        timestamp = _ts(minutes)
        folder = self.inbound / (name or f"{student}+{ASSIGNMENT}+{timestamp}+{os.urandom(3).hex()}")
        folder.mkdir()
        files = {"timestamp.txt": timestamp, "submission_secret.txt": "s3cret", **files}
        for path, content in files.items():
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            data = content.encode() if isinstance(content, str) else content
            (folder / path).write_bytes(data)
        self.give(folder, uid)
        return folder

    @staticmethod
    def give(folder: Path, uid: int) -> None:
        if ROOT_USER:
            for path in [folder, *folder.rglob("*")]:
                os.chown(path, uid, uid, follow_symlinks=False)

    def submitted(self, student: str) -> Path:
        return self.course / "submitted" / student / ASSIGNMENT


@pytest.fixture(scope="module")
def gradebook(tmp_path_factory) -> Path:
    """An empty gradebook, made once: nbgrader spends seconds on a new one (it runs alembic)."""
    path = tmp_path_factory.mktemp("gradebook") / "gradebook.db"
    with Gradebook(f"sqlite:///{path}", "course"):
        pass
    return path


@pytest.fixture
def cls(tmp_path: Path, monkeypatch, gradebook: Path) -> Class:
    return Class(tmp_path, monkeypatch, gradebook)


@pytest.fixture
def two_owners() -> None:
    if not ROOT_USER:
        missing("giving submission folders to two owners needs root (chown)")


@pytest.fixture(autouse=True)
def no_hang():
    """A collect that opened a FIFO would block forever: fail instead."""
    def hung(*_):
        raise TimeoutError("the collect hung (did it open a FIFO?)")
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _regular_files(folder: Path) -> dict[str, bytes]:
    found = {}
    for path in folder.rglob("*"):
        mode = path.lstat().st_mode
        assert stat.S_ISREG(mode) or stat.S_ISDIR(mode), f"{path} is a {stat.filemode(mode)} in submitted/"
        if stat.S_ISREG(mode):
            found[str(path.relative_to(folder))] = path.read_bytes()
    return found


# --- what nbgrader's own collect does (the reason for VerifiedCollect) --------------------------------


def test_nbgraders_collect_believes_the_folder_name_and_follows_links(cls: Class) -> None:
    secret = cls.tmp / "instructor-secret.txt"
    secret.write_text("the instructor's solutions")
    cls.submission("alice", ALICE_UID, {"ps1.ipynb": "alice's answers"}, minutes=-2)
    cls.submission("alice", BOB_UID, {"ps1.ipynb": "bob's bad notebook"}, minutes=-1)
    own = cls.submission("bob", BOB_UID, {"ps1.ipynb": "bob's answers"}, minutes=-1)
    (own / "loot.txt").symlink_to(secret)
    config = cls.config()
    config.ExchangeFactory.collect = "nbgrader.exchange.default.collect.ExchangeCollect"
    assert capture_log(cls.make(config))["success"]
    assert (cls.submitted("alice") / "ps1.ipynb").read_text() == "bob's bad notebook"
    assert (cls.submitted("bob") / "loot.txt").read_text() == "the instructor's solutions"


# --- who submitted -----------------------------------------------------------------------------------


def test_a_folder_in_someone_elses_name_is_refused_and_theirs_collected(cls: Class, two_owners) -> None:
    genuine = cls.submission("alice", ALICE_UID, {"ps1.ipynb": "alice's answers"}, minutes=-2)
    forged = cls.submission("alice", BOB_UID, {"ps1.ipynb": "bob's bad notebook"}, minutes=+60)
    cls.submission("bob", BOB_UID, {"ps1.ipynb": "bob's answers"}, minutes=-1)
    result = cls.collect()

    assert (cls.submitted("alice") / "ps1.ipynb").read_text() == "alice's answers"
    assert (cls.submitted("alice") / "timestamp.txt").read_text() == (genuine / "timestamp.txt").read_text()
    assert (cls.submitted("bob") / "ps1.ipynb").read_text() == "bob's answers"
    refusals = [line for line in result["log"].splitlines() if "Refused" in line]
    assert len(refusals) == 1, result["log"]
    assert forged.name in refusals[0] and "belongs to Unix account bob" in refusals[0]
    [refused] = [r for r in result["report"] if r["decision"] == "refused"]
    assert refused["folder"] == forged.name and refused["student"] == "alice" and refused["owner"] == "bob"
    collected = {r["student"]: r for r in result["report"] if r["decision"] == "collected"}
    assert collected["alice"]["folder"] == genuine.name and collected["alice"]["owner"] == "alice"


def test_a_forged_folder_does_not_replace_an_already_collected_submission(cls: Class, two_owners) -> None:
    cls.submission("alice", ALICE_UID, {"ps1.ipynb": "alice's answers"}, minutes=-2)
    cls.collect()
    cls.submission("alice", BOB_UID, {"ps1.ipynb": "bob's bad notebook"}, minutes=+60)
    result = cls.collect()
    assert (cls.submitted("alice") / "ps1.ipynb").read_text() == "alice's answers"
    assert [r["decision"] for r in result["report"]] == ["collected", "refused"]
    # ...while alice's own later submission does.
    cls.submission("alice", ALICE_UID, {"ps1.ipynb": "alice's second try"}, minutes=+90)
    cls.collect()
    assert (cls.submitted("alice") / "ps1.ipynb").read_text() == "alice's second try"


def test_a_student_id_that_is_no_account_is_refused_unless_owners_are_not_required(cls: Class) -> None:
    folder = cls.submission("carol", os.geteuid(), {"ps1.ipynb": "carol's answers"})
    result = cls.collect()
    assert not cls.submitted("carol").exists()
    [line] = [line for line in result["log"].splitlines() if "Refused" in line]
    assert folder.name in line and "'carol' is not a Unix account" in line
    assert "c.VerifiedCollect.require_owner = False" in line

    result = cls.collect(require_owner=False)
    assert (cls.submitted("carol") / "ps1.ipynb").read_text() == "carol's answers"
    assert "require_owner is False" in result["log"]


def test_folder_names_that_are_not_plain_submissions_are_refused_and_the_collect_goes_on(cls: Class) -> None:
    alice = cls.submission("alice", ALICE_UID, {"ps1.ipynb": "alice's answers"}, minutes=-1)
    bad = {
        f"..+{ASSIGNMENT}+{_ts()}+x": "not a plain account name",
        f".alice+{ASSIGNMENT}+{_ts()}+x": "not a plain account name",
        f"+{ASSIGNMENT}+{_ts()}+x": "not a plain account name",
        f"-rf+{ASSIGNMENT}+{_ts()}+x": "not a plain account name",
        f"alice+{ASSIGNMENT}+next tuesday+x": "cannot be read",  # nbgrader's collect stops on this one
        f"alice+x+{ASSIGNMENT}+{_ts()}+y+z": "not a submission folder name",
    }
    for name in bad:
        cls.submission("", ALICE_UID, {"ps1.ipynb": "junk"}, name=name)
    link = cls.inbound / f"alice+{ASSIGNMENT}+{_ts(60)}+lnk"
    link.symlink_to(alice)  # a link to a folder is not a folder
    bad[link.name] = "it is a symbolic link"
    plain_file = cls.inbound / f"alice+{ASSIGNMENT}+{_ts(61)}+file"
    plain_file.write_text("not a folder")
    cls.give(plain_file, ALICE_UID)
    bad[plain_file.name] = "it is a file"
    (cls.inbound / f"alice+other+{_ts()}+x").mkdir()  # another assignment's: not looked at

    result = cls.collect()
    assert (cls.submitted("alice") / "ps1.ipynb").read_text() == "alice's answers"
    assert sorted(os.listdir(cls.course / "submitted")) == ["alice"]
    refusals = [line for line in result["log"].splitlines() if "Refused" in line]
    assert len(refusals) == len(bad), result["log"]
    for name, why in bad.items():
        assert any(repr(str(cls.inbound / name)) in line and why in line for line in refusals), (name, why)
    assert not any("other" in line for line in refusals)


def test_a_folder_swapped_after_it_was_checked_is_refused(cls: Class) -> None:
    genuine = cls.submission("alice", ALICE_UID, {"ps1.ipynb": "alice's answers"})
    app = cls.make(cls.config())
    app.set_timestamp()
    app.init_src()
    genuine.rename(cls.tmp / "elsewhere")  # between the check and the copy, another folder takes its place
    cls.submission("alice", BOB_UID, {"ps1.ipynb": "bob's bad notebook"}, name=genuine.name)
    app.init_dest()
    app.copy_files()
    assert not cls.submitted("alice").exists()
    assert read_collect_report(cls.course, ASSIGNMENT)[-1]["reason"].startswith("it was replaced after it was checked")


# --- what is copied ----------------------------------------------------------------------------------


def test_only_regular_files_are_copied_and_everything_else_is_reported(cls: Class) -> None:
    instructor = cls.tmp / "instructor"
    (instructor / "source").mkdir(parents=True)
    (instructor / "gradebook.db").write_bytes(b"SQLite format 3\0 the grades")
    (instructor / "source" / "ps1.ipynb").write_text("the solutions")
    own = cls.submission("bob", BOB_UID, {"ps1.ipynb": "bob's answers", "data/notes.txt": "mine"})
    (own / "gradebook.db").symlink_to(instructor / "gradebook.db")
    (own / "answers.ipynb").symlink_to(instructor / "source" / "ps1.ipynb")
    (own / "source").symlink_to(instructor / "source")
    (own / "zero").symlink_to("/dev/zero")
    (own / "data" / "up").symlink_to("..")
    os.mkfifo(own / "pipe")
    kinds = {"gradebook.db": "symbolic link", "answers.ipynb": "symbolic link", "source": "symbolic link",
             "zero": "symbolic link", "data/up": "symbolic link", "pipe": "FIFO"}
    sock_path = own / "sock"
    if len(str(sock_path)) < 100:  # AF_UNIX paths are short
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(str(sock_path))
        kinds["sock"] = "socket"
    if ROOT_USER:
        os.mknod(own / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
        kinds["null"] = "character device"
        os.link(instructor / "gradebook.db", own / "hardlink.db")  # the instructor's file, linked in
        kinds["hardlink.db"] = "file"
    cls.give(own, BOB_UID)
    if ROOT_USER:
        os.chown(own / "hardlink.db", 0, 0)

    result = cls.collect()
    files = _regular_files(cls.submitted("bob"))
    assert set(files) == {"ps1.ipynb", "data/notes.txt", "timestamp.txt", "submission_secret.txt"}
    assert all(b"the grades" not in data and b"the solutions" not in data for data in files.values())
    [entry] = [r for r in result["report"] if r["decision"] == "collected"]
    assert {s["path"]: s["kind"] for s in entry["skipped"]} == kinds
    assert {s["path"]: s.get("target") for s in entry["skipped"] if s["kind"] == "symbolic link"} == {
        "gradebook.db": str(instructor / "gradebook.db"), "answers.ipynb": str(instructor / "source" / "ps1.ipynb"),
        "source": str(instructor / "source"), "zero": "/dev/zero", "data/up": ".."}
    if ROOT_USER:
        [hardlink] = [s for s in entry["skipped"] if s["path"] == "hardlink.db"]
        assert hardlink["reason"] == "belongs to root, not to the student"
    for path in kinds:
        assert any(f"Skipped {path!r}" in line for line in result["log"].splitlines()), path
    assert entry["files"] == 4 and entry["bytes"] == sum(len(d) for d in files.values())


def test_a_file_over_the_per_file_cap_is_left_out(cls: Class) -> None:
    cls.submission("bob", BOB_UID, {"ps1.ipynb": "bob's answers", "big.bin": b"x" * 5000})
    result = cls.collect(max_file_bytes=4000)
    assert set(_regular_files(cls.submitted("bob"))) == {"ps1.ipynb", "timestamp.txt", "submission_secret.txt"}
    [entry] = result["report"]
    assert entry["skipped"] == [{"path": "big.bin", "kind": "file", "size": 5000,
                                 "reason": "over the per-file cap of 4000 bytes"}]


def test_a_submission_over_its_cap_is_cut_to_its_notebooks_or_refused(cls: Class) -> None:
    cls.submission("bob", BOB_UID, {"ps1.ipynb": "bob's answers", "data/a.bin": b"a" * 3000,
                                    "b.bin": b"b" * 3000}, minutes=-2)
    result = cls.collect(max_submission_bytes=4000)
    assert set(_regular_files(cls.submitted("bob"))) == {"ps1.ipynb", "timestamp.txt", "submission_secret.txt"}
    [entry] = result["report"]
    assert entry["decision"] == "collected notebooks only" and "more than 4000 bytes" in entry["reason"]
    assert {s["path"] for s in entry["skipped"]} == {"data", "b.bin"}
    assert "collected its notebooks only" in result["log"]

    # A later submission whose notebook alone is over the cap: refused, the copy collected before is kept.
    cls.submission("bob", BOB_UID, {"ps1.ipynb": "x" * 5000}, minutes=-1)
    result = cls.collect(max_submission_bytes=4000)
    assert (cls.submitted("bob") / "ps1.ipynb").read_text() == "bob's answers"
    assert result["report"][-1]["decision"] == "refused"
    assert "even its notebooks alone" in result["report"][-1]["reason"]
    assert not list(cls.submitted("bob").parent.glob(".*"))  # no staging folder left behind


def test_a_submission_with_too_many_entries_is_cut_to_its_notebooks(cls: Class) -> None:
    cls.submission("bob", BOB_UID, {"ps1.ipynb": "bob's answers", **{f"venv/f{i}.py": "" for i in range(30)}})
    result = cls.collect(max_entries=20)
    assert set(_regular_files(cls.submitted("bob"))) == {"ps1.ipynb", "timestamp.txt", "submission_secret.txt"}
    assert "more than 20 files and folders" in result["report"][0]["reason"]


def test_a_file_that_grows_while_it_is_read_is_read_no_further_than_the_cap(cls: Class, monkeypatch) -> None:
    """The file is small when looked at (lstat), big when read: as if it grew in between."""
    cls.submission("bob", BOB_UID, {"ps1.ipynb": "bob's answers", "grows.bin": b"g" * 3_000_000})
    _fake_stat(monkeypatch, "grows.bin", st_size=10)
    real_read = os.read
    read = {"bytes": 0}

    def counting_read(fd, n):
        data = real_read(fd, n)
        read["bytes"] += len(data)
        return data

    monkeypatch.setattr(os, "read", counting_read)
    result = cls.collect(max_file_bytes=1_000_000)
    monkeypatch.undo()
    assert not (cls.submitted("bob") / "grows.bin").exists()
    [entry] = result["report"]
    assert entry["skipped"] == [{"path": "grows.bin", "kind": "file", "size": 1_000_001,
                                 "reason": "grew past the per-file cap of 1000000 bytes while being collected"}]
    assert read["bytes"] < 1_000_100  # the cap and a byte, plus the small files


def _fake_stat(monkeypatch, name: str, **fields) -> None:
    """``os.stat`` of the entry ``name`` (as the collect looks at it) shows ``fields`` instead."""
    real_stat = os.stat

    def faked(path, *args, **kwargs):
        st = real_stat(path, *args, **kwargs)
        if path == name:
            return SimpleNamespace(**{k: getattr(st, k) for k in dir(st) if k.startswith("st_")} | fields)
        return st

    monkeypatch.setattr(os, "stat", faked)


def test_nothing_mounted_inside_a_submission_is_read(cls: Class, monkeypatch) -> None:
    """A filesystem mounted in the submission (FUSE) could make the collect's reads hang: it is left out."""
    cls.submission("bob", BOB_UID, {"ps1.ipynb": "bob's answers", "mnt/f.txt": "served by a mount"})
    _fake_stat(monkeypatch, "mnt", st_dev=os.stat(cls.inbound).st_dev + 1)
    result = cls.collect()
    monkeypatch.undo()
    assert set(_regular_files(cls.submitted("bob"))) == {"ps1.ipynb", "timestamp.txt", "submission_secret.txt"}
    assert result["report"][0]["skipped"][0]["reason"].startswith("is on another filesystem")


def test_a_full_disk_on_the_instructors_side_fails_the_collect_and_leaves_nothing_half_copied(
        cls: Class, monkeypatch) -> None:
    cls.submission("bob", BOB_UID, {"ps1.ipynb": "bob's answers"})

    def disk_full(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", disk_full)
    result = capture_log(cls.make(cls.config()))
    monkeypatch.undo()
    assert not result["success"] and "No space left on device" in result["error"]
    assert os.listdir(cls.submitted("bob").parent) == []  # no submission, no staging folder


def test_nbgraders_own_caps_apply_when_smaller(cls: Class) -> None:
    cls.submission("bob", BOB_UID, {"ps1.ipynb": "bob's answers", "big.bin": b"x" * 3000})
    config = cls.config()
    config.CourseDirectory.max_file_size = 2  # kilobytes
    app = cls.make(config)
    assert app.caps()[0] == 2000
    assert capture_log(app)["success"]
    assert not (cls.submitted("bob") / "big.bin").exists()


# --- timestamps, the report, the formgrader's API ------------------------------------------------------


def test_a_timestamp_earlier_than_the_files_is_flagged(cls: Class) -> None:
    cls.submission("alice", ALICE_UID, {"ps1.ipynb": "alice's answers"}, minutes=-60)  # claims an hour ago
    cls.submission("bob", BOB_UID, {"ps1.ipynb": "bob's answers"})
    result = cls.collect()
    flags = {r["student"]: r["timestamp_doubtful"] for r in result["report"]}
    assert flags == {"alice": True, "bob": False}
    assert "check its lateness by hand" in result["log"]


def test_the_report_is_outside_submitted_and_invisible_to_nbgraders_globs(cls: Class) -> None:
    cls.submission("bob", BOB_UID, {"ps1.ipynb": "bob's answers"})
    cls.collect()
    report = cls.course / "autograded" / ".collect" / f"{ASSIGNMENT}.jsonl"
    assert report.is_file() and stat.S_IMODE(report.stat().st_mode) == 0o600
    assert json.loads(report.read_text().splitlines()[0])["student"] == "bob"
    assert glob.glob(str(cls.course / "autograded" / "*" / ASSIGNMENT)) == []
    assert sorted(os.listdir(cls.submitted("bob").parent)) == [ASSIGNMENT]


def test_the_formgraders_collect_uses_it_from_the_config(cls: Class, two_owners) -> None:
    cls.submission("alice", ALICE_UID, {"ps1.ipynb": "alice's answers"}, minutes=-1)
    forged = cls.submission("alice", BOB_UID, {"ps1.ipynb": "bob's bad notebook"}, minutes=+60)
    config = cls.config()
    coursedir = CourseDirectory(config=config)
    api = NbGraderAPI(coursedir, Authenticator(config=config), config=config)
    result = api.collect(ASSIGNMENT)
    assert result["success"], result
    assert forged.name in result["log"] and "belongs to Unix account bob" in result["log"]
    assert (cls.submitted("alice") / "ps1.ipynb").read_text() == "alice's answers"
