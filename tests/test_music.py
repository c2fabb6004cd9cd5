"""Unit tests of genai_lib.music: chorales, windows, tunes, encodings, notes, piano roll."""

import numpy as np
import matplotlib.pyplot as plt
import pytest

from genai_lib import melody_stats, music

R = music.REST


def test_soprano_line_from_a_tiny_score():
    from music21 import note, stream

    score, part = stream.Score(), stream.Part()
    part.partName = "Soprano"
    for name, ql in [("G4", 1.0), ("A4", 0.5), ("B4", 0.5), ("G4", 2.0)]:
        part.append(note.Note(name, quarterLength=ql))
    score.insert(0, part)
    line = music.soprano_line(score, steps_per_quarter=2)
    assert len(line) == 8
    assert line[0] == line[1] and line[2] + 2 == line[3]   # held note; a whole step up
    assert melody_stats.in_key_share(line) == 1.0           # G major moved to C major


def test_load_chorales_caches(tmp_path, monkeypatch):
    monkeypatch.setenv("GENAI_CACHE", str(tmp_path))
    lines = music.load_chorales(2)
    assert len(lines) == 2 and all(l.ndim == 1 and len(l) > 8 for l in lines)
    assert list(tmp_path.glob("bach_soprano_n2_*.npz"))
    again = music.load_chorales(2)
    assert all(np.array_equal(a, b) for a, b in zip(lines, again))
    first = music.load_chorales(1)  # served from the larger cached parse
    assert len(first) == 1 and np.array_equal(first[0], lines[0])
    assert not list(tmp_path.glob("bach_soprano_n1_*.npz"))
    with pytest.raises(ValueError, match="n must be"):
        music.chorale_paths(0)


def test_windows_hop_and_rest_filter():
    line = np.array([60] * 10 + [R] * 6)
    w = music.windows([line], length=4, hop=2, max_rest=0.25)
    assert w.shape == (4, 4)  # starts 0, 2, 4, 6; at 8 half the steps are rests
    with pytest.raises(ValueError, match="length"):
        music.windows([line], length=1)


def test_fold_and_one_hot_round_trip():
    m = np.array([[40, 60, R, 90]])
    f = music.fold(m)
    assert f[0, 0] % 12 == 40 % 12 and music.LOW <= f[0, 0] <= music.HIGH and f[0, 2] == R
    x = music.one_hot(m)
    k = music.HIGH - music.LOW + 2
    assert x.shape == (1, 4 * k) and x.sum() == 4
    assert np.array_equal(music.from_scores(x, 4), f)
    with pytest.raises(ValueError, match="scores must have shape"):
        music.from_scores(x, 5)


def test_from_scores_sampling_follows_temperature():
    k = music.HIGH - music.LOW + 2
    logits = np.zeros((200, 2 * k))
    logits[:, 1] = 3.0  # step 0 prefers class 1 (pitch LOW)
    cold = music.from_scores(logits, 2, temperature=0.05, seed=0)
    hot = music.from_scores(logits, 2, temperature=100.0, seed=0)
    assert (cold[:, 0] == music.LOW).mean() > 0.95
    assert (hot[:, 0] == music.LOW).mean() < 0.2
    with pytest.raises(ValueError, match="temperature"):
        music.from_scores(logits, 2, temperature=-1)


def test_notes_are_runs_without_rests():
    assert music.notes(np.array([60, 60, R, 62, 64, 64, 64])) == [(60, 0, 2), (62, 3, 1), (64, 4, 3)]
    assert music.notes(np.array([])) == []


def test_piano_roll_draws_one_bar_per_note():
    import matplotlib.pyplot as plt

    ax = music.piano_roll(np.array([60, 60, 62, R]), title="x")
    assert len(ax.collections) == 2 and ax.get_xlabel() == "time (beats)"
    plt.close("all")


