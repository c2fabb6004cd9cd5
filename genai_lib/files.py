"""Files written whole or not at all: `atomic_write`, the one writer behind every file the
package saves (checkpoints, downloads, samples, MIDI files, caches), and `write_together`
for files that belong together (the samples and labels of `genai_lib.generate`).

A reader, or a run killed half way, sees the old file or the new one, never half of one.
Files that belong together are never mixed: every new file is first written in full to a
temporary file; then each old file is moved aside (a hard link, so it stays in place), the
old companions are removed and the new files renamed into place, the first one first. A
failure on the way puts the old files back; a kill on the way leaves the first file old
or new and each companion either new or absent, never an old one beside a new first file.

Temporary files are named `.NAME.<8 hex digits>.tmp` (`.part` for a download, `.old` for a
file moved aside) beside NAME. A run killed while writing leaves one behind: the next write
into that folder removes those of this pattern older than `STALE_SECONDS`, and no others.
Files get mode 0o666 less the umask, as `open(path, "wb")` gives them.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

Writer = Callable[[BinaryIO], object]
STALE_SECONDS = 3600    # a temporary file this old belongs to a run that was killed
SUFFIXES = (".tmp", ".part", ".old")
_OURS = re.compile(r"^\..+\.[0-9a-f]{8}(" + "|".join(re.escape(s) for s in SUFFIXES) + ")$")


def _temporary(path: Path, suffix: str) -> tuple[int, Path]:
    """A new, empty file `.NAME.RANDOM<suffix>` beside `path`, opened for writing: (fd, path).

    Mode 0o666 less the umask, as `open(path, "wb")` gives (`tempfile.mkstemp` gives 0o600).
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = _name(path, suffix)
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:  # taken by another writer: draw another name
            continue
    raise FileExistsError(f"no free temporary name for {str(path)!r} after 100 tries")


def _name(path: Path, suffix: str) -> Path:
    """A fresh name `.NAME.RANDOM<suffix>` beside `path` (not created)."""
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}{suffix}")


def remove_stale(folder: str | os.PathLike, age: float = STALE_SECONDS) -> list[Path]:
    """Remove this module's temporary files in `folder` older than `age` seconds (left by
    runs that were killed); returns them. Other files, and younger temporaries (another
    process may be writing them), stay. Errors (a read-only folder) are ignored."""
    removed = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not _OURS.match(entry.name):
            continue
        try:
            if entry.is_file(follow_symlinks=False) and now - entry.stat().st_mtime > age:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def _fill(path: Path, write: Writer, suffix: str) -> Path:
    """A temporary file beside `path` holding what `write(f)` wrote, on disk (fsync)."""
    fd, tmp = _temporary(path, suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def atomic_write(path: str | os.PathLike, write: Writer, suffix: str = ".tmp") -> Path:
    """Write `path` atomically; returns it as a Path.

    `write(f)` fills a temporary file in the same folder (f: a binary file object), which is
    flushed to disk (fsync) and renamed over `path` (os.replace, atomic on POSIX and Windows).
    On any error, KeyboardInterrupt included, the temporary file is removed and `path` is left
    as it was. suffix: the temporary file's ending (".part" for a download in progress).
    The folder must exist; stale temporaries of killed runs in it are removed first.
    """
    path = Path(path)
    remove_stale(path.parent)
    tmp = _fill(path, write, suffix)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _aside(path: Path) -> Path | None:
    """A copy of the existing file `path` under a temporary name (a hard link where the file
    system has them, else `path` renamed), or None when there is no file."""
    if not path.is_file():
        return None
    backup = _name(path, ".old")
    try:
        os.link(path, backup)
    except OSError:  # no hard links here: move it aside (absent until the new one lands)
        os.replace(path, backup)
    return backup


def write_together(writes: Sequence[tuple[str | os.PathLike, Writer]]) -> list[Path]:
    """Write several files (path, write) as one unit; returns the paths.

    All new files are written to temporary files first: an error there leaves every old
    file as it was. Then the old files are moved aside, the old companions (all but the
    first) removed, and the new files renamed into place; an error there puts the old files
    back. A kill on the way can leave the first file new and a companion absent, never an
    old companion beside a new first file. The paths must differ; their folders must exist.
    """
    paths = [Path(p) for p, _ in writes]
    if len({p.resolve() for p in paths}) != len(paths):
        raise ValueError(f"the files to write together must differ, got {[str(p) for p in paths]}")
    for folder in {p.parent for p in paths}:
        remove_stale(folder)
    temps: list[Path] = []
    try:
        for path, (_, write) in zip(paths, writes):
            temps.append(_fill(path, write, ".tmp"))
    except BaseException:
        for tmp in temps:
            tmp.unlink(missing_ok=True)
        raise
    backups: dict[Path, Path | None] = {}
    placed: list[Path] = []
    try:
        for path in paths:
            backups[path] = _aside(path)
        for path in paths[1:]:  # no old companion may stay beside a new first file
            path.unlink(missing_ok=True)
        for path, tmp in zip(paths, temps):
            os.replace(tmp, path)
            placed.append(path)
    except BaseException:
        _restore(paths, placed, backups)
        for tmp in temps:
            tmp.unlink(missing_ok=True)
        raise
    for backup in backups.values():
        if backup is not None:
            backup.unlink(missing_ok=True)
    return paths


def _restore(paths: list[Path], placed: list[Path], backups: dict[Path, Path | None]) -> None:
    """Undo a `write_together` that failed half way: the old files back, new ones removed."""
    for path in paths:
        backup = backups.get(path)
        try:
            if backup is not None and backup.exists():
                os.replace(backup, path)
            elif path in placed:
                path.unlink(missing_ok=True)
        except OSError:
            continue  # the backup stays under its temporary name: nothing is lost
