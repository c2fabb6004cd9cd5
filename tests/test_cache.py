"""The cache under $GENAI_CACHE as a best-effort layer (`genai_lib.cache`): an unwritable
cache is reported once and the work goes on; a damaged entry is named, moved aside and
computed again; nothing finished is lost and torch's `weights_only=False` is never advised."""

import errno
import os
import time
import warnings
from dataclasses import replace

import numpy as np
import pytest
import torch

from genai_lib import cache, checkpoint, data, files, music, quality, recipes, train

TINY = recipes.Recipe("tiny-vae", "digits", recipes.VAESettings(2, 8), epochs=(1, 1),
                      batch_size=32)


@pytest.fixture(autouse=True)
def tiny(monkeypatch, tmp_path):
    """A recipe that trains in a moment, a cache of this test's own, warnings afresh."""
    monkeypatch.setitem(recipes.RECIPES, TINY.name, TINY)
    monkeypatch.setenv("GENAI_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GENAI_DEVICE", "cpu")
    monkeypatch.setattr(cache, "_warned", set())


@pytest.fixture(scope="module")
def split():
    d = data.digits()
    return data.Split(d.x_train[:64], d.y_train[:64], d.x_test[:8], d.y_test[:8])


@pytest.fixture
def fits(monkeypatch):
    """Counts the training runs (calls of train.fit)."""
    calls = []
    real = train.fit

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(train, "fit", counting)
    return calls


def trained(split):
    return recipes.train_recipe(TINY.name, profile="quick", split=split)


def same_weights(a, b):
    sa, sb = a.model.state_dict(), b.model.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def entry(tmp_path):
    (path,) = (tmp_path / "cache" / "recipes").glob("tiny-vae-quick-*.pt")
    return path


# --- an unwritable cache: say so once, go on --------------------------------------------------

def cache_is_a_file(tmp_path, monkeypatch):
    path = tmp_path / "cache-file"
    path.write_text("not a folder")
    monkeypatch.setenv("GENAI_CACHE", str(path))


def recipes_folder_is_a_file(tmp_path, monkeypatch):
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "recipes").write_text("in the way")


def read_only_file_system(tmp_path, monkeypatch):
    def refuse(path, write, suffix=".tmp"):
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(cache, "atomic_write", refuse)


def read_only_folder(tmp_path, monkeypatch):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    (tmp_path / "cache" / "recipes").mkdir(parents=True)
    (tmp_path / "cache" / "recipes").chmod(0o500)


@pytest.mark.parametrize("unwritable", [cache_is_a_file, recipes_folder_is_a_file,
                                        read_only_file_system, read_only_folder])
def test_an_unwritable_cache_warns_once_and_returns_the_model(unwritable, split, fits,
                                                              tmp_path, monkeypatch):
    unwritable(tmp_path, monkeypatch)
    with pytest.warns(cache.CacheWarning) as seen:
        first = trained(split)
        second = trained(split)  # trained again (nothing was kept), not warned again
    assert len(fits) == 2 and same_weights(first, second)
    assert first.history and not first.model.training
    assert len(seen) == 1, [str(w.message) for w in seen]
    message = str(seen[0].message)
    assert "cannot be written" in message and "the trained tiny-vae is not kept" in message
    assert "Set GENAI_CACHE to a folder you can write" in message
    assert torch.isfinite(first.sample(4)).all()


# --- damaged entries: named, moved aside, trained again ----------------------------------------

def rewrite(path, **changes):
    """The entry with some of its parts changed (None: removed)."""
    saved = checkpoint.load(path)
    for key, value in changes.items():
        if value is None:
            del saved[key]
        else:
            saved[key] = value(saved[key]) if callable(value) else value
    torch.save(saved, path)


def nan_weights(state):
    state = dict(state)
    key = next(k for k, v in state.items() if v.is_floating_point())
    state[key] = torch.full_like(state[key], float("nan"))
    return state


def other_shapes(state):
    return {k: torch.zeros(tuple(s + 1 for s in v.shape)) for k, v in state.items()}


