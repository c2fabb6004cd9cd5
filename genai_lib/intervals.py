"""Prediction intervals and how to judge them: split conformal prediction around any
point predictor, linear and conformalised quantile regression, and the measures of
an interval (coverage, mean width, interval score, coverage per subgroup with a
binomial interval, a paired bootstrap over test rows).

Shapes: N rows (patients, cases); every interval is a pair (lower (N,), upper (N,)).
A level such as 0.8 is the probability the interval claims; alpha = 1 - level is
the share it may miss.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from genai_lib.checks import positive_int, vector


def _same_length(**arrays: np.ndarray) -> None:
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"these must have the same length N, got {lengths}")


def _check_level(level: float) -> float:
    if isinstance(level, bool) or not 0.0 < float(level) < 1.0:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.8 for an 80 % "
                         f"interval), got {level!r}")
    return float(level)


def _check_bounds(lower: np.ndarray, upper: np.ndarray) -> None:
    if np.any(lower > upper):
        raise ValueError("some lower bounds are above their upper bounds: "
                         "swapped arguments?")


def conformal_quantile(scores, level: float) -> float:
    """The split-conformal threshold of calibration scores (n,) for a level.

    The ceil((n + 1) * level)-th smallest score, i.e. the empirical quantile at
    ceil((n + 1) level) / n; inf when n is too small for the level
    (n < level / (1 - level)), where no finite threshold gives the guarantee.
    """
    s = np.sort(vector("scores", scores))
    level = _check_level(level)
    k = math.ceil((len(s) + 1) * level - 1e-9)   # guard 0.8 * 10 = 8.000...01
    return float("inf") if k > len(s) else float(s[k - 1])


def split_conformal(pred_cal, y_cal, pred_test, level: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Split conformal interval around point predictions: pred +- q.

    pred_cal, y_cal (n,): predictions and targets on a calibration set the model
    did not fit; pred_test (N,) -> (lower (N,), upper (N,)), with q the
    `conformal_quantile` of the absolute calibration residuals |y - pred|.
    """
    p_cal, y = vector("pred_cal", pred_cal), vector("y_cal", y_cal)
    _same_length(pred_cal=p_cal, y_cal=y)
    p = vector("pred_test", pred_test)
    q = conformal_quantile(np.abs(y - p_cal), level)
    return p - q, p + q


def conformalize_quantiles(lower_cal, upper_cal, y_cal, lower_test,
                           upper_test, level: float
                           ) -> tuple[np.ndarray, np.ndarray]:
    """Conformalised quantile regression (CQR): widen (or narrow) both bounds by q.

    lower_cal, upper_cal, y_cal (n,): a quantile model's bounds and the targets on
    a calibration set; lower_test, upper_test (N,) -> the adjusted pair (N,) each.
    q is the `conformal_quantile` of max(lower - y, y - upper), which is negative
    for targets inside their band, so q < 0 narrows bands that are too wide.
    """
    lo_c, hi_c, y = (vector(n, a) for a, n in ((lower_cal, "lower_cal"),
                                             (upper_cal, "upper_cal"),
                                             (y_cal, "y_cal")))
    _same_length(lower_cal=lo_c, upper_cal=hi_c, y_cal=y)
    lo_t, hi_t = vector("lower_test", lower_test), vector("upper_test", upper_test)
    _same_length(lower_test=lo_t, upper_test=hi_t)
    q = conformal_quantile(np.maximum(lo_c - y, y - hi_c), level)
    lo, hi = lo_t - q, hi_t + q
    # a negative q can cross bounds that were closer than 2|q|: meet in the middle
    mid = (lo + hi) / 2
    return np.minimum(lo, mid), np.maximum(hi, mid)


