"""Submission hygiene for grading: nbgrader cells the gradebook does not know, and regular files only.

**Cells.** nbgrader trusts the ``nbgrader`` metadata of a submitted notebook. A pasted cell that carries
metadata with a grade id the assignment does not have makes ``OverwriteCells`` raise ``KeyError`` (its
``add_missing_cells`` step), a second cell with a known grade id makes ``CheckCellMetadata`` refuse the
notebook, and metadata of the wrong shape (a list, ``"grade": "yes"``, an extra key) fails nbgrader's
schema: the honest student gets "invalid notebook" and an empty score. :class:`DropUnknownCells` runs
first in ``Autograde.sanitize_preprocessors`` and settles every cell against the gradebook:

- metadata that names no cell of this notebook (an unknown or invalid grade id, roles without an id,
  not a mapping): the ``nbgrader`` metadata is removed; the cell stays as a plain cell, so the
  student's code still runs, and earns nothing by itself (``unknown-cell``, ``malformed-cell``);
- a second cell with a known grade id: the first copy in notebook order keeps the id, the others
  become plain cells (``duplicate-cell``). Copying a cell in JupyterLab (copy and paste, duplicate)
  puts the copy *below* the original, so the first copy is the original in the usual case; nbgrader's
  own ``DeduplicateIds`` keeps the last one instead, but it never sees a duplicate after this step.
  A copy whose type and roles match the gradebook is preferred over one that was relabelled;
- the one cell with a known grade id whose metadata differs from the gradebook (roles, points, cell
  type, wrong types, extra keys): its metadata is rebuilt from the gradebook and its type put back
  (``relabelled-cell``). Rebuilt rather than removed: the answer keeps counting (a code answer turned
  into Markdown with one key press is graded as code again, as nbgrader's ``OverwriteCells`` does for a
  changed type) and a test cell, locked again, gets its source back from nbgrader's checksum.

A cell with roleless metadata (all of grade, solution, locked, task false) and no known id is a plain
cell to nbgrader anyway: its metadata is removed quietly when it would fail nbgrader's schema.

Flags (``resources["course_flags"]``, and :func:`hygiene_flags` for the grading command) name a cell
by its position (``cell 14``, 1-based among all cells), never by the student's cell id or grade id;
the only ids shown are grade ids the gradebook knows (the instructor's), cut to a safe slice.

**Files.** :func:`safe_copy_tree` copies a submitted folder with regular files and folders only:
symbolic links (to files or folders), FIFOs, sockets and devices are refused, never followed and never
opened (``lstat``, then ``open`` with ``O_NOFOLLOW`` and an ``fstat`` check), with caps on the bytes and
the number of entries. :func:`refuse_special_files` reports the entries it would refuse.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

try:
    from nbgrader.preprocessors import NbGraderPreprocessor
except ImportError:  # pragma: no cover - nbgrader is a dependency of the course
    NbGraderPreprocessor = object  # type: ignore[misc,assignment]

__all__ = [
    "HYGIENE_RULES", "FILE_RULES", "KnownCell", "DropUnknownCells", "hygiene_flags", "sanitize_cells",
    "known_cells_from_gradebook", "known_cells_from_notebook", "safe_copy_tree", "refuse_special_files",
    "safe_slice", "with_hygiene",
]

HYGIENE_RULES = ("unknown-cell", "duplicate-cell", "relabelled-cell", "malformed-cell")
FILE_RULES = ("special-file", "too-large", "too-many-files", "too-deep")

_ROLES = ("grade", "solution", "locked", "task")
_ROLE_WORDS = {"grade": "graded", "solution": "answer", "locked": "locked", "task": "task"}
_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_CELL_TYPES = ("code", "markdown", "raw")
#: The keys nbgrader's schema (nbgraderformat/v3.json) allows in a cell's ``nbgrader`` metadata.
_SCHEMA_KEYS = {"schema_version", "grade", "locked", "solution", "task", "grade_id", "points", "checksum", "cell_type"}


def safe_slice(text: object, limit: int = 40) -> str:
    """Only the ``[A-Za-z0-9_-]`` characters of ``text``, at most ``limit`` of them: safe to print anywhere."""
    if not isinstance(text, str):
        return ""
    return "".join(ch for ch in text[: limit * 4] if ch.isascii() and (ch.isalnum() or ch in "_-"))[:limit]


def _kind(value: object) -> str:
    """What a JSON value is, in words that never quote it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return "an unknown value"


