"""One execution of each notebook, shared by the tests and the book (myst-nb's jupyter-cache).

myst-nb's execution cache (`execute_notebooks: cache`) matches a notebook by its code cells
only. The chapters' outputs also depend on `genai_lib`, the pinned requirements and the
settings in SETTINGS (profile, device, global seed), so each cache folder carries a key of those
(`genai-key.txt`); a cache built under another key is emptied before use. Two writers:

- `make test`: nbval executes each notebook in the quick profile; when all its cells
  pass, conftest.py stores the executed notebook here (`store`), so the quick book build
  that follows re-executes nothing, and a second `make test` skips the notebooks whose
  code and key are unchanged (`is_cached`).
- `make book`: myst-nb itself executes what is not cached (full profile, its own folder).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEY_FILE = "genai-key.txt"
# what the outputs depend on besides a notebook's code (paths relative to ROOT)
INPUTS = ("genai_lib", "requirements.txt", "constraints.txt", "pyproject.toml")
# the settings genai_lib.runtime reads that change results, with runtime's defaults (CPU
# threads change only the order of float sums, so a test run on one thread per notebook
# fills the cache of a book build that would use two)
SETTINGS = {"GENAI_PROFILE": "full", "GENAI_DEVICE": "auto", "GENAI_SEED": "0"}


def _files() -> list[Path]:
    """The tracked inputs' files, sorted: genai_lib/**, the requirements, pyproject."""
    out: list[Path] = []
    for name in INPUTS:
        path = ROOT / name
        if path.is_dir():
            out += [p for p in path.rglob("*")
                    if p.is_file() and "__pycache__" not in p.parts]
        elif path.exists():
            out.append(path)
    return sorted(out)


def key() -> str:
    """A hash of genai_lib, the requirements, the SETTINGS and the Python version."""
    h = hashlib.sha256()
    for path in _files():
        h.update(path.relative_to(ROOT).as_posix().encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    settings = [os.environ.get(name, default).strip().lower() or default
                for name, default in SETTINGS.items()]
    h.update(repr((settings, sys.version_info[:3])).encode())
    return h.hexdigest()[:20]


def cache_dir(path_output: str | os.PathLike) -> Path:
    """The folder myst-nb uses for a build with `--path-output path_output`."""
    return Path(path_output).resolve() / "_build" / ".jupyter_cache"


def _current(folder: Path) -> bool:
    """True if `folder` was filled under the current key."""
    stamp = folder / KEY_FILE
    return stamp.exists() and stamp.read_text().strip() == key()


def reset_if_stale(folder: str | os.PathLike) -> bool:
    """Empty `folder` unless it was filled under the current key; True if it was emptied."""
    folder = Path(folder)
    if _current(folder):
        return False
    emptied = folder.exists()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / KEY_FILE).write_text(key() + "\n")
    return emptied


def _cache(folder: str | os.PathLike):
    from jupyter_cache import get_cache  # imported late: conftest loads this module early

    return get_cache(str(folder))


def is_cached(notebook: str | os.PathLike, folder: str | os.PathLike) -> bool:
    """True if `folder` (under the current key) holds an execution of `notebook`'s code."""
    import nbformat

    if not _current(Path(folder)):
        return False
    try:
        _cache(folder).match_cache_notebook(nbformat.read(str(notebook), as_version=4))
    except KeyError:
        return False
    return True


def store(nb, notebook: str | os.PathLike, folder: str | os.PathLike,
          seconds: float | None = None) -> None:
    """Add an executed notebook (every code cell run once, in order) to the cache."""
    from jupyter_cache.base import CacheBundleIn

    _cache(folder).cache_notebook_bundle(
        CacheBundleIn(nb, str(Path(notebook).resolve()),
                      data={"execution_seconds": seconds}),
        check_validity=True, overwrite=True)
