"""Unit tests of genai_lib.melody_stats: histograms, distances, baselines, the paired bootstrap."""

import numpy as np
import pytest

from genai_lib import melody_stats as ms
from genai_lib import music

R = music.REST


def test_histograms_and_distances():
    m = np.array([[60, 62, 64, 60]])
    pc = ms.pitch_class_hist(m)
    assert pc.sum() == pytest.approx(1) and pc[0] == pytest.approx(0.5)
    iv = ms.interval_hist(m, max_interval=4)
    assert iv.shape == (9,) and iv[4 + 2] == pytest.approx(2 / 3) and iv[4 - 4] == pytest.approx(1 / 3)
    assert ms.in_key_share(np.array([60, 61, R, 62])) == pytest.approx(2 / 3)
    assert ms.tv_distance([1, 0], [0, 1]) == 1.0 and ms.tv_distance([1, 1], [2, 2]) == 0.0
    with pytest.raises(ValueError, match="same shape"):
        ms.tv_distance([1, 0], [1, 0, 0])


def test_compare_real_is_closer_than_random():
    rng = np.random.default_rng(0)
    scale = np.array([60, 62, 64, 65, 67, 69, 71, 72])
    steps = np.cumsum(rng.choice([-1, 1], size=(200, 16)), axis=1) % 8
    real = scale[steps]  # stepwise melodies in C major
    other = scale[(np.cumsum(rng.choice([-1, 1], size=(200, 16)), axis=1) % 8)]
    rand = ms.random_melodies(200, 16, seed=1)
    a, b = ms.compare(real, other), ms.compare(real, rand)
    assert a["interval TV"] < b["interval TV"] and a["pitch-class TV"] < b["pitch-class TV"]
    assert a["in key"] == 1.0 and b["in key"] < 0.8


def test_baselines_shapes_and_pool():
    r = ms.random_melodies(5, 16, seed=0)
    assert r.shape == (5, 16) and r.min() >= music.LOW and r.max() <= music.HIGH
    pool = np.array([[60, 60, 64, 64]])
    s = ms.shuffled_notes(pool, 10, 8, seed=0)
    assert s.shape == (10, 8) and set(np.unique(s)) <= {60, 64}
    with pytest.raises(ValueError, match="no notes"):
        ms.shuffled_notes(np.array([[R, R]]), 2)


def scale_melodies(n: int, seed: int) -> np.ndarray:
    """n stepwise melodies (n, 16) in C major, with a rest now and then."""
    rng = np.random.default_rng(seed)
    scale = np.array([60, 62, 64, 65, 67, 69, 71, 72])
    m = scale[np.cumsum(rng.choice([-1, 0, 1], size=(n, 16)), axis=1) % 8]
    m[rng.random(m.shape) < 0.05] = R
    return m


def test_window_counts_add_up_to_compare():
    real, gen = scale_melodies(30, 0), ms.random_melodies(20, 16, seed=1)
    pc, iv, notes, ones = ms.window_counts(gen)
    assert pc.shape == (20, 12) and iv.shape == (20, 25) and notes.shape == ones.shape == (20,)
    assert pc.sum() == (gen != R).sum() and np.all(ones == 1)
    assert np.allclose(pc.sum(0) / pc.sum(), ms.pitch_class_hist(gen))
    assert np.allclose(iv.sum(0) / iv.sum(), ms.interval_hist(gen))
    assert notes.mean() == pytest.approx(ms.compare(real, gen)["notes / window"])
    with pytest.raises(ValueError, match="at least one window"):
        ms.window_counts(np.zeros((0, 16), dtype=int))


def test_bootstrap_point_estimates_are_compare():
    parts = [scale_melodies(n, seed) for n, seed in [(6, 0), (0, 1), (9, 2), (4, 3)]]
    real = np.concatenate(parts)
    a, b = scale_melodies(40, 7), ms.random_melodies(30, 16, seed=2)
    point, diffs = ms.bootstrap_compare(parts, a, b, n_boot=50, seed=0)
    assert point.shape == (2, 4) and diffs.shape == (50, 4)
    real_stats = ms.compare(real, real)
    for row, m in zip(point, (a, b)):
        stats = ms.compare(real, m)
        want = [stats["pitch-class TV"], stats["interval TV"],
                abs(stats["in key"] - real_stats["in key"]),
                abs(stats["notes / window"] - real_stats["notes / window"])]
        np.testing.assert_allclose(row, want, atol=1e-12)
    assert list(ms.MEASURES) == ["pitch-class TV", "interval TV", "in key", "notes / window"]


def test_bootstrap_is_seeded_paired_and_centred():
    parts = [scale_melodies(8, seed) for seed in range(6)]
    a, b = scale_melodies(40, 10), ms.random_melodies(40, 16, seed=3)
    point, diffs = ms.bootstrap_compare(parts, a, b, n_boot=200, seed=4)
    again = ms.bootstrap_compare(parts, a, b, n_boot=200, seed=4)[1]
    assert np.array_equal(diffs, again)  # the same seed, the same resamples
    assert not np.array_equal(diffs, ms.bootstrap_compare(parts, a, b, n_boot=200, seed=5)[1])
    # random notes are farther from the scale melodies than scale melodies: a - b < 0,
    # beyond the noise on the interval distance
    low, high = np.percentile(diffs, [2.5, 97.5], axis=0)
    assert high[1] < 0 and low[1] <= point[0, 1] - point[1, 1] <= high[1]
    # a set against itself is as close as itself
    p_same, _ = ms.bootstrap_compare(parts, a, a, n_boot=10, seed=0)
    assert np.array_equal(p_same[0], p_same[1])


def test_bootstrap_refuses_bad_input():
    a = scale_melodies(5, 0)
    with pytest.raises(ValueError, match="real_parts holds no windows"):
        ms.bootstrap_compare([np.zeros((0, 16), dtype=int)], a, a)
    with pytest.raises(ValueError, match="n_boot must be a positive integer, got 0"):
        ms.bootstrap_compare([a], a, a, n_boot=0)
    with pytest.raises(ValueError, match="melodies must hold integer MIDI pitches"):
        ms.bootstrap_compare([a], a + 0.5, a)
