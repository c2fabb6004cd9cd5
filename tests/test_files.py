"""Unit tests of genai_lib.files.atomic_write: a file is written whole or not at all, and the
package's writers (checkpoints, samples, MIDI, downloads) go through it."""

import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from genai_lib import checkpoint, data, files, generate

ROOT = Path(__file__).resolve().parents[1]


def test_writes_replaces_and_returns_the_path(tmp_path):
    path = tmp_path / "a.bin"
    assert files.atomic_write(str(path), lambda f: f.write(b"old")) == path
    files.atomic_write(path, lambda f: f.write(b"new"))
    assert path.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]  # no temporary file left


@pytest.mark.parametrize("exc", [OSError("disk full"), KeyboardInterrupt()])
def test_an_error_while_writing_leaves_no_trace(exc, tmp_path):
    def half(f):
        f.write(b"half")
        raise exc

    fresh = tmp_path / "fresh.bin"
    with pytest.raises(type(exc)):
        files.atomic_write(fresh, half)
    assert list(tmp_path.iterdir()) == []  # neither the file nor a temporary one

    old = tmp_path / "old.bin"
    old.write_bytes(b"complete")
    with pytest.raises(type(exc)):
        files.atomic_write(old, half)
    assert old.read_bytes() == b"complete"  # the previous file, untouched
    assert [p.name for p in tmp_path.iterdir()] == ["old.bin"]


def test_the_temporary_file_sits_beside_the_target(tmp_path):
    seen = []

    def look(f):
        seen.extend(p.name for p in tmp_path.iterdir())
        f.write(b"x")

    files.atomic_write(tmp_path / "m.pt", look)
    files.atomic_write(tmp_path / "d.gz", look, suffix=".part")
    assert seen[0].startswith(".m.pt.") and seen[0].endswith(".tmp")
    assert [n for n in seen[1:] if n.startswith(".d.gz.")][0].endswith(".part")


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_the_mode_respects_the_umask(umask, tmp_path):
    old = os.umask(umask)
    try:
        path = files.atomic_write(tmp_path / "a.bin", lambda f: f.write(b"x"))
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0o600


def test_no_module_writes_a_temporary_file_of_its_own():
    """One atomic writer: the temp-file-and-rename pattern lives in files.py alone."""
    for path in sorted((ROOT / "genai_lib").rglob("*.py")):
        text = path.read_text()
        if path.name != "files.py":
            assert "mkstemp" not in text and "os.replace" not in text, path.name