# -- what the gradebook knows ----------------------------------------------------------------------

@dataclass(frozen=True)
class KnownCell:
    """One cell of the assignment's notebook as the gradebook records it (``nbgrader generate_assignment``)."""

    name: str
    cell_type: str = "code"
    grade: bool = False
    solution: bool = False
    locked: bool = False
    task: bool = False
    points: float | None = None
    checksum: str | None = None

    def metadata(self) -> dict:
        """The ``nbgrader`` metadata the release gives this cell."""
        meta = {"schema_version": 3, "grade": self.grade, "solution": self.solution, "locked": self.locked,
                "grade_id": self.name, "cell_type": self.cell_type}
        if self.task:
            meta["task"] = True
        if self.grade or self.task:
            meta["points"] = self.points if self.points is not None else 0.0
        if isinstance(self.checksum, str) and len(self.checksum) == 32:
            meta["checksum"] = self.checksum
        return meta


def known_cells_from_gradebook(db_url: str, assignment: str, notebook: str) -> dict[str, KnownCell]:
    """The cells of ``assignment``'s ``notebook`` in the gradebook (how nbgrader's ``OverwriteCells`` finds them)."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        record = gb.find_notebook(notebook, assignment)
        grades = {c.name: c for c in record.grade_cells}
        solutions = {c.name for c in record.solution_cells}
        tasks = {c.name: c for c in record.task_cells}
        known = {}
        for cell in record.source_cells:
            graded = grades.get(cell.name) or tasks.get(cell.name)
            known[cell.name] = KnownCell(
                name=cell.name, cell_type=cell.cell_type, grade=cell.name in grades, solution=cell.name in solutions,
                locked=bool(cell.locked), task=cell.name in tasks,
                points=float(graded.max_score) if graded is not None else None, checksum=cell.checksum)
    return known


def known_cells_from_notebook(nb) -> dict[str, KnownCell]:
    """The known cells of a release or source notebook (its own ``nbgrader`` metadata), without a gradebook."""
    known: dict[str, KnownCell] = {}
    for cell in _cells(nb):
        meta = _mapping(cell).get("metadata")
        meta = meta.get("nbgrader") if isinstance(meta, Mapping) else None
        if not isinstance(meta, Mapping) or not any(meta.get(role) is True for role in _ROLES):
            continue
        name = meta.get("grade_id")
        if isinstance(name, str) and _ID.fullmatch(name) and name not in known:
            points = meta.get("points")
            known[name] = KnownCell(
                name=name, cell_type=str(_mapping(cell).get("cell_type", "code")),
                **{role: meta.get(role) is True for role in _ROLES},
                points=float(points) if _number(points) else None,
                checksum=meta.get("checksum") if isinstance(meta.get("checksum"), str) else None)
    return known


# -- what to do with each cell ---------------------------------------------------------------------

def _mapping(value) -> Mapping:
    return value if isinstance(value, Mapping) else {}


def _cells(nb) -> list:
    cells = nb.get("cells") if isinstance(nb, Mapping) else getattr(nb, "cells", None)
    return cells if isinstance(cells, list) else []


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value and value >= 0


def _schema_problems(meta: Mapping) -> bool:
    """Would nbgrader's metadata schema refuse this ``nbgrader`` mapping (types, extra keys, version)?"""
    if set(meta) - _SCHEMA_KEYS:
        return True
    version = meta.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version != 3:
        return True
    if any(role in meta and not isinstance(meta[role], bool) for role in _ROLES):
        return True
    if any(role not in meta for role in ("grade", "solution", "locked")):
        return True
    if "grade_id" in meta and not (isinstance(meta["grade_id"], str) and _ID.fullmatch(meta["grade_id"])):
        return True
    if "points" in meta and not _number(meta["points"]):
        return True
    if "checksum" in meta and not (isinstance(meta["checksum"], str) and len(meta["checksum"]) == 32):
        return True
    return "cell_type" in meta and meta["cell_type"] not in _CELL_TYPES


