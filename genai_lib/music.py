"""Music: Bach chorale melodies from music21's offline corpus as fixed-length windows, their
one-hot and token encodings, a split that keeps every tune on one side, and a piano roll.
(`sound` turns melodies into audio and MIDI files; `melody_stats` measures and compares sets
of melodies.)

A melody is an int array (T,) of MIDI pitches, one per time step (an eighth note with
steps_per_quarter=2); REST (-1) marks silence. A held note repeats its pitch; a new note on the
same pitch is not distinguished from a held one (a limitation of this simple encoding).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from genai_lib import checks, runtime
from genai_lib.cache import lookup, store

REST = -1
LOW, HIGH = 57, 84        # A3 .. C6: the sopranos' range after moving every chorale to C / A minor
C_MAJOR = (0, 2, 4, 5, 7, 9, 11)  # pitch classes of C major = A natural minor
# Two melodies set one tune when they share a window of TUNE_STEPS steps (four bars of eighth
# notes, note for note) or at least SHARED_PHRASES of their windows of PHRASE_STEPS (two bars).
# Measured on the first 150 chorales: settings of one tune that share less than 10 % (a
# version with interludes, another metre) are linked through a third setting, and two
# different tunes share at most 9.7 %, except one pair whose closing phrases agree (bwv254
# and bwv110.7, linked: a held-out set with fewer repeats is worth a coarser split).
TUNE_STEPS, PHRASE_STEPS, SHARED_PHRASES = 32, 16, 0.1


def as_melodies(melodies: np.ndarray) -> np.ndarray:
    """Melodies as an int64 array (N, T) of MIDI pitches or REST (-1), or a clear error; a single
    melody (T,) becomes (1, T)."""
    m = np.asarray(melodies)
    if m.ndim == 1:
        m = m[None]
    if m.ndim != 2:
        raise ValueError(f"melodies must have shape (N, T) (MIDI pitches, -1 = rest), got {m.shape}")
    if m.size and (not np.issubdtype(m.dtype, np.number) or np.any(m != np.round(m))
                   or m.min() < REST or m.max() > 127):
        raise ValueError(f"melodies must hold integer MIDI pitches 0..127 or {REST} for a rest, "
                         f"got dtype {m.dtype}" + (f" with values in [{m.min()}, {m.max()}]"
                                                   if np.issubdtype(m.dtype, np.number) else ""))
    return m.astype(np.int64)


def notes(melody: np.ndarray) -> list[tuple[int, int, int]]:
    """Runs of equal pitch as notes (pitch, start_step, n_steps), rests left out: (T,) -> list."""
    m = np.asarray(melody)
    if m.ndim != 1:
        raise ValueError(f"melody must be one melody of shape (T,), got {m.shape} "
                         f"(loop over the rows of a batch)")
    if len(m) == 0:
        return []
    starts = np.flatnonzero(np.r_[True, m[1:] != m[:-1]])
    ends = np.r_[starts[1:], len(m)]
    return [(int(m[s]), int(s), int(e - s)) for s, e in zip(starts, ends) if m[s] != REST]


def soprano_line(score, steps_per_quarter: int = 2) -> np.ndarray:
    """The soprano of a music21 score, moved to C major / A minor, one MIDI pitch per step: -> (T,)."""
    parts = list(score.parts)
    if not parts:
        raise ValueError("the score has no parts")
    part = next((p for p in parts if (p.partName or "").lower().startswith("soprano")), parts[0])
    key = score.analyze("key")  # Krumhansl-Schmuckler key finding on all voices
    target = 0 if key.mode == "major" else 9  # C or A
    shift = (target - key.tonic.pitchClass) % 12
    shift = shift - 12 if shift > 6 else shift  # move by at most a tritone, keeps the range
    events = list(part.flatten().notes)
    end = max((float(n.offset + n.quarterLength) for n in events), default=0.0)
    line = np.full(int(round(end * steps_per_quarter)), REST, dtype=np.int64)
    for n in events:
        pitch = max(p.midi for p in n.pitches) + shift  # a chord in the part: keep the top note
        start = int(round(float(n.offset) * steps_per_quarter))
        stop = int(round(float(n.offset + n.quarterLength) * steps_per_quarter))
        line[start:stop] = pitch
    return line


def chorale_paths(n: int) -> list:
    """The first n Bach chorale files (MusicXML) of music21's corpus, in a fixed order."""
    from music21 import corpus

    paths = sorted(p for p in corpus.getComposer("bach") if p.suffix in (".mxl", ".xml"))
    if not 1 <= n <= len(paths):
        raise ValueError(f"n must be between 1 and {len(paths)} (chorales in the corpus), got {n}")
    return paths[:n]