DAMAGE = {  # name: (damage, words the warning must hold)
    "empty file": (lambda p: p.write_bytes(b""), "the file is empty (0 bytes)"),
    "garbage": (lambda p: p.write_bytes(b"garbage " * 100), "not a torch file"),
    "cut short": (lambda p: p.write_bytes(p.read_bytes()[:200]), "truncated"),
    "pickled code": (lambda p: p.write_bytes(b"\x80\x04cos\nsystem\n."), "could run code"),
    "other shapes": (lambda p: rewrite(p, model=other_shapes), "weights of another model"),
    "missing entry": (lambda p: rewrite(p, rng=None), "no 'rng' entry"),
    "bad random state": (lambda p: rewrite(p, rng={"python": 3}), "the random state is damaged"),
    "NaN weights": (lambda p: rewrite(p, model=nan_weights), "NaN or inf weights in"),
    "old format": (lambda p: rewrite(p, format_version=1), "checkpoint format 1"),
    "history not a dict": (lambda p: rewrite(p, history=[1.0]), "history is not a dict"),
}


@pytest.mark.parametrize("damage, words", DAMAGE.values(), ids=DAMAGE.keys())
def test_a_damaged_recipe_is_moved_aside_and_trained_again(damage, words, split, fits,
                                                            tmp_path):
    first = trained(split)
    path = entry(tmp_path)
    damage(path)
    after = torch.get_rng_state()
    with pytest.warns(cache.CacheWarning) as seen:
        again = trained(split)
    (warning,) = [str(w.message) for w in seen if w.category is cache.CacheWarning]
    assert f"the cached file {str(path)!r} is damaged (" in warning and words in warning
    assert "moved aside to" in warning and "computed again" in warning
    assert "weights_only" not in warning
    (bad,) = path.parent.glob(path.name + ".bad-*")
    assert bad.name in warning
    assert len(fits) == 2 and same_weights(first, again)  # trained again, as the first time
    assert torch.equal(torch.get_rng_state(), after)  # the same random state follows
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the new entry is whole: loaded without a word
        third = trained(split)
    assert len(fits) == 2 and same_weights(first, third)


def test_a_damaged_entry_that_cannot_be_moved_is_named(split, fits, tmp_path, monkeypatch):
    trained(split)
    path = entry(tmp_path)
    path.write_bytes(b"")

    def refuse(self, target):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(type(path), "rename", refuse)
    with pytest.warns(cache.CacheWarning, match=r"is damaged \(the file is empty .*could not be "
                                                r"moved aside .*delete the file"):
        trained(split)
    assert len(fits) == 2


def test_a_damaged_judge_is_moved_aside_and_trained_again(tmp_path, monkeypatch):
    monkeypatch.setitem(recipes.JUDGES, "digits", (16, 1))
    first = recipes.judge("digits")
    (path,) = (tmp_path / "cache" / "judges").glob("digits-*.pt")
    rewrite(path, model=nan_weights)
    with pytest.warns(cache.CacheWarning, match=r"is damaged \(NaN or inf weights in"):
        again = recipes.judge("digits")
    assert all(torch.equal(v, again.state_dict()[k]) for k, v in first.state_dict().items())
    assert list(path.parent.glob(path.name + ".bad-*"))


def test_a_judge_in_an_unwritable_cache(tmp_path, monkeypatch):
    monkeypatch.setitem(recipes.JUDGES, "digits", (16, 1))
    cache_is_a_file(tmp_path, monkeypatch)
    with pytest.warns(cache.CacheWarning, match="the judge of digits is not kept"):
        judge = recipes.judge("digits")
    assert isinstance(judge, quality.Judge)


def test_a_recipe_with_nan_weights_never_reaches_the_samples(split, tmp_path):
    """A cached model with NaN weights used to write NaN samples and exit 0."""
    trained(split)
    rewrite(entry(tmp_path), model=nan_weights)
    with pytest.warns(cache.CacheWarning):
        again = trained(split)
    assert torch.isfinite(again.sample(8)).all()


# --- the chorales' .npz cache ------------------------------------------------------------------

def parse(tmp_path, n=1):
    return music.load_chorales(n)