@dataclass
class _Action:
    index: int                 # 0-based position in nb.cells
    do: str                    # "strip" or "rebuild"
    known: KnownCell | None = None


def _plan(nb, known: Mapping[str, KnownCell] | None) -> tuple[list[_Action], list[str]]:
    """What :func:`sanitize_cells` changes, and the flags, without changing anything."""
    actions: list[_Action] = []
    flags: list[str] = []
    cells = nb.get("cells") if isinstance(nb, Mapping) else getattr(nb, "cells", None)
    if not isinstance(cells, list):
        return actions, ["malformed-cell: the notebook has no list of cells"]
    claimed: dict[str, list[int]] = {}  # known grade id -> the cells that carry it
    for index, cell in enumerate(cells):
        where = f"cell {index + 1}"
        if not isinstance(cell, Mapping):
            flags.append(f"malformed-cell: {where}: not a notebook cell, left as it is")
            continue
        metadata = cell.get("metadata")
        if not isinstance(metadata, Mapping) or "nbgrader" not in metadata:
            continue
        meta = metadata["nbgrader"]
        if not isinstance(meta, Mapping):
            actions.append(_Action(index, "strip"))
            flags.append(f"malformed-cell: {where}: its nbgrader metadata is {_kind(meta)}, not a mapping, "
                         "so it runs as a plain cell")
            continue
        roles = [role for role in _ROLES if meta.get(role)]
        bad_types = [role for role in _ROLES if role in meta and not isinstance(meta[role], bool)]
        grade_id = meta.get("grade_id")
        valid_id = isinstance(grade_id, str) and _ID.fullmatch(grade_id) is not None
        if valid_id and (known is None and roles and not bad_types or known is not None and grade_id in known):
            claimed.setdefault(grade_id, []).append(index)
            continue
        if "grade_id" in meta and not valid_id:
            actions.append(_Action(index, "strip"))
            flags.append(f"malformed-cell: {where}: its nbgrader grade id is not a valid id ({_kind(grade_id)}), "
                         "so it runs as a plain cell")
        elif bad_types:
            actions.append(_Action(index, "strip"))
            flags.append(f"malformed-cell: {where}: its nbgrader metadata has {_kind(meta[bad_types[0]])} where "
                         f"{bad_types[0]!r} should be true or false, so it runs as a plain cell")
        elif roles and not valid_id:
            actions.append(_Action(index, "strip"))
            flags.append(f"malformed-cell: {where}: its nbgrader metadata marks it "
                         f"{'/'.join(_ROLE_WORDS[r] for r in roles)} without a grade id, so it runs as a plain cell")
        elif roles:
            actions.append(_Action(index, "strip"))
            flags.append(f"unknown-cell: {where}: its nbgrader metadata ({'/'.join(_ROLE_WORDS[r] for r in roles)}) "
                         "names a cell this assignment does not have, so it runs as a plain cell and earns nothing "
                         "by itself")
        elif valid_id or _schema_problems(meta):
            actions.append(_Action(index, "strip"))  # roleless: a plain cell to nbgrader already; quietly tidied
    for grade_id, indexes in claimed.items():
        record = known.get(grade_id) if known is not None else None
        keeper = indexes[0]
        if len(indexes) > 1:
            if record is not None:
                keeper = max(indexes, key=lambda i: (_fits(cells[i], record), -i))
            for index in indexes:
                if index != keeper:
                    actions.append(_Action(index, "strip"))
                    flags.append(f"duplicate-cell: cell {index + 1}: a copy of the nbgrader cell "
                                 f"'{safe_slice(grade_id)}' (graded in cell {keeper + 1}), so it runs as a plain cell")
        if record is None:
            continue
        changes = _changes(cells[keeper], record)
        if changes:
            actions.append(_Action(keeper, "rebuild", record))
            flags.append(f"relabelled-cell: cell {keeper + 1}: the nbgrader cell '{safe_slice(grade_id)}' was changed "
                         f"({', '.join(changes)}), put back as the gradebook has it")
    actions.sort(key=lambda action: action.index)
    flags.sort(key=_flag_order)
    return actions, flags


