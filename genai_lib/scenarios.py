"""Scenarios and decisions: many sampled futures from a generative model, turned into a
decision (the newsvendor order) or an interval (a probabilistic forecast).

Shapes: a scenario matrix is (N, S): for each of N situations (periods, patients), S
sampled values of the uncertain quantity.
"""

from __future__ import annotations

import numpy as np

from genai_lib.checks import positive_int


def _np(a, name: str) -> np.ndarray:
    """A float64 NumPy array from an array, list or tensor, checked for NaN/inf."""
    out = np.asarray(a.detach().cpu() if hasattr(a, "detach") else a, dtype=np.float64)
    if not np.isfinite(out).all():
        bad = int(np.sum(~np.isfinite(out)))
        raise ValueError(f"{name} contains NaN or inf values ({bad} of {out.size})")
    return out


def _check_costs(over: float, under: float) -> None:
    if not (over > 0 and under > 0):
        raise ValueError(f"over and under (costs per unit) must be positive, got over={over}, under={under}")


def lag_matrix(series, lags: int) -> tuple[np.ndarray, np.ndarray]:
    """Sliding windows of a series (T,): X (T - lags, lags) = the previous `lags` values, y (T - lags,)."""
    s = _np(series, "series")
    if s.ndim != 1:
        raise ValueError(f"series must be 1-D (T,), got shape {s.shape}")
    lags = positive_int("lags", lags, high=len(s) - 1)
    x = np.lib.stride_tricks.sliding_window_view(s, lags)[:-1]
    return x.copy(), s[lags:].copy()


def newsvendor_cost(order, demand, over: float, under: float) -> np.ndarray:
    """Cost of stocking `order` when `demand` happens: over * leftover + under * shortfall (elementwise)."""
    _check_costs(over, under)
    q, d = np.broadcast_arrays(_np(order, "order"), _np(demand, "demand"))
    return over * np.maximum(q - d, 0.0) + under * np.maximum(d - q, 0.0)


def critical_ratio(over: float, under: float) -> float:
    """The newsvendor's optimal service level under / (under + over) (Arrow, Harris & Marschak, 1951)."""
    _check_costs(over, under)
    return under / (under + over)


def newsvendor_order(scenarios, over: float, under: float) -> np.ndarray:
    """Order minimising expected cost over the scenarios: their critical-ratio quantile. (N, S) -> (N,)."""
    s = _np(scenarios, "scenarios")
    if s.ndim != 2 or s.shape[1] < 2:
        raise ValueError(f"scenarios must have shape (N, S) with S >= 2 samples, got {s.shape}")
    return np.quantile(s, critical_ratio(over, under), axis=1)


def expected_cost(order, scenarios, over: float, under: float) -> np.ndarray:
    """Mean newsvendor cost of `order` (N,) over scenario rows (N, S) -> (N,)."""
    s = _np(scenarios, "scenarios")
    q = _np(order, "order").reshape(-1, 1)
    if s.ndim != 2 or len(q) != len(s):
        raise ValueError(f"order (N,) and scenarios (N, S) must agree, got {q.shape[0]} and {s.shape}")
    return newsvendor_cost(q, s, over, under).mean(axis=1)


def interval(samples, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Central prediction interval from samples (N, S): the (1-level)/2 and (1+level)/2 quantiles, (N,) each."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.8), got {level!r}")
    s = _np(samples, "samples")
    if s.ndim != 2 or s.shape[1] < 2:
        raise ValueError(f"samples must have shape (N, S) with S >= 2, got {s.shape}")
    lo, hi = np.quantile(s, [(1 - level) / 2, (1 + level) / 2], axis=1)
    return lo, hi


def pair_cost(orders, demand, over: float, under: float,
              penalty: float) -> np.ndarray:
    """Cost of two products' orders (..., 2) when demand (..., 2) happens: each
    product's newsvendor cost, plus `penalty` when both run short. -> (...)."""
    _check_costs(over, under)
    if not penalty >= 0:
        raise ValueError(f"penalty must be >= 0 (cost when both run short), "
                         f"got {penalty!r}")
    q, d = np.broadcast_arrays(_np(orders, "orders"), _np(demand, "demand"))
    if q.shape[-1] != 2:
        raise ValueError(f"orders and demand need a last axis of 2 products, "
                         f"got shape {q.shape}")
    each = newsvendor_cost(q, d, over, under).sum(axis=-1)
    return each + penalty * (d > q).all(axis=-1)


def pair_orders(scenarios, over: float, under: float, penalty: float,
                levels=None) -> np.ndarray:
    """Orders for two products minimising `pair_cost` averaged over joint
    scenarios (N, S, 2) -> (N, 2).

    The candidates are each product's scenario quantiles at `levels` (default
    0.5 to 0.995 in 25 steps); every pair of candidates is tried (a grid).
    """
    s = _np(scenarios, "scenarios")
    if s.ndim != 3 or s.shape[2] != 2 or s.shape[1] < 2:
        raise ValueError(f"scenarios must have shape (N, S, 2): S >= 2 joint "
                         f"draws of 2 products per row, got {s.shape}")
    _check_costs(over, under)
    if not penalty >= 0:
        raise ValueError(f"penalty must be >= 0, got {penalty!r}")
    lv = np.linspace(0.5, 0.995, 25) if levels is None else _np(levels, "levels")
    if lv.ndim != 1 or not ((lv > 0) & (lv < 1)).all():
        raise ValueError("levels must be a vector of quantile levels in (0, 1)")
    n, g = len(s), len(lv)
    cand = np.moveaxis(np.quantile(s, lv, axis=1), 0, 1)      # (N, G, 2)
    d, q = s[:, None], cand[:, :, None]                       # (N,1,S,2), (N,G,1,2)
    each = newsvendor_cost(q, d, over, under).mean(axis=2)    # (N, G, 2)
    short = (d > q).astype(np.float64)                        # (N, G, S, 2)
    both = np.einsum("ngs,nhs->ngh", short[..., 0], short[..., 1]) / s.shape[1]
    total = each[:, :, None, 0] + each[:, None, :, 1] + penalty * both
    i, j = np.unravel_index(total.reshape(n, -1).argmin(axis=1), (g, g))
    rows = np.arange(n)
    return np.stack([cand[rows, i, 0], cand[rows, j, 1]], axis=1)
