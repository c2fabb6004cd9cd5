"""Tests of the command line `python -m genai_lib.generate`: files written, clear errors, atomic saves."""

import os
import subprocess
import sys

import numpy as np
import pytest

from genai_lib import generate, recipes


@pytest.fixture(autouse=True)
def cpu(monkeypatch):
    monkeypatch.setenv("GENAI_DEVICE", "cpu")


@pytest.fixture
def no_training(monkeypatch):
    """Input errors must be caught before any training starts."""
    def refuse(*args, **kwargs):
        raise AssertionError("train_recipe was called: the error should come before training")
    monkeypatch.setattr(recipes, "train_recipe", refuse)


def test_gan_writes_samples(tmp_path, capsys):
    out = tmp_path / "gan.npy"
    assert generate.main(["mnist-gan", "--samples", "12", "--out", str(out), "--profile", "quick"]) == 0
    x = np.load(out)
    assert x.shape == (12, 784) and x.dtype == np.float32
    assert x.min() >= 0 and x.max() <= 1 and x.std() > 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("mnist-gan: trained 2 epochs (quick profile)")
    assert f"wrote 12 samples of 784 pixels to {out}" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gan.npy"]  # no leftover temporary file


def test_conditional_writes_samples_and_balanced_labels(tmp_path, capsys):
    out, lab = tmp_path / "x.npy", tmp_path / "y.npy"
    argv = ["digits-cgan", "--samples", "25", "--out", str(out), "--labels", str(lab),
            "--seed", "3", "--profile", "quick"]
    assert generate.main(argv) == 0
    x, y = np.load(out), np.load(lab)
    assert x.shape == (25, 64) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert y.shape == (25,) and np.issubdtype(y.dtype, np.integer)
    counts = np.bincount(y, minlength=10)
    assert len(counts) == 10 and counts.max() - counts.min() <= 1
    assert np.array_equal(y, recipes.balanced_labels(25, seed=3).numpy())
    assert f"and their labels to {lab}" in capsys.readouterr().out


def error_of(argv, capsys):
    assert generate.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    return lines[0]


def test_unknown_recipe(tmp_path, capsys, no_training):
    msg = error_of(["digits-glow", "--samples", "5", "--out", str(tmp_path / "a.npy")], capsys)
    assert "unknown recipe 'digits-glow'" in msg
    assert all(name in msg for name in recipes.RECIPES)
    assert not msg.startswith('error: "')  # the KeyError's text, not its repr


@pytest.mark.parametrize("n", ["0", "-4"])
def test_samples_must_be_positive(n, tmp_path, capsys, no_training):
    msg = error_of(["digits-gan", "--samples", n, "--out", str(tmp_path / "a.npy")], capsys)
    assert f"--samples must be a positive integer, got {n}" in msg


def test_out_in_a_missing_folder(tmp_path, capsys, no_training):
    out = tmp_path / "nowhere" / "a.npy"
    msg = error_of(["digits-gan", "--samples", "5", "--out", str(out)], capsys)
    assert "does not exist; create it first" in msg and "nowhere" in msg
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize("name", ["a.npz", "a", "a.npy.txt"])
def test_out_must_end_in_npy(name, tmp_path, capsys, no_training):
    msg = error_of(["digits-gan", "--samples", "5", "--out", str(tmp_path / name)], capsys)
    assert "must end in .npy" in msg and "--out" in msg


def test_labels_path_checked_too(tmp_path, capsys, no_training):
    msg = error_of(["digits-cgan", "--samples", "5", "--out", str(tmp_path / "a.npy"),
                    "--labels", str(tmp_path / "y.csv")], capsys)
    assert "--labels" in msg and "must end in .npy" in msg


def test_labels_for_an_unconditional_recipe(tmp_path, capsys, no_training):
    msg = error_of(["digits-gan", "--samples", "5", "--out", str(tmp_path / "a.npy"),
                    "--labels", str(tmp_path / "y.npy")], capsys)
    assert "digits-gan is unconditional: --labels is only for the conditional recipes" in msg
    conditional = [n for n, r in recipes.RECIPES.items() if r.conditional]
    assert conditional and all(n in msg for n in conditional)
    assert list(tmp_path.iterdir()) == []


def test_argparse_errors(tmp_path, capsys, no_training):
    for argv in (["digits-gan", "--out", str(tmp_path / "a.npy")],          # --samples missing
                 ["digits-gan", "--samples", "x", "--out", str(tmp_path / "a.npy")],
                 ["digits-gan", "--samples", "5", "--out", str(tmp_path / "a.npy"), "--profile", "fast"]):
        with pytest.raises(SystemExit) as info:
            generate.main(argv)
        assert info.value.code == 2
    assert "invalid choice: 'fast'" in capsys.readouterr().err


def test_generate_function_checks(tmp_path, no_training):
    with pytest.raises(ValueError, match="--samples must be a positive integer, got True"):
        generate.generate("digits-gan", True, str(tmp_path / "a.npy"))
    with pytest.raises(KeyError, match="the recipes are"):
        generate.generate("nope", 5, str(tmp_path / "a.npy"))


