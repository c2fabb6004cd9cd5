"""Files written whole or not at all: `atomic_write`, the one writer behind every file the
package saves (checkpoints, downloads, samples, MIDI files, caches).

A reader, or a run killed half way, sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def _temporary(path: Path, suffix: str) -> tuple[int, Path]:
    """A new, empty file `.NAME.RANDOM<suffix>` beside `path`, opened for writing: (fd, path).

    Mode 0o666 less the umask, as `open(path, "wb")` gives (`tempfile.mkstemp` gives 0o600).
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}{suffix}")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:  # taken by another writer: draw another name
            continue
    raise FileExistsError(f"no free temporary name for {str(path)!r} after 100 tries")


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object],
                 suffix: str = ".tmp") -> Path:
    """Write `path` atomically; returns it as a Path.

    `write(f)` fills a temporary file in the same folder (f: a binary file object), which is
    flushed to disk (fsync) and renamed over `path` (os.replace, atomic on POSIX and Windows).
    On any error, KeyboardInterrupt included, the temporary file is removed and `path` is left
    as it was. suffix: the temporary file's ending (".part" for a download in progress).
    The folder must exist.
    """
    path = Path(path)
    fd, tmp = _temporary(path, suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
