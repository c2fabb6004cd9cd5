"""Classical probabilistic forecasts of a series, the baselines a practitioner tries
before a generative model: a linear autoregression AR(p) fitted by least squares, its
order chosen by an information criterion, refitted as the years arrive (a rolling
origin), a normal predictive quantile and residual bootstraps of scenarios: plain,
rescaled by a fitted spread (heteroscedastic) or drawn from the most similar past
days (nearest neighbours).

Shapes: a series is (T,); windows are (N, W) rows of consecutive past values, oldest
first, as `genai_lib.scenarios.lag_matrix` builds them (W >= p: an AR(p) reads the
last p columns); a scenario matrix is (N, S), or (N, S, K) for K outputs at once.
Features that describe a day are (R, F) for R past days and (N, F) for N new ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from genai_lib.checks import matrix, positive_int, vector
from genai_lib.scenarios import lag_matrix


def _check_order(p, n: int) -> int:
    p = positive_int("the order p", p)
    if n - p < p + 2:
        raise ValueError(f"a series of length {n} is too short for an AR({p}):"
                         f" use a smaller p (at most {(n - 2) // 2})")
    return p


@dataclass
class ARFit:
    """A fitted AR(p): y_t = coef[0] + sum_k coef[k] y_{t-k} + noise (sd sigma)."""

    coef: np.ndarray       # (p + 1,): intercept, then lags 1..p
    sigma: float           # residual standard deviation (p + 1 dof removed)
    residuals: np.ndarray  # (T - p,) in-sample one-step errors y - y_hat

    @property
    def p(self) -> int:
        """The order: how many past values one forecast reads."""
        return len(self.coef) - 1

    def predict(self, windows) -> np.ndarray:
        """One-step forecasts from windows (N, W), oldest first, W >= p -> (N,)."""
        w = np.asarray(windows, dtype=np.float64)
        w = w[None, :] if w.ndim == 1 else w
        if w.ndim != 2 or w.shape[1] < self.p:
            raise ValueError(f"windows must be (N, W) with W >= p = {self.p} "
                             f"past values, got shape {w.shape}")
        lags = w[:, ::-1][:, : self.p]            # column k-1 holds y_{t-k}
        return self.coef[0] + lags @ self.coef[1:]


def fit_ar(series, p: int, start: int | None = None) -> ARFit:
    """Least-squares AR(p) with intercept on a series (T,).

    start: fit the targets y[start:] only (default p), so that fits of different
    orders on the same series use the same targets (as order selection needs).
    """
    y = vector("series", series)
    p = _check_order(p, len(y))
    start = p if start is None else int(start)
    if not p <= start < len(y) - p - 1:
        raise ValueError(f"start must be between p = {p} and {len(y) - p - 2},"
                         f" got {start}")
    x, t = lag_matrix(y, p)
    x, t = x[start - p:], t[start - p:]
    design = np.column_stack([np.ones(len(t)), x[:, ::-1]])
    coef, *_ = np.linalg.lstsq(design, t, rcond=None)
    resid = t - design @ coef
    sigma = float(np.sqrt(resid @ resid / (len(t) - p - 1)))
    return ARFit(coef=coef, sigma=sigma, residuals=resid)


def information_criterion(fit: ARFit, kind: str = "aic") -> float:
    """AIC or BIC of a Gaussian AR fit: n log(RSS / n) + penalty * (p + 1)."""
    if kind not in ("aic", "bic"):
        raise ValueError(f"kind must be 'aic' or 'bic', got {kind!r}")
    n = len(fit.residuals)
    rss = float(fit.residuals @ fit.residuals)
    penalty = 2.0 if kind == "aic" else np.log(n)
    return n * np.log(rss / n) + penalty * (fit.p + 1)


def select_ar_order(series, max_p: int, kind: str = "aic") -> int:
    """The order 1..max_p with the smallest AIC (or BIC), all fitted on the same
    targets y[max_p:] so that their criteria are comparable."""
    y = vector("series", series)
    max_p = _check_order(max_p, len(y))
    scores = [information_criterion(fit_ar(y, p, start=max_p), kind)
              for p in range(1, max_p + 1)]
    return int(np.argmin(scores)) + 1


def normal_quantile(mean, sigma, tau: float) -> np.ndarray:
    """The tau-quantile of N(mean, sigma^2) for means (N,): mean + sigma z_tau;
    sigma is one number or one per mean (N,)."""
    if not 0.0 < tau < 1.0:
        raise ValueError(f"tau must be between 0 and 1 (e.g. 0.8), got {tau!r}")
    sd = np.asarray(sigma, dtype=np.float64)
    if sd.size == 0 or not np.all(sd > 0):
        raise ValueError(f"sigma must be positive, got {sigma!r}")
    return np.asarray(mean, dtype=np.float64) + sd * norm.ppf(tau)


def residual_bootstrap(mean, residuals, n: int, seed: int = 0) -> np.ndarray:
    """Scenarios mean + e, e drawn with replacement from past residuals:
    means (N,), residuals (R,) -> (N, n)."""
    m = np.atleast_1d(np.asarray(mean, dtype=np.float64))
    r = vector("residuals", residuals)
    n = positive_int("n (scenarios per row)", n)
    if m.ndim != 1:
        raise ValueError(f"mean must be a vector (N,), got shape {m.shape}")
    rng = np.random.default_rng(seed)
    return m[:, None] + rng.choice(r, size=(len(m), n))


@dataclass
class RollingAR:
    """One-step forecasts of y[first:], each from an AR(p) refitted on all the
    values before it: means (N,), each fit's residual sd (N,) and residuals."""

    mean: np.ndarray
    sigma: np.ndarray
    residuals: list[np.ndarray]

    def bootstrap(self, n: int, seed: int = 0) -> np.ndarray:
        """Scenarios mean + e, e drawn from that year's own fit's residuals:
        (N, n), as `residual_bootstrap` row by row."""
        rng = np.random.default_rng(seed)
        n = positive_int("n (scenarios per row)", n)
        return np.stack([m + rng.choice(r, size=n)
                         for m, r in zip(self.mean, self.residuals)])


