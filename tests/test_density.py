"""Unit tests of genai_lib.density: the fitted Gaussian and Gaussian mixture, and that the
models take their densities from it, not from the evaluation modules."""

import ast
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.mixture import GaussianMixture

from genai_lib import density

ROOT = Path(__file__).resolve().parents[1]


def test_sample_mixture_matches_the_mixture():
    g = torch.Generator().manual_seed(0)
    # Two separated clusters, 30 % / 70 %, different spreads.
    x = torch.cat([torch.randn(300, 2, generator=g) * 0.5 + torch.tensor([-5.0, 0.0]),
                   torch.randn(700, 2, generator=g) * torch.tensor([1.0, 0.2])
                   + torch.tensor([5.0, 2.0])])
    gmm = GaussianMixture(2, covariance_type="full", random_state=0).fit(x.numpy())
    draws = density.sample_mixture(gmm, 20000, seed=1)
    assert draws.shape == (20000, 2) and draws.dtype == torch.float32
    mixture_mean = (gmm.weights_[:, None] * gmm.means_).sum(0)
    assert np.allclose(draws.double().mean(0).numpy(), mixture_mean, atol=0.1)
    left = draws[:, 0] < 0
    assert left.double().mean().item() == pytest.approx(0.3, abs=0.02)
    # Within a component, the component's covariance.
    k = int(np.argmax(gmm.means_[:, 0]))
    assert np.allclose(np.cov(draws[~left].numpy(), rowvar=False), gmm.covariances_[k], atol=0.05)
    # Random order (not all of one component first) and reproducible by seed.
    assert 0 < left[:100].sum() < 100
    assert torch.equal(density.sample_mixture(gmm, 50, seed=1),
                       density.sample_mixture(gmm, 50, seed=1))
    assert not torch.equal(density.sample_mixture(gmm, 50, seed=1),
                           density.sample_mixture(gmm, 50, seed=2))


def test_fit_mixture_is_seeded_full_covariance():
    x = np.random.default_rng(0).normal(size=(200, 3))
    a, b = density.fit_mixture(x, 2, seed=4), density.fit_mixture(x, 2, seed=4)
    assert a.covariance_type == "full" and a.covariances_.shape == (2, 3, 3)
    assert np.array_equal(a.means_, b.means_)


def test_sample_gaussian_matches_mean_and_covariance():
    g = torch.Generator().manual_seed(0)
    cov = torch.tensor([[1.0, 0.8], [0.8, 1.0]], dtype=torch.float64)
    x = torch.randn(5000, 2, generator=g, dtype=torch.float64) @ torch.linalg.cholesky(cov).T + 3
    draws = density.sample_gaussian(x, 20000, torch.Generator().manual_seed(1))
    assert draws.shape == (20000, 2) and draws.dtype == torch.float64
    assert torch.allclose(draws.mean(0), x.mean(0), atol=0.05)
    assert torch.allclose(torch.cov(draws.T), torch.cov(x.T), atol=0.05)
    # A constant feature (an always-black border pixel): the jitter keeps it drawable.
    flat = torch.cat([x[:, :1], torch.zeros(5000, 1, dtype=torch.float64)], dim=1)
    assert density.sample_gaussian(flat, 10)[:, 1].abs().max() < 0.01


def _imports(path: Path) -> set[str]:
    """The genai_lib modules a file imports, as dotted names ('genai_lib.quality', ...)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("genai_lib"):
            names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            names |= {a.name for a in node.names if a.name.startswith("genai_lib")}
    return names


def test_models_import_no_evaluation():
    """Models may use density; evaluation (quality, metrics, ...) may use models, not back."""
    evaluation = {f"genai_lib.{m}" for m in ("quality", "metrics", "synthetic", "neighbours",
                                             "intervals", "melody_stats")}
    models = [ROOT / "genai_lib" / f for f in ("density.py", "models.py", "convnets.py", "unet.py",
                                               "vae.py", "diffusion.py", "autoregressive.py")]
    models += sorted((ROOT / "genai_lib" / "gan").glob("*.py"))
    for path in models:
        assert not _imports(path) & evaluation, path.relative_to(ROOT).as_posix()
    assert "genai_lib.density" in _imports(ROOT / "genai_lib" / "vae.py")  # its fitted prior