def chorale_entry(tmp_path):
    (path,) = (tmp_path / "cache").glob("bach_soprano_n*_spq2.npz")
    return path


def save_npz(path, **arrays):
    with open(path, "wb") as f:
        np.savez(f, **arrays)


CHORALE_DAMAGE = {
    "empty file": (lambda p: p.write_bytes(b""), ""),
    "garbage": (lambda p: p.write_bytes(b"garbage " * 50), ""),
    "missing array": (lambda p: save_npz(p, pitches=np.zeros(4, int)), "no lengths array"),
    "lengths that do not add up": (
        lambda p: save_npz(p, pitches=np.zeros(4, int), lengths=np.array([9])),
        "1 lengths summing to 9 for 1 chorales of 4 steps"),
    "not pitches": (lambda p: save_npz(p, pitches=np.full(4, 500), lengths=np.array([4])),
                    "not MIDI pitches"),
    "float pitches": (lambda p: save_npz(p, pitches=np.zeros(4), lengths=np.array([4])),
                      "must be integer vectors"),
}


@pytest.mark.parametrize("damage, words", CHORALE_DAMAGE.values(), ids=CHORALE_DAMAGE.keys())
def test_a_damaged_chorale_cache_is_moved_aside_and_parsed_again(damage, words, tmp_path):
    first = parse(tmp_path)
    path = chorale_entry(tmp_path)
    damage(path)
    with pytest.warns(cache.CacheWarning, match="is damaged") as seen:
        again = parse(tmp_path)
    assert words in str(seen[0].message) and str(path) in str(seen[0].message)
    assert len(again) == 1 and np.array_equal(first[0], again[0])
    assert list(path.parent.glob(path.name + ".bad-*")) and path.exists()  # parsed and kept


def test_chorales_in_an_unwritable_cache(tmp_path, monkeypatch):
    cache_is_a_file(tmp_path, monkeypatch)
    with pytest.warns(cache.CacheWarning, match="the parse of 1 chorales is not kept"):
        lines = parse(tmp_path)
    assert len(lines) == 1 and len(lines[0]) > 16


# --- the layer itself ---------------------------------------------------------------------------

def test_lookup_store_and_quarantine(tmp_path):
    path = cache.path("things", "a.bin")
    assert path == tmp_path / "cache" / "things" / "a.bin" and not path.parent.exists()
    assert cache.lookup(path, lambda p: p.read_bytes()) is None  # nothing yet, no folder made
    assert not (tmp_path / "cache").exists()
    assert cache.store(path, lambda f: f.write(b"x"))
    assert cache.lookup(path, lambda p: p.read_bytes()) == b"x"

    def damaged(p):
        raise ValueError("no good")

    with pytest.warns(cache.CacheWarning, match=r"a\.bin' is damaged \(no good\): moved aside to "
                                                r"'a\.bin\.bad-\d{8}-\d{6}'"):
        assert cache.lookup(path, damaged) is None
    assert not path.exists() and len(list(path.parent.glob("a.bin.bad-*"))) == 1


def test_stale_temporaries_in_the_cache_are_cleaned(split, tmp_path):
    folder = tmp_path / "cache" / "recipes"
    folder.mkdir(parents=True)
    stale, fresh = folder / ".tiny-vae-quick-x.pt.0a0b0c0d.tmp", folder / ".other.pt.01234567.tmp"
    for p in (stale, fresh):
        p.write_bytes(b"half a checkpoint")
    old = time.time() - 2 * files.STALE_SECONDS
    os.utime(stale, (old, old))
    trained(split)
    assert not stale.exists() and fresh.exists()


def test_an_explicit_checkpoint_stays_strict(tmp_path):
    """A checkpoint the reader names is not a cache: a damaged one is refused, not moved."""
    path = tmp_path / "mine.pt"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match=r"mine\.pt' is not a readable genai_lib checkpoint "
                                         r"\(the file is empty \(0 bytes\)\)"):
        checkpoint.load_model(path, torch.nn.Linear(2, 2))
    assert path.exists() and list(tmp_path.iterdir()) == [path]
