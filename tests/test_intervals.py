"""genai_lib.intervals: hand-computed cases and known distributions."""

import math

import numpy as np
import pytest

from genai_lib import intervals as iv


def test_conformal_quantile_hand_computed():
    scores = np.arange(1.0, 11.0)[::-1]                # 10 .. 1, unsorted
    # n = 10, level 0.8: k = ceil(11 * 0.8) = ceil(8.8) = 9 -> 9th smallest
    assert iv.conformal_quantile(scores, 0.8) == 9.0
    # level 0.5: k = ceil(5.5) = 6
    assert iv.conformal_quantile(scores, 0.5) == 6.0
    # level 0.95: k = ceil(10.45) = 11 > 10 -> no finite threshold
    assert iv.conformal_quantile(scores, 0.95) == math.inf
    # an exact product: n = 9, level 0.8 -> k = 8 exactly, not 9
    assert iv.conformal_quantile(np.arange(1.0, 10.0), 0.8) == 8.0


def test_split_conformal_hand_computed():
    pred_cal = np.zeros(4)
    y_cal = np.array([1.0, -2.0, 3.0, -4.0])           # |r| = 1, 2, 3, 4
    # level 0.6: k = ceil(5 * 0.6) = 3 -> q = 3
    lo, hi = iv.split_conformal(pred_cal, y_cal, np.array([10.0, 20.0]), 0.6)
    np.testing.assert_allclose(lo, [7.0, 17.0])
    np.testing.assert_allclose(hi, [13.0, 23.0])


@pytest.mark.parametrize("level", [0.8, 0.9])
def test_split_conformal_coverage_guarantee(level):
    # heavy-tailed errors: a Gaussian interval would be off; conformal is not
    rng = np.random.default_rng(0)
    n_cal, reps, hits = 30, 4000, 0
    k = math.ceil((n_cal + 1) * level)
    for _ in range(reps):
        e = rng.standard_t(df=2, size=n_cal + 1)
        lo, hi = iv.split_conformal(np.zeros(n_cal), e[:n_cal],
                                    np.zeros(1), level)
        hits += lo[0] <= e[-1] <= hi[0]
    # exact marginal coverage k / (n + 1) for continuous scores
    assert abs(hits / reps - k / (n_cal + 1)) < 3 * np.sqrt(0.25 / reps)


def test_conformalize_quantiles_hand_computed():
    lo_c, hi_c = np.zeros(4), np.ones(4)
    y_c = np.array([0.5, 1.5, -1.0, 0.2])   # scores -0.5, 0.5, 1.0, -0.2
    # level 0.6: k = 3 -> q = 0.5 (sorted -0.5, -0.2, 0.5, 1.0)
    lo, hi = iv.conformalize_quantiles(lo_c, hi_c, y_c, np.array([2.0]),
                                       np.array([3.0]), 0.6)
    np.testing.assert_allclose([lo[0], hi[0]], [1.5, 3.5])
    # all targets deep inside: q < 0 narrows, and crossed bounds meet
    lo, hi = iv.conformalize_quantiles(lo_c, hi_c, np.full(4, 0.5),
                                       np.array([0.0]), np.array([0.4]), 0.6)
    assert lo[0] == hi[0] == pytest.approx(0.2)


def test_linear_quantiles_recovers_lines():
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, size=(2000, 1))
    y = 2 * x[:, 0] + (0.1 + x[:, 0]) * rng.standard_normal(2000)
    q = iv.linear_quantiles(x, y, np.array([[0.0], [1.0]]), [0.1, 0.9])
    z = 1.2816                                   # standard normal 0.9 quantile
    np.testing.assert_allclose(q[:, 0], [-0.1 * z, 0.1 * z], atol=0.06)
    np.testing.assert_allclose(q[:, 1], [2 - 1.1 * z, 2 + 1.1 * z], atol=0.15)


def test_interval_score_and_width():
    y = np.array([0.0, 5.0, -3.0])
    lo, hi = np.array([-1.0, 0.0, -1.0]), np.array([1.0, 2.0, 1.0])
    # alpha = 0.2: width 2 each; misses by 3 above and 2 below, x 2 / 0.2
    np.testing.assert_allclose(iv.interval_score(y, lo, hi, 0.8),
                               [2.0, 2.0 + 30.0, 2.0 + 20.0])
    assert iv.mean_width(lo, hi) == 2.0


def test_interval_score_is_smallest_at_true_quantiles():
    rng = np.random.default_rng(2)
    y = rng.standard_normal(200_000)
    z = 1.2816
    def mean_score(c):
        return iv.interval_score(y, np.full_like(y, -c), np.full_like(y, c),
                                 0.8).mean()
    assert mean_score(z) < mean_score(0.8 * z)
    assert mean_score(z) < mean_score(1.2 * z)


