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


# --- nothing lost, nothing misleading -------------------------------------------------------

class Fake:
    """What train_recipe returns, without training: samples of `value` (n, dim)."""

    def __init__(self, r, value=0.5, dim=64):
        self.recipe, self.history, self.seconds, self.value, self.dim = r, {"loss": [1.0]}, 0.1, value, dim

    def sample(self, n, labels=None, seed=0):
        import torch
        if recipes.DATASETS[self.recipe.dataset].text is not None:
            return torch.ones(n, self.dim, dtype=torch.long)
        return torch.full((n, self.dim), float(self.value))


@pytest.fixture
def fake_training(monkeypatch):
    """train_recipe replaced by Fake; the profiles it was asked for are in the list."""
    asked = []

    def fake(name, profile=None, device=None, seed=0, quiet=True, **kw):
        asked.append(profile)
        r = recipes.recipe(name)
        return Fake(r, dim=recipes.DATASETS[r.dataset].dim)

    monkeypatch.setattr(recipes, "train_recipe", fake)
    return asked


def names(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("flag", ["--out", "--labels"])
def test_an_existing_folder_is_refused_before_training(flag, tmp_path, capsys, no_training):
    folder = tmp_path / "results.npy"  # a folder, whose name ends in .npy
    folder.mkdir()
    paths = {"--out": str(tmp_path / "x.npy"), "--labels": str(tmp_path / "y.npy"),
             flag: str(folder)}
    msg = error_of(["digits-cgan", "--samples", "5", "--out", paths["--out"],
                    "--labels", paths["--labels"]], capsys)
    assert f"{flag} '{folder}' is a folder: give a file name inside it, e.g." in msg
    assert names(tmp_path) == ["results.npy"] and not any(folder.iterdir())


@pytest.mark.parametrize("labels", ["x.npy", "./x.npy", "sub/../x.npy"])
def test_out_equal_to_labels_is_refused_before_training(labels, tmp_path, capsys, no_training,
                                                        monkeypatch):
    (tmp_path / "sub").mkdir()
    (tmp_path / "x.npy").write_bytes(b"old samples")
    monkeypatch.chdir(tmp_path)
    msg = error_of(["digits-cgan", "--samples", "5", "--out", "x.npy", "--labels", labels], capsys)
    assert "--out and --labels are the same file 'x.npy': the labels would replace the samples" in msg
    assert "give the labels their own file, e.g. 'x-labels.npy'" in msg
    assert (tmp_path / "x.npy").read_bytes() == b"old samples"


def test_genai_profile_is_honoured_and_profile_wins(tmp_path, capsys, fake_training, monkeypatch):
    out = str(tmp_path / "x.npy")
    monkeypatch.setenv("GENAI_PROFILE", "quick")
    assert generate.main(["digits-gan", "--samples", "3", "--out", out]) == 0
    assert "(quick profile)" in capsys.readouterr().out
    assert generate.main(["digits-gan", "--samples", "3", "--out", out, "--profile", "full"]) == 0
    assert "(full profile)" in capsys.readouterr().out
    monkeypatch.delenv("GENAI_PROFILE")
    assert generate.main(["digits-gan", "--samples", "3", "--out", out]) == 0
    assert fake_training == ["quick", "full", "full"]  # unset: the book's full profile
    capsys.readouterr()
    monkeypatch.setenv("GENAI_PROFILE", "fast")
    msg = error_of(["digits-gan", "--samples", "3", "--out", out], capsys)
    assert "GENAI_PROFILE='fast' is not a profile: expected 'quick' or 'full'" in msg


@pytest.mark.parametrize("value", ["0", "-2", "two"])
def test_bad_genai_threads_is_one_error_line(value, tmp_path, capsys, no_training, monkeypatch):
    monkeypatch.setenv("GENAI_THREADS", value)
    msg = error_of(["digits-gan", "--samples", "3", "--out", str(tmp_path / "x.npy")], capsys)
    assert f"GENAI_THREADS must be a positive integer (CPU threads, e.g. GENAI_THREADS=1), got {value!r}" in msg


def test_too_many_samples_are_refused_before_training(tmp_path, capsys, no_training):
    msg = error_of(["digits-gan", "--samples", str(10 ** 12), "--out", str(tmp_path / "x.npy")],
                   capsys)
    assert f"--samples {10 ** 12} would need about " in msg and " TB of memory to draw" in msg
    assert "ask for at most about" in msg and "another --seed" in msg
    assert list(tmp_path.iterdir()) == []


def test_the_memory_estimate_against_what_is_available(tmp_path, capsys, no_training, monkeypatch):
    monkeypatch.setattr(generate, "available_memory", lambda: 10 ** 6)  # 1 MB left
    per = generate.bytes_per_sample(recipes.recipe("mnist-diffusion"))
    assert per > 784 * 4  # more than the sample itself: the U-Net's activations
    msg = error_of(["mnist-diffusion", "--samples", "1000", "--out", str(tmp_path / "x.npy")],
                   capsys)
    assert "and 1.0 MB is available: ask for at most about" in msg
    for name in recipes.RECIPES:  # an estimate for every recipe, a few kB to a MB a sample
        assert 100 < generate.bytes_per_sample(recipes.recipe(name)) < 10 ** 7, name


def test_nan_samples_are_not_written(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(recipes, "train_recipe",
                        lambda name, **kw: Fake(recipes.recipe(name), value=float("nan")))
    out = tmp_path / "x.npy"
    generate.save_npy(out, np.zeros(2))
    msg = error_of(["digits-gan", "--samples", "4", "--out", str(out)], capsys)
    assert "digits-gan drew 4 of 4 samples with NaN or inf values, so nothing was written" in msg
    assert "train it again with another --seed" in msg
    assert np.array_equal(np.load(out), np.zeros(2)) and names(tmp_path) == ["x.npy"]


def old_pair(tmp_path):
    out, lab = tmp_path / "x.npy", tmp_path / "y.npy"
    generate.save_npy(out, np.zeros((2, 64), dtype=np.float32))
    generate.save_npy(lab, np.array([7, 7]))
    return out, lab


@pytest.mark.parametrize("fail", ["second write", "second rename"])
def test_samples_and_labels_land_together_or_not_at_all(fail, tmp_path, capsys, fake_training,
                                                         monkeypatch):
    """A failure between the two files keeps the old pair whole: never new samples beside old
    labels."""
    out, lab = old_pair(tmp_path)
    real_save, real_replace = np.save, os.replace

    def save(f, array, *a, **k):
        if np.issubdtype(np.asarray(array).dtype, np.integer):  # the labels
            raise OSError(28, "No space left on device")
        return real_save(f, array, *a, **k)

    def replace(src, dst):
        if os.path.basename(dst) == "y.npy" and str(src).endswith(".tmp"):
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    if fail == "second write":
        monkeypatch.setattr(np, "save", save)
    else:
        monkeypatch.setattr(generate.files.os, "replace", replace)
    argv = ["digits-cgan", "--samples", "6", "--out", str(out), "--labels", str(lab)]
    msg = error_of(argv, capsys)
    assert "could not write the output" in msg and "No space left on device" in msg
    assert "the old files are as they were" in msg
    monkeypatch.undo()
    assert np.load(out).shape == (2, 64) and np.load(lab).tolist() == [7, 7]
    assert names(tmp_path) == ["x.npy", "y.npy"]  # and no temporary files
    assert generate.main(argv) == 0  # then both new
    assert np.load(out).shape == (6, 64) and len(np.load(lab)) == 6


def test_text_goes_through_the_same_writer(tmp_path, capsys, fake_training, monkeypatch):
    written = []
    real = generate.files.write_together

    def spy(writes):
        written.extend(str(p) for p, _ in writes)
        return real(writes)

    monkeypatch.setattr(generate.files, "write_together", spy)
    out = tmp_path / "w.txt"
    assert generate.main(["words-transformer", "--samples", "3", "--out", str(out)]) == 0
    assert written == [str(out)] and len(out.read_text("utf-8").splitlines()) == 3
