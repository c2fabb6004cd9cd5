"""Classical probabilistic forecasts of a series, the baselines a practitioner tries
before a generative model: a linear autoregression AR(p) fitted by least squares, its
order chosen by an information criterion, a normal predictive quantile and a residual
bootstrap of scenarios.

Shapes: a series is (T,); windows are (N, W) rows of consecutive past values, oldest
first, as `genai_lib.scenarios.lag_matrix` builds them (W >= p: an AR(p) reads the
last p columns); a scenario matrix is (N, S).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from genai_lib.checks import positive_int, vector
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


def normal_quantile(mean, sigma: float, tau: float) -> np.ndarray:
    """The tau-quantile of N(mean, sigma^2) for means (N,): mean + sigma z_tau."""
    if not 0.0 < tau < 1.0:
        raise ValueError(f"tau must be between 0 and 1 (e.g. 0.8), got {tau!r}")
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma!r}")
    return np.asarray(mean, dtype=np.float64) + sigma * norm.ppf(tau)


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