def test_binomial_interval_known_values():
    lo, hi = iv.binomial_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(1 - 0.025 ** 0.1)  # 0.3085
    lo, hi = iv.binomial_interval(10, 10)
    assert hi == 1.0 and lo == pytest.approx(0.025 ** 0.1)
    lo, hi = iv.binomial_interval(5, 10)
    assert lo == pytest.approx(0.1871, abs=1e-4)
    assert hi == pytest.approx(0.8129, abs=1e-4)


def test_subgroup_coverage_hand_computed():
    y = np.array([0.0, 0.0, 5.0, 0.0, 5.0, 1.0])
    lo, hi = -np.ones(6), np.ones(6)                # y = 1 on a bound: covered
    g = np.array(["b", "a", "a", "b", "b", "a"])
    rows = iv.subgroup_coverage(y, lo, hi, g)
    assert [r["group"] for r in rows] == ["a", "b"]
    assert [r["n"] for r in rows] == [3, 3]
    assert rows[0]["coverage"] == pytest.approx(2 / 3)
    assert rows[1]["coverage"] == pytest.approx(2 / 3)
    assert rows[0]["low"] < 2 / 3 < rows[0]["high"]


def test_paired_bootstrap():
    rng = np.random.default_rng(3)
    common = rng.normal(size=300) * 10       # shared patient difficulty
    a = common + 1.0 + 0.1 * rng.normal(size=300)
    b = common + 0.1 * rng.normal(size=300)
    d, lo, hi = iv.paired_bootstrap(a, b, n_boot=1000)
    assert d == pytest.approx(np.mean(a) - np.mean(b))
    assert 0.9 < lo < d < hi < 1.1           # pairing removes `common`
    d, lo, hi = iv.paired_bootstrap(b, b, n_boot=200)
    assert d == lo == hi == 0.0


def test_bad_input_raises_clear_errors():
    with pytest.raises(ValueError, match="level must be between 0 and 1"):
        iv.conformal_quantile(np.ones(5), 80)
    with pytest.raises(ValueError, match="same length"):
        iv.split_conformal(np.zeros(3), np.zeros(4), np.zeros(2), 0.8)
    with pytest.raises(ValueError, match="NaN or inf"):
        iv.interval_score([0.0, np.nan], [0, 0], [1, 1], 0.8)
    with pytest.raises(ValueError, match="swapped"):
        iv.mean_width([1.0, 0.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="between 0 and n"):
        iv.binomial_interval(11, 10)
    with pytest.raises(ValueError, match="n_boot"):
        iv.paired_bootstrap(np.zeros(5), np.zeros(5), n_boot=10)
    with pytest.raises(ValueError, match="tau must be between 0 and 1"):
        iv.linear_quantiles(np.zeros((5, 1)), np.zeros(5), np.zeros((2, 1)),
                            [10])
    with pytest.raises(ValueError, match="non-empty vector"):
        iv.conformal_quantile([], 0.8)


def test_coverage():
    assert iv.coverage([1, 2, 3, 4], [0, 0, 0, 5], [1, 1, 5, 6]) == 0.5
    with np.testing.assert_raises(ValueError):
        iv.coverage([1, 2], [3, 3], [0, 0])
    with pytest.raises(ValueError, match="same length"):
        iv.coverage([1, 2, 3], [0, 0], [4, 4])


@pytest.mark.parametrize("low, high, higher, words", [
    (-0.5, -0.1, False, "beats"),            # a distance: lower is better
    (0.1, 0.5, False, "loses to"),
    (-0.1, 0.2, False, "cannot be told apart from"),
    (0.1, 0.5, True, "beats"),               # precision, recall: higher is better
    (-0.5, -0.1, True, "loses to"),
    (-0.2, 0.0, False, "cannot be told apart from"),  # touching zero is not a win
    (0.0, 0.3, True, "cannot be told apart from"),
])
def test_verdict_comes_from_the_interval(low, high, higher, words):
    assert iv.verdict(low, high, higher_is_better=higher) == words


def test_compare_builds_the_sentence():
    assert (iv.compare("the GAN", "the mixture", -0.4, -0.1, "the Fréchet distance")
            == "the GAN beats the mixture on the Fréchet distance")
    assert iv.compare("a", "b", -1, 1) == "a cannot be told apart from b"


@pytest.mark.parametrize("low, high", [(1.0, -1.0), (float("nan"), 1.0), (0.0, float("inf"))])
def test_verdict_rejects_a_bad_interval(low, high):
    with pytest.raises(ValueError, match="finite with low <= high"):
        iv.verdict(low, high)