def rolling_ar(series, first: int, p: int) -> RollingAR:
    """Forecast y[first], y[first + 1], ... of a series (T,) one step ahead,
    refitting the AR(p) before each step on y[:t] (a rolling origin with an
    expanding window): the fit a forecaster redoes when a new value arrives."""
    y = vector("series", series)
    first = positive_int("first (the first forecast index)", first,
                         low=1, high=len(y) - 1)
    fits = [fit_ar(y[:t], p) for t in range(first, len(y))]
    mean = np.array([f.predict(y[t - f.p:t])[0]
                     for f, t in zip(fits, range(first, len(y)))])
    return RollingAR(mean=mean, sigma=np.array([f.sigma for f in fits]),
                     residuals=[f.residuals for f in fits])


def _bootstrap_inputs(mean, residuals, x_past, x_new):
    """Check and shape the inputs of the feature-aware bootstraps: means (N, K),
    residuals (R, K), features (R, F) and (N, F), and whether K was 1."""
    m = np.asarray(mean, dtype=np.float64)
    r = np.asarray(residuals, dtype=np.float64)
    one = m.ndim == 1
    m = m[:, None] if one else m
    r = r[:, None] if r.ndim == 1 else r
    xp, xn = (np.asarray(a, dtype=np.float64) for a in (x_past, x_new))
    xp = matrix("x_past", xp[:, None] if xp.ndim == 1 else xp, min_rows=2)
    xn = matrix("x_new", xn[:, None] if xn.ndim == 1 else xn)
    if m.ndim != 2 or r.ndim != 2 or r.shape[1] != m.shape[1]:
        raise ValueError(f"mean (N,) or (N, K) and residuals (R,) or (R, K) must"
                         f" have the same K, got {m.shape} and {r.shape}")
    if len(r) != len(xp) or len(m) != len(xn) or xp.shape[1] != xn.shape[1]:
        raise ValueError(f"residuals {r.shape} need one row of x_past per past "
                         f"day and mean {m.shape} one row of x_new per new day,"
                         f" with the same features: got x_past {xp.shape}, "
                         f"x_new {xn.shape}")
    if not (np.isfinite(m).all() and np.isfinite(r).all()):
        raise ValueError("mean and residuals must not contain NaN or inf")
    return m, r, xp, xn, one