def test_the_writers_use_it(tmp_path, monkeypatch):
    """checkpoint.save, generate.save_npy and data.cached_download leave no partial file."""
    def fail(*args, **kwargs):
        raise OSError("disk full")

    checkpoint.save(tmp_path / "m.pt", {"w": torch.ones(2)})
    monkeypatch.setattr(torch, "save", fail)
    with pytest.raises(OSError):
        checkpoint.save(tmp_path / "m.pt", {"w": torch.zeros(2)})
    monkeypatch.undo()
    assert torch.equal(checkpoint.load(tmp_path / "m.pt")["w"], torch.ones(2))

    generate.save_npy(tmp_path / "a.npy", np.arange(3))
    assert np.array_equal(np.load(tmp_path / "a.npy"), np.arange(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npy", "m.pt"]


def test_cached_download_fetches_once_and_checks(tmp_path, monkeypatch):
    src = tmp_path / "src"
    src.mkdir()
    (src / "x.gz").write_bytes(b"payload")
    sha = data.sha256(src / "x.gz")
    cache = tmp_path / "cache"
    path = data.cached_download((src / "x.gz").as_uri(), sha, cache)  # file:// needs no network
    assert path == cache / "x.gz" and path.read_bytes() == b"payload"
    assert [p.name for p in cache.iterdir()] == ["x.gz"]
    path.unlink()

    def cut(source, f, *args):  # the connection drops half way
        f.write(b"pay")
        raise OSError("connection reset")

    monkeypatch.setattr(shutil, "copyfileobj", cut)
    with pytest.raises(OSError, match="connection reset"):
        data.cached_download((src / "x.gz").as_uri(), sha, cache)
    assert list(cache.iterdir()) == []  # no half file that a later call would take as cached


# --- files that belong together: write_together ---------------------------------------------

def pair(tmp_path, x, y):
    """Write x to a.npy and y to b.npy together."""
    return files.write_together([(tmp_path / "a.npy", lambda f: np.save(f, x)),
                                 (tmp_path / "b.npy", lambda f: np.save(f, y))])


def loaded(tmp_path):
    return [np.load(tmp_path / n).tolist() if (tmp_path / n).exists() else None
            for n in ("a.npy", "b.npy")]


def test_write_together_writes_and_replaces_both(tmp_path):
    assert pair(tmp_path, [1], [2]) == [tmp_path / "a.npy", tmp_path / "b.npy"]
    pair(tmp_path, [3], [4])
    assert loaded(tmp_path) == [[3], [4]]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npy", "b.npy"]  # no temporaries


@pytest.mark.parametrize("exc", [OSError("disk full"), KeyboardInterrupt()])
def test_a_failure_writing_the_second_file_keeps_the_old_pair(exc, tmp_path):
    pair(tmp_path, [1], [2])

    def half(f):
        f.write(b"\x93NUMPY half")
        raise exc

    with pytest.raises(type(exc)):
        files.write_together([(tmp_path / "a.npy", lambda f: np.save(f, [3])),
                              (tmp_path / "b.npy", half)])
    assert loaded(tmp_path) == [[1], [2]]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npy", "b.npy"]


@pytest.mark.parametrize("links", [True, False], ids=["hard links", "no hard links"])
@pytest.mark.parametrize("exc", [OSError("no space left"), KeyboardInterrupt()])
def test_a_failure_renaming_the_second_file_puts_the_old_pair_back(exc, links, tmp_path,
                                                                    monkeypatch):
    """The first file is already new when the second rename fails: it is put back."""
    pair(tmp_path, [1], [2])
    real = os.replace

    def second_fails(src, dst):
        if Path(dst).name == "b.npy" and Path(src).name.endswith(".tmp"):
            raise exc
        return real(src, dst)

    def no_link(src, dst):
        raise OSError("hard links are not supported here")

    monkeypatch.setattr(files.os, "replace", second_fails)
    if not links:
        monkeypatch.setattr(files.os, "link", no_link)
    with pytest.raises(type(exc)):
        pair(tmp_path, [3], [4])
    monkeypatch.undo()
    assert loaded(tmp_path) == [[1], [2]]  # the old pair, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npy", "b.npy"]


def test_a_failed_first_write_of_a_pair_leaves_nothing(tmp_path, monkeypatch):
    real = os.replace

    def second_fails(src, dst):
        if Path(dst).name == "b.npy":
            raise OSError("disk full")
        return real(src, dst)

    monkeypatch.setattr(files.os, "replace", second_fails)
    with pytest.raises(OSError):
        pair(tmp_path, [3], [4])
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []  # not a new a.npy without its b.npy


def test_write_together_refuses_one_file_twice(tmp_path):
    with pytest.raises(ValueError, match="must differ"):
        files.write_together([(tmp_path / "a.npy", lambda f: f.write(b"1")),
                              (tmp_path / "." / "a.npy", lambda f: f.write(b"2"))])
    assert list(tmp_path.iterdir()) == []


def test_the_pair_respects_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        pair(tmp_path, [1], [2])
    finally:
        os.umask(old)
    assert {p.stat().st_mode & 0o777 for p in tmp_path.iterdir()} == {0o640}


# --- leftovers of killed runs ------------------------------------------------------------------

def test_stale_temporaries_of_our_own_are_removed_on_the_next_write(tmp_path):
    old = time.time() - 2 * files.STALE_SECONDS
    ours = [".m.pt.0123abcd.tmp", ".x.gz.89abcdef.part", ".y.npy.00ff00ff.old"]
    young = ".n.pt.11112222.tmp"                        # another process may be writing it
    theirs = ["tmpabc.npy.part", ".m.pt.tmp", "notes.tmp", ".m.pt.0123abcd.tmp.keep"]
    for name in ours + theirs + [young]:
        (tmp_path / name).write_bytes(b"x")
    for name in ours + theirs:
        os.utime(tmp_path / name, (old, old))
    files.atomic_write(tmp_path / "new.bin", lambda f: f.write(b"new"))
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(theirs + [young, "new.bin"])
    pair(tmp_path, [1], [2])  # write_together cleans too
    assert files.remove_stale(tmp_path) == []