def _flag_order(flag: str) -> tuple[int, str]:
    match = re.search(r": cell (\d+)", flag)
    return (int(match.group(1)) if match else 0, flag)


def _fits(cell: Mapping, record: KnownCell) -> int:
    """How well a copy matches the gradebook: its type (1) and its roles (1)."""
    meta = _mapping(_mapping(cell.get("metadata")).get("nbgrader"))
    roles = all(meta.get(role, False) is getattr(record, role) for role in _ROLES)
    return int(cell.get("cell_type") == record.cell_type) + int(roles)


def _changes(cell: Mapping, record: KnownCell) -> list[str]:
    """How a cell with a known grade id differs from the gradebook, in fixed words (never the student's text)."""
    meta = _mapping(_mapping(cell.get("metadata")).get("nbgrader"))
    changes = []
    cell_type = cell.get("cell_type")
    if cell_type != record.cell_type:
        shown = cell_type if cell_type in _CELL_TYPES else "another type"
        changes.append(f"type {record.cell_type} turned {shown}")
    for role in _ROLES:
        have = meta.get(role, False)
        if not isinstance(have, bool):
            changes.append(f"{role} is {_kind(have)}")
        elif have != getattr(record, role):
            changes.append(f"{'marked' if have else 'unmarked'} {_ROLE_WORDS[role]}")
    if record.grade or record.task:
        points = meta.get("points")
        if not _number(points) or float(points) != float(record.points or 0):
            changes.append("points changed")
    if not changes and _schema_problems(meta):
        changes.append("metadata of the wrong shape")
    return changes


def _set_type(cell, cell_type: str) -> None:
    """Make ``cell`` a ``cell_type`` cell with the keys nbformat requires of it (source kept)."""
    if cell.get("cell_type") == cell_type:
        return
    cell["cell_type"] = cell_type
    if cell_type == "code":
        cell.pop("attachments", None)
        cell["outputs"] = []
        cell["execution_count"] = None
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)


def hygiene_flags(nb, known_cells: Mapping[str, KnownCell] | None) -> list[str]:
    """The flags :func:`sanitize_cells` would give ``nb`` (a notebook or its JSON), changing nothing.

    ``known_cells``: :func:`known_cells_from_gradebook` (or :func:`known_cells_from_notebook` of the
    release); ``None`` when unknown, then only malformed metadata and duplicates are judged.
    """
    try:
        return _plan(nb, known_cells)[1]
    except Exception as exc:  # noqa: BLE001 - a flag, never a crash
        return [f"malformed-cell: the notebook's cells could not be checked ({type(exc).__name__})"]


def sanitize_cells(nb, known_cells: Mapping[str, KnownCell] | None) -> list[str]:
    """Settle every cell's ``nbgrader`` metadata against ``known_cells`` in place (see the module doc); the flags."""
    actions, flags = _plan(nb, known_cells)
    cells = _cells(nb)
    for action in actions:
        cell = cells[action.index]
        if action.do == "strip":
            del cell["metadata"]["nbgrader"]
        else:
            _set_type(cell, action.known.cell_type)
            cell["metadata"]["nbgrader"] = _node(action.known.metadata())
    return flags


def _node(meta: dict):
    try:
        from nbformat.notebooknode import from_dict
    except ImportError:  # pragma: no cover
        return meta
    return from_dict(meta)


