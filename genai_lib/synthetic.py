"""Synthetic tables: the baseline samplers a generative model must beat, and the three
axes on which synthetic rows are judged (the trio SDV and synthcity report).

* Samplers: `independent_marginals` (each column resampled on its own) and
  `gaussian_copula` (empirical marginals tied together by a Gaussian copula).
* Fidelity: `ks_distances` (per column), `correlation_gap` (correlation matrices) and
  `detection_auc` (can a classifier tell real from synthetic rows? 0.5 is best);
  `detection_scores` gives a detector's held-out scores, for a paired interval.
* Utility: `tstr` (train on synthetic, test on real).
* Privacy: `distance_to_closest_record` and `near_copy_share` (from `neighbours`).
* Constructed tables where the copula's assumption fails: `wave_table` (dependence
  that is not monotone) and `curved_table` (measurements on a curved surface).
* `judge` computes all three axes for one synthetic table;
  `genai_lib.intervals.paired_metric_bootstrap` puts an interval on the difference of a
  metric between two methods scored on the same test rows.
"""

from __future__ import annotations

import numpy as np
import torch

from genai_lib.checks import count, matrix, positive_int
from genai_lib.neighbours import distance_to_closest_record, near_copy_share


def _same_width(a: np.ndarray, b: np.ndarray, names: str) -> None:
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"{names} must have the same number of columns, "
                         f"got {a.shape[1]} and {b.shape[1]}")


def _corr(a: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.corrcoef(a, rowvar=False)
    return np.nan_to_num(np.atleast_2d(c))                     # constant column: 0


# --- baseline samplers ---

def independent_marginals(x, n: int, seed: int = 0) -> np.ndarray:
    """Each column resampled with replacement on its own: (N, D) -> (n, D).

    Every marginal is right; every dependence between columns is lost.
    """
    x, n = matrix("x", x), count("n", n)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(x), size=(n, x.shape[1]))
    return x[idx, np.arange(x.shape[1])]


def gaussian_copula(x, n: int, seed: int = 0, method: str = "linear") -> np.ndarray:
    """Empirical marginals + a Gaussian copula of the normal scores: (N, D) -> (n, D).

    Each column's ranks become normal scores z = Phi^-1(rank / (N + 1)); new rows are drawn
    from N(0, R), R the correlation of the scores, and mapped back through each column's
    empirical quantile function (np.quantile with `method`; 'inverted_cdf' keeps only
    observed values, for discrete columns).
    """
    from scipy.stats import norm, rankdata

    x, n = matrix("x", x, min_rows=2), count("n", n)
    rows, d = x.shape
    z = norm.ppf(rankdata(x, axis=0) / (rows + 1))            # (N, D) normal scores
    constant = np.ptp(x, axis=0) == 0
    z[:, constant] = 0.0
    r = _corr(z)                                               # constant columns: no link
    np.fill_diagonal(r, 1.0)
    g = np.random.default_rng(seed).multivariate_normal(np.zeros(d), r, size=n,
                                                        method="eigh")
    u = norm.cdf(g)                                            # (n, D) uniforms
    return np.stack([np.quantile(x[:, j], u[:, j], method=method) for j in range(d)],
                    axis=1).reshape(n, d)


# --- fidelity ---

def ks_distances(real, synthetic) -> np.ndarray:
    """Kolmogorov-Smirnov statistic of each column, real (N, D) vs synthetic (M, D): (D,).

    The largest gap between the two empirical CDFs: 0 for identical marginals, 1 for
    disjoint ones. On a 0/1 column it is the difference of the two shares of ones.
    """
    a, b = matrix("real", real), matrix("synthetic", synthetic)
    _same_width(a, b, "real and synthetic")
    out = np.empty(a.shape[1])
    for j in range(a.shape[1]):
        ra, rb = np.sort(a[:, j]), np.sort(b[:, j])
        at = np.concatenate([ra, rb])                  # every jump of either CDF
        fa = np.searchsorted(ra, at, side="right") / len(ra)
        fb = np.searchsorted(rb, at, side="right") / len(rb)
        out[j] = np.abs(fa - fb).max()
    return out


def correlation_gap(real, synthetic) -> float:
    """Mean |corr_real - corr_syn| over the D(D-1)/2 column pairs: real (N, D), syn. (M, D).

    Pearson correlations; a constant column counts as uncorrelated. 0 when the
    synthetic rows keep every pairwise correlation.
    """
    a, b = matrix("real", real, 2), matrix("synthetic", synthetic, 2)
    _same_width(a, b, "real and synthetic")
    if a.shape[1] < 2:
        raise ValueError("correlation_gap needs at least two columns")
    upper = np.triu_indices(a.shape[1], k=1)
    return float(np.mean(np.abs(_corr(a) - _corr(b))[upper]))


