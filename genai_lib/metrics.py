"""How good is a generator? Distances between sets of samples and quality/coverage scores.

All functions take two sample sets x (N, D) and y (M, D) (flatten images first) and
return Python floats, so notebooks can print and tabulate them.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn


def _as_2d(name: str, a: Tensor | np.ndarray) -> Tensor:
    """A float64 CPU tensor (N, D) from an array or tensor, with clear errors."""
    t = torch.as_tensor(a).detach().cpu().to(torch.float64)
    if t.dim() != 2:
        raise ValueError(f"{name} must have shape (N, D) (flatten images first), got {tuple(t.shape)}")
    if len(t) < 2:
        raise ValueError(f"{name} needs at least 2 samples, got {len(t)}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} contains NaN or inf values")
    return t


def _pair(x, y) -> tuple[Tensor, Tensor]:
    """Both sample sets as (N, D) / (M, D) float64 with matching D."""
    x, y = _as_2d("x", x), _as_2d("y", y)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must have the same number of features, got {x.shape[1]} and {y.shape[1]}")
    return x, y


def median_bandwidth(x: Tensor | np.ndarray, y: Tensor | np.ndarray) -> float:
    """The median heuristic: median pairwise distance within the pooled samples."""
    x, y = _pair(x, y)
    z = torch.cat([x, y])
    d = torch.cdist(z, z)
    return float(d[torch.triu_indices(len(z), len(z), 1).unbind()].median())


def mmd(x: Tensor | np.ndarray, y: Tensor | np.ndarray, bandwidth: float | None = None) -> float:
    """Squared maximum mean discrepancy with a Gaussian kernel (unbiased estimate).

    k(a, b) = exp(-|a - b|^2 / (2 h^2)), h = `bandwidth` (median heuristic if None).
    Gretton et al. (2012), "A kernel two-sample test", eq. (3). ~0 when x, y share a distribution.
    """
    x, y = _pair(x, y)
    h = bandwidth if bandwidth is not None else median_bandwidth(x, y)
    if h <= 0:
        raise ValueError(f"bandwidth must be positive, got {h}")
    k = lambda a, b: torch.exp(-torch.cdist(a, b) ** 2 / (2 * h * h))  # noqa: E731
    n, m = len(x), len(y)
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    within_x = (kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1))
    within_y = (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
    return float(within_x + within_y - 2 * kxy.mean())


def _sqrtm_psd(a: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix via its eigen-decomposition."""
    w, v = np.linalg.eigh((a + a.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_gaussian(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray) -> float:
    """Fréchet (2-Wasserstein) distance squared between N(mu1, cov1) and N(mu2, cov2).

    |mu1 - mu2|^2 + tr(C1 + C2 - 2 (C1^1/2 C2 C1^1/2)^1/2)  (Dowson & Landau, 1982).
    """
    mu1, mu2, cov1, cov2 = (np.asarray(a, dtype=np.float64) for a in (mu1, mu2, cov1, cov2))
    d = mu1.shape[0] if mu1.ndim == 1 else -1
    for name, a, shape in (("mu1", mu1, (d,)), ("mu2", mu2, (d,)), ("cov1", cov1, (d, d)),
                           ("cov2", cov2, (d, d))):
        if d < 1 or a.shape != shape:
            raise ValueError(f"{name} must have shape {shape if d >= 1 else '(D,)'} (means (D,), "
                             f"covariances (D, D)), got {a.shape}")
        if not np.isfinite(a).all():
            raise ValueError(f"{name} contains NaN or inf values")
    s1 = _sqrtm_psd(cov1)
    cross = _sqrtm_psd(s1 @ cov2 @ s1)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(cov1) + np.trace(cov2) - 2 * np.trace(cross))


def frechet_distance(x: Tensor | np.ndarray, y: Tensor | np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N, D), (M, D).

    Computed on a classifier's features this is the FID of Heusel et al. (2017).
    """
    x, y = (t.numpy() for t in _pair(x, y))
    return frechet_gaussian(x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False))


def _knn_radii(a: Tensor, k: int) -> Tensor:
    """Distance from each row of a (N, D) to its k-th nearest other row: (N,)."""
    d = torch.cdist(a, a)
    return d.kthvalue(k + 1, dim=1).values  # +1 skips the point itself (distance 0)


def _coverage(points: Tensor, support: Tensor, k: int) -> float:
    """Share of `points` that fall inside some k-NN ball around a `support` point."""
    if k < 1 or k >= len(support):
        raise ValueError(f"k must be between 1 and {len(support) - 1}, got {k}")
    radii = _knn_radii(support, k)
    inside = torch.cdist(points, support) <= radii[None, :]
    return float(inside.any(dim=1).double().mean())


def precision_recall(real: Tensor | np.ndarray, fake: Tensor | np.ndarray, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall of generated samples (Kynkäänniemi et al., 2019).

    precision: share of fake samples inside the real data's k-NN manifold (quality);
    recall: share of real samples inside the fake data's k-NN manifold (coverage).
    """
    real, fake = _pair(real, fake)
    return _coverage(fake, real, k), _coverage(real, fake, k)


def modes_covered(samples: Tensor | np.ndarray, centers: Tensor | np.ndarray, max_dist: float,
                  min_share: float = 0.01) -> tuple[int, float]:
    """For mixtures: how many modes get >= min_share of the samples within max_dist, and the
    share of samples within max_dist of any mode ("high quality"). samples (N, D), centers (K, D)."""
    samples, centers = _pair(samples, centers)
    d = torch.cdist(samples, centers)
    nearest = d.argmin(dim=1)
    good = d.min(dim=1).values <= max_dist
    counts = torch.bincount(nearest[good], minlength=len(centers)).double() / len(samples)
    return int((counts >= min_share).sum()), float(good.double().mean())


# --- sample quality on digits: a classifier's feature space and one table for all models ---


class DigitClassifier(nn.Module):
    """A small MLP classifier of 8x8 digits: features (B, 64) -> (B, F), head (B, F) -> (B, 10)."""

    def __init__(self, data_dim: int = 64, hidden: int = 128, feature_dim: int = 64,
                 n_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Linear(data_dim, hidden), nn.ReLU(),
                                      nn.Linear(hidden, feature_dim), nn.ReLU())
        self.head = nn.Linear(feature_dim, n_classes)

    def forward(self, x: Tensor) -> Tensor:
        """Class logits: (B, 64) -> (B, 10)."""
        return self.head(self.features(x))


def digit_classifier(split, epochs: int, device: torch.device | str | None = None,
                     seed: int = 0) -> nn.Module:
    """Train a DigitClassifier on split.x_train (N, 64), split.y_train (N,) with train.fit.

    Used to judge generated digits: its accuracy on them (conditional models) and its
    penultimate features for a Fréchet distance (the idea of FID, Heusel et al. 2017).
    The global random state is left untouched (its own seed is used inside).
    """
    from genai_lib import train

    x, y = split.x_train, split.y_train
    if x.dim() != 2:
        x = x.reshape(len(x), -1)
    if x.shape[1] != 64:
        raise ValueError(f"split.x_train must have shape (N, 64) (8x8 digits), got {tuple(x.shape)}")
    with torch.random.fork_rng(devices=[]):  # do not disturb the notebook's random stream
        torch.manual_seed(seed)
        model = DigitClassifier()
        train.fit(model, (x.float(), y.long()), epochs=epochs, batch_size=64, lr=2e-3,
                  loss_fn=nn.functional.cross_entropy, device=device, quiet=True, seed=seed)
    return model.eval()


@torch.no_grad()
def classifier_features(model: nn.Module, x: Tensor | np.ndarray) -> Tensor:
    """Penultimate-layer features of a classifier: x (N, 64) -> (N, F) float32 on the CPU."""
    if hasattr(model, "features"):
        body = model.features
    elif isinstance(model, nn.Sequential):
        body = model[:-1]  # everything but the final (logit) layer
    else:
        raise TypeError(f"model must have a `.features` module or be an nn.Sequential, "
                        f"got {type(model).__name__}")
    x = torch.as_tensor(x, dtype=torch.float32)
    if x.dim() != 2:
        x = x.reshape(len(x), -1)
    first = next((m for m in body.modules() if isinstance(m, nn.Linear)), None)
    if first is not None and x.shape[1] != first.in_features:
        raise ValueError(f"x must have shape (N, {first.in_features}) for this classifier, "
                         f"got {tuple(x.shape)}")
    param = next(model.parameters(), None)
    dev = param.device if param is not None else torch.device("cpu")
    was_training = model.training
    model.eval()
    out = torch.cat([body(x[i:i + 1024].to(dev)).cpu() for i in range(0, len(x), 1024)])
    model.train(was_training)
    return out


def baselines(real_train: Tensor | np.ndarray, n: int, seed: int = 0) -> dict[str, Tensor]:
    """Two reference "generators" (n, D) for the quality table: uniform noise in [0, 1], and a
    full-covariance Gaussian fitted to real_train (N, D), clipped to [0, 1]."""
    real = _as_2d("real_train", real_train)
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    g = torch.Generator().manual_seed(seed)
    dim = real.shape[1]
    noise = torch.rand(n, dim, generator=g)
    mean, cov = real.mean(0), torch.cov(real.T)
    # A little jitter: constant pixels (always 0 at the border) make cov singular.
    chol = torch.linalg.cholesky(cov + 1e-6 * torch.eye(dim, dtype=cov.dtype))
    gauss = mean + torch.randn(n, dim, generator=g, dtype=cov.dtype) @ chol.T
    return {"noise": noise, "gaussian": gauss.clamp(0, 1).float()}


def sample_quality(real_train: Tensor | np.ndarray, real_test: Tensor | np.ndarray,
                   samples: dict[str, Tensor], classifier: nn.Module, k: int = 3,
                   floor: bool = True, seed: int = 0) -> dict[str, dict[str, float]]:
    """Score sample sets {name: (N, D)} against held-out real data real_test (M, D).

    For each set (its first M rows; it needs at least M): "mmd" to real_test (one bandwidth,
    the median heuristic on real_test, for every row so rows compare), "frechet" distance in
    the classifier's features, and k-NN "precision" and "recall". With floor=True a first
    row "real data (train)" scores M random rows of real_train: what real data achieves.
    Lower mmd/frechet and higher precision/recall are better.
    """
    ref = _as_2d("real_test", real_test).float()
    m = len(ref)
    if not isinstance(samples, dict):
        raise TypeError(f"samples must be a dict {{name: tensor (N, D)}}, got {type(samples).__name__}")
    sets: dict[str, Tensor] = {}
    if floor:
        train = _as_2d("real_train", real_train).float()
        if len(train) < m:
            raise ValueError(f"real_train needs at least {m} rows (len(real_test)), got {len(train)}")
        idx = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))[:m]
        sets["real data (train)"] = train[idx]
    for name, x in samples.items():
        x = _as_2d(f"samples[{name!r}]", x).float()
        if x.shape[1] != ref.shape[1]:
            raise ValueError(f"samples[{name!r}] has {x.shape[1]} features, real_test has {ref.shape[1]}")
        if len(x) < m:
            raise ValueError(f"samples[{name!r}] needs at least {m} rows (len(real_test)) so every "
                             f"row is scored on the same number of samples, got {len(x)}")
        sets[name] = x[:m]
    h = float(torch.cdist(ref.double(), ref.double())[torch.triu_indices(m, m, 1).unbind()].median())
    ref_feat = classifier_features(classifier, ref)
    table: dict[str, dict[str, float]] = {}
    for name, x in sets.items():
        prec, rec = precision_recall(ref, x, k=k)
        table[name] = {"mmd": mmd(x, ref, bandwidth=h),
                       "frechet": frechet_distance(classifier_features(classifier, x), ref_feat),
                       "precision": prec, "recall": rec}
    return table


