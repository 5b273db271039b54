"""nbgrader's file exchange, where nobody can open another student's submission or hand one in for them.

Private submissions
-------------------
nbgrader's own submit leaves each submission folder in ``<exchange>/<course>/inbound/`` world-readable
and world-writable (mode 777); only the folder's name hides it (the inbound folder cannot be listed, and
the name ends in random characters). A student who learns the name can read, or change, another
student's work.

:class:`PrivateSubmit` closes that: after nbgrader's submit it sets the submission folder to 770. The
folder belongs to the student and, as ``inbound/`` is set-group-ID, to the instructor's group, so the
student and the instructors get in and nobody else does. When the folder did not get the instructor's
group (an inbound folder without set-group-ID), making it private would lock the instructor out too, so
the submission is left as nbgrader made it and the log says why.

A collect that knows who submitted
----------------------------------
nbgrader's collect believes the folder's name (``{student}+{assignment}+{timestamp}+{random}``) and runs
as the instructor. Any student can create ``alice+ps1+<a later timestamp>`` in ``inbound/`` and it
replaces alice's submission; links in one's own submission make collect copy whatever they point to
with the instructor's rights (the gradebook, the source notebooks with the solutions); a link to
``/dev/zero`` fills the instructor's disk; a folder name with a timestamp it cannot parse stops the whole
collect. :class:`VerifiedCollect` collects instead:

- **Only from the account a folder names.** The folder's owner (``lstat``, never following a link) must
  be the Unix account whose name is the student id (``pwd.getpwnam``); the check is repeated on the
  opened folder, so swapping it for something else after the check does not help. A folder that fails
  is refused with one log message naming it and its real owner, and left out *before* the latest
  submission of each student is chosen: alice's own latest submission is still collected. A student id
  that is not a Unix account is refused too (nobody's identity can be checked then). For an exchange
  without one Unix account per student (nbgrader on one shared account, or a hosted exchange) set
  ``c.VerifiedCollect.require_owner = False``: names are then believed, as nbgrader does, and
  everything below still applies.
- **Student ids that are plain account names** (:attr:`VerifiedCollect.student_id_pattern`): no ``..``,
  no leading ``.`` or ``-``, no empty name, so the id is one safe folder name under ``submitted/``. Folder
  names that are not ``{student}+{assignment}+{timestamp}[+{random}]`` with a readable timestamp are
  refused, one by one; the collect goes on.
- **Regular files only, each no bigger than a cap.** Every entry is looked at with ``lstat``; symbolic
  links, devices, FIFOs and sockets are never followed nor opened, only skipped and logged. Files are
  opened with ``O_NOFOLLOW | O_NONBLOCK`` and copied only if ``fstat`` shows the same regular file, owned
  by the student (so no hard link to someone else's file either), and on the submission's own filesystem
  (nothing mounted inside it, e.g. with FUSE, is read). At most the cap is ever read from any file, so a
  file that grows while it is read cannot fill the disk.
- **Caps per submission** (:attr:`max_file_bytes`, :attr:`max_submission_bytes`, :attr:`max_entries`;
  nbgrader's ``CourseDirectory.max_file_size`` / ``max_dir_size`` when those are smaller). A file over
  the per-file cap is skipped. A submission over the total or the entry cap is collected as its
  notebooks only (the ``*.ipynb`` at its top, with nbgrader's ``timestamp.txt`` and
  ``submission_secret.txt``); if even those are over the cap it is refused, and a copy collected
  earlier stays as it was.
- **A submission is put in place whole or not at all**: it is copied into a hidden folder next to
  ``submitted/<student>/<assignment>`` and renamed into place when complete.
- **Timestamps that cannot be true are flagged**: when the files of a submission were last changed
  (their ``ctime``, which no user can set) later than the time its name and ``timestamp.txt`` claim, by
  more than :attr:`timestamp_tolerance` seconds, the log says so (lateness is computed from the claim).

The collect report
------------------
Every collected or refused folder adds one JSON line to ``<course>/autograded/.collect/<assignment>.jsonl``
(:attr:`VerifiedCollect.report_directory`): when, which folder, which student and Unix owner, what was
decided and why, what was skipped (each path, its kind, a link's target), how many files and bytes,
and whether the timestamp is doubtful. It lives in the instructor's course folder, written by the
instructor's collect, so a student cannot forge it, and outside ``submitted/``, so autograde never
copies it (nbgrader's globs skip the dot-folder, and ``autograded/`` is not in git).
:func:`read_collect_report` reads it back.

Enable both for every user of a class::

    c.ExchangeFactory.submit = "course.exchange.PrivateSubmit"
    c.ExchangeFactory.collect = "course.exchange.VerifiedCollect"

``hub/jupyter/common/nbgrader_config.py`` does, for everyone; ``hub/jupyter/instructor/nbgrader_config.py`` sets
the collect again after the course's own configuration, which therefore cannot switch it off.
"""

