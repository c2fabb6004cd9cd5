"""genai_lib.intervals: hand-computed cases and known distributions."""

import math

import numpy as np
import pytest
import torch

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


def test_boosted_quantiles_follow_a_curve():
    # spread growing with x^2: no line follows the quantiles, boosting does
    rng = np.random.default_rng(4)
    x = rng.uniform(-2, 2, size=(4000, 1))
    y = x[:, 0] + (0.1 + 0.5 * x[:, 0] ** 2) * rng.standard_normal(4000)
    at = np.array([[-1.5], [0.0], [1.5]])
    q = iv.boosted_quantiles(x, y, at, [0.1, 0.9])
    z = 1.2816
    truth = np.stack([at[:, 0] - (0.1 + 0.5 * at[:, 0] ** 2) * z,
                      at[:, 0] + (0.1 + 0.5 * at[:, 0] ** 2) * z])
    np.testing.assert_allclose(q, truth, atol=0.5)   # steps: rough
    assert q[1, 1] - q[0, 1] < 0.5 * (q[1, 0] - q[0, 0])  # narrow at 0
    line = iv.linear_quantiles(x, y, at, [0.1, 0.9])
    assert np.abs(q - truth).mean() < 0.5 * np.abs(line - truth).mean()
    with pytest.raises(ValueError, match="tau must be between 0 and 1"):
        iv.boosted_quantiles(x, y, at, [0.0])


def test_quantile_band_is_the_fit_then_cqr():
    rng = np.random.default_rng(5)
    x = rng.uniform(-2, 2, size=(600, 1))
    y = x[:, 0] + (0.1 + 0.5 * x[:, 0] ** 2) * rng.standard_normal(600)
    xf, xc, xt = x[:300], x[300:450], x[450:]
    yf, yc = y[:300], y[300:450]
    band = iv.quantile_band(iv.linear_quantiles, xf, yf, xc, yc, xt, 0.8)
    q = iv.linear_quantiles(xf, yf, np.r_[xc, xt], [0.1, 0.9])
    np.testing.assert_allclose(band["raw"][0], q[0, 150:])
    np.testing.assert_allclose(band["raw"][1], q[1, 150:])
    cqr = iv.conformalize_quantiles(q[0, :150], q[1, :150], yc, q[0, 150:],
                                    q[1, 150:], 0.8)
    np.testing.assert_allclose(band["cqr"][0], cqr[0])
    np.testing.assert_allclose(band["cqr"][1], cqr[1])
    # an x^2 input makes the true quantiles lines: close to the truth
    sq = lambda a: np.c_[a, a ** 2]  # noqa: E731
    band = iv.quantile_band(iv.linear_quantiles, sq(xf), yf, sq(xc), yc,
                            sq(np.array([[0.0], [2.0]])), 0.8)
    np.testing.assert_allclose(band["raw"][1], [0.128, 2 + 2.1 * 1.2816],
                               atol=0.35)
    # crossed quantiles (a model that swaps them) are put in order
    def swapped(x_fit, y_fit, x, taus):
        return iv.linear_quantiles(x_fit, y_fit, x, taus)[::-1]
    lo, hi = iv.quantile_band(swapped, xf, yf, xc, yc, xt, 0.8)["raw"]
    assert np.all(lo <= hi)
    with pytest.raises(ValueError, match="same length"):
        iv.quantile_band(iv.linear_quantiles, xf, yf, xc, yc[:-1], xt, 0.8)