def linear_quantiles(x_fit, y_fit, x, taus) -> np.ndarray:
    """Linear quantile regression, one fit per tau: x_fit (n, D), y_fit (n,), x (N, D)
    -> (len(taus), N), row k the predicted taus[k]-quantile of y given x.

    scikit-learn's QuantileRegressor without penalty (alpha=0), solver "highs": it
    minimises the pinball loss exactly (a linear programme).
    """
    from sklearn.linear_model import QuantileRegressor

    xf = np.asarray(x_fit, dtype=np.float64)
    xf = xf[:, None] if xf.ndim == 1 else xf
    xp = np.asarray(x, dtype=np.float64)
    xp = xp[:, None] if xp.ndim == 1 else xp
    y = vector("y_fit", y_fit)
    if xf.ndim != 2 or len(xf) != len(y):
        raise ValueError(f"x_fit must be (n, D) with n = len(y_fit) = {len(y)}, "
                         f"got shape {xf.shape}")
    if xp.ndim != 2 or xp.shape[1] != xf.shape[1]:
        raise ValueError(f"x must be (N, {xf.shape[1]}) like x_fit, got shape "
                         f"{xp.shape}")
    taus = [float(t) for t in np.atleast_1d(taus)]
    for t in taus:
        if not 0.0 < t < 1.0:
            raise ValueError(f"each tau must be between 0 and 1 (0.1 is the "
                             f"10th percentile), got {t!r}")
    out = [QuantileRegressor(quantile=t, alpha=0.0, solver="highs")
           .fit(xf, y).predict(xp) for t in taus]
    return np.stack(out)


def coverage(y, lower, upper) -> float:
    """Share of targets inside their prediction interval, lower <= y <= upper. All (N,)."""
    y, lo, hi = vector("y", y), vector("lower", lower), vector("upper", upper)
    _same_length(y=y, lower=lo, upper=hi)
    _check_bounds(lo, hi)
    return float(np.mean((y >= lo) & (y <= hi)))


def mean_width(lower, upper) -> float:
    """Mean width of intervals, mean(upper - lower), for lower, upper (N,)."""
    lo, hi = vector("lower", lower), vector("upper", upper)
    _same_length(lower=lo, upper=hi)
    _check_bounds(lo, hi)
    return float(np.mean(hi - lo))


def interval_score(y, lower, upper, level: float) -> np.ndarray:
    """Interval score of each row (N,): lower is better.

    width + (2 / alpha) * (lower - y if y < lower) + (2 / alpha) * (y - upper if
    y > upper), alpha = 1 - level (Gneiting & Raftery, 2007): it rewards narrow
    intervals and charges each miss by its distance, and its expected value is
    smallest for the true (1-level)/2 and (1+level)/2 quantiles.
    """
    y, lo, hi = vector("y", y), vector("lower", lower), vector("upper", upper)
    _same_length(y=y, lower=lo, upper=hi)
    _check_bounds(lo, hi)
    alpha = 1.0 - _check_level(level)
    return ((hi - lo) + (2 / alpha) * np.maximum(lo - y, 0)
            + (2 / alpha) * np.maximum(y - hi, 0))


def binomial_interval(k: int, n: int, level: float = 0.95
                      ) -> tuple[float, float]:
    """Clopper-Pearson (exact) interval for a proportion from k successes in n trials."""
    from scipy.stats import beta

    n = positive_int("n (the number of trials)", n)
    if int(k) != k or not 0 <= k <= n:
        raise ValueError(f"k must be an integer between 0 and n = {n}, got {k!r}")
    a = 1.0 - _check_level(level)
    lo = 0.0 if k == 0 else float(beta.ppf(a / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - a / 2, k + 1, n - k))
    return lo, hi


def subgroup_coverage(y, lower, upper, groups) -> list[dict]:
    """Coverage in each subgroup with a 95 % Clopper-Pearson interval.

    y, lower, upper (N,); groups (N,) labels (any hashable values) -> one dict per
    label, in sorted order: {"group", "n", "coverage", "low", "high"}.
    """
    y, lo, hi = vector("y", y), vector("lower", lower), vector("upper", upper)
    g = np.asarray(groups).ravel()
    _same_length(y=y, lower=lo, upper=hi, groups=g)
    _check_bounds(lo, hi)
    rows = []
    for label in np.unique(g):
        m = g == label
        n, k = int(m.sum()), int(np.sum((y[m] >= lo[m]) & (y[m] <= hi[m])))
        low, high = binomial_interval(k, n)
        rows.append({"group": label.item() if hasattr(label, "item")
                     else label, "n": n, "coverage": coverage(
                         y[m], lo[m], hi[m]), "low": low, "high": high})
    return rows


