import numpy as np

from genai_lib import intervals, synthetic
from genai_lib.exercises import applications_tabular as ex


def test_newsvendor():
    s, over, under = ex.newsvendor_exercise()
    assert ex.check_newsvendor_order(np.quantile(s, under / (under + over)))
    fb = ex.check_newsvendor_order(s.mean())
    assert not fb and "point forecast" in fb.message
    assert "upside down" in ex.check_newsvendor_order(np.quantile(s, 0.25)).message
    assert not ex.check_newsvendor_order(None)


def test_interval():
    ok = lambda s, lv: tuple(np.quantile(s, [(1 - lv) / 2, (1 + lv) / 2], axis=1))  # noqa: E731
    assert ex.check_interval(ok)
    bad = lambda s, lv: tuple(np.quantile(s, [1 - lv, lv], axis=1))  # noqa: E731
    assert "each tail" in ex.check_interval(bad).message
    assert not ex.check_interval(None)


def test_balanced_accuracy():
    ok = lambda y, p: np.mean([np.mean(p[y == k] == k) for k in np.unique(y)])  # noqa: E731
    assert ex.check_balanced_accuracy(ok)
    assert "plain accuracy" in ex.check_balanced_accuracy(lambda y, p: np.mean(y == p)).message


def test_dcr():
    by_hand = lambda q, r: np.sqrt(((q[:, None] - r[None]) ** 2).sum(-1)).min(1)  # noqa: E731
    assert ex.check_dcr(by_hand)
    library = ex.check_dcr(synthetic.distance_to_closest_record)  # "in NumPy": not the library's
    assert not library and "distance_to_closest_record" in library.message
    sq = lambda q, r: ((q[:, None] - r[None]) ** 2).sum(-1).min(1)  # noqa: E731
    assert "squared" in ex.check_dcr(sq).message
    axis0 = lambda q, r: np.sqrt(((q[:, None] - r[None]) ** 2).sum(-1)).min(0)  # noqa: E731
    assert "axis=1" in ex.check_dcr(axis0).message


def test_both_short():
    ok = lambda s, o: np.mean((s > o).all(axis=1))  # noqa: E731
    assert ex.check_both_short(ok)
    product = lambda s, o: np.prod((s > o).mean(axis=0))  # noqa: E731
    fb = ex.check_both_short(product)
    assert not fb and "independence" in fb.message
    assert "at least one" in ex.check_both_short(lambda s, o: np.mean((s > o).any(axis=1))).message
    assert not ex.check_both_short(None)


def test_subgroup_coverage():
    ok = lambda y, lo, hi, g: tuple(intervals.coverage(y[m], lo[m], hi[m]) for m in (~g, g))  # noqa: E731
    assert ex.check_subgroup_coverage(ok)
    overall = lambda y, lo, hi, g: (intervals.coverage(y, lo, hi),) * 2  # noqa: E731
    assert "overall coverage" in ex.check_subgroup_coverage(overall).message
    swapped = lambda y, lo, hi, g: ok(y, lo, hi, g)[::-1]  # noqa: E731
    assert "swapped" in ex.check_subgroup_coverage(swapped).message
    strict = lambda y, lo, hi, g: tuple(np.mean(((lo < y) & (y < hi))[m]) for m in (~g, g))  # noqa: E731
    assert "on a bound" in ex.check_subgroup_coverage(strict).message


def test_threshold_predictions():
    rng = np.random.default_rng(0)
    y = (rng.uniform(size=500) < 0.1).astype(int)
    score = y + rng.normal(scale=0.6, size=500)          # an informative but imperfect score
    assert ex.check_threshold_predictions((score > 0.5).astype(int), y, baseline=0.5)
    fb = ex.check_threshold_predictions(np.zeros(500, dtype=int), y, baseline=0.5)
    assert not fb and "threshold 0.5" in fb.message
    assert "0/1 labels" in ex.check_threshold_predictions(score, y, baseline=0.5).message
    assert "shape" in ex.check_threshold_predictions(y[:10], y, baseline=0.5).message


