"""Checkers for the exercises of the tabular application chapters (business, prediction,
marketing, healthcare). Each returns `Feedback` naming the mistake."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from genai_lib.exercises import (Feedback, compare, library_used, right, string_instead_of_number,
                                 wrong)

NEWSVENDOR_OVER, NEWSVENDOR_UNDER = 2.0, 6.0


def newsvendor_exercise() -> tuple[np.ndarray, float, float]:
    """The exercise's data: 1,000 demand scenarios (1000,), cost per unit left over, per unit short."""
    rng = np.random.default_rng(7)
    return rng.gamma(shape=4.0, scale=25.0, size=1000), NEWSVENDOR_OVER, NEWSVENDOR_UNDER


def check_newsvendor_order(answer) -> Feedback:
    """The order minimising expected cost over `newsvendor_exercise()`'s scenarios (a number)."""
    s, over, under = newsvendor_exercise()
    if answer is None:
        return wrong("`order` is None: compute it from the scenarios and the two costs")
    text = string_instead_of_number("`order`", answer)
    if text is not None:
        return text
    try:
        q = float(np.asarray(answer).reshape(()))
    except (TypeError, ValueError):
        return wrong(f"`order` should be one number, got {np.shape(answer)}")
    cost = lambda o: float(np.mean(over * np.maximum(o - s, 0) + under * np.maximum(s - o, 0)))  # noqa: E731
    best = float(np.quantile(s, under / (under + over)))
    tau = under / (under + over)
    # any order between neighbouring order statistics of the tau-quantile is optimal (and
    # every np.quantile method lands there); a grid search with a fine step does too
    lo_q, hi_q = np.quantile(s, [tau - 0.003, tau + 0.003])
    if lo_q <= q <= hi_q:
        return right(f"order {q:.2f}: the {under / (under + over):.0%} quantile of the scenarios, "
                     f"expected cost {cost(q):.2f}.")
    hints = [(np.quantile(s, tau / 100), "the quantile at under / (under + over) / 100: "
                                          "np.percentile takes percent, np.quantile a share"),
             (np.percentile(s, tau), "np.percentile at under / (under + over): np.percentile "
                                     "takes percent (75, not 0.75); np.quantile takes a share"),
             (s.mean(), "the mean of the scenarios (a point forecast): it ignores that a "
                        "shortage costs more than a leftover"),
             (np.median(s), "the median: that is optimal only when both costs are equal"),
             (np.quantile(s, over / (under + over)), "the over / (over + under) quantile: the "
                                                     "ratio is upside down")]
    for value, why in hints:
        if abs(q - value) <= 0.01 * max(abs(value), 1):
            return wrong(f"order {q:.2f} is {why}. Expected cost {cost(q):.2f} vs "
                         f"{cost(best):.2f} at the best order.")
    if cost(q) <= 1.01 * cost(best):
        return wrong(f"order {q:.2f} is close (expected cost {cost(q):.2f} vs {cost(best):.2f}) "
                     f"but not the best order: which quantile level did you use? It should be "
                     f"under / (under + over) = {tau:.2f}")
    return wrong(f"order {q:.2f} has expected cost {cost(q):.2f}, but a better order reaches "
                 f"{cost(best):.2f}: use the quantile at under / (under + over)")