def test_save_npy_writes_and_replaces(tmp_path):
    path = tmp_path / "a.npy"
    generate.save_npy(path, np.arange(3))
    generate.save_npy(path, np.ones((2, 2), dtype=np.float32))
    assert np.array_equal(np.load(path), np.ones((2, 2), dtype=np.float32))
    assert [p.name for p in tmp_path.iterdir()] == ["a.npy"]


@pytest.mark.parametrize("exc", [OSError("disk full"), KeyboardInterrupt()])
def test_save_npy_leaves_no_partial_file(exc, tmp_path, monkeypatch):
    path = tmp_path / "a.npy"
    generate.save_npy(path, np.zeros(4))  # an earlier, complete file

    def half_written(f, array, *args, **kwargs):
        f.write(b"\x93NUMPY partial")
        raise exc

    monkeypatch.setattr(np, "save", half_written)
    with pytest.raises(type(exc)):
        generate.save_npy(path, np.ones(4))
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["a.npy"]  # no .part file left behind
    assert np.array_equal(np.load(path), np.zeros(4))          # the old file is untouched

    fresh = tmp_path / "b.npy"
    monkeypatch.setattr(np, "save", half_written)
    with pytest.raises(type(exc)):
        generate.save_npy(fresh, np.ones(4))
    assert not fresh.exists()


def test_help_runs_as_a_module():
    # Wide COLUMNS: argparse wraps help text at hyphens ("digits-\n cvae") on a narrow terminal.
    res = subprocess.run([sys.executable, "-m", "genai_lib.generate", "--help"],
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, "COLUMNS": "200"})
    assert res.returncode == 0, res.stderr
    assert "usage: python -m genai_lib.generate" in res.stdout
    assert all(name in res.stdout for name in recipes.RECIPES)
    assert "--samples" in res.stdout and "--labels" in res.stdout and "--profile" in res.stdout



def test_melodies_as_midi_and_npy(tmp_path, capsys):
    """chorales-transformer writes a MIDI file that music21 reads back, or MIDI pitches."""
    from music21 import converter

    mid, npy = tmp_path / "m.mid", tmp_path / "m.npy"
    assert generate.main(["chorales-transformer", "--samples", "3", "--out", str(mid),
                          "--profile", "quick"]) == 0
    assert "wrote 3 melodies of 32 steps" in capsys.readouterr().out
    notes = [n for n in converter.parse(str(mid)).flatten().notes]
    assert notes and all(57 <= n.pitch.midi <= 84 for n in notes)
    assert generate.main(["chorales-transformer", "--samples", "3", "--out", str(npy),
                          "--profile", "quick"]) == 0
    m = np.load(npy)
    assert m.shape == (3, 32) and m.dtype == np.int64
    assert set(np.unique(m)) <= {-1} | set(range(57, 85))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.mid", "m.npy"]


def test_midi_only_for_melodies(tmp_path, capsys, no_training):
    msg = error_of(["digits-gan", "--samples", "5", "--out", str(tmp_path / "a.mid")], capsys)
    assert "must end in .npy" in msg
    msg = error_of(["chorales-transformer", "--samples", "5", "--out", str(tmp_path / "a.wav")],
                   capsys)
    assert "must end in .npy or .mid" in msg


def test_text_recipes_write_one_sample_per_line(tmp_path, capsys):
    """words-transformer: one invented word per line; prose-transformer: one passage per
    line, its line breaks written as \\n; .npy: the tokens."""
    words, prose, tokens = tmp_path / "w.txt", tmp_path / "p.txt", tmp_path / "w.npy"
    assert generate.main(["words-transformer", "--samples", "7", "--out", str(words),
                          "--profile", "quick"]) == 0
    lines = words.read_text("utf-8").split("\n")
    assert len(lines) == 8 and lines[-1] == ""  # 7 lines, each ended by a newline
    assert all(set(w) <= set("abcdefghijklmnopqrstuvwxyz'") for w in lines[:-1])
    assert "wrote 7 words" in capsys.readouterr().out
    assert generate.main(["prose-transformer", "--samples", "3", "--out", str(prose),
                          "--profile", "quick"]) == 0
    passages = prose.read_text("utf-8").splitlines()
    assert len(passages) == 3 and all(len(p.replace("\\n", "\n")) == 64 for p in passages)
    assert generate.main(["words-transformer", "--samples", "4", "--out", str(tokens),
                          "--profile", "quick"]) == 0
    t = np.load(tokens)
    assert t.shape == (4, 32) and t.dtype == np.int64 and 0 <= t.min() and t.max() < 28
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.txt", "w.npy", "w.txt"]


def test_txt_only_for_text(tmp_path, capsys, no_training):
    msg = error_of(["digits-gan", "--samples", "5", "--out", str(tmp_path / "a.txt")], capsys)
    assert "must end in .npy" in msg
    msg = error_of(["words-transformer", "--samples", "5", "--out", str(tmp_path / "a.csv")],
                   capsys)
    assert "must end in .npy or .txt" in msg and "one sample per line" in msg
