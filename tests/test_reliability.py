"""Interrupted work, safe loading and reproducibility."""

import os
import pickle
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import pytest
import torch
from nbclient import NotebookClient
from torch import nn

import conftest  # the execution cache of this profile (the repository's conftest.py)
import notebook_cache  # _ext/, put on sys.path by conftest.py
from genai_lib import checkpoint
from jupyter_cache import get_cache

ROOT = Path(__file__).resolve().parents[1]


def test_kill_during_checkpoint_write_keeps_previous(tmp_path):
    """SIGKILL a process in the middle of writing a checkpoint: the previous one still loads."""
    path = tmp_path / "model.pt"
    child = textwrap.dedent(f"""
        import sys, time, torch
        from genai_lib import checkpoint
        checkpoint.save({str(path)!r}, {{"model": {{"w": torch.ones(3)}}}})
        real_save = torch.save
        def slow_save(obj, f, *a, **k):          # a slow disk: write, then hang mid-file
            f.write(b"\\x80" * 4096); f.flush()
            print("writing", flush=True)
            time.sleep(60)
        torch.save = slow_save
        checkpoint.save({str(path)!r}, {{"model": {{"w": torch.zeros(3)}}}})
    """)
    proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "writing"
        temps = list(tmp_path.glob(".model.pt.*.tmp"))
        assert temps, "the new checkpoint should be half-written to a temporary file"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGKILL
    state = checkpoint.load(path)
    assert torch.equal(state["model"]["w"], torch.ones(3))  # the last good checkpoint


FAKE_TRAINING = """
import torch
from genai_lib import recipes

class Fake:  # a trained recipe without the training: samples of 0.25
    history, seconds = {"loss": [1.0]}, 0.1

    def __init__(self, name):
        self.recipe = recipes.recipe(name)

    def sample(self, n, labels=None, seed=0):
        return torch.full((n, 64), 0.25)
"""


def test_kill_between_samples_and_labels_never_mixes_the_pair(tmp_path, monkeypatch):
    """SIGKILL the command after the samples landed and before the labels did: the labels
    file is absent (never the old labels beside the new samples); the next run writes both
    and clears what the killed one left."""
    import numpy as np

    from genai_lib import files, generate

    out, lab = tmp_path / "x.npy", tmp_path / "y.npy"
    np.save(out, np.zeros((2, 64), dtype=np.float32))
    np.save(lab, np.array([7, 7]))
    argv = ["digits-cgan", "--samples", "6", "--out", str(out), "--labels", str(lab)]
    child = FAKE_TRAINING + textwrap.dedent(f"""
        import os, sys, time
        from genai_lib import generate
        recipes.train_recipe = lambda name, **kw: Fake(name)
        real, placed = os.replace, []
        def slow_replace(src, dst):  # a slow disk: hang after the first file landed
            real(src, dst)
            if str(src).endswith(".tmp"):
                placed.append(dst)
                print("between", flush=True)
                time.sleep(60)
        os.replace = slow_replace
        sys.exit(generate.main({argv!r}))
    """)
    proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "between"
        assert np.load(out).shape == (6, 64)   # the new samples landed ...
        assert not lab.exists()                # ... and the old labels are not beside them
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert np.load(out).shape == (6, 64) and not lab.exists()
    backups = sorted(p.name for p in tmp_path.glob(".*.old"))  # the old pair, kept aside
    assert [b.split(".")[1] for b in backups] == ["x", "y"]
    assert [p.name.split(".")[1] for p in tmp_path.glob(".*.tmp")] == ["y"]  # the new labels
    old = time.time() - 2 * files.STALE_SECONDS  # the next run, an hour later
    for p in tmp_path.glob(".*"):
        os.utime(p, (old, old))
    fake = {}
    exec(FAKE_TRAINING, fake)  # no training in this process either
    monkeypatch.setattr(generate.recipes, "train_recipe", lambda name, **kw: fake["Fake"](name))
    assert generate.main(argv) == 0
    assert np.load(out).shape == (6, 64) and np.load(lab).shape == (6,)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npy", "y.npy"]


