import numpy as np
import pytest

from genai_lib import forecast as fc


def _ar2(n, seed=0):
    rng = np.random.default_rng(seed)
    y = np.zeros(n)
    for t in range(2, n):
        y[t] = 2.0 + 0.6 * y[t - 1] - 0.3 * y[t - 2] + rng.normal()
    return y


def test_fit_ar_recovers_known_coefficients():
    fit = fc.fit_ar(_ar2(20000), 2)
    assert fit.p == 2
    assert np.allclose(fit.coef, [2.0, 0.6, -0.3], atol=0.05)
    assert fit.sigma == pytest.approx(1.0, abs=0.03)
    assert len(fit.residuals) == 20000 - 2


def test_fit_ar_matches_statsmodels_autoreg():
    from statsmodels.tsa.ar_model import AutoReg
    y = _ar2(300, seed=3)
    ours = fc.fit_ar(y, 4)
    ref = AutoReg(y, 4, trend="c").fit()
    assert np.allclose(ours.coef, ref.params)
    assert np.allclose(ours.residuals, ref.resid)


def test_predict_reads_the_last_p_values_of_a_window():
    fit = fc.ARFit(coef=np.array([1.0, 0.5, 0.25]), sigma=1.0,
                   residuals=np.zeros(3))
    # window oldest first: y_{t-3}=9, y_{t-2}=2, y_{t-1}=4 -> 1 + .5*4 + .25*2
    assert fit.predict(np.array([[9.0, 2.0, 4.0]])).tolist() == [3.5]
    with pytest.raises(ValueError, match="W >= p"):
        fit.predict(np.ones((2, 1)))


def test_select_ar_order_and_criteria():
    y = _ar2(2000, seed=1)
    assert fc.select_ar_order(y, 8, kind="bic") == 2
    assert fc.select_ar_order(y, 8, kind="aic") >= 2
    fit = fc.fit_ar(y, 2)
    n = len(fit.residuals)
    rss = fit.residuals @ fit.residuals
    assert fc.information_criterion(fit) == pytest.approx(
        n * np.log(rss / n) + 6)
    with pytest.raises(ValueError, match="aic"):
        fc.information_criterion(fit, "hqic")


def test_normal_quantile():
    assert fc.normal_quantile([10.0], 2.0, 0.5).tolist() == [10.0]
    assert fc.normal_quantile(10.0, 2.0, 0.8) == pytest.approx(
        10 + 2 * 0.8416212, abs=1e-6)
    with pytest.raises(ValueError, match="tau"):
        fc.normal_quantile(0.0, 1.0, 80)
    with pytest.raises(ValueError, match="sigma"):
        fc.normal_quantile(0.0, 0.0, 0.8)


def test_residual_bootstrap_draws_past_residuals():
    out = fc.residual_bootstrap([0.0, 100.0], [-1.0, 2.0], 500, seed=0)
    assert out.shape == (2, 500)
    assert set(np.unique(out[0])) == {-1.0, 2.0}
    assert set(np.unique(out[1])) == {99.0, 102.0}
    with pytest.raises(ValueError, match="positive integer"):
        fc.residual_bootstrap([0.0], [1.0], 0)


def test_bad_orders_raise():
    with pytest.raises(ValueError, match="too short"):
        fc.fit_ar(np.arange(6.0), 3)
    with pytest.raises(ValueError, match="positive integer"):
        fc.fit_ar(np.arange(60.0), 0)
    with pytest.raises(ValueError, match="NaN"):
        fc.fit_ar(np.array([1.0, np.nan] * 20), 2)


def test_normal_quantile_takes_one_sigma_per_mean():
    q = fc.normal_quantile([0.0, 10.0], [1.0, 2.0], 0.8)
    assert np.allclose(q, [0.8416212, 10 + 2 * 0.8416212])
    with pytest.raises(ValueError, match="sigma"):
        fc.normal_quantile([0.0, 1.0], [1.0, 0.0], 0.8)


def test_rolling_ar_refits_on_all_values_before_each_step():
    y = _ar2(120, seed=4)
    roll = fc.rolling_ar(y, 100, 2)
    assert roll.mean.shape == roll.sigma.shape == (20,)
    for i, t in enumerate((100, 107, 119)):
        fit = fc.fit_ar(y[:t], 2)
        j = t - 100
        assert roll.mean[j] == pytest.approx(fit.predict(y[t - 2:t])[0])
        assert roll.sigma[j] == pytest.approx(fit.sigma)
        assert np.allclose(roll.residuals[j], fit.residuals)
    # the first step is the fit a forecaster makes once on y[:100]
    once = fc.fit_ar(y[:100], 2)
    assert roll.mean[0] == pytest.approx(once.predict(y[98:100])[0])
    with pytest.raises(ValueError, match="first"):
        fc.rolling_ar(y, 120, 2)


