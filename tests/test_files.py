"""Unit tests of genai_lib.files.atomic_write: a file is written whole or not at all, and the
package's writers (checkpoints, samples, MIDI, downloads) go through it."""

import os
import shutil
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