def detection_auc(real, synthetic, model=None, folds: int = 5, seed: int = 0) -> float:
    """Cross-validated ROC AUC of a classifier telling real (N, D) from synthetic (M, D) rows.

    0.5: indistinguishable (best); 1: every synthetic row is recognised. The larger set is
    subsampled to the size of the smaller. model: an unfitted scikit-learn classifier
    (default: a logistic regression on the columns, their squares and pairwise products,
    so it sees shifted means, wrong spreads and broken correlations, but not, e.g., a
    multi-modal shape with the right means and covariances: pass a richer model for that).
    """
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures, StandardScaler

    a, b = matrix("real", real), matrix("synthetic", synthetic)
    _same_width(a, b, "real and synthetic")
    m = min(len(a), len(b))
    if m < folds:
        raise ValueError(f"need at least folds={folds} real and synthetic rows, got {m}")
    rng = np.random.default_rng(seed)
    a = a[rng.permutation(len(a))[:m]]
    b = b[rng.permutation(len(b))[:m]]
    x, label = np.vstack([a, b]), np.r_[np.zeros(m), np.ones(m)]
    clf = clone(model) if model is not None else make_pipeline(
        StandardScaler(), PolynomialFeatures(2), StandardScaler(),
        LogisticRegression(C=0.01, max_iter=1000))
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    p = cross_val_predict(clf, x, label, cv=cv, method="predict_proba")[:, 1]
    return float(roc_auc_score(label, p))


def detection_scores(real, synthetic, model=None, seed: int = 0
                     ) -> tuple[np.ndarray, np.ndarray]:
    """A detector's held-out scores: fit on one half of the real (N, D) and synthetic (M, D)
    rows, score the other half. -> (labels (2h,), scores (2h,)), the held-out real rows
    first (label 0), then as many synthetic rows (label 1).

    Their ROC AUC is a detection AUC (0.5: indistinguishable). The real rows and their
    split depend only on N, M and `seed`, so two generators with as many rows each are
    scored on the same real rows: `intervals.paired_metric_bootstrap` then resamples
    row positions, the real rows shared and the synthetic ones independent draws.
    model: an unfitted classifier (default: a random forest, which also sees shapes
    that a quadratic logistic regression misses, such as curves and clusters).
    """
    from sklearn.base import clone
    from sklearn.ensemble import RandomForestClassifier

    a, b = matrix("real", real), matrix("synthetic", synthetic)
    _same_width(a, b, "real and synthetic")
    m = min(len(a), len(b))
    if m < 4:
        raise ValueError(f"need at least 4 real and 4 synthetic rows, got {m}")
    rng = np.random.default_rng(seed)
    ia, ib = rng.permutation(len(a))[:m], rng.permutation(len(b))[:m]
    h = m // 2                                       # fit on [:h], score [h:2h]
    fit_x = np.vstack([a[ia[:h]], b[ib[:h]]])
    fit_y = np.r_[np.zeros(h), np.ones(h)]
    held = np.vstack([a[ia[h:2 * h]], b[ib[h:2 * h]]])
    clf = clone(model) if model is not None else RandomForestClassifier(
        200, min_samples_leaf=3, random_state=seed, n_jobs=1)
    score = clf.fit(fit_x, fit_y).predict_proba(held)[:, 1]
    return np.r_[np.zeros(h), np.ones(h)], score


# --- constructed tables where the Gaussian copula's assumption fails ---

def wave_table(n: int, noise: float = 0.1, seed: int = 0
               ) -> tuple[np.ndarray, np.ndarray]:
    """Two measurements whose dependence is not monotone: x (n, 2), label y (n,) in {0, 1}.

    a ~ Uniform(-pi, pi) and w = s cos(2a) + noise, with s = +1 for y = 1 and -1 for y = 0:
    both classes have the same marginals and no correlation, so only the joint shape (a
    wave or its mirror image) tells them apart; a Gaussian copula fitted to each class
    sees two identical, independent pairs.
    """
    n = positive_int("n", n)
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    a = rng.uniform(-np.pi, np.pi, n)
    w = np.where(y == 1, 1.0, -1.0) * np.cos(2 * a) + noise * rng.normal(size=n)
    return np.c_[a, w], y