def _reference_interval(samples: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = np.quantile(samples, [(1 - level) / 2, (1 + level) / 2], axis=1)
    return lo, hi


def check_interval(fn: Callable) -> Feedback:
    """`fn(samples (N, S), level) -> (lower (N,), upper (N,))`: a central prediction interval."""
    if not callable(fn):
        return wrong(f"`central_interval` should be a function, got {type(fn).__name__}")
    rng = np.random.default_rng(3)
    samples = rng.normal(size=(5, 2000)) * np.arange(1, 6)[:, None]
    for level in (0.8, 0.95):
        try:
            got = fn(samples, level)
            lo, hi = (np.asarray(a, dtype=float) for a in got)
        except Exception as err:  # the learner's code failed: say how
            return wrong(f"`central_interval(samples, {level})` raised or did not return two "
                         f"arrays: {type(err).__name__}: {err}")
        elo, ehi = _reference_interval(samples, level)
        if lo.shape != elo.shape:
            return wrong(f"lower has shape {lo.shape}, expected {elo.shape}: take quantiles "
                         f"along axis=1 (over the samples of each row)")
        if np.allclose(lo, np.quantile(samples, 1 - level, axis=1), rtol=1e-3) or \
                np.allclose(hi, np.quantile(samples, level, axis=1), rtol=1e-3):
            return wrong(f"for level {level} the bounds are the {1 - level:.3g} / {level:.3g} "
                         f"quantiles: a central interval leaves (1 - level) / 2 in each tail")
        if np.allclose(lo, ehi, rtol=1e-3) and np.allclose(hi, elo, rtol=1e-3):
            return wrong(f"for level {level} lower and upper are swapped: return "
                         f"(lower, upper), the (1 - level)/2 quantile first")
        for name, g, e in (("lower", lo, elo), ("upper", hi, ehi)):
            verdict = compare(name, g, e, rtol=1e-3, atol=1e-6)
            if not verdict:
                return wrong(f"level {level}: {verdict.message}")
    return right("central intervals match np.quantile at (1 - level)/2 and (1 + level)/2.")


def check_balanced_accuracy(fn: Callable) -> Feedback:
    """`fn(y_true (N,), y_pred (N,)) -> float`: the mean of the per-class recalls."""
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, precision_score

    if not callable(fn):
        return wrong(f"`balanced_accuracy` should be a function, got {type(fn).__name__}")
    used = library_used("balanced_accuracy", fn, "without scikit-learn: the mean over the "
                        "classes of y_true of the share of each class predicted as itself",
                        modules=("sklearn",), names={"balanced_accuracy_score", "recall_score"})
    if used is not None:
        return used
    y = np.array([0] * 18 + [1] * 2)
    cases = [(y, np.zeros(20, dtype=int)), (y, np.r_[np.zeros(16), np.ones(4)].astype(int)),
             (np.array([0, 1, 1, 0, 1]), np.array([0, 1, 0, 1, 1]))]
    for yt, yp in cases:
        try:
            raw = fn(yt, yp)
            text = string_instead_of_number("`balanced_accuracy`", raw, verb="returned")
            if text is not None:
                return text
            got = float(raw)
        except Exception as err:  # the learner's code failed
            return wrong(f"`balanced_accuracy` raised {type(err).__name__}: {err} on "
                         f"y_true={yt.tolist()}, y_pred={yp.tolist()}")
        expected = balanced_accuracy_score(yt, yp)
        if np.isclose(got, expected):
            continue
        recall_1 = float(np.mean(yp[yt == 1] == 1))
        by_pred = float(np.mean([np.mean(yp[yt == k] == k) for k in np.unique(yp)]))
        macro_precision = float(np.mean(precision_score(yt, yp, average=None,
                                                        zero_division=0)))
        mistakes = [
            (accuracy_score(yt, yp), f"you computed plain accuracy ({got:.3f}); balanced "
             f"accuracy averages the recall of each class ({expected:.3f}) so the rare class "
             f"counts as much as the common one"),
            (recall_1, f"{got:.3f} is the recall of class 1 only; average it with the recall "
             f"of class 0 ({expected:.3f})"),
            (macro_precision, f"{got:.3f} averages the precision of each class (the share of "
             f"*predictions* of k that are right); balanced accuracy averages the recall, "
             f"the share of *members* of k predicted as k ({expected:.3f})"),
            (by_pred, f"{got:.3f} loops over the classes found in y_pred; loop over the "
             f"classes of y_true (np.unique(y_true)), so a class nobody predicts counts as a "
             f"recall of 0 ({expected:.3f})"),
        ]
        for value, message in mistakes:
            if not np.isclose(value, expected) and np.isclose(got, value):
                return wrong(message)
        return wrong(f"on y_true={yt.tolist()}, y_pred={yp.tolist()}: expected {expected:.4f}, "
                     f"your answer = {got:.4f}")
    return right("balanced accuracy = mean of per-class recalls, on all test inputs.")


def check_dcr(fn: Callable) -> Feedback:
    """`fn(query (N, D), reference (M, D)) -> (N,)`: distance from each query row to its nearest reference row."""
    if not callable(fn):
        return wrong(f"`dcr` should be a function, got {type(fn).__name__}")
    used = library_used("dcr", fn, "in NumPy: the differences query[:, None] - reference[None], "
                        "their Euclidean norms, the minimum over the reference rows",
                        names={"distance_to_closest_record", "cdist", "pairwise_distances",
                               "NearestNeighbors", "KDTree", "cKDTree", "BallTree",
                               "distance_matrix"})
    if used is not None:
        return used
    rng = np.random.default_rng(5)
    q, r = rng.normal(size=(7, 3)), rng.normal(size=(11, 3))
    d = np.sqrt(((q[:, None, :] - r[None, :, :]) ** 2).sum(-1))
    try:
        got = np.asarray(fn(q, r), dtype=float)
    except Exception as err:  # the learner's code failed
        return wrong(f"`dcr(query, reference)` raised {type(err).__name__}: {err}")
    expected = d.min(axis=1)
    if got.shape == (11,):
        return wrong("the result has one value per reference row (11,), expected one per "
                     "query row (7,): take the minimum over the reference axis (axis=1)")
    if got.shape == expected.shape:
        if np.allclose(got, expected ** 2):
            return wrong("these are squared distances: take the square root")
        if np.allclose(got, d.mean(axis=1)):
            return wrong("this is the mean distance to all reference rows: take the minimum")
    verdict = compare("dcr(query, reference)", got, expected)
    return verdict if not verdict else right("distances to the closest record match.")


def joint_demand_exercise() -> np.ndarray:
    """The exercise's data: 1,000 joint demand scenarios (1000, 2) of two correlated stores."""
    rng = np.random.default_rng(11)
    common = rng.gamma(shape=4.0, scale=20.0, size=(1000, 1))    # the shared good or bad year
    return common + rng.gamma(shape=2.0, scale=5.0, size=(1000, 2))


def check_both_short(fn: Callable) -> Feedback:
    """`fn(scenarios (S, 2), orders (2,)) -> float`: the share of scenarios where BOTH stores run short."""
    if not callable(fn):
        return wrong(f"`both_short` should be a function, got {type(fn).__name__}")
    s = joint_demand_exercise()
    for orders in (np.array([90.0, 95.0]), np.array([80.0, 110.0])):
        try:
            raw = fn(s, orders)
            text = string_instead_of_number("`both_short`", raw, verb="returned")
            if text is not None:
                return text
            got = float(np.asarray(raw).reshape(()))
        except Exception as err:  # the learner's code failed: say how
            return wrong(f"`both_short(scenarios, {orders.tolist()})` raised or did not return one "
                         f"number: {type(err).__name__}: {err}")
        short = s > orders                                   # (S, 2): short in each store
        expected = float(np.mean(short.all(axis=1)))
        if np.isclose(got, expected, atol=1e-9):
            continue
        if np.isclose(got, np.prod(short.mean(axis=0))):
            return wrong(f"{got:.3f} is the product of the two stores' shortage probabilities: "
                         f"that assumes independence. Count the scenarios in which both are short "
                         f"at once ({expected:.3f})")
        if np.isclose(got, float(np.mean(short.any(axis=1)))):
            return wrong(f"{got:.3f} is the share where *at least one* store is short; the "
                         f"question is both at once")
        if np.isclose(got, expected * len(s)):
            return wrong(f"{got:.0f} is a count of the scenarios in which both are short: divide "
                         f"by the number of scenarios to get a share")
        if np.isclose(got, 1 - expected):
            return wrong(f"{got:.3f} is one minus the answer: count scenarios where demand exceeds "
                         f"the order in both stores")
        return wrong(f"for orders {orders.tolist()}: expected {expected:.4f}, your answer = {got:.4f}")
    return right("the joint shortage probability is counted on the joint scenarios; it is far "
                 "above the product of the marginals, because good and bad years come together.")


def check_subgroup_coverage(fn: Callable) -> Feedback:
    """`fn(y (N,), lower (N,), upper (N,), group (N,) bool) -> (coverage where ~group, where group)`."""
    if not callable(fn):
        return wrong(f"`subgroup_coverage` should be a function, got {type(fn).__name__}")
    rng = np.random.default_rng(4)
    y = rng.normal(size=60)
    group = np.arange(60) % 3 == 0
    width = np.where(group, 0.6, 1.6)                  # narrow intervals in one group: it is missed more
    lo, hi = -width, width
    hi[5] = y[5]                                        # a target exactly on a bound counts as covered
    expected = (float(np.mean((lo <= y) & (y <= hi) & ~group) / np.mean(~group)),
                float(np.mean((lo <= y) & (y <= hi) & group) / np.mean(group)))
    try:
        raw = fn(y, lo, hi, group)
        text = string_instead_of_number("`subgroup_coverage`", raw, verb="returned")
        if text is not None:
            return text
        got = tuple(float(v) for v in raw)
    except Exception as err:  # the learner's code failed: say how
        return wrong(f"`subgroup_coverage` raised or did not return two numbers: "
                     f"{type(err).__name__}: {err}")
    if len(got) != 2:
        return wrong(f"return two coverages (group False, group True), got {len(got)} values")
    if np.allclose(got, expected):
        return right("per-group coverages match, on inputs where the groups differ.")
    overall = float(np.mean((lo <= y) & (y <= hi)))
    if np.allclose(got, overall):
        return wrong("both values equal the overall coverage: select each group's rows "
                     "(y[g], lower[g], upper[g]) before averaging")
    if np.allclose(got, expected[::-1]):
        return wrong("the two coverages are swapped: return (group False, group True)")
    if np.allclose(got, [np.mean(((lo < y) & (y < hi))[~group]), np.mean(((lo < y) & (y < hi))[group])]):
        return wrong("a target exactly on a bound counts as covered: use lower <= y <= upper")
    return wrong(f"expected {expected[0]:.4f} and {expected[1]:.4f}, your answer = "
                 f"{got[0]:.4f} and {got[1]:.4f}")


def _reference_conformal_q(scores: np.ndarray, alpha: float) -> float:
    s = np.sort(np.asarray(scores, dtype=float))
    k = int(np.ceil((len(s) + 1) * (1 - alpha)))
    return float("inf") if k > len(s) else float(s[k - 1])


def check_conformal_quantile(fn: Callable) -> Feedback:
    """`fn(scores (n,), alpha) -> float`: the k-th smallest score, k = ceil((n + 1)(1 - alpha));
    inf when k > n."""
    if not callable(fn):
        return wrong(f"`conformal_q` should be a function, got {type(fn).__name__}")
    rng = np.random.default_rng(8)
    s20 = rng.exponential(size=20)
    cases = [(s20, 0.2), (s20, 0.1), (rng.exponential(size=8), 0.1)]
    for scores, alpha in cases:
        n, srt = len(scores), np.sort(scores)
        expected = _reference_conformal_q(scores, alpha)
        call = f"`conformal_q(scores, {alpha})` with n = {n}"
        try:
            raw = fn(scores.copy(), alpha)
            text = string_instead_of_number(call, raw, verb="returned")
            if text is not None:
                return text
            got = float(np.asarray(raw).reshape(()))
        except Exception as err:  # the learner's code failed: say how
            return wrong(f"{call} raised or did not return one number: "
                         f"{type(err).__name__}: {err}")
        if got == expected or (np.isfinite(expected) and np.isclose(got, expected)):
            continue
        k = int(np.ceil((n + 1) * (1 - alpha)))
        if np.isinf(expected):
            if np.isclose(got, srt[-1]):
                return wrong(f"{call}: k = ceil((n + 1)(1 - alpha)) = {k} > n, so no score "
                             f"is large enough for the guarantee: return np.inf, not the "
                             f"largest score")
            return wrong(f"{call}: k = {k} > n, so the answer is np.inf (an interval without "
                         f"bounds); got {got:.4g}")
        mistakes = [
            (float(np.quantile(scores, 1 - alpha)), "this is np.quantile(scores, 1 - alpha), "
             "the plain empirical quantile: the finite-sample guarantee needs the k-th "
             "smallest score with k = ceil((n + 1)(1 - alpha))"),
            (float(np.quantile(scores, k / n)), "np.quantile(scores, k / n) interpolates "
             "between two scores: take the k-th smallest score itself (np.sort(scores)"
             "[k - 1], or method=\"inverted_cdf\")"),
            (float(srt[int(np.ceil(n * (1 - alpha))) - 1]), "this is the "
             "ceil(n (1 - alpha))-th smallest score: use n + 1, the calibration scores plus "
             "the new case"),
            (float(srt[min(k, n - 1)]), f"this is the {k + 1}-th smallest score, one too far: "
             f"np.sort(scores)[k - 1] is the k-th (Python counts from 0)"),
            (float(srt[k - 2]), f"this is the {k - 1}-th smallest score: with k = "
             f"ceil((n + 1)(1 - alpha)) = {k} take np.sort(scores)[k - 1], and round up "
             f"(ceil), not down"),
            (float(srt[max(int(np.ceil((n + 1) * alpha)) - 1, 0)]), "this uses alpha "
             "where 1 - alpha belongs: alpha is the share of misses allowed"),
            (float(scores[k - 1]), "this is the k-th score in the given order: sort the "
             "scores first"),
        ]
        for candidate, message in mistakes:
            if not np.isclose(candidate, expected) and np.isclose(got, candidate):
                return wrong(f"{call}: {message} (expected {expected:.4f}, got {got:.4f})")
        return wrong(f"{call}: expected the {k}-th smallest score, {expected:.4f}; your "
                     f"answer = {got:.4f}")
    return right("k-th smallest score, k = ceil((n + 1)(1 - alpha)); inf if k > n.")


def check_threshold_predictions(y_pred, y_true, baseline: float, margin: float = 0.05,
                                reference: tuple | None = None) -> Feedback:
    """Predictions (N,) of 0/1 from a lowered threshold: their balanced accuracy on y_true (N,)
    must beat `baseline` (the model at threshold 0.5) by `margin`. With `reference` =
    (x_train, y_train, x_test), the checker refits LogisticRegression(max_iter=2000) on the
    training rows and the predictions must be its probabilities > y_train.mean()."""
    from sklearn.metrics import balanced_accuracy_score

    if y_pred is None:
        return wrong("`y_pred` is None: predict 1 where `predict_proba(x_test)[:, 1]` exceeds "
                     "the share of heavy users in the training data")
    p, y = np.asarray(y_pred).ravel(), np.asarray(y_true).ravel()
    if p.shape != y.shape:
        if reference is not None and len(p) == len(np.asarray(reference[1]).ravel()):
            return wrong(f"`y_pred` has one prediction per *training* row ({len(p)}): the "
                         f"score is measured on the held-out data, so predict x_test "
                         f"({len(y)} rows), not x_train")
        return wrong(f"`y_pred` has shape {p.shape}, expected {y.shape}: one prediction per "
                     f"held-out member")
    if np.array_equal(p, y):
        return wrong("`y_pred` is identical to the test labels y_test (balanced accuracy "
                     "1.000): it must be the model's predictions on x_test, from its "
                     "probabilities and the lowered threshold, never the labels it is "
                     "scored against")
    if not np.isin(p, (0, 1)).all():
        return wrong("`y_pred` should hold 0/1 labels, not probabilities: compare them with the "
                     "threshold")
    if p.sum() == 0:
        return wrong("nobody is predicted heavy: that is what threshold 0.5 does; lower it to "
                     "the heavy users' share in the training data")
    ba = balanced_accuracy_score(y, p)
    if reference is not None:
        from sklearn.linear_model import LogisticRegression

        x_tr, y_tr, x_te = reference
        y_tr = np.asarray(y_tr).ravel()
        prob = LogisticRegression(max_iter=2000).fit(x_tr, y_tr).predict_proba(x_te)[:, 1]
        share = float(y_tr.mean())
        expected = (prob > share).astype(int)
        if np.mean(p != expected) <= 0.001:   # a tie or two at the threshold
            return right(f"balanced accuracy {ba:.3f} vs {baseline:.3f} at threshold 0.5: "
                         f"moving the threshold does what rebalancing did.")
        mistakes = [
            (prob < share, "the comparison is reversed: predict heavy where the probability "
                           "is *above* the threshold"),
            (prob > y.mean(), "the threshold is the share of heavy users in the *test* data: "
                              "use the training share, y_train.mean() (the test labels are "
                              "unknown when you deploy)"),
            (prob > round(share, 2), f"the threshold is rounded ({round(share, 2)}): use "
                                     f"y_train.mean() = {share:.4f} itself"),
            (prob > 0.5, "this is the threshold 0.5 of the untouched model"),
        ]
        if len(np.unique(y)) == 2:  # a model fitted on the test rows themselves
            leak = LogisticRegression(max_iter=2000).fit(x_te, y).predict_proba(x_te)[:, 1]
            on_test = ("the model was trained on the test set (x_test, y_test): fit it on "
                       "x_train, y_train; the test rows are only predicted and scored, "
                       "otherwise the score is flattered by labels the model has seen")
            mistakes += [(leak > share, on_test), (leak > y.mean(), on_test),
                         (leak > 0.5, on_test)]
        for candidate, message in mistakes:
            candidate = candidate.astype(int)
            if np.any(candidate != expected) and np.mean(p != candidate) <= 0.001:
                return wrong(message)
        ref_ba = balanced_accuracy_score(y, expected)
        return wrong(f"{int(np.sum(p != expected))} of {len(p)} predictions differ from "
                     f"`LogisticRegression(max_iter=2000)` fitted on (x_train, y_train) with "
                     f"threshold y_train.mean() = {share:.4f}: your predictions have a "
                     f"balanced accuracy of {ba:.3f}, the reference's {ref_ba:.3f}; check "
                     f"the model, its training data and the threshold")
    if p.mean() > 0.9:
        return wrong(f"almost everyone ({p.mean():.0%}) is predicted heavy: the threshold is "
                     f"too low (or the comparison is reversed)")
    if ba >= 0.999:
        return wrong(f"balanced accuracy {ba:.3f} on the held-out data: a perfect score means "
                     f"the model saw the test labels (trained on the test set, or y_pred "
                     f"built from y_test); fit on x_train, y_train and predict x_test")
    if ba < baseline + margin:
        return wrong(f"balanced accuracy {ba:.3f} is not clearly above the untouched model's "
                     f"{baseline:.3f}: use threshold = y_train.mean()")
    return right(f"balanced accuracy {ba:.3f} vs {baseline:.3f} at threshold 0.5: moving the "
                 f"threshold does what rebalancing did.")


def check_memorising_generator(synthetic, x_train, x_holdout, noticed_by: str | None = None) -> Feedback:
    """Near-copies of the training rows: synthetic (N, D) like x_train (N, D); most rows must be
    closer to a training row than 95 % of held-out rows (N_h, D) are. `noticed_by`: "privacy"."""
    from genai_lib.synthetic import distance_to_closest_record

    if synthetic is None:
        return wrong("`memorised` is None: add 0.01 * torch.randn_like(x_train) to x_train")
    s = np.asarray(synthetic.detach().cpu() if hasattr(synthetic, "detach") else synthetic, dtype=float)
    xt = np.asarray(x_train, dtype=float)
    if s.shape != xt.shape:
        return wrong(f"`memorised` has shape {s.shape}, expected {xt.shape} (one row per training record)")
    if np.allclose(s, xt, atol=0):
        return wrong("these are the training records themselves: add the tiny noise the exercise asks for")
    noise = s - xt
    # equal up to float32 rounding of x_train + noise (a few units in the last place)
    tol = 1e-3 * float(np.abs(noise).max()) + 4 * 1.2e-7 * float(np.abs(xt).max())
    per_row = noise.shape[1] > 1 and np.allclose(noise, noise[:, :1], rtol=0, atol=tol)
    per_column = len(noise) > 1 and np.allclose(noise, noise[:1], rtol=0, atol=tol)
    if per_row or per_column:
        shared = ("every column of a row gets the same offset (torch.randn(N, 1) or "
                  "torch.randn(1), broadcast): each row is shifted along the diagonal"
                  if per_row else "every row gets the same offsets (torch.randn(D), "
                  "broadcast): the whole table is shifted by one vector")
        return wrong(f"the noise is shared: {shared}. Draw one value per entry: "
                     f"x_train + 0.01 * torch.randn_like(x_train)")
    threshold = np.quantile(distance_to_closest_record(x_holdout, xt), 0.05)
    share = float(np.mean(distance_to_closest_record(s, xt) < threshold))
    if share < 0.9:
        return wrong(f"only {share:.0%} of the rows are near-copies: the noise is too large (use "
                     f"0.01 * randn) or the rows do not come from x_train")
    if noticed_by is None:
        return wrong(f"the rows are right ({share:.0%} are near-copies), but `noticed_by` is "
                     f"None: answer \"utility\" or \"privacy\"")
    if str(noticed_by).strip().lower() != "privacy":
        return wrong(f"{noticed_by!r}: utility (TSTR) looks perfect for copies of the training "
                     f"data; which test compares distances to training records?")
    return right(f"{share:.0%} of the rows are near-copies of training records; and only the "
                 f"privacy test notices.")


def _marginals_exercise() -> np.ndarray:
    """Test data for `check_independent_marginals`: (300, 3), strongly correlated columns
    with distinct, non-normal values (so a copied row or a normal fit can be recognised)."""
    rng = np.random.default_rng(8)
    z = rng.normal(size=(300, 1))
    x = np.c_[np.exp(z), z ** 3, -2 * z] + 0.05 * rng.normal(size=(300, 3))
    return np.round(x, 6)


def check_independent_marginals(fn: Callable) -> Feedback:
    """`fn(x (N, D), n, seed) -> (n, D)`: each column resampled with replacement on its own."""
    if not callable(fn):
        return wrong(f"`my_marginals` should be a function, got {type(fn).__name__}")
    used = library_used("my_marginals", fn, "in NumPy: for each column, draw n row indices "
                        "of its own with np.random.default_rng(seed)",
                        names={"independent_marginals"})
    if used is not None:
        return used
    x = _marginals_exercise()
    n = 3000
    try:
        out = np.asarray(fn(x, n, 0), dtype=float)
    except Exception as err:  # the learner's code failed: say how
        return wrong(f"`my_marginals(x, {n}, 0)` raised {type(err).__name__}: {err}")
    if out.shape == (x.shape[1], n):
        return wrong(f"the result has shape {out.shape}: one row per draw is (n, D) = "
                     f"({n}, {x.shape[1]}); transpose, or stack the columns with axis=1")
    if out.shape != (n, x.shape[1]):
        return wrong(f"the result has shape {out.shape}, expected (n, D) = ({n}, {x.shape[1]})")
    for j in range(x.shape[1]):
        if not np.isin(np.round(out[:, j], 6), x[:, j]).all():
            return wrong(f"column {j} holds values that are not in column {j} of x: resample "
                         f"the observed values of each column (its empirical marginal), do not "
                         f"fit a distribution or mix columns up")
    rows = {tuple(r) for r in x}
    copied = float(np.mean([tuple(r) in rows for r in np.round(out, 6)]))
    if copied > 0.5:
        return wrong(f"{copied:.0%} of your rows are whole real rows: that resamples rows "
                     f"(a bootstrap), which keeps every correlation. Draw a separate random "
                     f"index for each column")
    corr = np.corrcoef(out, rowvar=False)[np.triu_indices(x.shape[1], 1)]
    if np.abs(corr).max() > 0.1:
        return wrong(f"the columns are still correlated (up to {np.abs(corr).max():.2f}): the "
                     f"indices of different columns must be drawn independently")
    again = np.asarray(fn(x, n, 0), dtype=float)
    if not np.array_equal(out, again):
        return wrong("two calls with the same seed give different rows: build the generator "
                     "from `seed` (np.random.default_rng(seed))")
    return right("each column keeps its own values and distribution; the correlations "
                 "between columns are gone.")
