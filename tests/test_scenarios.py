import numpy as np
import pytest

from genai_lib import scenarios as sc


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


def test_pair_cost_by_hand():
    d = np.array([[5.0, 7.0], [1.0, 1.0]])
    q = np.array([[4.0, 6.0], [2.0, 0.0]])
    # row 0: both short by 1 -> 4 + 4 + penalty; row 1: 1 over, 1 short -> 1 + 4
    assert sc.pair_cost(q, d, 1, 4, penalty=10).tolist() == [18.0, 5.0]
    with pytest.raises(ValueError, match="2 products"):
        sc.pair_cost(np.ones(3), np.ones(3), 1, 4, 0)
    with pytest.raises(ValueError, match="penalty"):
        sc.pair_cost(q, d, 1, 4, -1)


def test_pair_orders_penalty_zero_is_two_newsvendors():
    rng = np.random.default_rng(0)
    s = rng.exponential(10, size=(3, 4000, 2))
    levels = np.linspace(0.5, 0.99, 50)
    q = sc.pair_orders(s, 1, 4, penalty=0.0, levels=levels)
    best = levels[np.argmin(np.abs(levels - 0.8))]          # nearest grid level
    assert np.allclose(q, np.quantile(s, best, axis=1))


def test_pair_orders_penalty_counts_joint_shortage():
    rng = np.random.default_rng(1)
    common = rng.normal(size=(2, 3000, 1))
    joint = 50 + 10 * common + rng.normal(size=(2, 3000, 2))     # corr ~ 0.99
    indep = joint.copy()
    indep[:, :, 1] = rng.permutation(indep[:, :, 1], axis=1)     # same marginals
    q0 = sc.pair_orders(joint, 1, 1, penalty=0.0)
    qj = sc.pair_orders(joint, 1, 1, penalty=50.0)
    qi = sc.pair_orders(indep, 1, 1, penalty=50.0)
    # a penalty for both short: order more in total
    assert (qj >= q0).all() and (qj.sum(axis=1) > q0.sum(axis=1)).all()
    # judged on the joint scenarios, the orders from independent ones cost
    # more: they misjudge how often both products run short together
    cost = lambda q: sc.pair_cost(q[:, None], joint, 1, 1, 50.0).mean(1)  # noqa: E731
    assert (cost(qj) < cost(qi) - 0.5).all(), (cost(qj), cost(qi))
    with pytest.raises(ValueError, match=r"\(N, S, 2\)"):
        sc.pair_orders(joint[0], 1, 1, 0.0)