def load_chorales(n: int = 40, steps_per_quarter: int = 2, cache: bool = True) -> list[np.ndarray]:
    """Soprano lines of the first n chorales, [(T_i,), ...]; parsed once, then read from an .npz
    cache (best effort, `genai_lib.cache`: a damaged file is moved aside and parsed again, an
    unwritable cache gives a warning)."""
    folder = runtime.cache_dir(create=False)
    path = folder / f"bach_soprano_n{n}_spq{steps_per_quarter}.npz"
    # Any cached parse of at least n chorales will do: the files come in a fixed order.
    found = sorted(item for item in _parses(folder, steps_per_quarter) if item[0] >= n)
    for count, p in found if cache else ():
        lines = lookup(p, lambda q: _read_parse(q, count))
        if lines is not None:
            return lines[:n]
    from music21 import corpus

    lines = [soprano_line(corpus.parse(p), steps_per_quarter) for p in chorale_paths(n)]
    if cache:  # atomically: a crash never leaves a half-written cache
        store(path, lambda f: np.savez_compressed(
            f, pitches=np.concatenate(lines), lengths=np.array([len(x) for x in lines])),
            f"the parse of {n} chorales")
    return lines


def _parses(folder, steps_per_quarter: int) -> list:
    """The cached parses in `folder`: [(chorales, path), ...] (none if it cannot be read)."""
    out = []
    try:
        paths = list(folder.glob(f"bach_soprano_n*_spq{steps_per_quarter}.npz"))
    except OSError:
        return out
    for p in paths:
        count = p.stem.split("_")[2][1:]
        if count.isdigit():
            out.append((int(count), p))
    return out


def _read_parse(path, count: int) -> list[np.ndarray]:
    """The `count` soprano lines of a cached parse, checked (a clear ValueError if damaged)."""
    with np.load(path, allow_pickle=False) as f:
        missing = [k for k in ("pitches", "lengths") if k not in f.files]
        if missing:
            raise ValueError(f"no {', '.join(missing)} array")
        pitches, lengths = f["pitches"], f["lengths"]
    if pitches.ndim != 1 or lengths.ndim != 1 or not (
            np.issubdtype(pitches.dtype, np.integer) and np.issubdtype(lengths.dtype, np.integer)):
        raise ValueError(f"pitches {pitches.dtype}{pitches.shape} and lengths "
                         f"{lengths.dtype}{lengths.shape} must be integer vectors")
    if len(lengths) != count or lengths.min(initial=0) < 0 or lengths.sum() != len(pitches):
        raise ValueError(f"{len(lengths)} lengths summing to {lengths.sum()} for {count} "
                         f"chorales of {len(pitches)} steps")
    if pitches.size and (pitches.min() < REST or pitches.max() > 127):
        raise ValueError(f"pitches in [{pitches.min()}, {pitches.max()}], not MIDI pitches")
    return np.split(pitches.astype(np.int64), np.cumsum(lengths)[:-1])


def windows(lines: Sequence[np.ndarray], length: int = 16, hop: int = 2,
            max_rest: float = 0.25) -> np.ndarray:
    """Cut melodies into windows of `length` steps every `hop` steps, dropping those with more
    than `max_rest` of rests: [(T_i,), ...] -> (N, length)."""
    length, hop = checks.positive_int("length", length, low=2), checks.positive_int("hop", hop)
    out = [line[s:s + length] for line in lines for s in range(0, len(line) - length + 1, hop)]
    out = [w for w in out if np.mean(w == REST) <= max_rest]
    return np.array(out, dtype=np.int64).reshape(-1, length)