def test_memorising_generator():
    rng = np.random.default_rng(1)
    x_train, x_hold = rng.normal(size=(200, 5)), rng.normal(size=(100, 5))
    copies = x_train + 0.01 * rng.normal(size=x_train.shape)
    assert ex.check_memorising_generator(copies, x_train, x_hold, noticed_by="privacy")
    assert "tiny noise" in ex.check_memorising_generator(x_train.copy(), x_train, x_hold).message
    noisy = x_train + 1.0 * rng.normal(size=x_train.shape)
    assert "too large" in ex.check_memorising_generator(noisy, x_train, x_hold).message
    assert not ex.check_memorising_generator(copies, x_train, x_hold, noticed_by="utility")


def test_newsvendor_near_misses():
    s, over, under = ex.newsvendor_exercise()
    assert "median" in ex.check_newsvendor_order(np.median(s)).message
    for level in (0.74, 0.76, 0.8):                                   # wrong levels
        assert not ex.check_newsvendor_order(np.quantile(s, level))
    assert "which quantile" in ex.check_newsvendor_order(np.quantile(s, 0.76)).message
    for method in ("linear", "inverted_cdf", "higher", "hazen"):       # any quantile rule
        assert ex.check_newsvendor_order(np.quantile(s, 0.75, method=method))
    assert ex.check_newsvendor_order(122.5)                            # a fine grid search
    assert "percent" in ex.check_newsvendor_order(np.percentile(s, 0.75)).message
    assert "one number" in ex.check_newsvendor_order(np.ones(3)).message


def test_interval_swapped_and_axis():
    swapped = lambda s, lv: tuple(np.quantile(s, [(1 + lv) / 2, (1 - lv) / 2], axis=1))  # noqa: E731
    assert "swapped" in ex.check_interval(swapped).message
    axis0 = lambda s, lv: tuple(np.quantile(s, [(1 - lv) / 2, (1 + lv) / 2], axis=0))  # noqa: E731
    assert "axis=1" in ex.check_interval(axis0).message
    percent = lambda s, lv: tuple(np.quantile(s, [(100 - 100 * lv) / 2 / 100, (1 + lv) / 2], axis=1))  # noqa: E731
    assert ex.check_interval(percent)                                # same numbers: fine


def test_balanced_accuracy_mistakes():
    recall_1 = lambda y, p: np.mean(p[y == 1] == 1)  # noqa: E731
    assert "class 1 only" in ex.check_balanced_accuracy(recall_1).message
    by_pred = lambda y, p: np.mean([np.mean(p[y == k] == k) for k in np.unique(p)])  # noqa: E731
    assert "y_pred" in ex.check_balanced_accuracy(by_pred).message
    from sklearn.metrics import precision_score
    macro_p = lambda y, p: np.mean(precision_score(y, p, average=None, zero_division=0))  # noqa: E731
    assert "precision" in ex.check_balanced_accuracy(macro_p).message
    assert not ex.check_balanced_accuracy(None)


def test_dcr_mean():
    mean = lambda q, r: np.sqrt(((q[:, None] - r[None]) ** 2).sum(-1)).mean(1)  # noqa: E731
    assert "mean distance" in ex.check_dcr(mean).message


def test_both_short_count():
    count = lambda s, o: np.sum((s > o).all(axis=1))  # noqa: E731
    fb = ex.check_both_short(count)
    assert not fb and "count" in fb.message


def test_threshold_predictions_reference():
    from sklearn.linear_model import LogisticRegression
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1500, 3))
    y = (x[:, 0] + rng.normal(scale=1.5, size=1500) > 2.6).astype(int)   # about 6 % positives
    x_tr, y_tr, x_te, y_te = x[:1000], y[:1000], x[1000:], y[1000:]
    ref = (x_tr, y_tr, x_te)
    prob = LogisticRegression(max_iter=2000).fit(x_tr, y_tr).predict_proba(x_te)[:, 1]
    ok = (prob > y_tr.mean()).astype(int)
    assert ex.check_threshold_predictions(ok, y_te, baseline=0.5, reference=ref)
    rev = (prob < y_tr.mean()).astype(int)
    assert "reversed" in ex.check_threshold_predictions(rev, y_te, 0.5, reference=ref).message
    other = (prob > 0.2).astype(int)                # a different threshold can still beat 0.5
    fb = ex.check_threshold_predictions(other, y_te, baseline=0.5, reference=ref)
    assert not fb and "differ" in fb.message
    # the learner's balanced accuracy is named as theirs, the reference's beside it
    from sklearn.metrics import balanced_accuracy_score as bas
    mine, theirs = bas(y_te, other), bas(y_te, ok)
    assert f"your predictions have a balanced accuracy of {mine:.3f}" in fb.message
    assert f"the reference's {theirs:.3f}" in fb.message
    if not np.array_equal(prob > y_te.mean(), prob > y_tr.mean()):
        test_share = (prob > y_te.mean()).astype(int)
        fb = ex.check_threshold_predictions(test_share, y_te, 0.5, reference=ref)
        assert not fb and "test" in fb.message