def test_an_unwritable_cache_keeps_the_finished_samples(tmp_path, monkeypatch, capsys):
    """A recipe trained in full with $GENAI_CACHE a file (or read-only) used to die with a raw
    OSError: now one warning line, the samples written, exit 0."""
    from dataclasses import replace

    import numpy as np

    from genai_lib import cache, files, generate, recipes

    r = recipes.RECIPES["digits-gan"]
    monkeypatch.setitem(recipes.RECIPES, "digits-gan",
                        replace(r, epochs=(1, 1), settings=replace(r.settings, hidden=16)))
    monkeypatch.setattr(cache, "_warned", set())
    monkeypatch.setenv("GENAI_DEVICE", "cpu")
    in_the_way = tmp_path / "cache"
    in_the_way.write_text("a file where the cache folder should be")
    monkeypatch.setenv("GENAI_CACHE", str(in_the_way))
    out = tmp_path / "x.npy"
    assert generate.main(["digits-gan", "--samples", "5", "--out", str(out),
                          "--profile", "quick"]) == 0
    captured = capsys.readouterr()
    (line,) = captured.err.strip().splitlines()
    assert line.startswith(f"warning: the cache folder '{in_the_way}/recipes' cannot be written")
    assert "Set GENAI_CACHE to a folder you can write" in line
    assert "wrote 5 samples" in captured.out and np.load(out).shape == (5, 64)

    def read_only(path, write, suffix=".tmp"):
        raise OSError(30, "Read-only file system")

    monkeypatch.setenv("GENAI_CACHE", str(tmp_path / "ro"))
    monkeypatch.setattr(cache, "atomic_write", read_only)
    assert generate.main(["digits-gan", "--samples", "3", "--out", str(out),
                          "--profile", "quick"]) == 0
    assert "Read-only file system" in capsys.readouterr().err
    assert np.load(out).shape == (3, 64)


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_pickled_code_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:
        pickle.dump({"format_version": checkpoint.FORMAT_VERSION, "model": Evil()}, f)
    with pytest.raises(ValueError, match="not a readable genai_lib checkpoint"):
        checkpoint.load(path)


def test_truncated_checkpoint_is_clear_error(tmp_path):
    path = tmp_path / "m.pt"
    checkpoint.save_model(path, nn.Linear(4, 2))
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match="not a readable genai_lib checkpoint.*train again"):
        checkpoint.load(path)


def test_incompatible_format_version_is_named(tmp_path):
    path = tmp_path / "old.pt"
    torch.save({"format_version": 0, "model": {}}, path)
    with pytest.raises(ValueError, match=f"format 0.*reads format {checkpoint.FORMAT_VERSION}"):
        checkpoint.load(path)


def test_weights_that_do_not_fit_the_model(tmp_path):
    path = tmp_path / "m.pt"
    checkpoint.save_model(path, nn.Linear(4, 2))
    with pytest.raises(ValueError, match="do not fit this model"):
        checkpoint.load_model(path, nn.Linear(5, 2))


def test_missing_checkpoint_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint at .*nope.pt"):
        checkpoint.load(tmp_path / "nope.pt")


def test_every_torch_load_is_weights_only():
    for py in (ROOT / "genai_lib").rglob("*.py"):
        for line in py.read_text().splitlines():
            if "torch.load(" in line:
                assert "weights_only=True" in line, f"{py.name}: {line.strip()}"


TIMING = re.compile(r"(?i)\b(seconds?|ms|time|it/s|steps/s)\b|\d\s*s\b")


def executed(path: Path) -> nbformat.NotebookNode:
    """The notebook executed in a fresh kernel."""
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


def cached(path: Path) -> nbformat.NotebookNode | None:
    """nbval's execution of the same code in this test run, from the execution cache."""
    folder = conftest.CACHE
    if not notebook_cache.is_cached(path, folder):
        return None
    _, nb = get_cache(str(folder)).merge_match_into_notebook(nbformat.read(path, as_version=4))
    return nb


def printed_text(nb: nbformat.NotebookNode) -> list[str]:
    """An executed notebook's printed and displayed text, timing lines dropped."""
    lines = []
    for cell in nb.cells:
        # a print may arrive in several stream messages: join a cell's text before splitting lines
        text = "".join("".join(out.get("text") or out.get("data", {}).get("text/plain", ""))
                       for out in cell.get("outputs", []))
        lines += [l for l in text.splitlines()
                  if not TIMING.search(l) and "object at 0x" not in l]
    return lines


@pytest.mark.parametrize("name", ["03_backprop", "04_deep_learning"])
def test_same_seed_same_numbers(name):
    path = ROOT / "chapters" / f"{name}.ipynb"
    if not path.exists():
        pytest.fail(f"{path.name} is missing")
    # nbval's run of the notebook (when it has finished) is the first of the two runs
    first = printed_text(cached(path) or executed(path))
    second = printed_text(executed(path))
    assert len(first) > 5
    assert first == second
