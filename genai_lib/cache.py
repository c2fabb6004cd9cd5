"""The cache under $GENAI_CACHE: a best-effort layer with three calls, `lookup`, `store`
and `quarantine`, used by the trained recipes, the judges (`recipes`) and the parsed
chorales (`music`).

A cache only saves time, so it never costs a result:
- a cache that cannot be written (a read-only folder, a file where the folder should be, a
  full disk) is reported once per folder (a `CacheWarning`) and the work goes on, its result
  returned but not kept;
- a damaged entry (empty, cut short, garbage, other shapes, a missing part, NaN weights) is
  named in a warning, moved aside as NAME.bad-<time> (kept for a look, never read again)
  and computed again.
Entries are read safely (`checkpoint.load`: weights only). A checkpoint that a reader passes
by name (`checkpoint.load_model`, `fit(checkpoint=...)`) is not a cache: it is refused with
a clear error instead.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from genai_lib import runtime
from genai_lib.files import Writer, atomic_write

T = TypeVar("T")
_warned: set[str] = set()   # folders already reported as unwritable


class CacheWarning(UserWarning):
    """The cache could not be used as asked: the work goes on without it."""


def path(folder: str, name: str) -> Path:
    """Where the entry `name` of `folder` lives: runtime.cache_dir()/folder/name (nothing is
    created)."""
    return runtime.cache_dir(create=False) / folder / name


def lookup(entry: Path, read: Callable[[Path], T]) -> T | None:
    """The entry read by `read(entry)`, or None when there is none. When `read` raises (the
    entry is damaged), the entry is moved aside (`quarantine`) and None is returned, so the
    caller computes it again."""
    try:
        if not entry.is_file():
            return None
    except OSError:  # a file where a folder of the path should be, no permission ...
        return None
    try:
        return read(entry)
    except Exception as err:  # any damage: the caller computes the entry again
        quarantine(entry, _reason(err))
        return None


def store(entry: Path, write: Writer, what: str = "the result") -> bool:
    """Write the entry atomically (`write(f)` fills a binary file); True when it was kept.
    When the cache cannot be written, say so once (CacheWarning) and return False."""
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(entry, write)
        return True
    except OSError as err:
        folder = str(entry.parent)
        if folder not in _warned:
            _warned.add(folder)
            warnings.warn(
                f"the cache folder {folder!r} cannot be written ({_reason(err)}): {what} is "
                f"not kept, and will be computed again next time. Set GENAI_CACHE to a "
                f"folder you can write to keep it.", CacheWarning, stacklevel=2)
        return False


def quarantine(entry: Path, reason: str) -> Path | None:
    """Move a damaged entry aside as NAME.bad-<time> and say so (a CacheWarning naming the
    file and what is wrong); returns the new path, or None if it could not be moved."""
    bad = entry.with_name(f"{entry.name}.bad-{time.strftime('%Y%m%d-%H%M%S')}")
    try:
        entry.rename(bad)
    except OSError as err:
        warnings.warn(f"the cached file {str(entry)!r} is damaged ({reason}) and could not be "
                      f"moved aside ({_reason(err)}): computing it again; delete the file to "
                      f"stop this warning", CacheWarning, stacklevel=3)
        return None
    warnings.warn(f"the cached file {str(entry)!r} is damaged ({reason}): moved aside to "
                  f"{bad.name!r} and computed again", CacheWarning, stacklevel=3)
    return bad


def _reason(err: BaseException) -> str:
    """An error in a few words: its `reason` (checkpoint.Unreadable), else its message's
    first line, else its type."""
    if getattr(err, "reason", None):
        return str(err.reason)
    lines = [line for line in str(err).splitlines() if line.strip()]
    return lines[0][:300] if lines else type(err).__name__