from __future__ import annotations

import datetime
import fnmatch
import json
import os
import pwd
import re
import shutil
import stat
import tempfile
from collections import defaultdict
from typing import Any

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.exchange.default.collect import ExchangeCollect
from nbgrader.exchange.default.submit import ExchangeSubmit
from nbgrader.utils import check_mode, parse_utc
from traitlets import Bool, Integer, Unicode

__all__ = ["PrivateSubmit", "PRIVATE_MODE", "VerifiedCollect", "read_collect_report"]

#: The submission folder: the student and the instructors' group read and write, others nothing.
PRIVATE_MODE = 0o770


class PrivateSubmit(ExchangeSubmit):
    """``nbgrader submit`` whose submission folder only its student and the instructors can open."""

    def copy_files(self) -> None:
        super().copy_files()
        submission = os.path.join(self.inbound_path, self.assignment_filename)
        inbound_group = os.stat(self.inbound_path).st_gid
        if os.stat(submission).st_gid != inbound_group:
            self.log.warning("Submission %s is not in the instructors' group (is %s set-group-ID?); "
                             "leaving nbgrader's permissions", submission, self.inbound_path)
            return
        os.chmod(submission, PRIVATE_MODE)
        self.log.info("Submission folder is private to you and the instructors (mode %s)",
                      stat.filemode(stat.S_IFDIR | PRIVATE_MODE))