def test_tokens_round_trip():
    m = np.array([[60, 60, 62, music.REST, 64, 64, 90, 40]])
    t = music.tokens(m)
    assert t.tolist() == [[4, 4, 6, 0, 8, 8, 22, 8]]  # 90 and 40 folded by octaves
    assert music.from_tokens(t).tolist() == [[60, 60, 62, music.REST, 64, 64, 78, 64]]
    with pytest.raises(ValueError, match="tokens must be in"):
        music.from_tokens(np.array([[29]]))


def test_note_names_label_the_piano_roll():
    assert [music.note_name(p) for p in (60, 61, 69, 72, 48)] == ["C4", "C#4", "A4", "C5", "C3"]
    ax = music.piano_roll(np.array([60, 62, 64, 65, 67, 0, 72, 71]))
    ax.figure.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert labels and all(label[0] in "CDEFGAB" for label in labels), labels
    plt.close(ax.figure)


def test_as_melodies_and_windows_refuse_bad_input():
    assert music.as_melodies([60, R]).tolist() == [[60, R]]
    with pytest.raises(ValueError, match=r"melodies must have shape \(N, T\)"):
        music.as_melodies(np.zeros((1, 2, 3)))
    with pytest.raises(ValueError, match="hop must be a positive integer, got 0"):
        music.windows([np.array([60] * 8)], length=4, hop=0)


def test_tune_groups_link_shared_bars_and_chains():
    rng = np.random.default_rng(0)
    tune = lambda: rng.integers(60, 72, size=64)  # random lines: no shared windows
    a, b, c, d = tune(), tune(), tune(), tune()
    b[10:10 + music.TUNE_STEPS] = a[20:20 + music.TUNE_STEPS]  # 4 bars of a, elsewhere in b
    c[:music.TUNE_STEPS] = b[30:30 + music.TUNE_STEPS]  # c shares 4 bars with b: a chain
    e = a.copy()
    e[::8] += 1  # a variant of a: a note changed every bar, no 4 bars alike
    lines = [a, d, b, c, e]
    groups = music.tune_groups(lines)
    assert groups[0] == groups[2] == groups[3], groups  # a, b, c: one tune
    assert groups[1] != groups[0] and groups[4] != groups[0], groups
    assert groups.tolist() == [0, 1, 0, 0, 2]  # numbered in order of first appearance
    # key finding can move a setting an octave away: still the same tune
    assert len(set(music.tune_groups([a, np.r_[d[:7], a[20:60] + 12]]))) == 1
    # a run of rests shared by two lines does not make them one tune
    rests = np.full(2 * music.TUNE_STEPS, R)
    assert len(set(music.tune_groups([np.r_[a, rests], np.r_[rests, d]]))) == 2


def test_tune_groups_link_a_large_share_of_two_bar_phrases():
    rng = np.random.default_rng(1)
    a = rng.integers(60, 72, size=96)
    b = a.copy()
    b[music.PHRASE_STEPS + 15::music.PHRASE_STEPS + 15] += 1  # a note off every 31 steps
    assert not {w.tobytes() for w in music.windows([a], music.TUNE_STEPS, hop=1)} & {
        w.tobytes() for w in music.windows([b], music.TUNE_STEPS, hop=1)}
    assert len(set(music.tune_groups([a, b]))) == 1  # but most two-bar phrases agree
    assert len(set(music.tune_groups([a, rng.integers(60, 72, size=96)]))) == 2


def test_tune_split_keeps_tunes_whole():
    rng = np.random.default_rng(2)
    lines = [rng.integers(60, 72, size=48) for _ in range(10)]
    lines[9] = lines[0].copy()  # the last melody sets the first one's tune
    train, held_out = music.tune_split(lines, held_out=0.2)
    assert 0 in train and 9 in train, (train, held_out)
    assert held_out.tolist() == [7, 8]  # the latest tunes, 20 % of the melodies
    with pytest.raises(ValueError, match="held_out must be between 0 and 1"):
        music.tune_split(lines, held_out=1.0)