def paired_bootstrap(a, b, n_boot: int = 2000, seed: int = 0,
                     stat: Callable[[np.ndarray], float] = np.mean,
                     level: float = 0.95) -> tuple[float, float, float]:
    """Difference stat(a) - stat(b) of per-row scores a, b (N,) of two methods on the
    same test rows, with a percentile interval from resampling rows (both columns
    together) with replacement: (difference, low, high)."""
    a, b = vector("a", a), vector("b", b)
    _same_length(a=a, b=b)
    n_boot = positive_int("n_boot (2000 is usual)", n_boot, low=100)
    return paired_metric_bootstrap(lambda _, s: stat(s), np.zeros(len(a)), a, b,
                                   n_boot, seed, level)


def paired_metric_bootstrap(metric: Callable, y, pred_a, pred_b, n_boot: int = 1000,
                            seed: int = 0, level: float = 0.95
                            ) -> tuple[float, float, float]:
    """metric(y, pred_a) - metric(y, pred_b) on the test rows, with a percentile interval.

    y (N,) targets; pred_a, pred_b (N,) or (N, K) predictions or scores of two methods
    on the SAME rows. Each round resamples the N rows with replacement (the same rows
    for both methods) and recomputes the difference. Returns (difference, low, high);
    the difference is beyond the noise when the interval excludes 0. Rounds in which
    the metric fails (e.g. ROC AUC on a resample with a single class) are skipped.
    """
    y, a, b = (np.asarray(v.detach().cpu() if hasattr(v, "detach") else v)
               for v in (y, pred_a, pred_b))
    if not (len(y) == len(a) == len(b)) or len(y) < 2:
        raise ValueError(f"y, pred_a and pred_b must have the same length >= 2, "
                         f"got {len(y)}, {len(a)}, {len(b)}")
    level = _check_level(level)
    n_boot = positive_int("n_boot (1000 is usual)", n_boot, low=10)
    rng = np.random.default_rng(seed)
    gaps = []
    for _ in range(n_boot):
        i = rng.integers(0, len(y), len(y))
        try:
            gaps.append(metric(y[i], a[i]) - metric(y[i], b[i]))
        except ValueError:
            continue
    if len(gaps) < n_boot // 2:
        raise ValueError(f"the metric failed on {n_boot - len(gaps)} of {n_boot} "
                         f"resamples: too few test rows (or a single class) for it")
    lo, hi = np.quantile(gaps, [(1 - level) / 2, (1 + level) / 2])
    return float(metric(y, a) - metric(y, b)), float(lo), float(hi)


VERDICTS = ("beats", "cannot be told apart from", "loses to")


def verdict(low: float, high: float, higher_is_better: bool = False) -> str:
    """The words for a difference (model - reference) with interval [low, high]: 'beats',
    'loses to', or 'cannot be told apart from' when the interval crosses zero.

    The book's one rule for comparative words: a verdict comes from the interval, never
    from two point estimates. higher_is_better: True for precision, recall, accuracy;
    False (default) for distances and losses, where a negative difference wins.
    """
    low, high = float(low), float(high)
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        raise ValueError(f"the interval must be finite with low <= high, got [{low}, {high}]")
    if low <= 0 <= high:
        return VERDICTS[1]
    wins = low > 0 if higher_is_better else high < 0
    return VERDICTS[0] if wins else VERDICTS[2]


def compare(model: str, reference: str, low: float, high: float, measure: str = "",
            higher_is_better: bool = False) -> str:
    """'<model> beats <reference> on <measure>' (or 'cannot be told apart from', 'loses to'),
    from the interval [low, high] of model - reference; see `verdict`."""
    said = f"{model} {verdict(low, high, higher_is_better)} {reference}"
    return f"{said} on {measure}" if measure else said