# --- VerifiedCollect ----------------------------------------------------------------------------------

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: should a FIFO take a file's place between lstat and open, open returns at once.
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_CHUNK = 1 << 20
#: What nbgrader's submit writes next to the notebooks; kept when a submission is cut to its notebooks.
_BOOKKEEPING = ("timestamp.txt", "submission_secret.txt")


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISREG, "file"), (stat.S_ISDIR, "folder"), (stat.S_ISLNK, "symbolic link"),
                       (stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device")):
        if test(mode):
            return name
    return "special file"


def _account(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


class _OverCap(Exception):
    """The submission as a whole is over a cap (total size or number of entries)."""


class _Unreadable(Exception):
    """A file of the submission could not be read (the student's side, not the instructor's)."""


class _Copy:
    """Copy one submission folder (an open directory descriptor) into a new folder, safely.

    Only regular files, never following links; each entry checked with lstat before and fstat after
    opening; at most the caps ever read. ``skipped`` lists what was left out and why.
    """

    def __init__(self, collect: VerifiedCollect, owner_uid: int | None, notebooks_only: bool) -> None:
        coursedir = collect.coursedir
        self.log = collect.log
        self.owner_uid = owner_uid
        self.notebooks_only = notebooks_only
        self.max_file, self.max_total, self.max_entries = collect.caps()
        self.exclude, self.include = list(coursedir.ignore or []), list(coursedir.include or [])
        self.file_mode, self.dir_mode = (0o664, 0o2775) if coursedir.groupshared else (0o644, 0o755)
        self.bytes = self.files = self.entries = 0
        self.last_change = 0.0
        self.device: int | None = None  # the submission's filesystem: nothing mounted inside it is read
        self.skipped: list[dict[str, Any]] = []

    def skip(self, path: str, kind: str, reason: str, **details: Any) -> None:
        self.skipped.append({"path": path, "kind": kind, "reason": reason, **details})

    def tree(self, src: int, dest: str, rel: str = "") -> None:
        here = os.fstat(src)
        self.device = here.st_dev if self.device is None else self.device
        self.last_change = max(self.last_change, here.st_ctime)
        with os.scandir(src) as entries:
            for entry in entries:
                self.entries += 1
                if self.entries > self.max_entries:
                    raise _OverCap(f"more than {self.max_entries} files and folders")
                self.entry(src, entry.name, dest, rel)

    def entry(self, src: int, name: str, dest: str, rel: str) -> None:
        path = rel + name
        if any(fnmatch.fnmatch(name, pattern) for pattern in self.exclude):
            self.log.debug("Ignoring %r (CourseDirectory.ignore)", path)
            return
        try:
            st = os.stat(name, dir_fd=src, follow_symlinks=False)
        except OSError as error:
            return self.skip(path, "unknown", f"cannot be looked at: {error.strerror}")
        kind = _kind(st.st_mode)
        if kind not in ("file", "folder"):
            details = {}
            if kind == "symbolic link":
                try:
                    details["target"] = os.readlink(name, dir_fd=src)[:500]
                except OSError:
                    pass
            return self.skip(path, kind, "only regular files are collected; never followed nor opened", **details)
        if self.owner_uid is not None and st.st_uid != self.owner_uid:
            return self.skip(path, kind, f"belongs to {_account(st.st_uid)}, not to the student")
        if st.st_dev != self.device:
            return self.skip(path, kind, "is on another filesystem (something mounted in the submission)")
        if kind == "folder":
            if self.notebooks_only:
                return self.skip(path, kind, "left out: the submission is over its cap, only its notebooks are kept")
            return self.folder(src, name, st, dest, path)
        if self.include and not any(fnmatch.fnmatch(name, pattern) for pattern in self.include):
            self.log.debug("Ignoring %r (not in CourseDirectory.include)", path)
            return
        if self.notebooks_only and not (name.endswith(".ipynb") or (rel == "" and name in _BOOKKEEPING)):
            return self.skip(path, kind, "left out: the submission is over its cap, only its notebooks are kept",
                             size=st.st_size)
        self.file(src, name, st, dest, path)

    def folder(self, src: int, name: str, st: os.stat_result, dest: str, path: str) -> None:
        try:
            fd = os.open(name, _DIR_FLAGS, dir_fd=src)
        except OSError as error:
            return self.skip(path, "folder", f"cannot be opened: {error.strerror}")
        try:
            opened = os.fstat(fd)
            if (opened.st_dev, opened.st_ino) != (st.st_dev, st.st_ino):
                return self.skip(path, "folder", "was replaced while being collected")
            target = os.path.join(dest, name)
            os.mkdir(target, 0o700)
            self.tree(fd, target, path + "/")
            os.chmod(target, self.dir_mode)
        finally:
            os.close(fd)

    def file(self, src: int, name: str, st: os.stat_result, dest: str, path: str) -> None:
        if st.st_size > self.max_file:
            return self.skip(path, "file", f"over the per-file cap of {self.max_file} bytes", size=st.st_size)
        if st.st_size > self.max_total - self.bytes:
            raise _OverCap(f"more than {self.max_total} bytes")
        try:
            fd = os.open(name, _FILE_FLAGS, dir_fd=src)
        except OSError as error:
            return self.skip(path, "file", f"cannot be opened: {error.strerror}")
        try:
            opened = os.fstat(fd)
            if not stat.S_ISREG(opened.st_mode) or (opened.st_dev, opened.st_ino) != (st.st_dev, st.st_ino):
                return self.skip(path, _kind(opened.st_mode), "was replaced while being collected; not copied")
            file_cap = self.max_file <= self.max_total - self.bytes
            limit = min(self.max_file, self.max_total - self.bytes)
            target = os.path.join(dest, name)
            try:
                copied = self.copy_bytes(fd, target, limit)
            except _Unreadable as error:
                return self.skip(path, "file", f"cannot be read: {error}")
            if copied > limit:
                if file_cap:
                    return self.skip(path, "file", f"grew past the per-file cap of {self.max_file} bytes while "
                                     "being collected", size=copied)
                raise _OverCap(f"more than {self.max_total} bytes")
            os.chmod(target, self.file_mode)
            os.utime(target, ns=(opened.st_atime_ns, opened.st_mtime_ns))
            self.bytes += copied
            self.files += 1
            self.last_change = max(self.last_change, os.fstat(fd).st_ctime)
        finally:
            os.close(fd)

    @staticmethod
    def copy_bytes(fd: int, target: str, limit: int) -> int:
        """Copy from ``fd`` to a new file ``target``, reading at most ``limit + 1`` bytes; the bytes read.

        Over ``limit`` (the file grew), or unreadable (:class:`_Unreadable`): no ``target`` is left. An
        error writing ``target`` (the instructor's disk is full) is raised as it is.
        """
        out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        copied = 0
        try:
            while copied <= limit:
                try:
                    chunk = os.read(fd, min(_CHUNK, limit + 1 - copied))
                except OSError as error:
                    raise _Unreadable(error.strerror) from error
                if not chunk:
                    break
                copied += len(chunk)
                view = memoryview(chunk)
                while view and copied <= limit:
                    view = view[os.write(out, view):]
        except BaseException:
            os.close(out)
            os.unlink(target)
            raise
        os.close(out)
        if copied > limit:
            os.unlink(target)
        return copied


class VerifiedCollect(ExchangeCollect):
    """``nbgrader collect`` that takes each submission only from the Unix account it names, copies only
    regular files, within caps, and writes a report of what it refused or skipped (see the module)."""

    require_owner = Bool(
        True,
        help="Refuse a submission folder unless its Unix owner is the account named by its student id. "
             "Set False only for an exchange without one Unix account per student.",
    ).tag(config=True)

    student_id_pattern = Unicode(
        r"^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}$",
        help="A student id from a submission folder's name must match this (a plain account name: "
             "no '/', no leading '.' or '-').",
    ).tag(config=True)

    max_file_bytes = Integer(10_000_000, help="Files bigger than this are not collected.").tag(config=True)
    max_submission_bytes = Integer(
        20_000_000, help="A submission bigger than this is cut to its notebooks, or refused.").tag(config=True)
    max_entries = Integer(
        1000, help="A submission with more files and folders than this is cut to its notebooks, or refused."
    ).tag(config=True)
    timestamp_tolerance = Integer(
        300, help="Seconds a submission's files may have changed after the time it claims, before "
                  "the claim is flagged as doubtful.").tag(config=True)
    report_directory = Unicode(
        "", help="Where the collect report (<assignment>.jsonl) goes, relative to the course folder; "
                 "default autograded/.collect (CourseDirectory.autograded_directory).",
    ).tag(config=True)

    # -- caps and report ------------------------------------------------------------------------------

    def caps(self) -> tuple[int, int, int]:
        """(bytes per file, bytes per submission, entries per submission): ours or nbgrader's, the smaller."""
        coursedir = self.coursedir
        max_file = min(self.max_file_bytes, 1000 * coursedir.max_file_size or self.max_file_bytes)
        max_total = min(self.max_submission_bytes, 1000 * coursedir.max_dir_size or self.max_submission_bytes)
        return max_file, max_total, self.max_entries

    def report_path(self) -> str:
        folder = os.path.join(self.coursedir.root, self.report_directory or os.path.join(
            self.coursedir.autograded_directory, ".collect"))
        return os.path.join(folder, f"{self.coursedir.assignment_id}.jsonl")

    def report(self, **entry: Any) -> None:
        """One line of the collect report."""
        now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        line = json.dumps({"at": now, "assignment": self.coursedir.assignment_id, **entry}, default=str)
        path = self.report_path()
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)

    def refuse(self, name: str, why: str, **details: Any) -> None:
        path = os.path.join(self.inbound_path, name)
        self.log.error("Refused %r: %s; not collected", path, why)
        self.report(folder=name, decision="refused", reason=why, **details)

    # -- which folders -------------------------------------------------------------------------------

    def verify(self, name: str) -> dict[str, Any] | None:
        """The record of one inbound folder if it may be collected; None (logged and reported) if not."""
        parts = name.rsplit("+", 3)
        if len(parts) < 3 or parts[1] != self.coursedir.assignment_id:
            self.refuse(name, "not a submission folder name (student+assignment+timestamp+random)")
            return None
        student = parts[0]
        if not re.fullmatch(self.student_id_pattern, student) or student in (".", ".."):
            self.refuse(name, f"{student!r} is not a plain account name (VerifiedCollect.student_id_pattern)")
            return None
        try:
            timestamp = parse_utc(parts[2])
        except Exception:  # dateutil raises ValueError, OverflowError, ...
            self.refuse(name, f"its timestamp {parts[2]!r} cannot be read", student=student)
            return None
        try:
            st = os.lstat(os.path.join(self.inbound_path, name))
        except OSError as error:
            self.refuse(name, f"it cannot be looked at ({error.strerror})", student=student)
            return None
        owner = _account(st.st_uid)
        if not stat.S_ISDIR(st.st_mode):
            self.refuse(name, f"it is a {_kind(st.st_mode)} owned by {owner}, not a folder", student=student,
                        owner=owner)
            return None
        if self.require_owner:
            try:
                uid = pwd.getpwnam(student).pw_uid
            except KeyError:
                self.refuse(name, f"{student!r} is not a Unix account here, so who submitted it cannot be checked "
                            "(on an exchange without one Unix account per student, set "
                            "c.VerifiedCollect.require_owner = False)", student=student, owner=owner)
                return None
            if st.st_uid != uid:
                self.refuse(name, f"it claims to be {student}'s submission but belongs to Unix account {owner}",
                            student=student, owner=owner)
                return None
        return {"username": student, "filename": name, "timestamp": timestamp, "uid": st.st_uid,
                "owner": owner, "inode": (st.st_dev, st.st_ino)}

    def init_src(self) -> None:
        if self.coursedir.course_id == "":
            self.fail("No course id specified. Re-run with --course flag.")
        self.course_path = os.path.join(self.root, self.coursedir.course_id)
        self.inbound_path = os.path.join(self.course_path, "inbound")
        if not os.path.isdir(self.inbound_path):
            self.fail(f"Course not found: {self.inbound_path}")
        if not check_mode(self.inbound_path, read=True, execute=True):
            self.fail(f"You don't have read permissions for the directory: {self.inbound_path}")
        if not self.require_owner:
            self.log.warning("VerifiedCollect.require_owner is False: submission folders are believed to be "
                             "from the student they name (only right without one Unix account per student)")
        assignment = self.coursedir.assignment_id
        wanted = self.coursedir.student_id or "*"
        by_student = defaultdict(list)
        for name in sorted(os.listdir(self.inbound_path)):
            if not fnmatch.fnmatchcase(name, f"*+{assignment}+*"):
                continue  # another assignment's
            if wanted != "*" and not fnmatch.fnmatchcase(name.rsplit("+", 3)[0], wanted):
                continue
            record = self.verify(name)
            if record is not None:
                by_student[record["username"]].append(record)

        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            try:
                self.duedate = gb.find_assignment(assignment).duedate
            except MissingEntry:
                self.duedate = None
        self.src_records = []
        for records in by_student.values():  # nbgrader's choice, among the verified folders only
            records = self._sort_by_timestamp(records)
            if self.duedate is not None and self.before_duedate:
                before = [r for r in records if r["timestamp"] <= self.duedate]
                records = before or records
            self.src_records.append(records[0])

    # -- copying -------------------------------------------------------------------------------------

    def copy_files(self) -> None:
        assignment, course = self.coursedir.assignment_id, self.coursedir.course_id
        if not self.src_records:
            self.log.warning("No submissions of '%s' for course '%s' to collect", assignment, course)
        else:
            self.log.info("Processing %d submissions of '%s' for course '%s'", len(self.src_records), assignment,
                          course)
        for rec in self.src_records:
            student = rec["username"]
            dest = self.coursedir.format_path(self.coursedir.submitted_directory, student, assignment)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            copy = updating = False
            if os.path.isdir(dest):
                existing = self.coursedir.get_existing_timestamp(dest)
                if self.update and (existing is None or rec["timestamp"] > existing):
                    copy = updating = True
                elif self.before_duedate and existing != rec["timestamp"]:
                    copy = updating = True
            else:
                copy = True
            if copy:
                self.log.info("%s submission: %s %s", "Updating" if updating else "Collecting", student, assignment)
                self.collect_one(rec, dest)
            elif self.update:
                self.log.info("No newer submission to collect: %s %s", student, assignment)
            else:
                self.log.info("Submission already exists, use --update to update: %s %s", student, assignment)

    def collect_one(self, rec: dict[str, Any], dest: str) -> None:
        """Copy one verified inbound folder to ``dest``, whole or not at all; report what happened."""
        name = rec["filename"]
        owner_uid = rec["uid"] if self.require_owner else None
        inbound = os.open(self.inbound_path, _DIR_FLAGS)
        try:
            try:
                src = os.open(name, _DIR_FLAGS, dir_fd=inbound)
            except OSError as error:
                return self.refuse(name, f"it cannot be opened ({error.strerror})", student=rec["username"])
            try:
                opened = os.fstat(src)
                if (opened.st_dev, opened.st_ino) != rec["inode"] or opened.st_uid != rec["uid"]:
                    return self.refuse(name, f"it was replaced after it was checked (now owned by "
                                       f"{_account(opened.st_uid)})", student=rec["username"])
                copy, staging, note = None, None, None
                for notebooks_only in (False, True):
                    staging = tempfile.mkdtemp(prefix=f".{self.coursedir.assignment_id}.collecting-",
                                               dir=os.path.dirname(dest))
                    copy = _Copy(self, owner_uid, notebooks_only)
                    try:
                        copy.tree(src, staging)
                        break
                    except _OverCap as over:
                        note = f"over its cap ({over})"
                        shutil.rmtree(staging)
                        staging = None
                    except BaseException:  # e.g. the instructor's disk is full: nothing half-copied stays
                        shutil.rmtree(staging, ignore_errors=True)
                        raise
                if staging is None:
                    return self.refuse(name, f"it is {note}, even its notebooks alone; an earlier collected copy, "
                                       "if any, is kept", student=rec["username"], owner=rec["owner"])
            finally:
                os.close(src)
        finally:
            os.close(inbound)

        os.chmod(staging, copy.dir_mode)
        if os.path.isdir(dest):
            shutil.rmtree(dest)
        os.rename(staging, dest)
        left_out = [item for item in copy.skipped if item["reason"].startswith("left out")]
        if note:
            self.log.warning("Submission %r is %s: collected its notebooks only (%d files and folders left out)",
                             name, note, len(left_out))
        for item in copy.skipped:
            if item not in left_out:
                target = f" -> {item['target']!r}" if "target" in item else ""
                self.log.warning("Skipped %r%s in %r (%s): %s", item["path"], target, name, item["kind"],
                                 item["reason"])
        doubtful = self.doubtful_timestamp(rec, dest, copy.last_change)
        self.report(folder=name, student=rec["username"], owner=rec["owner"],
                    decision="collected notebooks only" if note else "collected", reason=note,
                    files=copy.files, bytes=copy.bytes, skipped=copy.skipped, timestamp=rec["timestamp"],
                    last_change=doubtful["last_change"], timestamp_doubtful=doubtful["doubtful"])

    def doubtful_timestamp(self, rec: dict[str, Any], dest: str, last_change: float) -> dict[str, Any]:
        """Whether the files changed after the time the submission claims (its name, its timestamp.txt)."""
        changed = datetime.datetime.fromtimestamp(last_change, datetime.timezone.utc).replace(tzinfo=None)
        claims = [rec["timestamp"]]
        try:
            with open(os.path.join(dest, "timestamp.txt")) as fh:
                claims.append(parse_utc(fh.read(200).strip()))
        except Exception:  # missing or unreadable: the folder name's claim alone
            pass
        claimed = min(claims)
        doubtful = (changed - claimed).total_seconds() > self.timestamp_tolerance
        if doubtful:
            self.log.warning("Submission %r claims it was handed in at %s UTC, but its files were last changed at "
                             "%s UTC: check its lateness by hand", rec["filename"], claimed, changed)
        return {"last_change": changed.isoformat(timespec="seconds"), "doubtful": doubtful}


def read_collect_report(course_root: str | os.PathLike, assignment: str,
                        autograded_directory: str = "autograded") -> list[dict[str, Any]]:
    """The lines of an assignment's collect report (oldest first); [] when nothing was collected yet."""
    path = os.path.join(course_root, autograded_directory, ".collect", f"{assignment}.jsonl")
    try:
        with open(path) as fh:
            return [json.loads(line) for line in fh if line.strip()]
    except FileNotFoundError:
        return []