def test_memorising_generator_needs_answer():
    rng = np.random.default_rng(1)
    x_train, x_hold = rng.normal(size=(200, 5)), rng.normal(size=(100, 5))
    copies = x_train + 0.01 * rng.normal(size=x_train.shape)
    fb = ex.check_memorising_generator(copies, x_train, x_hold)
    assert not fb and "noticed_by" in fb.message


def test_conformal_quantile():
    def ok(s, a):
        s = np.sort(s)
        k = int(np.ceil((len(s) + 1) * (1 - a)))
        return np.inf if k > len(s) else s[k - 1]

    assert ex.check_conformal_quantile(ok)
    assert not ex.check_conformal_quantile(None)
    plain = lambda s, a: np.quantile(s, 1 - a)  # noqa: E731
    assert "finite-sample" in ex.check_conformal_quantile(plain).message

    def no_plus_one(s, a):
        s = np.sort(s)
        k = int(np.ceil(len(s) * (1 - a)))
        return np.inf if k > len(s) else s[k - 1]
    assert "n + 1" in ex.check_conformal_quantile(no_plus_one).message

    def interpolated(s, a):
        k = int(np.ceil((len(s) + 1) * (1 - a)))
        return np.inf if k > len(s) else np.quantile(s, k / len(s))
    assert "interpolates" in ex.check_conformal_quantile(interpolated).message

    def one_too_far(s, a):
        s = np.sort(s)
        k = int(np.ceil((len(s) + 1) * (1 - a)))
        return np.inf if k > len(s) else s[min(k, len(s) - 1)]
    assert "one too far" in ex.check_conformal_quantile(one_too_far).message

    def unsorted(s, a):
        k = int(np.ceil((len(s) + 1) * (1 - a)))
        return np.inf if k > len(s) else s[k - 1]
    assert "sort the scores first" in ex.check_conformal_quantile(
        unsorted).message

    def uses_alpha(s, a):
        return np.sort(s)[int(np.ceil((len(s) + 1) * a)) - 1]
    assert "where 1 - alpha belongs" in ex.check_conformal_quantile(
        uses_alpha).message

    def clipped(s, a):
        s = np.sort(s)
        k = int(np.ceil((len(s) + 1) * (1 - a)))
        return s[min(k, len(s)) - 1]
    assert "not the largest score" in ex.check_conformal_quantile(
        clipped).message


def my_marginals(x, n, seed):
    """The notebook's solution, in NumPy: one random row index per entry."""
    idx = np.random.default_rng(seed).integers(0, len(x), size=(n, x.shape[1]))
    return x[idx, np.arange(x.shape[1])]


def test_independent_marginals():
    from genai_lib import synthetic

    assert ex.check_independent_marginals(my_marginals)
    library = ex.check_independent_marginals(synthetic.independent_marginals)  # "by hand"
    assert not library and "independent_marginals" in library.message

    def rows(x, n, seed):               # a bootstrap of whole rows
        return x[np.random.default_rng(seed).integers(0, len(x), n)]

    def normal(x, n, seed):             # a normal fit per column
        rng = np.random.default_rng(seed)
        return x.mean(0) + x.std(0) * rng.normal(size=(n, x.shape[1]))

    def transposed(x, n, seed):
        return my_marginals(x, n, seed).T

    def unseeded(x, n, seed):
        return my_marginals(x, n, np.random.randint(10 ** 6))

    assert "whole real rows" in ex.check_independent_marginals(rows).message
    assert "empirical marginal" in ex.check_independent_marginals(normal).message
    assert "transpose" in ex.check_independent_marginals(transposed).message
    assert "same seed" in ex.check_independent_marginals(unseeded).message
    assert not ex.check_independent_marginals(None)
    for seed in range(5):               # the right answer passes for every seed
        assert ex.check_independent_marginals(
            lambda x, n, s, seed=seed: my_marginals(x, n, s + seed))
