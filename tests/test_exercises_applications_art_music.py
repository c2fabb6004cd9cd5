"""The chapter 10 art/music checkers: reference solutions pass, typical mistakes get the right message."""

import numpy as np

from genai_lib import melody_stats, music
from genai_lib.exercises import applications_art_music as ex


def test_lerp():
    good = lambda z0, z1, n: np.linspace(0, 1, n)[:, None] * (z1 - z0) + z0  # noqa: E731
    assert ex.check_lerp(good)
    backwards = lambda z0, z1, n: good(z1, z0, n)  # noqa: E731
    assert "backwards" in ex.check_lerp(backwards).message
    short = lambda z0, z1, n: np.linspace(0, 1, n + 1)[:-1, None] * (z1 - z0) + z0  # noqa: E731
    fb = ex.check_lerp(short)
    assert not fb and "never reaches z1" in fb.message
    assert not ex.check_lerp(None)


def test_horizontal_correlation():
    def good(img):
        p, q = img[:, :-1].ravel(), img[:, 1:].ravel()
        p, q = p - p.mean(), q - q.mean()
        return (p @ q) / np.sqrt((p @ p) * (q @ q))

    assert ex.check_horizontal_correlation(good)

    def cosine(img):
        p, q = img[:, :-1].ravel(), img[:, 1:].ravel()
        return (p @ q) / np.sqrt((p @ p) * (q @ q))

    fb = ex.check_horizontal_correlation(cosine)
    assert not fb and "subtract the means" in fb.message
    vertical = lambda img: good(img.T)  # noqa: E731
    fb = ex.check_horizontal_correlation(vertical)
    assert not fb and "below" in fb.message


def test_midi_to_hz():
    assert ex.check_midi_to_hz(lambda p: 440 * 2 ** ((p - 69) / 12))
    fb = ex.check_midi_to_hz(lambda p: 880 * 2 ** ((p - 69) / 12))
    assert not fb and "octave" in fb.message
    fb = ex.check_midi_to_hz(lambda p: 440 * 2 ** ((p - 69) / 10))
    assert not fb and "on input" in fb.message
    assert not ex.check_midi_to_hz(None)
    assert "returned None" in ex.check_midi_to_hz(lambda p: None).message
    assert "returned None" in ex.check_in_key_share(lambda m: None).message
    assert "returned None" in ex.check_horizontal_correlation(lambda m: None).message


def test_in_key_share():
    def good(m):
        m = np.asarray(m)
        m = m[m != music.REST]
        return np.isin(m % 12, [0, 2, 4, 5, 7, 9, 11]).mean()

    assert ex.check_in_key_share(good)
    fb = ex.check_in_key_share(lambda m: np.isin(np.asarray(m) % 12, [0, 2, 4, 5, 7, 9, 11]).mean())
    assert not fb and "rests" in fb.message
    fb = ex.check_in_key_share(lambda m: np.isin(np.asarray(m)[np.asarray(m) >= 0],
                                                  [0, 2, 4, 5, 7, 9, 11]).mean())
    assert not fb and "p % 12" in fb.message


def test_melody():
    good = [60, 60, 62, 62, 64, 64, 65, 65, 67, 67, 65, 64, 62, 62, 60, 60]
    assert ex.check_melody(good)
    assert "16 steps" in ex.check_melody(good[:8]).message
    assert "not in C major" in ex.check_melody(good[:-2] + [61, 60]).message
    assert "leap" in ex.check_melody([60] * 4 + [72] * 4 + [60] * 4 + [67, 65, 64, 60]).message
    assert "tonic" in ex.check_melody(good[:-2] + [62, 62]).message
    assert "at least 5" in ex.check_melody([60] * 8 + [62] * 8).message
    assert "None" in ex.check_melody(None).message