def tune_groups(lines: Sequence[np.ndarray]) -> np.ndarray:
    """The tune each melody sets: [(T_i,), ...] -> (n,) ints, 0 for the first melody's tune,
    then numbered in order of first appearance. Bach set many hymn tunes several times, so
    two melodies count as one tune when they share a window of TUNE_STEPS steps (anywhere in
    each) or at least SHARED_PHRASES of the windows of PHRASE_STEPS steps of the shorter
    one; chains of such pairs are one tune. Windows are cut at every step and compared as
    pitch classes and rests: key finding moves some settings of a tune an octave away from
    the others. As in `windows`, windows that are mostly rests are left out. Windows equal
    as tokens (`tokens`) are equal as pitch classes, so no token window of one tune is a
    token window of another."""
    def cut(line, length):
        w = windows([line], length, hop=1)
        return {c.tobytes() for c in np.where(w == REST, REST, w % 12)}

    bars4 = [cut(line, TUNE_STEPS) for line in lines]
    bars2 = [cut(line, PHRASE_STEPS) for line in lines]
    group = list(range(len(lines)))  # union-find: each melody points towards its tune

    def root(i):
        while group[i] != i:
            group[i] = group[group[i]]
            i = group[i]
        return i

    for i in range(len(lines)):
        for j in range(i):
            shorter = min(len(bars2[i]), len(bars2[j]))
            if bars4[i] & bars4[j] or (
                    shorter and len(bars2[i] & bars2[j]) >= SHARED_PHRASES * shorter):
                first, second = sorted((root(i), root(j)))
                group[second] = first  # a tune's root is its first melody
    roots = [root(i) for i in range(len(lines))]
    number = {r: k for k, r in enumerate(dict.fromkeys(roots))}
    return np.array([number[r] for r in roots], dtype=np.int64)