def curved_table(n: int, dim: int = 30, noise: float = 0.05, seed: int = 0,
                 map_seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`dim` measurements on a curved surface: x (n, dim), label y (n,) in {0, 1}.

    Two hidden factors u ~ N(0, I_2) pass through one fixed smooth map (map_seed),
    x = tanh(u A + b) C + noise, A (2, 16), b (16,), C (16, dim): the rows lie near a
    curved 2-D surface in `dim` dimensions, which neither a Gaussian copula nor a
    Gaussian mixture with few components can follow. y = 1 where u_2 > cos(2 u_1), a
    boundary that is not monotone in either factor.
    """
    n, dim = positive_int("n", n), positive_int("dim", dim)
    g = np.random.default_rng(map_seed)
    a, b, c = g.normal(size=(2, 16)) * 1.5, g.normal(size=16), g.normal(size=(16, dim)) / 4
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(n, 2))
    x = np.tanh(u @ a + b) @ c + noise * rng.normal(size=(n, dim))
    return x, (u[:, 1] > np.cos(2 * u[:, 0])).astype(int)


# --- utility ---

def tstr(x_train, y_train, x_test, y_test, model=None, score: str = "balanced_accuracy") -> float:
    """Train-on-synthetic, test-on-real (Esteban et al., 2017): fit a classifier on (N, D), (N,)
    rows (synthetic for TSTR, real for the TRTR reference) and score it on real (M, D), (M,).

    model: an unfitted scikit-learn classifier (cloned; default: scaled logistic regression);
    score: 'accuracy', 'balanced_accuracy' or 'roc_auc' (binary labels).
    """
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    scorers = {"accuracy": accuracy_score, "balanced_accuracy": balanced_accuracy_score,
               "roc_auc": roc_auc_score}
    if score not in scorers:
        raise ValueError(f"score must be one of {sorted(scorers)}, got {score!r}")
    xa, xb = matrix("x_train", x_train, min_rows=2), matrix("x_test", x_test, min_rows=2)
    ya, yb = np.asarray(torch.as_tensor(y_train).cpu()), np.asarray(torch.as_tensor(y_test).cpu())
    _same_width(xa, xb, "x_train and x_test")
    if len(ya) != len(xa) or len(yb) != len(xb):
        raise ValueError(f"labels must match rows: x_train {len(xa)} vs y_train {len(ya)}, "
                         f"x_test {len(xb)} vs y_test {len(yb)}")
    if len(np.unique(ya)) < 2:
        raise ValueError("y_train has a single class: a classifier needs at least two")
    clf = clone(model) if model is not None else make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=2000))
    clf.fit(xa, ya)
    if score == "roc_auc":
        return float(roc_auc_score(yb, clf.predict_proba(xb)[:, 1]))
    return float(scorers[score](yb, clf.predict(xb)))


# --- the three axes together ---

def judge(synthetic, real_train, real_test, y_synthetic=None, y_train=None, y_test=None,
          seed: int = 0) -> dict[str, float]:
    """Fidelity, utility and privacy of synthetic (M, D) rows against real_train (N, D)
    (the rows the generator saw) and real_test (N', D) (rows it never saw).

    Fidelity vs real_train: 'KS mean', 'KS max', 'corr gap', 'detect AUC'. Utility, when
    the three label arrays are given: 'TSTR AUC' (logistic regression trained on the
    synthetic rows, scored on real_test). Privacy: 'DCR median' (synthetic to real_train)
    and 'near-copies %' (below the 5th percentile of real_test's own DCR).
    """
    s, tr, te = (matrix(k, v) for k, v in (("synthetic", synthetic),
                                           ("real_train", real_train),
                                           ("real_test", real_test)))
    _same_width(s, tr, "synthetic and real_train")
    _same_width(te, tr, "real_test and real_train")
    ks = ks_distances(tr, s)
    out = {"KS mean": float(ks.mean()), "KS max": float(ks.max()),
           "corr gap": correlation_gap(tr, s), "detect AUC": detection_auc(tr, s, seed=seed)}
    labels = (y_synthetic, y_train, y_test)
    if any(v is not None for v in labels):
        if any(v is None for v in labels):
            raise ValueError("give all of y_synthetic, y_train and y_test for utility, or none")
        out["TSTR AUC"] = tstr(s, y_synthetic, te, y_test, score="roc_auc")
    dcr_s = distance_to_closest_record(s, tr)
    dcr_h = distance_to_closest_record(te, tr)
    out["DCR median"] = float(np.median(dcr_s))
    out["near-copies %"] = 100 * near_copy_share(dcr_s, dcr_h)
    return out
