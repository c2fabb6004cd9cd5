"""Densities fitted as baselines and priors: one Gaussian and a mixture of Gaussians.

`sample_gaussian`: draws from the full-covariance Gaussian fitted to data (a baseline).
`fit_mixture` / `sample_mixture`: a full-covariance Gaussian mixture (scikit-learn) fitted to
data, and draws from it (the baselines of `quality`, the VAE's fitted prior in `vae`).
Models may import this module; it imports no evaluation (`quality`, `metrics`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def sample_gaussian(x: Tensor, n: int, generator: torch.Generator | None = None) -> Tensor:
    """n draws (n, D) from the Gaussian with x's mean and covariance, x (N, D), in x's dtype.

    A little jitter (1e-6 on the diagonal) keeps the covariance invertible where a feature is
    constant (pixels that are always 0 at an image's border).
    """
    dim = x.shape[1]
    mean, cov = x.mean(0), torch.cov(x.T)
    chol = torch.linalg.cholesky(cov + 1e-6 * torch.eye(dim, dtype=cov.dtype))
    return mean + torch.randn(n, dim, generator=generator, dtype=cov.dtype) @ chol.T


def fit_mixture(x: np.ndarray, components: int, seed: int = 0):
    """A sklearn GaussianMixture of `components` full-covariance Gaussians fitted to x (N, D)."""
    from sklearn.mixture import GaussianMixture

    return GaussianMixture(components, covariance_type="full", reg_covar=1e-4,
                           random_state=seed).fit(x)


def sample_mixture(gmm, n: int, seed: int = 0) -> Tensor:
    """n draws (n, D), in random order, from a fitted full-covariance sklearn GaussianMixture."""
    g = torch.Generator().manual_seed(seed)
    weights = torch.as_tensor(gmm.weights_, dtype=torch.float64)
    comp = torch.multinomial(weights, n, replacement=True, generator=g)        # (n,)
    means = torch.as_tensor(gmm.means_, dtype=torch.float64)                   # (K, D)
    chol = torch.linalg.cholesky(torch.as_tensor(gmm.covariances_, dtype=torch.float64))
    eps = torch.randn(n, means.shape[1], 1, generator=g, dtype=torch.float64)
    return (means[comp] + (chol[comp] @ eps).squeeze(-1)).float()
