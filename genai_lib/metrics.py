"""How good is a generator? Distances between sets of samples and quality/coverage scores:
kernel MMD (with the median-heuristic bandwidth), the Fréchet distance, k-NN precision and
recall, and the modes of a mixture that samples cover.

All functions take two sample sets x (N, D) and y (M, D) (flatten images first) and
return Python floats, so notebooks can print and tabulate them. The learned judge and the
baselines are in `quality`; utility and privacy of synthetic tables in `synthetic`;
interval coverage in `intervals`.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from genai_lib import checks


def _pair(x, y) -> tuple[Tensor, Tensor]:
    """Both sample sets as (N, D) / (M, D) float64 with matching D."""
    x, y = checks.samples("x", x), checks.samples("y", y)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must have the same number of features, got {x.shape[1]} and {y.shape[1]}")
    return x, y


def median_bandwidth(x: Tensor | np.ndarray, y: Tensor | np.ndarray) -> float:
    """The median heuristic: median pairwise distance within the pooled samples."""
    x, y = _pair(x, y)
    z = torch.cat([x, y])
    d = torch.cdist(z, z)
    return float(d[torch.triu_indices(len(z), len(z), 1).unbind()].median())


def mmd(x: Tensor | np.ndarray, y: Tensor | np.ndarray, bandwidth: float | None = None) -> float:
    """Squared maximum mean discrepancy with a Gaussian kernel (unbiased estimate).

    k(a, b) = exp(-|a - b|^2 / (2 h^2)), h = `bandwidth` (median heuristic if None).
    Gretton et al. (2012), "A kernel two-sample test", eq. (3). ~0 when x, y share a distribution.
    """
    x, y = _pair(x, y)
    h = bandwidth if bandwidth is not None else median_bandwidth(x, y)
    if h <= 0:
        raise ValueError(f"bandwidth must be positive, got {h}")
    k = lambda a, b: torch.exp(-torch.cdist(a, b) ** 2 / (2 * h * h))  # noqa: E731
    n, m = len(x), len(y)
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    within_x = (kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1))
    within_y = (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
    return float(within_x + within_y - 2 * kxy.mean())


def _sqrtm_psd(a: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix via its eigen-decomposition."""
    w, v = np.linalg.eigh((a + a.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_gaussian(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray) -> float:
    """Fréchet (2-Wasserstein) distance squared between N(mu1, cov1) and N(mu2, cov2).

    |mu1 - mu2|^2 + tr(C1 + C2 - 2 (C1^1/2 C2 C1^1/2)^1/2)  (Dowson & Landau, 1982).
    """
    mu1, mu2, cov1, cov2 = (np.asarray(a, dtype=np.float64) for a in (mu1, mu2, cov1, cov2))
    d = mu1.shape[0] if mu1.ndim == 1 else -1
    for name, a, shape in (("mu1", mu1, (d,)), ("mu2", mu2, (d,)), ("cov1", cov1, (d, d)),
                           ("cov2", cov2, (d, d))):
        if d < 1 or a.shape != shape:
            raise ValueError(f"{name} must have shape {shape if d >= 1 else '(D,)'} (means (D,), "
                             f"covariances (D, D)), got {a.shape}")
        if not np.isfinite(a).all():
            raise ValueError(f"{name} contains NaN or inf values")
    s1 = _sqrtm_psd(cov1)
    cross = _sqrtm_psd(s1 @ cov2 @ s1)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(cov1) + np.trace(cov2) - 2 * np.trace(cross))


def frechet_distance(x: Tensor | np.ndarray, y: Tensor | np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N, D), (M, D).

    Computed on a classifier's features this is the FID of Heusel et al. (2017).
    """
    x, y = (t.numpy() for t in _pair(x, y))
    return frechet_gaussian(x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False))


def _knn_radii(a: Tensor, k: int) -> Tensor:
    """Distance from each row of a (N, D) to its k-th nearest other row: (N,)."""
    d = torch.cdist(a, a)
    return d.kthvalue(k + 1, dim=1).values  # +1 skips the point itself (distance 0)


def _coverage(points: Tensor, support: Tensor, k: int) -> float:
    """Share of `points` that fall inside some k-NN ball around a `support` point."""
    if k < 1 or k >= len(support):
        raise ValueError(f"k must be between 1 and {len(support) - 1}, got {k}")
    radii = _knn_radii(support, k)
    inside = torch.cdist(points, support) <= radii[None, :]
    return float(inside.any(dim=1).double().mean())


def precision_recall(real: Tensor | np.ndarray, fake: Tensor | np.ndarray, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall of generated samples (Kynkäänniemi et al., 2019).

    precision: share of fake samples inside the real data's k-NN manifold (quality);
    recall: share of real samples inside the fake data's k-NN manifold (coverage).
    """
    real, fake = _pair(real, fake)
    return _coverage(fake, real, k), _coverage(real, fake, k)


def modes_covered(samples: Tensor | np.ndarray, centers: Tensor | np.ndarray, max_dist: float,
                  min_share: float = 0.01) -> tuple[int, float]:
    """For mixtures: how many modes get >= min_share of the samples within max_dist, and the
    share of samples within max_dist of any mode ("high quality"). samples (N, D), centers (K, D)."""
    samples, centers = _pair(samples, centers)
    d = torch.cdist(samples, centers)
    nearest = d.argmin(dim=1)
    good = d.min(dim=1).values <= max_dist
    counts = torch.bincount(nearest[good], minlength=len(centers)).double() / len(samples)
    return int((counts >= min_share).sum()), float(good.double().mean())
