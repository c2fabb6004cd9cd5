import numpy as np
import pytest
from scipy import stats

from genai_lib import intervals, synthetic


def correlated(n=4000, rho=0.7, seed=0):
    """x0 standard normal, x1 exponential, with normal-score correlation rho."""
    rng = np.random.default_rng(seed)
    z = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=n)
    return np.c_[z[:, 0], stats.expon.ppf(stats.norm.cdf(z[:, 1]))]


def test_independent_marginals_keeps_columns_breaks_links():
    x = correlated()
    s = synthetic.independent_marginals(x, 3000, seed=1)
    assert s.shape == (3000, 2)
    for j in range(2):                     # only values of that column
        assert np.isin(s[:, j], x[:, j]).all()
    assert abs(np.corrcoef(s.T)[0, 1]) < 0.06               # the link is gone
    assert synthetic.ks_distances(x, s).max() < 0.05          # marginals kept
    assert np.array_equal(s, synthetic.independent_marginals(x, 3000, seed=1))


def test_gaussian_copula_reproduces_correlation_and_marginals():
    x = correlated(rho=0.7)
    s = synthetic.gaussian_copula(x, 4000, seed=2)
    assert s.shape == (4000, 2)
    scores = stats.norm.ppf(stats.rankdata(s, axis=0) / (len(s) + 1))
    assert abs(np.corrcoef(scores.T)[0, 1] - 0.7) < 0.03     # the copula
    assert stats.ks_2samp(s[:, 1], x[:, 1]).statistic < 0.04  # the exponential marginal
    assert s[:, 1].min() >= x[:, 1].min() and s[:, 1].max() <= x[:, 1].max()
    assert np.array_equal(s, synthetic.gaussian_copula(x, 4000, seed=2))
    # an independent pair stays independent
    flat = synthetic.gaussian_copula(correlated(rho=0.0), 4000, seed=3)
    assert abs(np.corrcoef(flat.T)[0, 1]) < 0.05


def test_gaussian_copula_discrete_and_constant_columns():
    x = np.c_[np.r_[np.zeros(50), np.ones(50)], np.full(100, 3.0), np.arange(100.0)]
    s = synthetic.gaussian_copula(x, 500, seed=0, method="inverted_cdf")
    assert set(np.unique(s[:, 0])) <= {0.0, 1.0} and (s[:, 1] == 3.0).all()
    assert abs(s[:, 0].mean() - 0.5) < 0.1


def test_ks_and_correlation_gap_hand_cases():
    a = np.c_[np.r_[np.zeros(6), np.ones(4)], np.arange(10.0)]
    b = np.c_[np.r_[np.zeros(9), np.ones(1)], np.arange(10.0)]
    assert np.allclose(synthetic.ks_distances(a, b), [0.3, 0.0])  # share 0.4 vs 0.1
    x = np.c_[np.arange(10.0), np.arange(10.0)]                    # corr +1
    y = np.c_[np.arange(10.0), -np.arange(10.0)]                   # corr -1
    assert synthetic.correlation_gap(x, y) == pytest.approx(2.0)
    assert synthetic.correlation_gap(x, x) == pytest.approx(0.0)
    z = np.c_[np.arange(10.0), np.ones(10)]                        # constant: corr 0
    assert synthetic.correlation_gap(x, z) == pytest.approx(1.0)


def test_detection_auc():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(400, 3))
    same = rng.normal(size=(400, 3))
    shifted = same + np.array([1.5, 0, 0])
    assert abs(synthetic.detection_auc(real, same) - 0.5) < 0.08
    assert synthetic.detection_auc(real, shifted) > 0.8
    # broken dependence, right marginals: trees see it
    x = correlated(n=800, rho=0.95)
    flat = synthetic.independent_marginals(x, 800, seed=0)
    assert synthetic.detection_auc(x, flat) > 0.75


def test_near_copy_share_and_judge():
    holdout = np.linspace(1, 2, 101)                     # 5th percentile: 1.05
    assert synthetic.near_copy_share([0.0, 1.04, 1.06, 3.0], holdout) == 0.5
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 4))
    y = (x[:, 0] > 0).astype(int)
    x_te = rng.normal(size=(200, 4))
    y_te = (x_te[:, 0] > 0).astype(int)
    copies = x + 1e-3 * rng.normal(size=x.shape)
    out = synthetic.judge(copies, x, x_te, y, y, y_te)
    assert set(out) == {"KS mean", "KS max", "corr gap", "detect AUC", "TSTR AUC",
                        "DCR median", "near-copies %"}
    assert out["near-copies %"] > 95 and out["TSTR AUC"] > 0.95 and out["KS max"] < 0.05
    noise = synthetic.judge(3 * rng.normal(size=(300, 4)), x, x_te)
    assert "TSTR AUC" not in noise and noise["near-copies %"] < 5
    assert noise["detect AUC"] > 0.75 and noise["KS mean"] > 0.2