class DropUnknownCells(NbGraderPreprocessor):
    """First of ``Autograde.sanitize_preprocessors``: every nbgrader cell settled against the gradebook.

    Removes the ``nbgrader`` metadata of cells the gradebook does not know (pasted, duplicated, malformed)
    and rebuilds it for a known cell that was relabelled, so nbgrader's own sanitizing never fails on
    them. The flags go to ``resources["course_flags"]``, to the grading command's record (``hygiene``) when
    it grades (``RECORDS[key]["hygiene"]``, see ``course.grading.execute``), and to the log.
    """

    def preprocess(self, nb, resources):
        info = resources.get("nbgrader", {}) if isinstance(resources, Mapping) else {}
        try:
            known = known_cells_from_gradebook(info["db_url"], info["assignment"], info["notebook"])
        except Exception as exc:  # noqa: BLE001 - no gradebook entry: only the shape of the metadata is judged
            self.log.warning("Cell hygiene without the gradebook's cells (%s)", type(exc).__name__)
            known = None
        flags = sanitize_cells(nb, known)
        if known is not None:
            try:
                flags += restore_deleted_cells(nb, info["db_url"], info["assignment"], info["notebook"])
            except Exception as exc:  # noqa: BLE001 - nbgrader's own handling then decides
                self.log.warning("Cell hygiene could not restore deleted cells (%s)", type(exc).__name__)
        for flag in flags:
            self.log.warning("Cell hygiene: %s", flag)
        resources.setdefault("course_flags", []).extend(flags)
        _record(info, flags)
        return nb, resources


def restore_deleted_cells(nb, db_url: str, assignment: str, notebook: str) -> list[str]:
    """Put back, as released, the answer and locked cells a student deleted; the flags.

    nbgrader re-adds a deleted *test* cell after the cell before it in the assignment, and fails with a
    ``KeyError`` when that cell (the answer it tests) was deleted too. A restored answer holds the
    release's stub, so it earns nothing; the cells around it are graded as usual. Test cells are left to
    nbgrader (``OverwriteCells.add_missing_cells``).
    """
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_raw_cell
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        record = gb.find_notebook(notebook, assignment)
        graded = {c.name for c in record.grade_cells}
        solutions = {c.name for c in record.solution_cells}
        order = [(c.name, c.cell_type, c.source, bool(c.locked)) for c in record.source_cells]
    cells = _cells(nb)

    def positions() -> dict[str, int]:
        out = {}
        for index, cell in enumerate(cells):
            meta = _mapping(_mapping(cell).get("metadata")).get("nbgrader")
            name = _mapping(meta).get("grade_id")
            if isinstance(name, str):
                out.setdefault(name, index)
        return out

    flags = []
    for i, (name, cell_type, source, locked) in enumerate(order):
        where = positions()
        if name in where or name in graded:
            continue
        at = next((where[prev] + 1 for prev, *_ in reversed(order[:i]) if prev in where), 0)
        maker = {"markdown": new_markdown_cell, "raw": new_raw_cell}.get(cell_type, new_code_cell)
        cell = maker(source)
        cell["metadata"]["nbgrader"] = _node({"schema_version": 3, "grade": False, "solution": name in solutions,
                                              "locked": locked, "grade_id": name, "cell_type": cell_type})
        cells.insert(at, cell)
        kind = "answer" if name in solutions else "locked"
        flags.append(f"restored: a deleted {kind} cell was put back as released, at cell {at + 1}")
    return flags


def with_hygiene(config) -> list:
    """``Autograde.sanitize_preprocessors`` with :class:`DropUnknownCells` first: what ``config`` already sets
    (nbgrader's default when it sets nothing), each preprocessor once. For ``nbgrader_config.py``."""
    section = config["Autograde"] if "Autograde" in config else {}
    value = section.get("sanitize_preprocessors") if hasattr(section, "get") else None
    if not isinstance(value, (list, tuple)):
        from nbgrader.converters import Autograde

        value = Autograde.class_traits()["sanitize_preprocessors"].default()
    name = f"{DropUnknownCells.__module__}.{DropUnknownCells.__name__}"
    return [DropUnknownCells, *(p for p in value if p is not DropUnknownCells and p != name)]