def test_rolling_bootstrap_draws_each_rows_own_residuals():
    roll = fc.RollingAR(mean=np.array([0.0, 100.0]), sigma=np.ones(2),
                        residuals=[np.array([-1.0, 1.0]), np.array([5.0])])
    s = roll.bootstrap(300, seed=0)
    assert s.shape == (2, 300)
    assert set(np.unique(s[0])) == {-1.0, 1.0}
    assert set(np.unique(s[1])) == {105.0}


def test_spread_fit_recovers_a_linear_spread_and_is_floored():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, 20000)
    e = (1 + 2 * x) * rng.normal(size=x.size)
    s = fc.spread_fit(x, e, np.array([0.0, 1.0]))
    assert s.shape == (2, 1)
    # E|e| = (1 + 2x) sqrt(2 / pi): the spread triples from x = 0 to 1
    assert np.allclose(s[:, 0], np.array([1.0, 3.0]) * np.sqrt(2 / np.pi),
                       rtol=0.05)
    far = fc.spread_fit(x, (2 - 2 * x) * rng.normal(size=x.size), [5.0])
    assert far[0, 0] > 0        # the line is negative there: floored


def test_heteroscedastic_bootstrap_rescales_one_past_day_for_all_outputs():
    x_past = np.array([0.0, 1.0, 0.0, 1.0])
    # residuals twice as large where x = 1; both outputs equal
    r = np.array([[-1.0, -1.0], [2.0, 2.0], [1.0, 1.0], [-2.0, -2.0]])
    s = fc.heteroscedastic_bootstrap(np.zeros((2, 2)), r, x_past,
                                     np.array([0.0, 1.0]), 400, seed=0)
    assert s.shape == (2, 400, 2)
    assert np.array_equal(s[..., 0], s[..., 1])    # one day j per scenario
    assert set(np.round(np.unique(s[0]), 6)) == {-1.0, 1.0}   # cold day
    assert set(np.round(np.unique(s[1]), 6)) == {-2.0, 2.0}   # hot day
    one = fc.heteroscedastic_bootstrap([5.0], r[:, 0], x_past, [0.0], 50)
    assert one.shape == (1, 50) and set(np.round(np.unique(one), 6)) == {
        4.0, 6.0}


def test_nearest_bootstrap_draws_from_the_k_closest_days():
    x_past = np.column_stack([np.arange(10.0), np.zeros(10)])
    r = np.arange(10.0) * 10
    s = fc.nearest_bootstrap([0.0], r, x_past, [[2.2, 0.0]], 500, k=3,
                             seed=0)
    assert s.shape == (1, 500)
    assert set(np.unique(s)) == {10.0, 20.0, 30.0}
    # features are compared after dividing by their sd: a feature in small
    # numbers counts as much as one in large numbers (raw distances would
    # pick day 4 here; in sd units day 5 is closer)
    mixed = np.column_stack([np.arange(10.0), 0.01 * (np.arange(10) % 2)])
    near = fc.nearest_bootstrap([0.0], r, mixed, [[4.2, 0.01]], 200, k=1)
    assert set(np.unique(near)) == {50.0}
    two = fc.nearest_bootstrap(np.zeros((1, 2)), np.column_stack([r, -r]),
                               x_past, [[2.2, 0.0]], 100, k=3)
    assert np.array_equal(two[..., 0], -two[..., 1])   # one day per draw


def test_feature_bootstraps_check_their_inputs():
    r, x = np.ones(5), np.arange(5.0)
    with pytest.raises(ValueError, match="x_past"):
        fc.heteroscedastic_bootstrap([0.0], r, x[:4], [0.0], 10)
    with pytest.raises(ValueError, match="same K"):
        fc.nearest_bootstrap(np.zeros((1, 2)), r, x, [0.0], 10, k=2)
    with pytest.raises(ValueError, match="k"):
        fc.nearest_bootstrap([0.0], r, x, [0.0], 10, k=6)
    with pytest.raises(ValueError, match="NaN"):
        fc.heteroscedastic_bootstrap([np.nan], r, x, [0.0], 10)
