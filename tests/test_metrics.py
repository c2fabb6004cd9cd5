"""Unit tests of genai_lib.metrics: distances between sample sets and quality scores."""

import numpy as np
import pytest
import torch

from genai_lib import data, metrics


def gauss(n, d=2, shift=0.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g) + shift


def test_mmd_self_is_zero_and_grows_with_shift():
    x, y = gauss(300, seed=0), gauss(300, seed=1)
    same = metrics.mmd(x, y)
    assert abs(same) < 0.01
    values = [metrics.mmd(x, gauss(300, shift=s, seed=1), bandwidth=1.0) for s in (0.5, 1.0, 2.0)]
    assert values[0] > 0.02 and values[0] < values[1] < values[2]


def test_median_bandwidth_scales():
    x, y = gauss(100, seed=0), gauss(100, seed=1)
    assert metrics.median_bandwidth(3 * x, 3 * y) == pytest.approx(3 * metrics.median_bandwidth(x, y))


def test_frechet_gaussian_closed_form():
    # Diagonal covariances: FD = |mu1-mu2|^2 + sum (sqrt(a) - sqrt(b))^2.
    mu1, mu2 = np.array([0.0, 1.0]), np.array([2.0, -1.0])
    c1, c2 = np.diag([1.0, 4.0]), np.diag([9.0, 1.0])
    expected = 8.0 + (1 - 3) ** 2 + (2 - 1) ** 2
    assert metrics.frechet_gaussian(mu1, c1, mu2, c2) == pytest.approx(expected)
    assert metrics.frechet_gaussian(mu1, c1, mu1, c1) == pytest.approx(0.0, abs=1e-9)


def test_frechet_distance_of_samples_matches_closed_form():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(20000, 2, generator=g)
    y = torch.randn(20000, 2, generator=g) * torch.tensor([2.0, 1.0]) + torch.tensor([1.0, 0.0])
    expected = 1.0 + (1 - 2) ** 2
    assert metrics.frechet_distance(x, y) == pytest.approx(expected, abs=0.1)


def test_precision_recall_constructed_cases():
    real = gauss(400, seed=0)
    p, r = metrics.precision_recall(real, gauss(400, seed=1))
    assert p > 0.8 and r > 0.8
    # All fakes on one point near the centre: precise but no coverage.
    collapsed = torch.zeros(400, 2) + 0.01 * gauss(400, seed=2)
    p, r = metrics.precision_recall(real, collapsed)
    assert p > 0.95 and r < 0.2
    # Fakes far away: neither.
    p, r = metrics.precision_recall(real, gauss(400, shift=20.0, seed=3))
    assert p == 0.0 and r == 0.0


def test_modes_covered():
    centers = data.ring_centers(8)
    x, _ = data.ring_of_gaussians(800, seed=0)
    assert metrics.modes_covered(x, centers, max_dist=0.3) == (8, pytest.approx(1.0))
    one = centers[:1].repeat(100, 1)
    far = torch.full((100, 2), 10.0)
    n, good = metrics.modes_covered(torch.cat([one, far]), centers, max_dist=0.3)
    assert n == 1 and good == pytest.approx(0.5)


def test_clear_errors():
    with pytest.raises(ValueError, match="shape \\(N, D\\)"):
        metrics.mmd(torch.zeros(5, 2, 2), torch.zeros(5, 4))
    with pytest.raises(ValueError, match="same number of features"):
        metrics.mmd(torch.zeros(5, 2), torch.zeros(5, 3))
    with pytest.raises(ValueError, match="NaN"):
        metrics.frechet_distance(torch.full((5, 2), float("nan")), torch.zeros(5, 2))
    with pytest.raises(ValueError, match="k must be"):
        metrics.precision_recall(torch.zeros(3, 2), torch.zeros(3, 2), k=5)