def _record(info: Mapping, flags: list[str]) -> None:
    """Hand the flags to the grading command's record of this student, if it is grading (see ``execute.RECORDS``)."""
    key = info.get("course_grading") if isinstance(info, Mapping) else None
    if not key:
        return
    try:
        from .execute import RECORDS
    except Exception:  # noqa: BLE001 - not under the grading command
        return
    record = RECORDS.get(key)
    if isinstance(record, dict):
        record.setdefault("hygiene", []).extend(flags)


# -- regular files only ----------------------------------------------------------------------------

_MAX_DEPTH = 64
_CHUNK = 1 << 20
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_O_NOCTTY = getattr(os, "O_NOCTTY", 0)


def _safe_name(relative: str, limit: int = 40) -> str:
    """A submitted file's path for a flag: ``[A-Za-z0-9_./-]`` only (others become ``_``), at most ``limit``."""
    text = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "_.-/") else "_" for ch in relative[: limit + 1])
    return text[:limit] + ("..." if len(relative) > limit else "")


def _special_kind(mode: int) -> str | None:
    """What a non-regular entry is, or None for a regular file or a folder."""
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    return "a special file"


class _Walk:
    """One walk of a submitted folder without following anything; copies into ``dst`` when given."""

    def __init__(self, max_bytes: int, max_files: int, copying: bool) -> None:
        self.max_bytes, self.max_files, self.copying = max_bytes, max_files, copying
        self.flags: list[str] = []
        self.entries = 0
        self.copied = 0
        self.stopped = False

    def flag(self, rule: str, what: str, number: int, relative: str) -> None:
        self.flags.append(f"{rule}: {what} (file {number}, '{_safe_name(relative)}')")

    def run(self, src: Path, dst: Path | None) -> list[str]:
        try:
            top = os.open(src, os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW | _O_CLOEXEC)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                kind = "a symbolic link" if os.path.islink(src) else "not a folder"
                return [f"special-file: the submitted folder itself is {kind}, nothing was copied"]
            raise
        out = None
        try:
            if dst is not None:
                os.makedirs(dst, exist_ok=True)
                out = os.open(dst, os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW | _O_CLOEXEC)
            self.folder(top, out, "", 0)
        finally:
            os.close(top)
            if out is not None:
                os.close(out)
        return self.flags

    def folder(self, folder: int, target: int | None, prefix: str, depth: int) -> None:
        """One folder, in name order; a subfolder is walked where it is met (at most 64 levels, two fds each)."""
        names = []
        with os.scandir(folder) as listing:
            for entry in listing:
                names.append(entry.name)
                if len(names) + self.entries > self.max_files:
                    break
        for name in sorted(names):
            if self.stopped:
                return
            relative = f"{prefix}{name}"
            self.entries += 1
            number = self.entries
            if self.entries > self.max_files:
                self.flags.append(f"too-many-files: more than {self.max_files} files and folders, "
                                  "the rest were not copied")
                self.stopped = True
                return
            try:
                info = os.stat(name, dir_fd=folder, follow_symlinks=False)
            except OSError:
                self.flag("special-file", "an entry vanished or could not be read", number, relative)
                continue
            kind = _special_kind(info.st_mode)
            if kind:
                self.flag("special-file", f"{kind} was refused", number, relative)
            elif stat.S_ISDIR(info.st_mode):
                self.subfolder(folder, target, name, info, number, relative, depth)
            elif info.st_nlink > 1:
                self.flag("special-file", f"a file with {info.st_nlink} hard links was refused", number, relative)
            elif self.copying:
                self.copy(folder, target, name, info, number, relative)

    def subfolder(self, folder, target, name, info, number, relative, depth) -> None:
        if depth + 1 > _MAX_DEPTH:
            self.flag("too-deep", f"a folder more than {_MAX_DEPTH} levels deep was not copied", number, relative)
            return
        try:
            inner = os.open(name, os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW | _O_CLOEXEC, dir_fd=folder)
        except OSError:
            self.flag("special-file", "a folder that changed while copying was refused", number, relative)
            return
        inner_target = None
        try:
            seen = os.fstat(inner)
            if not stat.S_ISDIR(seen.st_mode) or (seen.st_dev, seen.st_ino) != (info.st_dev, info.st_ino):
                self.flag("special-file", "a folder that changed while copying was refused", number, relative)
                return
            if target is not None:
                try:
                    os.mkdir(name, 0o755, dir_fd=target)
                except FileExistsError:
                    pass
                try:
                    inner_target = os.open(name, os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW | _O_CLOEXEC, dir_fd=target)
                except OSError:
                    self.flag("special-file", "a folder could not be created in the copy", number, relative)
                    return
            self.folder(inner, inner_target, f"{relative}/", depth + 1)
        finally:
            os.close(inner)
            if inner_target is not None:
                os.close(inner_target)

    def copy(self, folder, target, name, info, number, relative) -> None:
        remaining = self.max_bytes - self.copied
        if info.st_size > remaining:
            self.flag("too-large", f"a file of {info.st_size} bytes is over the {self.max_bytes}-byte limit of the "
                      "submission, not copied", number, relative)
            return
        try:
            source = os.open(name, os.O_RDONLY | _O_NOFOLLOW | _O_NONBLOCK | _O_NOCTTY | _O_CLOEXEC, dir_fd=folder)
        except OSError:
            self.flag("special-file", "a file that changed while copying was refused", number, relative)
            return
        written = None
        try:
            seen = os.fstat(source)
            if not stat.S_ISREG(seen.st_mode) or (seen.st_dev, seen.st_ino) != (info.st_dev, info.st_ino) \
                    or seen.st_nlink > 1:
                self.flag("special-file", "a file that changed while copying was refused", number, relative)
                return
            written = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _O_NOFOLLOW | _O_CLOEXEC, 0o644,
                              dir_fd=target)
            size = 0
            while True:
                chunk = os.read(source, min(_CHUNK, remaining - size + 1))
                if not chunk:
                    break
                size += len(chunk)
                if size > remaining:  # it grew while copying
                    os.close(written)
                    written = None
                    os.unlink(name, dir_fd=target)
                    self.flag("too-large", f"a file that grew over the {self.max_bytes}-byte limit of the submission "
                              "while copying, not copied", number, relative)
                    return
                view = memoryview(chunk)
                while view:
                    view = view[os.write(written, view):]
            self.copied += size
            os.utime(written, ns=(seen.st_atime_ns, seen.st_mtime_ns))
        except OSError:
            self.flag("special-file", "a file could not be copied", number, relative)
        finally:
            os.close(source)
            if written is not None:
                os.close(written)


def safe_copy_tree(src: Path, dst: Path, *, max_bytes: int, max_files: int) -> list[str]:
    """Copy the folder ``src`` into ``dst`` (created if missing) with regular files and folders only; the flags.

    Symbolic links (to files or folders, inside or outside), FIFOs, sockets, devices and files with
    several hard links are refused and flagged, never followed and never opened; a file over what is
    left of ``max_bytes`` is skipped and flagged (the others are still copied); after ``max_files`` files
    and folders, or below 64 levels of folders, the rest is not copied. Raises only when ``src`` does not
    exist or ``dst`` cannot be made (the grader's problem, not the student's).
    """
    return _Walk(max_bytes, max_files, copying=True).run(Path(src), Path(dst))


def refuse_special_files(folder: Path, *, max_files: int = 100_000) -> list[str]:
    """Flags for every entry of ``folder`` that is not a regular file or a folder, found without following any."""
    return _Walk(0, max_files, copying=False).run(Path(folder), None)
