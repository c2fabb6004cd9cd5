import numpy as np
import pytest
import torch

from genai_lib import scenarios as sc
from genai_lib.vae import VAE, VAEConfig


def test_lag_matrix():
    x, y = sc.lag_matrix(np.arange(6.0), 2)
    assert x.tolist() == [[0, 1], [1, 2], [2, 3], [3, 4]] and y.tolist() == [2, 3, 4, 5]
    with pytest.raises(ValueError, match="lags"):
        sc.lag_matrix(np.arange(3.0), 3)


def test_newsvendor_cost_and_ratio():
    assert sc.newsvendor_cost(10, 7, over=1, under=4).item() == 3
    assert sc.newsvendor_cost(5, 7, over=1, under=4).item() == 8
    assert sc.critical_ratio(1, 4) == pytest.approx(0.8)
    with pytest.raises(ValueError, match="positive"):
        sc.critical_ratio(0, 1)


def test_newsvendor_order_minimises_expected_cost():
    s = np.random.default_rng(0).exponential(10, size=(3, 4000))
    q = sc.newsvendor_order(s, over=1, under=4)
    assert q.shape == (3,)
    base = sc.expected_cost(q, s, 1, 4)
    for shift in (-1.0, 1.0):
        assert (sc.expected_cost(q + shift, s, 1, 4) > base).all()
    assert np.allclose(q, 10 * np.log(5), rtol=0.1)   # exponential quantile at 0.8


def test_interval():
    s = np.tile(np.arange(101.0), (2, 1))
    lo, hi = sc.interval(s, 0.8)
    assert np.allclose(lo, 10) and np.allclose(hi, 90)
    with pytest.raises(ValueError, match="level"):
        sc.interval(s, 80)


def test_sampling_from_gaussian_vae():
    torch.manual_seed(0)
    m = VAE(VAEConfig(data_dim=2, latent_dim=2, hidden=8, cond_dim=3, likelihood="gaussian"))
    with torch.no_grad():
        m.log_std.fill_(np.log(2.0))
    c = torch.randn(4, 3)
    out = sc.predictive_samples(m, c, 500)
    assert out.shape == (4, 500, 2)
    assert out.std(dim=1).mean() > 1.5          # the decoder noise is included
    assert sc.sample_with_noise(m, 4, c).shape == (4, 2)
    with pytest.raises(ValueError, match="gaussian"):
        sc.sample_with_noise(VAE(VAEConfig(data_dim=2, latent_dim=2, hidden=8)), 3)
    with pytest.raises(ValueError, match=r"c must have shape \(5, C\)"):
        sc.sample_with_noise(m, 5, c)


def test_metrics_tabular_utility_and_privacy():
    from genai_lib import metrics
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3)); y = (x[:, 0] > 0).astype(int)
    assert metrics.tstr(x, y, x, y) > 0.9
    assert metrics.tstr(x, 1 - y, x, y, score="roc_auc") < 0.1   # labels flipped: fails
    with np.testing.assert_raises(ValueError):
        metrics.tstr(x, y, x, y, score="f1")
    d = metrics.distance_to_closest_record(np.array([[0.0, 0], [3, 4]]), np.array([[0.0, 0], [0, 1]]))
    assert np.allclose(d, [0, np.sqrt(9 + 9)])
    assert metrics.coverage([1, 2, 3, 4], [0, 0, 0, 5], [1, 1, 5, 6]) == 0.5
    with np.testing.assert_raises(ValueError):
        metrics.coverage([1, 2], [3, 3], [0, 0])