def test_busyness():
    from genai_lib import art as art_mod

    stds = [0.5, 2, 8]
    imgs = [art_mod.render(art_mod.cppn(seed=1, weight_std=s), resolution=48) for s in stds]
    corr = [art_mod.neighbour_correlation(i) for i in imgs]
    ratio = [art_mod.compression_ratio(i) for i in imgs]
    assert ex.check_busyness(stds, corr, ratio, imgs)
    assert ex.check_busyness(stds, np.round(corr, 3), np.round(ratio, 3), imgs)  # rounded
    fb = ex.check_busyness(stds, ratio, corr, imgs)          # the two lists swapped
    assert not fb and "swapped" in fb.message
    fb = ex.check_busyness(stds, corr[::-1], ratio, imgs)    # in the wrong order
    assert not fb and "`correlations[0]`" in fb.message
    assert "increasing order" in ex.check_busyness(stds[::-1], corr, ratio, imgs).message
    assert not ex.check_busyness(stds, None, ratio, imgs)
    # made-up numbers that fall and rise as they should, but measure nothing
    fb = ex.check_busyness(stds, [0.99, 0.6, 0.2], [0.1, 0.5, 0.9], imgs)
    assert not fb and "guessed" in fb.message
    fb = ex.check_busyness(stds, [0.99, 0.6, 0.2], [0.1, 0.5, 0.9])   # no pictures at all
    assert not fb and "`pictures` is None" in fb.message
    # honest measurements of one picture repeated: nothing falls
    same = [imgs[0]] * 3
    fb = ex.check_busyness(stds, [corr[0]] * 3, [ratio[0]] * 3, same)
    assert not fb and "should fall" in fb.message


def _sweep(logits, real, temps):
    return {f"T = {t}": melody_stats.compare(real, music.from_scores(logits, 4, temperature=t))
            for t in temps}


def test_temperature_sweep():
    rng = np.random.default_rng(0)
    k = music.HIGH - music.LOW + 2
    # a decoder that prefers stepwise C-major lines: peaked scores on a few classes
    logits = rng.normal(size=(400, 4 * k))
    logits.reshape(400, 4, k)[:, :, [4, 6, 8]] += 4.0       # C4, D4, E4
    real = np.array([[60, 60, 62, 64], [64, 62, 60, 60], [62, 62, 64, 64]])
    rows = _sweep(logits, real, (0, 0.5, 1.0))
    assert ex.check_temperature_sweep(rows, logits, real, length=4)
    fb = ex.check_temperature_sweep(dict(reversed(rows.items())), logits, real, length=4)
    assert not fb and "from cold (0) to hot (1)" in fb.message
    assert "at least 3" in ex.check_temperature_sweep({"T = 0": rows["T = 0"]}).message
    assert not ex.check_temperature_sweep(None)
    # made-up numbers, rising as they should, but not measured
    cold = {"notes / window": 2.0, "interval TV": 0.2, "pitch-class TV": 0.1, "in key": 1.0}
    warm = {"notes / window": 2.5, "interval TV": 0.3, "pitch-class TV": 0.1, "in key": 1.0}
    hot = {"notes / window": 3.0, "interval TV": 0.5, "pitch-class TV": 0.1, "in key": 0.9}
    made_up = {"T = 0": cold, "T = 0.5": warm, "T = 1": hot}
    fb = ex.check_temperature_sweep(made_up, logits, real, length=4)
    assert not fb and "row 'T = 0'" in fb.message
    fb = ex.check_temperature_sweep(made_up)                  # nothing to measure against
    assert not fb and "check_temperature_sweep(rows, logits, test_windows)" in fb.message
    # every row decoded at T = 0: labelled as a sweep, but not one
    frozen = {key: rows["T = 0"] for key in rows}
    fb = ex.check_temperature_sweep(frozen, logits, real, length=4)
    assert not fb and "row 'T = 0.5'" in fb.message
    fb = ex.check_temperature_sweep({"cold": cold, "warm": warm, "hot": hot}, logits, real, 4)
    assert not fb and "name each row" in fb.message
