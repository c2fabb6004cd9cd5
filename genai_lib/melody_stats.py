"""Measuring melodies: statistics that compare a set of melodies with real ones, the baselines
they are compared with, and a paired bootstrap that says whether a difference is more than noise.

Melodies are int arrays (N, T) of MIDI pitches, REST (-1) for silence, as in `music`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from genai_lib import checks
from genai_lib.music import C_MAJOR, HIGH, LOW, REST, as_melodies, notes

# The four statistics of `compare`, in the order `bootstrap_compare` reports distances on them.
MEASURES = ("pitch-class TV", "interval TV", "in key", "notes / window")

# Per-window counts: pitch classes (N, 12), intervals (N, 25), notes (N,), a 1 per window (N,).
Counts = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def pitch_class_hist(melodies: np.ndarray) -> np.ndarray:
    """Share of sounding steps on each pitch class C..B: (N, T) -> (12,), sums to 1."""
    m = as_melodies(melodies).reshape(-1)
    m = m[m != REST]
    h = np.bincount(m % 12, minlength=12).astype(float)
    return h / max(h.sum(), 1.0)


def interval_hist(melodies: np.ndarray, max_interval: int = 12) -> np.ndarray:
    """Share of each melodic step between consecutive notes, -max..+max semitones (clipped),
    over the notes of each melody: (N, T) -> (2 * max_interval + 1,), sums to 1."""
    counts = np.zeros(2 * max_interval + 1)
    for melody in as_melodies(melodies):
        p = np.array([n[0] for n in notes(melody)])
        if len(p) > 1:
            d = np.clip(np.diff(p), -max_interval, max_interval) + max_interval
            counts += np.bincount(d, minlength=len(counts))
    return counts / max(counts.sum(), 1.0)


def in_key_share(melodies: np.ndarray, scale: Sequence[int] = C_MAJOR) -> float:
    """Share of sounding steps whose pitch class is in `scale` (C major / A minor): -> float."""
    m = as_melodies(melodies).reshape(-1)
    m = m[m != REST]
    return float(np.isin(m % 12, scale).mean()) if len(m) else 0.0


def tv_distance(p: np.ndarray, q: np.ndarray) -> float:
    """Total variation distance between two histograms, 0.5 * sum |p - q| in [0, 1]."""
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    if p.shape != q.shape:
        raise ValueError(f"histograms must have the same shape, got {p.shape} and {q.shape}")
    return 0.5 * float(np.abs(p / p.sum() - q / q.sum()).sum())


def compare(real: np.ndarray, generated: np.ndarray) -> dict[str, float]:
    """Statistics of `generated` (N, T) against `real` (M, T): pitch-class and interval TV
    distances, share of steps in key, notes per window."""
    return {"pitch-class TV": tv_distance(pitch_class_hist(real), pitch_class_hist(generated)),
            "interval TV": tv_distance(interval_hist(real), interval_hist(generated)),
            "in key": in_key_share(generated),
            "notes / window": float(np.mean([len(notes(m)) for m in np.atleast_2d(generated)]))}


# --- the baselines --------------------------------------------------------------------------

def random_melodies(n: int, length: int = 16, low: int = LOW, high: int = HIGH, seed: int = 0,
                    durations: Sequence[int] = (1, 2, 2, 4)) -> np.ndarray:
    """The baseline: notes with uniform random pitches in [low, high] and durations drawn from
    `durations` (steps): -> (n, length)."""
    n, length = checks.positive_int("n", n), checks.positive_int("length", length)
    rng = np.random.default_rng(seed)
    out = np.empty((n, length), dtype=np.int64)
    for i in range(n):
        t = 0
        while t < length:
            d = int(rng.choice(durations))
            out[i, t:t + d] = rng.integers(low, high + 1)
            t += d
    return out


def shuffled_notes(melodies: np.ndarray, n: int, length: int = 16, seed: int = 0) -> np.ndarray:
    """The stronger baseline: notes (pitch, duration) drawn at random from `melodies` (M, T) and
    strung together: the right notes, in no musical order. -> (n, length)."""
    n, length = checks.positive_int("n", n), checks.positive_int("length", length)
    pool = [(p, d) for m in np.atleast_2d(melodies) for p, _, d in notes(m)]
    if not pool:
        raise ValueError("melodies contain no notes to draw from")
    rng = np.random.default_rng(seed)
    out = np.empty((n, length), dtype=np.int64)
    for i in range(n):
        t = 0
        while t < length:
            p, d = pool[rng.integers(len(pool))]
            out[i, t:t + d] = p
            t += d
    return out


# --- is a difference more than noise? A paired bootstrap on counts ---------------------------

def window_counts(melodies: np.ndarray) -> Counts:
    """What `compare` counts, window by window, so that a resample is a weighted sum of rows:
    (N, T) -> pitch-class counts (N, 12), interval counts (N, 25), notes (N,), ones (N,)."""
    rows = as_melodies(melodies)
    if len(rows) == 0:
        raise ValueError(f"melodies must hold at least one window (N >= 1), got shape {rows.shape}")
    n_notes = np.array([len(notes(m)) for m in rows], dtype=float)
    sounding = (rows != REST).sum(1)
    pc = np.stack([pitch_class_hist(m) for m in rows])
    iv = np.stack([interval_hist(m) for m in rows])
    moves = np.maximum(n_notes - 1, 0)  # intervals between notes
    return pc * sounding[:, None], iv * moves[:, None], n_notes, np.ones(len(rows))


def _summed(counts: Counts, weights: np.ndarray) -> Counts:
    """Counts summed over rows, each row weighted by how often it was drawn: (N,) -> totals."""
    return tuple(weights @ c for c in counts)


def _distances(real: Counts, gen: Counts) -> np.ndarray:
    """The four distances of a set to the real one, from summed counts: -> (4,), as MEASURES."""
    (rpc, riv, rn, rw), (gpc, giv, gn, gw) = real, gen
    in_key = list(C_MAJOR)
    key_real = rpc[in_key].sum() / rpc.sum()
    key_gen = gpc[in_key].sum() / gpc.sum()
    return np.array([tv_distance(rpc, gpc), tv_distance(riv, giv),
                     abs(key_real - key_gen), abs(rn / rw - gn / gw)])


def _by_piece(parts: Sequence[np.ndarray]) -> Counts:
    """One row of summed window counts per non-empty piece, the unit the bootstrap resamples."""
    rows = [tuple(c.sum(0) for c in window_counts(part)) for part in parts if len(part)]
    if not rows:
        raise ValueError("real_parts holds no windows: pass the held-out windows piece by piece, "
                         "[(n_i, T), ...], with at least one non-empty piece")
    return tuple(np.stack(c) for c in zip(*rows))


def bootstrap_compare(real_parts: Sequence[np.ndarray], a: np.ndarray, b: np.ndarray,
                      n_boot: int = 1000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Paired bootstrap: distances of two sets of melodies a (N, T) and b (M, T) to real windows
    given piece by piece [(n_i, T), ...], on the four MEASURES (TV distances; |set - real| for
    the share in key and notes per window). Each of n_boot rounds draws the pieces (whole: the
    overlapping windows of one piece are not independent) and each set's windows with
    replacement, and measures both sets against the same resampled real set.
    -> distances of a and b to all the real windows (2, 4), differences a - b (n_boot, 4)."""
    n_boot = checks.positive_int("n_boot", n_boot)
    real, counts_a, counts_b = _by_piece(real_parts), window_counts(a), window_counts(b)
    rng = np.random.default_rng(seed)
    draw = lambda c: rng.multinomial(len(c[0]), np.full(len(c[0]), 1 / len(c[0])))  # noqa: E731
    ones = lambda c: np.ones(len(c[0]))  # noqa: E731
    real_all = _summed(real, ones(real))
    point = np.stack([_distances(real_all, _summed(c, ones(c))) for c in (counts_a, counts_b)])
    diffs = np.empty((n_boot, len(MEASURES)))
    for i in range(n_boot):
        resampled = _summed(real, draw(real))
        diffs[i] = (_distances(resampled, _summed(counts_a, draw(counts_a)))
                    - _distances(resampled, _summed(counts_b, draw(counts_b))))
    return point, diffs
