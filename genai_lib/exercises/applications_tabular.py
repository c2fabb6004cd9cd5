"""Checkers for the exercises of the tabular application chapters (business, prediction,
marketing, healthcare). Each returns `Feedback` naming the mistake."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from genai_lib.exercises import Feedback, compare, right, wrong

NEWSVENDOR_OVER, NEWSVENDOR_UNDER = 2.0, 6.0


def newsvendor_exercise() -> tuple[np.ndarray, float, float]:
    """The exercise's data: 1,000 demand scenarios (1000,), cost per unit left over, per unit short."""
    rng = np.random.default_rng(7)
    return rng.gamma(shape=4.0, scale=25.0, size=1000), NEWSVENDOR_OVER, NEWSVENDOR_UNDER


def check_newsvendor_order(answer) -> Feedback:
    """The order minimising expected cost over `newsvendor_exercise()`'s scenarios (a number)."""
    s, over, under = newsvendor_exercise()
    if answer is None:
        return wrong("`order` is None: compute it from the scenarios and the two costs")
    try:
        q = float(np.asarray(answer).reshape(()))
    except (TypeError, ValueError):
        return wrong(f"`order` should be one number, got {np.shape(answer)}")
    cost = lambda o: float(np.mean(over * np.maximum(o - s, 0) + under * np.maximum(s - o, 0)))  # noqa: E731
    best = float(np.quantile(s, under / (under + over)))
    if abs(cost(q) - cost(best)) <= 1e-3 * cost(best):
        return right(f"order {q:.2f}: the {under / (under + over):.0%} quantile of the scenarios, "
                     f"expected cost {cost(q):.2f}.")
    hints = [(s.mean(), "the mean of the scenarios (a point forecast): it ignores that a "
                        "shortage costs more than a leftover"),
             (np.median(s), "the median: that is optimal only when both costs are equal"),
             (np.quantile(s, over / (under + over)), "the over / (over + under) quantile: the "
                                                     "ratio is upside down")]
    for value, why in hints:
        if abs(q - value) <= 0.01 * max(abs(value), 1):
            return wrong(f"order {q:.2f} is {why}. Expected cost {cost(q):.2f} vs "
                         f"{cost(best):.2f} at the best order.")
    return wrong(f"order {q:.2f} has expected cost {cost(q):.2f}, but a better order reaches "
                 f"{cost(best):.2f}: use the quantile at under / (under + over)")


def _reference_interval(samples: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = np.quantile(samples, [(1 - level) / 2, (1 + level) / 2], axis=1)
    return lo, hi


def check_interval(fn: Callable) -> Feedback:
    """`fn(samples (N, S), level) -> (lower (N,), upper (N,))`: a central prediction interval."""
    if not callable(fn):
        return wrong(f"`central_interval` should be a function, got {type(fn).__name__}")
    rng = np.random.default_rng(3)
    samples = rng.normal(size=(5, 2000)) * np.arange(1, 6)[:, None]
    for level in (0.8, 0.95):
        try:
            got = fn(samples, level)
            lo, hi = (np.asarray(a, dtype=float) for a in got)
        except Exception as err:  # the learner's code failed: say how
            return wrong(f"`central_interval(samples, {level})` raised or did not return two "
                         f"arrays: {type(err).__name__}: {err}")
        elo, ehi = _reference_interval(samples, level)
        if lo.shape != elo.shape:
            return wrong(f"lower has shape {lo.shape}, expected {elo.shape}: take quantiles "
                         f"along axis=1 (over the samples of each row)")
        if np.allclose(lo, np.quantile(samples, 1 - level, axis=1), rtol=1e-3) or \
                np.allclose(hi, np.quantile(samples, level, axis=1), rtol=1e-3):
            return wrong(f"for level {level} the bounds are the {1 - level:.3g} / {level:.3g} "
                         f"quantiles: a central interval leaves (1 - level) / 2 in each tail")
        for name, g, e in (("lower", lo, elo), ("upper", hi, ehi)):
            verdict = compare(name, g, e, rtol=1e-3, atol=1e-6)
            if not verdict:
                return wrong(f"level {level}: {verdict.message}")
    return right("central intervals match np.quantile at (1 - level)/2 and (1 + level)/2.")


def check_balanced_accuracy(fn: Callable) -> Feedback:
    """`fn(y_true (N,), y_pred (N,)) -> float`: the mean of the per-class recalls."""
    from sklearn.metrics import accuracy_score, balanced_accuracy_score

    if not callable(fn):
        return wrong(f"`balanced_accuracy` should be a function, got {type(fn).__name__}")
    y = np.array([0] * 18 + [1] * 2)
    cases = [(y, np.zeros(20, dtype=int)), (y, np.r_[np.zeros(16), np.ones(4)].astype(int)),
             (np.array([0, 1, 1, 0, 1]), np.array([0, 1, 0, 1, 1]))]
    for yt, yp in cases:
        try:
            got = float(fn(yt, yp))
        except Exception as err:  # the learner's code failed
            return wrong(f"`balanced_accuracy` raised {type(err).__name__}: {err} on y_true={yt}")
        expected = balanced_accuracy_score(yt, yp)
        if np.isclose(got, expected):
            continue
        if np.isclose(got, accuracy_score(yt, yp)):
            return wrong(f"you computed plain accuracy ({got:.3f}); balanced accuracy averages "
                         f"the recall of each class ({expected:.3f}) so the rare class counts as "
                         f"much as the common one")
        return wrong(f"on y_true={yt.tolist()}, y_pred={yp.tolist()}: expected {expected:.4f}, "
                     f"your answer = {got:.4f}")
    return right("balanced accuracy = mean of per-class recalls, on all test inputs.")


def check_dcr(fn: Callable) -> Feedback:
    """`fn(query (N, D), reference (M, D)) -> (N,)`: distance from each query row to its nearest reference row."""
    if not callable(fn):
        return wrong(f"`dcr` should be a function, got {type(fn).__name__}")
    rng = np.random.default_rng(5)
    q, r = rng.normal(size=(7, 3)), rng.normal(size=(11, 3))
    d = np.sqrt(((q[:, None, :] - r[None, :, :]) ** 2).sum(-1))
    try:
        got = np.asarray(fn(q, r), dtype=float)
    except Exception as err:  # the learner's code failed
        return wrong(f"`dcr(query, reference)` raised {type(err).__name__}: {err}")
    expected = d.min(axis=1)
    if got.shape == (11,):
        return wrong("the result has one value per reference row (11,), expected one per "
                     "query row (7,): take the minimum over the reference axis (axis=1)")
    if got.shape == expected.shape:
        if np.allclose(got, expected ** 2):
            return wrong("these are squared distances: take the square root")
        if np.allclose(got, d.mean(axis=1)):
            return wrong("this is the mean distance to all reference rows: take the minimum")
    verdict = compare("dcr(query, reference)", got, expected)
    return verdict if not verdict else right("distances to the closest record match.")
