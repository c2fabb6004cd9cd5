"""Prediction intervals and how to judge them: split conformal prediction around any
point predictor, linear and boosted quantile regression and their conformalised
versions (CQR), prediction sets from samples (highest-density sets, conformalised),
and the measures of an interval or set (coverage, mean width, interval score,
coverage per subgroup with a binomial interval, a paired bootstrap over test rows or
over groups of them, as `nll_difference` does for two sequence models).

Shapes: N rows (patients, cases); every interval is a pair (lower (N,), upper (N,));
a set is a boolean mask (N, G) over a grid (G,) of outcome values.
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

    xf, y, xp, taus = _quantile_inputs(x_fit, y_fit, x, taus)
    out = [QuantileRegressor(quantile=t, alpha=0.0, solver="highs")
           .fit(xf, y).predict(xp) for t in taus]
    return np.stack(out)


def _quantile_inputs(x_fit, y_fit, x, taus):
    """Checked (x_fit (n, D), y_fit (n,), x (N, D), taus list) for a quantile fit."""
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
    return xf, y, xp, taus


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


def nll_difference(log_probs_a, log_probs_b, groups, n_boot: int = 2000, seed: int = 0,
                   level: float = 0.95) -> tuple[float, float, float]:
    """NLL per token of model a minus model b on the same N windows of T tokens, with a
    paired interval from resampling whole groups (e.g. the tune of each window,
    `music.window_tunes`) in `paired_metric_bootstrap`: log_probs_a, log_probs_b (N, T)
    from `autoregressive.token_log_probs` or `NGram.log_probs`, groups (N,) ints ->
    (difference, low, high) in nats per token; negative means model a predicts better,
    and the interval excludes 0 when the difference is beyond the noise of which groups
    were held out."""
    a, b = (np.asarray(v.detach().cpu() if hasattr(v, "detach") else v, dtype=np.float64)
            for v in (log_probs_a, log_probs_b))
    g = np.asarray(groups)
    if a.ndim != 2 or a.shape != b.shape or g.shape != (len(a),):
        raise ValueError(f"log_probs_a and log_probs_b must be (N, T) of the same windows and "
                         f"groups (N,), got {a.shape}, {b.shape} and {g.shape}")
    if not np.issubdtype(g.dtype, np.integer) or (g.size and g.min() < 0):
        raise ValueError("groups must be integers >= 0, one per window (e.g. "
                         "music.window_tunes)")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("the log-probabilities must be finite: a token of probability 0 "
                         "(an n-gram with k = 0?) has an infinite NLL")
    n_boot = positive_int("n_boot (2000 is usual)", n_boot, low=100)
    g = np.unique(g, return_inverse=True)[1].reshape(-1)
    nats_a, nats_b = (np.bincount(g, -v.sum(1)) for v in (a, b))  # per group
    tokens = np.bincount(g) * a.shape[1]
    if len(tokens) < 2:
        raise ValueError("resampling needs at least 2 groups, got 1")
    return paired_metric_bootstrap(lambda tok, nats: nats.sum() / tok.sum(), tokens,
                                   nats_a, nats_b, n_boot, seed, level)


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


def boosted_quantiles(x_fit, y_fit, x, taus, seed: int = 0) -> np.ndarray:
    """Gradient-boosted quantile regression, one fit per tau: x_fit (n, D), y_fit (n,),
    x (N, D) -> (len(taus), N), row k the predicted taus[k]-quantile of y given x.

    scikit-learn's HistGradientBoostingRegressor(loss="quantile") with its default
    settings (100 trees of at most 31 leaves, learning rate 0.1): a sum of small
    trees fitted to the pinball loss, so the quantile may bend with x in any way
    the trees can follow (Friedman, 2001).
    """
    from sklearn.ensemble import HistGradientBoostingRegressor

    xf, y, xp, taus = _quantile_inputs(x_fit, y_fit, x, taus)
    out = [HistGradientBoostingRegressor(loss="quantile", quantile=t,
                                         random_state=seed)
           .fit(xf, y).predict(xp) for t in taus]
    return np.stack(out)


def quantile_band(quantiles: Callable, x_fit, y_fit, x_cal, y_cal, x_test,
                  level: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """A quantile regressor's central band and its conformalised version (CQR).

    quantiles(x_fit, y_fit, x, taus) -> (len(taus), N), e.g. `linear_quantiles` or
    `boosted_quantiles`, is fitted on the fit rows only and predicts the
    (1 - level) / 2 and (1 + level) / 2 quantiles of the calibration and test rows;
    crossed quantiles are put in order. Returns {"raw": (lower, upper),
    "cqr": (lower, upper)}, each (N_test,), the second from
    `conformalize_quantiles` on the calibration rows (x_cal, y_cal).
    """
    level = _check_level(level)
    y_c = vector("y_cal", y_cal)
    x_c, x_t = np.asarray(x_cal), np.asarray(x_test)
    if len(x_c) != len(y_c):
        raise ValueError(f"x_cal and y_cal must have the same length, got "
                         f"{len(x_c)} and {len(y_c)}")
    q = quantiles(x_fit, y_fit, np.concatenate([x_c, x_t]),
                  [(1 - level) / 2, (1 + level) / 2])
    lo, hi = np.minimum(q[0], q[1]), np.maximum(q[0], q[1])
    n = len(y_c)
    cqr = conformalize_quantiles(lo[:n], hi[:n], y_c, lo[n:], hi[n:], level)
    return {"raw": (lo[n:], hi[n:]), "cqr": cqr}


def interval_rows(y, lower, upper, level: float) -> dict[str, np.ndarray]:
    """Per-row measures of intervals, for a paired comparison: y, lower, upper (N,)
    -> {"score": interval score, "coverage": 1.0 if covered else 0.0,
    "width": upper - lower}, each (N,); their means are the usual measures."""
    score = interval_score(y, lower, upper, level)
    y, lo, hi = vector("y", y), vector("lower", lower), vector("upper", upper)
    return {"score": score, "coverage": ((y >= lo) & (y <= hi)).astype(float),
            "width": hi - lo}


def paired_rows(rows_a: dict, rows_b: dict, n_boot: int = 2000, seed: int = 0,
                level: float = 0.95) -> dict[str, tuple[float, float, float]]:
    """`paired_bootstrap` of every measure two methods share, on the same rows:
    rows_a, rows_b {measure: (N,)} (from `interval_rows` or `set_rows`) ->
    {measure: (mean a - mean b, low, high)}. Each measure resamples the rows with
    the same seed, so all its intervals come from the same resamples."""
    common = [k for k in rows_a if k in rows_b]
    if not common:
        raise ValueError(f"the two methods share no measure: {list(rows_a)} "
                         f"and {list(rows_b)}")
    return {k: paired_bootstrap(rows_a[k], rows_b[k], n_boot, seed,
                                level=level) for k in common}


def _grid_step(grid) -> tuple[np.ndarray, float]:
    g = vector("grid", grid)
    steps = np.diff(g)
    if len(g) < 3 or steps.min() <= 0 or np.ptp(steps) > 1e-6 * steps.mean():
        raise ValueError("grid must be at least 3 evenly spaced increasing "
                         "values, e.g. np.linspace(low, high, 500)")
    return g, float(steps.mean())


def grid_density(samples, grid, bandwidth=None) -> np.ndarray:
    """Kernel density estimate of each row's samples on an even grid: samples (N, S),
    grid (G,) -> density (N, G), each row integrating to 1 over the grid.

    A Gaussian kernel with, by default, Silverman's rule for each row:
    h = 0.9 min(sd, IQR / 1.34) S^(-1/5) (at least one grid step). The samples are
    binned to the nearest grid value first (samples beyond the grid go to its
    ends), then smoothed: fast, and exact up to a grid step.
    """
    s = np.asarray(samples.detach().cpu() if hasattr(samples, "detach")
                   else samples, dtype=np.float64)
    if s.ndim != 2 or s.shape[1] < 2 or not np.isfinite(s).all():
        raise ValueError(f"samples must be a finite (N, S) array with S >= 2, "
                         f"got shape {s.shape}")
    g, dy = _grid_step(grid)
    n, size = s.shape
    if bandwidth is None:
        q75, q25 = np.quantile(s, [0.75, 0.25], axis=1)
        spread = np.minimum(s.std(axis=1), (q75 - q25) / 1.34)
        h = 0.9 * spread * size ** -0.2
    else:
        h = np.broadcast_to(np.asarray(bandwidth, dtype=np.float64), (n,))
        if not (np.isfinite(h).all() and (h > 0).all()):
            raise ValueError(f"bandwidth must be positive, got {bandwidth!r}")
    h = np.maximum(h, dy)
    cell = np.clip(np.rint((s - g[0]) / dy), 0, len(g) - 1).astype(np.int64)
    counts = np.bincount((cell + len(g) * np.arange(n)[:, None]).ravel(),
                         minlength=n * len(g)).reshape(n, len(g))
    density = np.empty((n, len(g)))
    for i in range(n):
        m = int(np.ceil(4 * h[i] / dy))
        kernel = np.exp(-0.5 * (np.arange(-m, m + 1) * dy / h[i]) ** 2)
        density[i] = np.convolve(counts[i], kernel)[m:m + len(g)]
    return density / (density.sum(axis=1, keepdims=True) * dy)


def _at_target(table, g, dy, y, outside: float) -> np.ndarray:
    """Each row of table (N, G) read at the grid cell of its target y (N,) -> (N,)
    floats; `outside` where y lies beyond the grid g (G,) of step dy."""
    cell = np.rint((y - g[0]) / dy).astype(np.int64)
    inside = (cell >= 0) & (cell < len(g))
    out = np.full(len(y), outside, dtype=np.float64)
    out[inside] = table[np.nonzero(inside)[0], cell[inside]]
    return out


def _hpd_levels(density, dy) -> np.ndarray:
    """(N, G): for each cell, the mass of the cells at least as dense as it."""
    order = np.argsort(-density, axis=1, kind="stable")
    mass = np.take_along_axis(density, order, axis=1) * dy
    levels = np.empty_like(density)
    np.put_along_axis(levels, order, np.cumsum(mass, axis=1), axis=1)
    return levels


def hpd_level(density, grid, y) -> np.ndarray:
    """How deep each target lies in its predicted distribution: density (N, G) on
    grid (G,), y (N,) -> (N,), the probability mass of the grid cells at least as
    dense as the cell of y (small: y sits where the model expects it; near 1: in
    a tail; inf: beyond the grid). y lies in the highest-density set of mass t
    exactly when this level is <= t."""
    g, dy = _grid_step(grid)
    d, y = np.asarray(density, dtype=np.float64), vector("y", y)
    if d.ndim != 2 or d.shape != (len(y), len(g)):
        raise ValueError(f"density must be (N, G) = ({len(y)}, {len(g)}), got "
                         f"{d.shape}")
    return _at_target(_hpd_levels(d, dy), g, dy, y, outside=np.inf)


def hpd_set(density, grid, threshold) -> np.ndarray:
    """Highest-density sets: density (N, G) on grid (G,) -> mask (N, G), True on the
    densest cells of each row up to mass `threshold` (a number or (N,)), i.e. the
    cells whose `hpd_level` is <= threshold. It may be several intervals."""
    _, dy = _grid_step(grid)
    d = np.asarray(density, dtype=np.float64)
    if d.ndim != 2 or d.shape[1] != len(np.asarray(grid)):
        raise ValueError(f"density must be (N, G) with G = len(grid), got "
                         f"{d.shape}")
    t = np.asarray(threshold, dtype=np.float64)
    return _hpd_levels(d, dy) <= (t[:, None] if t.ndim else t)


def conformal_hpd(density_cal, y_cal, density_test, grid,
                  level: float) -> np.ndarray:
    """Conformalised highest-density sets (the HPD-split method of Izbicki, Shimizu
    and Stern, 2022): the scores are the calibration targets' `hpd_level`, the
    threshold their `conformal_quantile`, and each test row's set is its
    `hpd_set` at that threshold -> mask (N_test, G). Marginal coverage >= level
    when calibration and test rows are exchangeable, however wrong the density."""
    q = conformal_quantile(hpd_level(density_cal, grid, y_cal), level)
    return hpd_set(density_test, grid, q)


def set_rows(mask, grid, y) -> dict[str, np.ndarray]:
    """Per-row measures of prediction sets on a grid: mask (N, G), grid (G,), y (N,)
    -> {"coverage": 1.0 if y's grid cell is in its set else 0.0 (0 beyond the
    grid), "width": total length of the set, cells x grid step}, each (N,)."""
    g, dy = _grid_step(grid)
    m, y = np.asarray(mask, dtype=bool), vector("y", y)
    if m.shape != (len(y), len(g)):
        raise ValueError(f"mask must be (N, G) = ({len(y)}, {len(g)}), got "
                         f"{m.shape}")
    return {"coverage": _at_target(m, g, dy, y, outside=0.0),
            "width": m.sum(axis=1) * dy}


def set_pieces(mask) -> np.ndarray:
    """Number of separate intervals in each row's set: mask (N, G) -> (N,) ints."""
    m = np.asarray(mask, dtype=bool)
    if m.ndim != 2:
        raise ValueError(f"mask must be (N, G), got shape {m.shape}")
    starts = m[:, 1:] & ~m[:, :-1]
    return starts.sum(axis=1) + m[:, 0]
