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
