"""The chorale split holds out whole tunes: no held-out window is a training window.

Bach set many hymn tunes several times; split chorale by chorale, two settings of one tune
can land on both sides, and a held-out window is then often a training window note for note.
`music.tune_split` groups the settings of a tune (`music.tune_groups`) and holds out whole
tunes; these tests check it on the chorales of both profiles (recipes.CHORALES)."""

import numpy as np
import pytest

from genai_lib import music, recipes

L = recipes.MELODY_STEPS


def every_window(lines, length=L):
    """Each window of `length` steps, at every offset, of the lines, as bytes of tokens."""
    return {w.tobytes() for w in music.tokens(music.windows(lines, length, hop=1))}


@pytest.mark.parametrize("n", recipes.CHORALES)  # the quick and the full profile's chorales
def test_no_held_out_window_is_a_training_window(n):
    split = recipes.chorale_split(n)
    train = {row.tobytes() for row in split.x_train.numpy()}
    copies = sum(row.tobytes() in train for row in split.x_test.numpy())
    assert len(split.x_test) > 0 and copies == 0, (
        f"{copies} of {len(split.x_test)} held-out windows are training windows")
    # stronger: no 4 bars of a held-out chorale, at any offset, occur in a training chorale
    lines = music.load_chorales(n)
    train_idx, test_idx = music.tune_split(lines)
    shared = (every_window([lines[i] for i in train_idx])
              & every_window([lines[i] for i in test_idx]))
    assert not shared, f"{len(shared)} windows of {L} steps occur on both sides"


@pytest.mark.parametrize("n", recipes.CHORALES)
def test_whole_tunes_on_each_side_and_about_a_fifth_held_out(n):
    lines = music.load_chorales(n)
    tunes = music.tune_groups(lines)
    train_idx, test_idx = music.tune_split(lines)
    assert sorted(np.r_[train_idx, test_idx].tolist()) == list(range(n))
    assert not set(tunes[train_idx]) & set(tunes[test_idx]), "a tune on both sides"
    assert 0.15 <= len(test_idx) / n <= 0.25, (len(test_idx), n)
    assert 1 < tunes.max() + 1 < n, "some chorales share a tune, most do not"


def test_the_chorale_by_chorale_split_leaked():
    """The split the book used before, the first 80 % of the chorales by file order against
    the rest: a fifth of its held-out windows were training windows (the check has teeth)."""
    n = recipes.CHORALES[1]
    lines = music.load_chorales(n)
    cut = int(0.8 * n)
    train = {w.tobytes() for w in music.tokens(music.windows(lines[:cut], L, hop=4))}
    held_out = music.tokens(music.windows(lines[cut:], L, hop=L))
    share = np.mean([w.tobytes() in train for w in held_out])
    assert share > 0.15, share


def test_settings_of_one_tune_are_one_group():
    """The Passion chorale (O Haupt voll Blut und Wunden = Herzlich tut mich verlangen =
    Befiehl du deine Wege): five settings in the St Matthew Passion and others elsewhere."""
    n = recipes.CHORALES[1]
    names = [p.stem for p in music.chorale_paths(n)]
    tunes = music.tune_groups(music.load_chorales(n))
    tune = {name: tunes[names.index(name)] for name in (
        "bwv244.15", "bwv244.17", "bwv244.44", "bwv244.54", "bwv244.62", "bwv153.5",
        "bwv161.6", "bwv248.5")}
    assert len(set(tune.values())) == 1, tune
    assert tunes[names.index("bwv244.3")] != tune["bwv244.15"]  # Herzliebster Jesu


def test_window_tunes_label_the_windows_as_windows_cuts_them():
    lines = music.load_chorales(recipes.CHORALES[0])
    train, held_out = music.tune_split(lines)
    tunes = music.tune_groups(lines)
    labels = music.window_tunes(lines, held_out, L, hop=L)
    cut = [music.windows([lines[i]], L, hop=L) for i in held_out]
    assert len(labels) == sum(len(c) for c in cut) == len(recipes.chorale_split(
        recipes.CHORALES[0]).x_test)
    # numbered 0, 1, ... among the held-out tunes, equal exactly where the tunes are
    assert set(labels) == set(range(len(set(tunes[held_out]))))
    owner = np.repeat(tunes[held_out], [len(c) for c in cut])
    assert np.array_equal(labels[:, None] == labels, owner[:, None] == owner)