def test_interval_rows_and_paired_rows():
    y = np.array([0.0, 5.0, -3.0])
    lo, hi = np.array([-1.0, 0.0, -1.0]), np.array([1.0, 2.0, 1.0])
    rows = iv.interval_rows(y, lo, hi, 0.8)
    np.testing.assert_allclose(rows["score"], [2.0, 32.0, 22.0])
    np.testing.assert_allclose(rows["coverage"], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(rows["width"], [2.0, 2.0, 2.0])
    rng = np.random.default_rng(6)
    y = rng.standard_normal(300)
    a = iv.interval_rows(y, np.full(300, -1.3), np.full(300, 1.3), 0.8)
    b = iv.interval_rows(y, np.full(300, -2.0), np.full(300, 2.0), 0.8)
    pairs = iv.paired_rows(a, b, n_boot=500, seed=3)
    assert set(pairs) == {"score", "coverage", "width"}
    for k in pairs:  # the same numbers as paired_bootstrap on that measure
        assert pairs[k] == iv.paired_bootstrap(a[k], b[k], 500, 3)
    assert pairs["width"] == (-1.4, -1.4, -1.4)
    # a set and an interval share coverage and width only
    s = {"coverage": a["coverage"], "width": a["width"]}
    assert set(iv.paired_rows(s, b, n_boot=100)) == {"coverage", "width"}
    with pytest.raises(ValueError, match="share no measure"):
        iv.paired_rows({"score": y}, {"width": y}, n_boot=100)


def test_grid_density_of_a_normal():
    rng = np.random.default_rng(7)
    grid = np.linspace(-5, 5, 501)
    d = iv.grid_density(rng.standard_normal((2, 20_000)), grid)
    assert d.shape == (2, 501)
    np.testing.assert_allclose(d.sum(1) * (grid[1] - grid[0]), 1.0)
    normal = np.exp(-grid ** 2 / 2) / np.sqrt(2 * np.pi)
    assert np.abs(d - normal).max() < 0.03
    # a given bandwidth: a wide one flattens the peak
    flat = iv.grid_density(rng.standard_normal((1, 5000)), grid, 2.0)
    assert flat.max() < 0.2
    with pytest.raises(ValueError, match="evenly spaced"):
        iv.grid_density(np.zeros((1, 5)), [0.0, 1.0, 3.0])
    with pytest.raises(ValueError, match=r"\(N, S\)"):
        iv.grid_density(np.zeros(5), grid)
    with pytest.raises(ValueError, match="bandwidth must be positive"):
        iv.grid_density(np.zeros((1, 5)), grid, 0.0)


def test_hpd_level_and_set_hand_computed():
    grid = np.arange(4.0)                       # step 1
    density = np.array([[1.0, 3.0, 2.0, 4.0]]) / 10
    # masses 0.1 0.3 0.2 0.4; from the densest: cell 3 (0.4), 1 (0.7),
    # 2 (0.9), 0 (1.0)
    assert iv.hpd_level(density, grid, [1.2])[0] == pytest.approx(0.7)
    assert iv.hpd_level(density, grid, [9.0])[0] == np.inf  # off the grid
    mask = iv.hpd_set(density, grid, 0.7)
    assert mask.tolist() == [[False, True, False, True]]
    assert iv.set_pieces(mask).tolist() == [2]
    rows = iv.set_rows(mask, grid, [3.1])
    assert rows["coverage"].tolist() == [1.0] and rows["width"].tolist() == [2.0]
    assert iv.set_rows(mask, grid, [2.0])["coverage"].tolist() == [0.0]
    assert iv.set_pieces(np.array([[True, True, False, True]])).tolist() == [2]
    with pytest.raises(ValueError, match="density must be"):
        iv.hpd_level(density, grid, [1.0, 2.0])


def test_hpd_sets_of_one_and_two_peaks():
    grid = np.linspace(-8, 8, 1601)             # step 0.01
    pdf = lambda m, s: np.exp(-0.5 * ((grid - m) / s) ** 2) / s  # noqa: E731
    one = (pdf(0, 1) / np.sqrt(2 * np.pi))[None]
    mask = iv.hpd_set(one, grid, 0.8)
    # for one symmetric peak the set is the central interval, 2 x 1.2816
    assert iv.set_pieces(mask)[0] == 1
    assert iv.set_rows(mask, grid, [0.0])["width"][0] == pytest.approx(
        2 * 1.2816, abs=0.03)
    two = ((pdf(-3, 0.5) + pdf(3, 0.5)) / (2 * np.sqrt(2 * np.pi)))[None]
    mask = iv.hpd_set(two, grid, 0.8)
    assert iv.set_pieces(mask)[0] == 2           # one interval per peak
    assert iv.set_rows(mask, grid, [3.0])["width"][0] == pytest.approx(
        2 * 2 * 1.2816 * 0.5, abs=0.03)         # vs ~7 for one interval
    assert iv.set_rows(mask, grid, [0.0])["coverage"][0] == 0.0


def test_conformal_hpd_coverage_guarantee():
    # targets from two peaks, a density that wrongly claims one wide peak:
    # the conformal sets still cover k / (n + 1) on average
    rng = np.random.default_rng(8)
    grid = np.linspace(-6, 6, 241)
    wrong = np.exp(-0.5 * (grid / 2) ** 2)[None]
    n_cal, reps, hits = 30, 1500, 0
    k = math.ceil((n_cal + 1) * 0.8)
    for _ in range(reps):
        y = rng.choice([-2.0, 2.0], n_cal + 1) + 0.4 * rng.standard_normal(
            n_cal + 1)
        mask = iv.conformal_hpd(np.repeat(wrong, n_cal, 0), y[:n_cal],
                                wrong, grid, 0.8)
        hits += iv.set_rows(mask, grid, y[-1:])["coverage"][0]
    se = np.sqrt(0.25 / reps)
    assert k / (n_cal + 1) - 3 * se < hits / reps < k / (n_cal + 1) + 4 * se


# ------------------------------------------------ nll_difference: a paired bootstrap by group
def test_nll_difference_is_the_per_token_gap_with_a_group_interval():
    g = torch.Generator().manual_seed(0)
    b = -torch.rand(12, 4, generator=g) - 0.5  # log-probabilities (N, T)
    groups = [0, 0, 0, 1, 1, 2, 2, 2, 2, 3, 4, 4]
    # equal models: no gap, and no spread
    assert iv.nll_difference(b, b, groups) == (0.0, 0.0, 0.0)
    # a better by exactly 0.1 nats on every token: the gap, whatever is resampled
    d, lo, hi = iv.nll_difference(b + 0.1, b, groups)
    assert d == pytest.approx(-0.1) and lo == pytest.approx(-0.1) and hi == pytest.approx(-0.1)
    # the point estimate is the difference of the two NLLs per token
    a = b + 0.3 * torch.randn(12, 4, generator=g)
    d, lo, hi = iv.nll_difference(a, b, groups)
    assert d == pytest.approx((-a.mean() + b.mean()).item())
    assert lo < d < hi
    # the group labels only say which windows go together: renumbering changes nothing
    assert iv.nll_difference(a, b, [7 * x + 3 for x in groups]) == (d, lo, hi)


def test_nll_difference_resamples_groups_not_windows():
    # one group much better, one much worse: the interval must cross 0, whereas 200 windows
    # treated as independent would give a narrow interval around the small mean gap
    b = torch.full((200, 2), -1.0)
    a = b.clone()
    a[:100] += 0.5
    a[100:] -= 0.45
    d, lo, hi = iv.nll_difference(a, b, [0] * 100 + [1] * 100)
    assert d == pytest.approx(-0.025) and lo < 0 < hi


@pytest.mark.parametrize("a, b, groups, match", [
    (torch.zeros(3, 4), torch.zeros(3, 5), [0, 1, 2], "same windows"),
    (torch.zeros(3, 4), torch.zeros(3, 4), [0, 1], "groups"),
    (torch.zeros(3), torch.zeros(3), [0, 1, 2], r"\(N, T\)"),
    (torch.zeros(3, 4), torch.zeros(3, 4), [0.0, 1.0, 2.0], "integers"),
    (torch.zeros(3, 4), torch.zeros(3, 4), [0, -1, 2], "integers"),
    (torch.full((3, 4), -math.inf), torch.zeros(3, 4), [0, 1, 2], "finite"),
    (torch.zeros(3, 4), torch.zeros(3, 4), [5, 5, 5], "at least 2 groups"),
])
def test_nll_difference_refuses_bad_input(a, b, groups, match):
    with pytest.raises(ValueError, match=match):
        iv.nll_difference(a, b, groups)
