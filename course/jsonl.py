"""Crash-safe JSON-lines files: append one object per line, read back every whole line.

Appending opens the file with ``O_APPEND`` (concurrent writers never overwrite each other) and writes the
line in one call; when the file does not end with a newline (a writer was killed mid-line) a newline goes
first, so the torn line stays on a line of its own and the new one is whole. Nothing is ever rewritten or
truncated. Reading skips, and counts, every line that is not a JSON object in UTF-8: a torn line, garbage
bytes, invalid UTF-8. Used by the practice journal (:mod:`course.journal`, in the student's kernel) and the
grading journal (:mod:`course.grading.journal`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["append", "read"]


def append(path: Path, entry: Mapping[str, Any], *, durable: bool = True) -> None:
    """Add ``entry`` as one line of ``path`` (created, with its folder, if missing; mode 0600), keys in order.

    ``durable`` fsyncs before returning (survives a power cut); without it the line is in the OS's hands,
    which a killed process cannot lose. Raises ``OSError`` when the file cannot be written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (json.dumps(dict(entry), allow_nan=False) + "\n").encode()  # keys in the caller's order
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            data = b"\n" + data  # a torn line before us stays on its own line
        while data:
            data = data[os.write(fd, data):]
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)


def read(path: Path, *, last_bytes: int | None = None) -> tuple[list[dict], int]:
    """The objects on the whole lines of ``path``, in order, and how many lines were not one (skipped).

    A missing file is empty. ``last_bytes`` reads only the file's tail (the partial line it starts in is
    left out, not counted). Blank lines are neither objects nor damage.
    """
    entries: list[dict] = []
    bad = 0
    try:
        with open(path, "rb") as handle:
            if last_bytes is not None:
                size = handle.seek(0, os.SEEK_END)
                if size > last_bytes:
                    handle.seek(size - last_bytes - 1)
                    handle.readline()  # up to the window's first line start (just a newline if it is one)
                else:
                    handle.seek(0)
            for raw in handle:
                if not raw.strip():
                    continue
                try:
                    entry = json.loads(raw.decode("utf-8"))
                except (ValueError, RecursionError):  # bad UTF-8 or JSON, or absurdly nested garbage
                    bad += 1
                    continue
                if isinstance(entry, dict):
                    entries.append(entry)
                else:
                    bad += 1
    except FileNotFoundError:
        pass
    return entries, bad