def tune_split(lines: Sequence[np.ndarray],
               held_out: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, held out) of melodies, every tune (`tune_groups`) on one side only: the
    tunes in order of first appearance train until they hold (1 - held_out) of the melodies,
    the later tunes are held out."""
    if not 0 < held_out < 1:
        raise ValueError(f"held_out must be between 0 and 1, got {held_out}")
    tunes = tune_groups(lines)
    sizes = np.bincount(tunes, minlength=1)
    target = len(lines) - round(held_out * len(lines))
    # tunes are numbered in order of first appearance: train the first k of them
    k = int(np.searchsorted(np.cumsum(sizes), target)) + 1 if len(lines) else 0
    train = tunes < k
    return np.flatnonzero(train), np.flatnonzero(~train)


def window_tunes(lines: Sequence[np.ndarray], idx: Sequence[int], length: int,
                 hop: int) -> np.ndarray:
    """The tune of each window that windows([lines[i] for i in idx], length, hop) cuts,
    numbered 0, 1, ... among those tunes: (N,) ints, to resample whole tunes (a tune's
    settings and a chorale's overlapping windows are not independent)."""
    idx = np.asarray(idx, dtype=np.int64)
    sizes = [len(windows([lines[i]], length, hop)) for i in idx]
    tunes = np.repeat(tune_groups(lines)[idx], sizes)
    return np.unique(tunes, return_inverse=True)[1].reshape(-1)


def fold(pitches: np.ndarray, low: int = LOW, high: int = HIGH) -> np.ndarray:
    """Move pitches outside [low, high] by octaves into the range (rests stay): same shape."""
    p = np.array(pitches, dtype=np.int64)
    if high - low < 11:
        raise ValueError(f"the range [low, high] must span an octave, got [{low}, {high}]")
    while np.any((p != REST) & (p < low)):
        p = np.where((p != REST) & (p < low), p + 12, p)
    while np.any(p > high):
        p = np.where(p > high, p - 12, p)
    return p


def one_hot(melodies: np.ndarray, low: int = LOW, high: int = HIGH) -> np.ndarray:
    """Melodies (N, T) -> float32 (N, T * K), K = high - low + 2 classes per step (rest first)."""
    m = fold(as_melodies(melodies), low, high)
    k = high - low + 2
    index = np.where(m == REST, 0, m - low + 1)
    return np.eye(k, dtype=np.float32)[index].reshape(len(m), -1)


def from_scores(scores, length: int, low: int = LOW, high: int = HIGH, temperature: float = 0.0,
                seed: int = 0) -> np.ndarray:
    """Pitches from per-step class scores (N, T * K) (logits; probabilities with temperature 0):
    the best class per step (temperature 0) or a sample from softmax(scores / temperature) -> (N, T)."""
    s = np.asarray(scores.detach().cpu() if hasattr(scores, "detach") else scores, dtype=np.float64)
    k = high - low + 2
    if s.ndim != 2 or s.shape[1] != length * k:
        raise ValueError(f"scores must have shape (N, {length * k}) for length={length} and "
                         f"{k} classes, got {s.shape}")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    s = s.reshape(len(s), length, k)
    if temperature == 0:
        index = s.argmax(-1)
    else:
        logits = s / temperature
        p = np.exp(logits - logits.max(-1, keepdims=True))
        cum = np.cumsum(p / p.sum(-1, keepdims=True), axis=-1)
        u = np.random.default_rng(seed).random(cum.shape[:2] + (1,))
        index = np.minimum((cum < u).sum(-1), k - 1)  # inverse-CDF sampling per step
    return np.where(index == 0, REST, index + low - 1)


def tokens(melodies: np.ndarray, low: int = LOW, high: int = HIGH) -> np.ndarray:
    """Melodies (N, T) -> tokens (N, T) in [0, K), K = high - low + 2: 0 is a rest, then one
    token per pitch (folded into the range); the classes of `one_hot`."""
    m = fold(as_melodies(melodies), low, high)
    return np.where(m == REST, 0, m - low + 1)


def from_tokens(tokens: np.ndarray, low: int = LOW, high: int = HIGH) -> np.ndarray:
    """Tokens (N, T) in [0, K) -> melodies (N, T) of MIDI pitches (REST for token 0)."""
    t = np.asarray(tokens, dtype=np.int64)
    if t.size and (t.min() < 0 or t.max() > high - low + 1):
        raise ValueError(f"tokens must be in [0, {high - low + 1}], got [{t.min()}, {t.max()}]")
    return np.where(t == 0, REST, t + low - 1)


NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def note_name(pitch: int) -> str:
    """The scientific name of a MIDI pitch: 60 -> 'C4' (middle C), 69 -> 'A4', 61 -> 'C#4'."""
    pitch = int(pitch)
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


def _note_axis(axis) -> None:
    """Ticks of a pitch axis at whole MIDI pitches, labelled with note names (C4, E4, G4, ...):
    every white key when the view spans at most 14 semitones, else the C, E and G of each
    octave. A locator, not fixed ticks, so that axes shared between several rolls stay right."""
    from matplotlib.ticker import FuncFormatter, Locator

    class NoteLocator(Locator):
        def __call__(self):
            return self.tick_values(*self.axis.get_view_interval())

        def tick_values(self, vmin, vmax):
            lo, hi = sorted((vmin, vmax))
            pitches = np.arange(np.ceil(lo), np.floor(hi) + 1).astype(int)
            keep = C_MAJOR if hi - lo <= 14 else (0, 4, 7)
            ticks = [p for p in pitches if p % 12 in keep]
            return np.asarray(ticks, dtype=float)

    axis.set_major_locator(NoteLocator())
    axis.set_major_formatter(FuncFormatter(lambda p, _: note_name(int(round(p)))))


def piano_roll(melody: np.ndarray, ax=None, title: str = "Piano roll", steps_per_quarter: int = 2,
               color: str = "#0072B2"):
    """Draw a melody (T,) as a piano roll (time in beats vs pitch, the pitch axis labelled with
    note names such as C4 and E4); returns the axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 2.5))
    spq = steps_per_quarter
    for pitch, start, n in notes(melody):
        ax.broken_barh([(start / spq, n / spq)], (pitch - 0.4, 0.8), facecolors=color)
    ax.set_xlim(0, len(np.asarray(melody).reshape(-1)) / spq)
    _note_axis(ax.yaxis)
    ax.set_title(title)
    ax.set_xlabel("time (beats)")
    ax.set_ylabel("pitch")
    return ax