# --- tabular data: utility and privacy ---

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
    xa, xb = _as_2d("x_train", x_train).numpy(), _as_2d("x_test", x_test).numpy()
    ya, yb = np.asarray(torch.as_tensor(y_train).cpu()), np.asarray(torch.as_tensor(y_test).cpu())
    if xa.shape[1] != xb.shape[1]:
        raise ValueError(f"x_train and x_test must have the same number of features, "
                         f"got {xa.shape[1]} and {xb.shape[1]}")
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


def distance_to_closest_record(query, reference, chunk: int = 2048) -> np.ndarray:
    """Euclidean distance from each query row (N, D) to its nearest reference row (M, D): (N,).

    The privacy check of synthetic tables: synthetic rows much closer to the training rows
    than fresh real rows are suspected copies.
    """
    q, r = _pair(query, reference)
    return torch.cat([torch.cdist(q[i:i + chunk], r).min(dim=1).values
                      for i in range(0, len(q), chunk)]).numpy()


def coverage(y, lower, upper) -> float:
    """Share of targets inside their prediction interval, lower <= y <= upper. All (N,)."""
    y, lo, hi = (np.asarray(torch.as_tensor(a, dtype=torch.float64).cpu()).ravel()
                 for a in (y, lower, upper))
    if not (len(y) == len(lo) == len(hi)) or len(y) == 0:
        raise ValueError(f"y, lower and upper must have the same non-zero length, "
                         f"got {len(y)}, {len(lo)}, {len(hi)}")
    if np.any(lo > hi):
        raise ValueError("some lower bounds are above their upper bounds: swapped arguments?")
    return float(np.mean((y >= lo) & (y <= hi)))
