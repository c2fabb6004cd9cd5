"""Checkers for the exercises of chapter 10, generative art and music (10a_art, 10b_music)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from genai_lib import art, melody_stats, music, sound
from genai_lib.exercises import (Feedback, call_for_number, check_function, compare, library_used,
                                 right, string_instead_of_number, wrong)


def _lerp_reference(z0, z1, steps):
    return art.interpolate(torch.as_tensor(z0), torch.as_tensor(z1), steps, spherical=False).numpy()


def check_lerp(fn: Callable) -> Feedback:
    """`fn(z0, z1, steps)` -> (steps, D) points from z0 to z1 on a straight line."""
    if not callable(fn):
        return wrong(f"pass your function itself (e.g. `lerp`), got {type(fn).__name__}")
    z0, z1 = np.array([1.0, -2.0, 0.5]), np.array([3.0, 0.0, -0.5])
    try:
        got = np.asarray(fn(z0, z1, 5), dtype=float)
    except Exception as err:  # the learner's code failed: say how
        return wrong(f"`lerp(z0, z1, 5)` raised {type(err).__name__}: {err}")
    if got.shape == (5, 3) and np.allclose(got[0], z1) and np.allclose(got[-1], z0):
        return wrong("the path runs backwards: row 0 must be z0 and the last row z1 "
                     "(use t going from 0 to 1 with (1 - t) * z0 + t * z1)")
    if got.shape == (5, 3) and np.allclose(got[0], z0) and not np.allclose(got[-1], z1):
        return wrong("the path starts at z0 but never reaches z1: include t = 1 "
                     "(np.linspace(0, 1, steps) includes both ends)")
    return check_function("lerp", fn, _lerp_reference,
                          [(z0, z1, 5), (np.zeros(2), np.ones(2), 3), (z1, z0, 2)])


def _hcorr_reference(img):
    a = np.asarray(img, dtype=float)
    p, q = a[:, :-1].ravel(), a[:, 1:].ravel()
    return float(np.corrcoef(p, q)[0, 1])


def check_horizontal_correlation(fn: Callable) -> Feedback:
    """`fn(img)` for a grey image (H, W) -> correlation of each pixel with its right neighbour."""
    if not callable(fn):
        return wrong(f"pass your function itself, got {type(fn).__name__}")
    used = library_used("horizontal_correlation", fn, "by hand: the Pearson correlation of "
                        "img[:, :-1] and img[:, 1:], e.g. with np.corrcoef",
                        names={"neighbour_correlation"})
    if used is not None:
        return used
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:16, 0:16] / 16.0
    smooth = 0.3 + 0.5 * np.sin(3 * xx) * yy
    noise = rng.random((16, 16)) + 2.0  # an offset: centring matters here
    got = call_for_number(fn, (noise,), "your function (on a (16, 16) image)", "the correlation")
    if isinstance(got, Feedback):
        return got
    p, q = noise[:, :-1].ravel(), noise[:, 1:].ravel()
    cosine = float(p @ q / np.sqrt((p @ p) * (q @ q)))
    if np.isclose(got, cosine, atol=1e-6):
        return wrong("on an image of noise your answer is close to 1: subtract the means of the "
                     "two pixel sets before multiplying (that is what makes it a correlation)")
    vertical = float(np.corrcoef(noise[:-1].ravel(), noise[1:].ravel())[0, 1])
    if np.isclose(got, vertical, atol=1e-9) and not np.isclose(got, _hcorr_reference(noise)):
        return wrong("you compared each pixel with the one below it: the right neighbour of "
                     "img[i, j] is img[i, j + 1] (slice along axis 1)")
    return check_function("horizontal_correlation", fn, _hcorr_reference, [smooth, noise, smooth.T],
                          rtol=1e-6, atol=1e-9)


def check_midi_to_hz(fn: Callable) -> Feedback:
    """`fn(p)` -> frequency in Hz of MIDI pitch p (equal temperament, A4 = 69 = 440 Hz)."""
    if not callable(fn):
        return wrong(f"pass your function itself, got {type(fn).__name__}")
    a4 = call_for_number(fn, (69,), "`midi_to_hz(69)`", "the frequency")
    if isinstance(a4, Feedback):
        return a4
    if not np.isclose(a4, 440.0):
        ratio = a4 / 440.0 if a4 else 0.0
        if np.isclose(np.log2(abs(ratio) or 1e-9) % 1, 0) and ratio > 0:
            return wrong(f"midi_to_hz(69) = {a4:.6g}: off by {np.log2(ratio):+.0f} octave(s); "
                         f"A4 is MIDI 69 and sounds at 440 Hz")
        return wrong(f"midi_to_hz(69) should be 440 Hz (A4), your answer = {a4:.6g}")
    return check_function("midi_to_hz", fn, lambda p: float(sound.midi_to_hz(p)),
                          [60, 81, 57.0, 100], rtol=1e-6)


def check_in_key_share(fn: Callable) -> Feedback:
    """`fn(melody)` -> share of sounding steps (not rests) whose pitch class is in C major."""
    if not callable(fn):
        return wrong(f"pass your function itself, got {type(fn).__name__}")
    R = music.REST
    with_rests = np.array([60, 61, R, R, 64, 66])
    got = call_for_number(fn, (with_rests,), f"your function (on {with_rests})", "the share")
    if isinstance(got, Feedback):
        return got
    if np.isclose(got, 2 / 6) or np.isclose(got, 4 / 6):
        return wrong("rests (-1) are counted as steps: keep only the sounding steps "
                     "(melody != REST) before counting")
    if np.isclose(got, 0.0):
        return wrong("use the pitch class p % 12 to test membership in C major, not the pitch")
    return check_function("in_key_share", fn, melody_stats.in_key_share,
                          [with_rests, np.array([72, 74, 76, 77]), np.array([61, 63, 66, 68]),
                           np.array([57, 59, 60, 62, 64, 65, 68, 69])])


def check_melody(melody) -> Feedback:
    """A composed melody: 16 eighth-note steps, C major, at least 5 notes, no leap above a
    fourth (5 semitones), ending on C."""
    if melody is None:
        return wrong("`melody` is None: write 16 MIDI pitches, e.g. [60, 60, 62, ...]")
    text = string_instead_of_number("`melody`", melody)
    if text is not None:
        return text
    m = np.asarray(melody)
    if m.shape != (16,):
        return wrong(f"the melody must have 16 steps (shape (16,)), got shape {m.shape}")
    if not np.issubdtype(m.dtype, np.integer):
        return wrong("pitches must be whole MIDI numbers (ints), e.g. 60 for middle C")
    sounding = m[m != music.REST]
    if np.any((sounding < music.LOW) | (sounding > music.HIGH)):
        return wrong(f"keep pitches between {music.LOW} and {music.HIGH} (the soprano's range)")
    outside = sorted({int(p) for p in sounding if p % 12 not in music.C_MAJOR})
    if outside:
        return wrong(f"pitches {outside} are not in C major (only white keys: C D E F G A B)")
    ns = music.notes(m)
    if len(ns) < 5:
        return wrong(f"the melody has {len(ns)} notes; write at least 5 (a held note is one note)")
    leaps = np.abs(np.diff([p for p, _, _ in ns]))
    if leaps.max() > 5:
        return wrong(f"a leap of {int(leaps.max())} semitones: chorale melodies move mostly by "
                     f"step; keep every leap at most a fourth (5 semitones)")
    if m[-1] == music.REST or m[-1] % 12 != 0:
        return wrong("end on the tonic, a C (MIDI 60 or 72): that is what makes a phrase sound finished")
    return right(f"a singable phrase: {len(ns)} notes, all in C major, largest leap "
                 f"{int(leaps.max())} semitones, ending on C.")


MEASURE_ATOL = 2e-3  # a measured value may be rounded to 3 decimals, a made-up one is off


def check_busyness(stds, correlations, ratios, pictures=None) -> Feedback:
    """Measured structure of CPPN pictures vs weight_std: stds, correlations, ratios all (K,),
    K >= 3, and the K pictures themselves, which the checker measures again: the numbers must
    be those measurements (not typed in), and busier networks must show falling correlation
    and rising compression ratio."""
    if correlations is None or ratios is None:
        return wrong("`correlations` or `ratios` is None: measure each picture with "
                     "`art.neighbour_correlation` and `art.compression_ratio`")
    for name, values in (("stds", stds), ("correlations", correlations), ("ratios", ratios)):
        text = string_instead_of_number(f"`{name}`", values)
        if text is not None:
            return text
    try:
        s, c, r = (np.asarray(a, dtype=float).ravel() for a in (stds, correlations, ratios))
    except (TypeError, ValueError):
        return wrong("stds, correlations and ratios should be lists of numbers")
    if not (len(s) == len(c) == len(r)) or len(s) < 3:
        return wrong(f"expected one correlation and one ratio per weight_std (at least 3), got "
                     f"{len(s)} stds, {len(c)} correlations, {len(r)} ratios")
    if pictures is None:
        return wrong("`pictures` is None: keep the pictures you rendered, one per weight_std, "
                     "in the list `pictures`, so that the checker can measure them too")
    try:
        pics = [np.asarray(p, dtype=float) for p in pictures]
    except (TypeError, ValueError):
        return wrong("`pictures` should be a list of images, each the array `art.render` "
                     "returned")
    if len(pics) != len(s):
        return wrong(f"expected one picture per weight_std: {len(s)} stds, {len(pics)} "
                     f"pictures")
    if not np.all(np.isfinite(np.r_[c, r])):
        return wrong("some measures are NaN or inf: is one of the pictures constant?")
    if np.any(np.diff(s) <= 0):
        return wrong(f"list weight_std in increasing order, got {s.tolist()}")
    try:
        true_c = np.array([art.neighbour_correlation(p) for p in pics])
        true_r = np.array([art.compression_ratio(p) for p in pics])
    except Exception as err:  # not images the library can measure
        return wrong(f"`pictures` could not be measured ({type(err).__name__}: {err}): pass "
                     f"the images returned by `art.render`, shape (H, W, 3)")
    close = lambda a, b: np.allclose(a, b, atol=MEASURE_ATOL, rtol=0)  # noqa: E731
    if close(c, true_r) and close(r, true_c):
        return wrong("`correlations` and `ratios` are swapped: the correlation comes from "
                     "`art.neighbour_correlation`, the ratio from `art.compression_ratio`")
    for name, got, true, measure in (("correlations", c, true_c, "art.neighbour_correlation"),
                                     ("ratios", r, true_r, "art.compression_ratio")):
        off = np.flatnonzero(np.abs(got - true) > MEASURE_ATOL)
        if off.size:
            i = int(off[0])
            return wrong(f"`{name}[{i}]` = {got[i]:.3f}, but `{measure}` of your picture for "
                         f"weight_std {s[i]:g} gives {true[i]:.3f}: fill the lists with the "
                         f"measurements of `pictures`, not with guessed numbers")
    if not c[-1] < c[0] - 0.05:
        return wrong(f"the correlation should fall as weight_std grows (finer folds), got "
                     f"{c.round(3).tolist()}: render every picture with the same seed and size, "
                     f"changing only weight_std")
    if not r[-1] > r[0]:
        return wrong(f"the compression ratio should rise as the pictures get busier, got "
                     f"{r.round(3).tolist()}")
    return right(f"from weight_std {s[0]:g} to {s[-1]:g} the correlation falls "
                 f"{c[0]:.2f} -> {c[-1]:.2f} and the compression ratio rises {r[0]:.2f} -> "
                 f"{r[-1]:.2f}: both measures see the finer pattern.")


SWEEP_KEYS = ("pitch-class TV", "interval TV", "in key", "notes / window")
# How far one measurement may differ from the checker's: sampling with another seed moves
# each value a little (1000 windows), a made-up or mis-measured row moves it more.
# (Measured: over 7 other seeds at T = 0.3 .. 1 the values moved by at most 0.008, 0.024,
# 0.002 and 0.2 respectively.)
SWEEP_TOL = {"pitch-class TV": 0.03, "interval TV": 0.05, "in key": 0.01,
             "notes / window": 0.4}


def _temperature(key) -> float | None:
    """The temperature in a row name such as "T = 0.7", or None."""
    import re

    found = re.search(r"T\s*=\s*([-+0-9.eE]+)", str(key))
    try:
        return float(found.group(1)) if found else None
    except ValueError:
        return None


def check_temperature_sweep(rows, logits=None, real=None, length: int = 16) -> Feedback:
    """{"T = t": melody_stats.compare(real, music.from_scores(logits, length, temperature=t))}
    for >= 3 temperatures in increasing order, starting at 0. The checker decodes `logits` at each t
    itself and compares: the rows must be measurements, not typed numbers; and sampling hotter
    must give more notes per window and a larger interval distance."""
    if rows is None:
        return wrong("`rows` is None: make a dict {f\"T = {T}\": melody_stats.compare("
                     "test_windows, music.from_scores(logits, LENGTH, temperature=T))}")
    if not isinstance(rows, dict) or len(rows) < 3:
        size = len(rows) if hasattr(rows, "__len__") else "?"
        return wrong(f"`rows` should be a dict with one entry per temperature (at least 3), "
                     f"got {type(rows).__name__} of length {size}")
    stats = list(rows.values())
    for key in SWEEP_KEYS:
        if not all(isinstance(r, dict) and key in r for r in stats):
            return wrong(f"every entry should be the dict returned by `melody_stats.compare`, "
                         f"with a {key!r} value")
    temps = [_temperature(k) for k in rows]
    if any(t is None for t in temps):
        return wrong(f"name each row f\"T = {{T}}\" (e.g. \"T = 0.3\"), so that the checker "
                     f"knows its temperature; got {list(rows)}")
    if np.any(np.diff(temps) <= 0) or temps[0] != 0:
        return wrong(f"list the temperatures from cold (0) to hot (1) in increasing order, "
                     f"got {temps}")
    if logits is None or real is None:
        return wrong("pass the decoder's scores and the real windows too, so that the checker "
                     "can measure: check_temperature_sweep(rows, logits, test_windows)")
    for key, t, got in zip(rows, temps, stats):
        expected = melody_stats.compare(real, music.from_scores(logits, length, temperature=t))
        for name in SWEEP_KEYS:
            g = float(got[name])
            if not abs(g - expected[name]) <= SWEEP_TOL[name]:
                return wrong(f"row {key!r}: {name!r} = {g:.3f}, but `logits` decoded at "
                             f"T = {t:g} and compared with the real windows measure "
                             f"{expected[name]:.3f}: fill each row with melody_stats.compare("
                             f"test_windows, music.from_scores(logits, LENGTH, temperature=T))")
    notes = [float(r["notes / window"]) for r in stats]
    tv = [float(r["interval TV"]) for r in stats]
    if notes[-1] <= notes[0]:
        return wrong(f"notes / window go {notes[0]:.2f} -> {notes[-1]:.2f}: sweep a wider "
                     f"range of temperatures, from 0 to 1")
    if tv[-1] <= tv[0]:
        return wrong(f"the interval distance goes {tv[0]:.3f} -> {tv[-1]:.3f}; sweep a wider "
                     f"range of temperatures, from 0 to 1")
    return right(f"from T = {temps[0]:g} to T = {temps[-1]:g}, notes / window rise "
                 f"{notes[0]:.2f} -> {notes[-1]:.2f} and the interval distance "
                 f"{tv[0]:.3f} -> {tv[-1]:.3f}.")


__all__ = ["check_lerp", "check_horizontal_correlation", "check_midi_to_hz",
           "check_in_key_share", "check_melody", "check_busyness",
           "check_temperature_sweep", "compare"]