def spread_fit(x_past, residuals, x_new) -> np.ndarray:
    """A day's spread from its features: the least-squares line of |residual| on
    the features (with intercept), fitted on the past days (R, F), residuals (R,)
    or (R, K), evaluated at x_new (N, F) -> (N, K). Floored at a twentieth of
    the mean |residual|, since a line can fall below zero at the edges."""
    r = np.abs(np.asarray(residuals, dtype=np.float64))
    r = r[:, None] if r.ndim == 1 else r
    xp, xn = (np.asarray(a, dtype=np.float64) for a in (x_past, x_new))
    xp = xp[:, None] if xp.ndim == 1 else xp
    xn = xn[:, None] if xn.ndim == 1 else xn
    if len(r) != len(xp) or xp.shape[1:] != xn.shape[1:]:
        raise ValueError(f"residuals {r.shape} need one row of x_past {xp.shape}"
                         f" per day, and x_new {xn.shape} the same features")
    coef, *_ = np.linalg.lstsq(np.column_stack([np.ones(len(xp)), xp]), r,
                               rcond=None)
    spread = np.column_stack([np.ones(len(xn)), xn]) @ coef
    return np.maximum(spread, r.mean(axis=0) / 20)


def heteroscedastic_bootstrap(mean, residuals, x_past, x_new, n: int,
                              seed: int = 0) -> np.ndarray:
    """Scenarios mean + s(x_new) e_j / s(x_j): the residual of a past day j,
    divided by that day's fitted spread and multiplied by the new day's
    (`spread_fit`). One day j per scenario for all K outputs, so their
    dependence is kept. mean (N,) or (N, K), residuals (R,) or (R, K),
    x_past (R, F), x_new (N, F) -> (N, n) or (N, n, K)."""
    m, r, xp, xn, one = _bootstrap_inputs(mean, residuals, x_past, x_new)
    n = positive_int("n (scenarios per row)", n)
    spread = spread_fit(xp, r, np.vstack([xp, xn]))     # one fit: (R + N, K)
    standard = r / spread[:len(r)]                      # (R, K)
    j = np.random.default_rng(seed).integers(0, len(r), size=(len(m), n))
    out = m[:, None] + spread[len(r):, None] * standard[j]
    return out[..., 0] if one else out


def nearest_bootstrap(mean, residuals, x_past, x_new, n: int, k: int,
                      seed: int = 0) -> np.ndarray:
    """Scenarios mean + e_j, j drawn with replacement from the k past days whose
    features are closest to the new day's (Euclidean distance after dividing
    each feature by its sd over the past days): a conditional bootstrap. One
    day j per scenario for all K outputs. Shapes as `heteroscedastic_bootstrap`."""
    m, r, xp, xn, one = _bootstrap_inputs(mean, residuals, x_past, x_new)
    n = positive_int("n (scenarios per row)", n)
    k = positive_int("k (neighbours)", k, high=len(r))
    sd = xp.std(axis=0)
    sd[sd == 0] = 1.0
    a, b = xn / sd, xp / sd
    dist = (a**2).sum(1)[:, None] - 2 * a @ b.T + (b**2).sum(1)[None]
    near = np.argsort(dist, axis=1, kind="stable")[:, :k]   # (N, k)
    pick = np.random.default_rng(seed).integers(0, k, size=(len(m), n))
    out = m[:, None] + r[np.take_along_axis(near, pick, axis=1)]
    return out[..., 0] if one else out