def test_paired_bootstrap():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    good = np.where(rng.random(500) < 0.9, y, 1 - y)        # 90 % right
    bad = np.where(rng.random(500) < 0.6, y, 1 - y)         # 60 % right
    acc = lambda t, p: float(np.mean(t == p))  # noqa: E731
    d, lo, hi = intervals.paired_metric_bootstrap(acc, y, good, bad, n_boot=400)
    assert d == pytest.approx(acc(y, good) - acc(y, bad)) and 0.2 < lo < d < hi < 0.4
    d, lo, hi = intervals.paired_metric_bootstrap(acc, y, good, good, n_boot=100)
    assert d == lo == hi == 0.0                              # paired: no noise at all
    with pytest.raises(ValueError, match="same length"):
        intervals.paired_metric_bootstrap(acc, y, good[:10], bad)


def test_bad_input():
    with pytest.raises(ValueError, match="shape"):
        synthetic.gaussian_copula(np.zeros(5), 3)
    with pytest.raises(ValueError, match="NaN"):
        synthetic.independent_marginals(np.array([[np.nan, 1.0]]), 3)
    with pytest.raises(ValueError, match="n must be"):
        synthetic.independent_marginals(np.zeros((3, 2)), -1)
    with pytest.raises(ValueError, match="same number of columns"):
        synthetic.ks_distances(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="all of y_synthetic"):
        synthetic.judge(np.zeros((9, 2)), np.ones((9, 2)), np.ones((9, 2)), y_train=[0, 1])
    with pytest.raises(ValueError, match="q must be"):
        synthetic.near_copy_share([1.0], [1.0], q=5)


def test_tabular_utility_and_privacy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3)); y = (x[:, 0] > 0).astype(int)
    assert synthetic.tstr(x, y, x, y) > 0.9
    assert synthetic.tstr(x, 1 - y, x, y, score="roc_auc") < 0.1   # labels flipped: fails
    with np.testing.assert_raises(ValueError):
        synthetic.tstr(x, y, x, y, score="f1")
    d = synthetic.distance_to_closest_record(np.array([[0.0, 0], [3, 4]]),
                                             np.array([[0.0, 0], [0, 1]]))
    assert np.allclose(d, [0, np.sqrt(9 + 9)])
    with pytest.raises(ValueError, match="query and reference must have the same number"):
        synthetic.distance_to_closest_record(np.zeros((2, 3)), np.zeros((2, 2)))


def test_detection_scores_are_held_out_and_paired():
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    real = rng.normal(size=(400, 3))
    same, shifted = rng.normal(size=(400, 3)), rng.normal(size=(400, 3)) + 1.5
    labels, s_same = synthetic.detection_scores(real, same)
    labels2, s_shift = synthetic.detection_scores(real, shifted)
    assert labels.shape == s_same.shape == (400,)
    assert np.array_equal(labels, labels2)
    assert (labels[:200] == 0).all() and (labels[200:] == 1).all()
    assert abs(roc_auc_score(labels, s_same) - 0.5) < 0.1       # indistinguishable
    assert roc_auc_score(labels, s_shift) > 0.9                  # easy to spot
    d, lo, hi = intervals.paired_metric_bootstrap(roc_auc_score, labels, s_shift, s_same,
                                                  n_boot=200)
    assert lo > 0 and d > 0.3

    class FirstColumn(ClassifierMixin, BaseEstimator):
        """Scores each row by its first column: shows which rows were held out."""

        def fit(self, x, y):
            return self

        def predict_proba(self, x):
            return np.c_[1 - x[:, 0], x[:, 0]]

    _, a = synthetic.detection_scores(real, same, model=FirstColumn())
    _, b = synthetic.detection_scores(real, shifted, model=FirstColumn())
    assert np.array_equal(a[:200], b[:200])                      # the same real rows
    assert np.isin(a[:200], real[:, 0]).all()
    with pytest.raises(ValueError, match="columns"):
        synthetic.detection_scores(real, same[:, :2])
    with pytest.raises(ValueError, match="at least 4"):
        synthetic.detection_scores(real[:3], same)


def test_wave_table_hides_the_class_from_a_copula():
    x, y = synthetic.wave_table(4000, seed=0)
    assert x.shape == (4000, 2) and set(np.unique(y)) == {0, 1}
    assert np.array_equal(x, synthetic.wave_table(4000, seed=0)[0])
    a, w = x[y == 0], x[y == 1]
    for j in range(2):                          # the same marginals in both classes
        assert stats.ks_2samp(a[:, j], w[:, j]).statistic < 0.05
    for part in (a, w):                         # and no rank correlation: a copula sees
        assert abs(stats.spearmanr(part[:, 0], part[:, 1])[0]) < 0.08  # independence
    sign = np.where(y == 1, 1, -1)
    assert np.corrcoef(x[:, 1], sign * np.cos(2 * x[:, 0]))[0, 1] > 0.95  # the wave


def test_curved_table_shapes_and_seeds():
    x, y = synthetic.curved_table(500, dim=12, seed=3)
    assert x.shape == (500, 12) and y.shape == (500,)
    assert 0.2 < y.mean() < 0.8
    assert np.array_equal(x, synthetic.curved_table(500, dim=12, seed=3)[0])
    other = synthetic.curved_table(500, dim=12, seed=4)[0]
    assert not np.array_equal(x, other)
    # the rows lie near a 2-D surface: two principal components hold most variance
    s = np.linalg.svd(x - x.mean(0), compute_uv=False) ** 2
    assert s[:2].sum() / s.sum() > 0.8 and s[:3].sum() / s.sum() < 0.999
    with pytest.raises(ValueError):
        synthetic.curved_table(0)
