"""Is a generator any good? A learned judge, the classical baselines, and one quality table.

Shapes: samples and real data are flat (N, D) pixels in [0, 1]; labels (N,) integers.
The distances themselves (MMD, Fréchet, k-NN precision/recall) live in `metrics`, the
distance to the closest training image in `neighbours`, the fitted baselines' densities in
`density`.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from genai_lib import checks, density, metrics, runtime
from genai_lib.intervals import VERDICTS, verdict
from genai_lib.models import mlp
from genai_lib.neighbours import distance_to_closest_record, near_copy_share

QUANTILE = 0.05  # copy rate: "closer than 95 % of held-out images are to their nearest training image"


class Judge(nn.Module):
    """A small MLP classifier: features (B, D) -> (B, F), head (B, F) -> (B, classes)."""

    def __init__(self, data_dim: int = 64, hidden: int = 128, feature_dim: int = 64,
                 n_classes: int = 10) -> None:
        super().__init__()
        self.features = mlp([data_dim, hidden, feature_dim], out_activation="relu")
        self.head = nn.Linear(feature_dim, n_classes)

    def forward(self, x: Tensor) -> Tensor:
        """Class logits: (B, D) -> (B, classes)."""
        return self.head(self.features(x))


def train_judge(split, epochs: int, hidden: int = 128, device: torch.device | str | None = None,
                seed: int = 0) -> Judge:
    """A Judge trained on split.x_train (N, D) and split.y_train (N,) with `train.fit`.

    It reads generated images: its accuracy on requested labels (conditional models) and its
    penultimate features for the Fréchet distance (the idea of FID, Heusel et al. 2017) and
    for precision and recall (Kynkäänniemi et al. 2019 use a network's features the same way).
    The global random state is left untouched (its own seed is used inside).
    """
    from genai_lib import train

    x = split.x_train.reshape(len(split.x_train), -1).float()
    with torch.random.fork_rng(devices=[]):  # do not disturb the notebook's random stream
        torch.manual_seed(runtime.training_seed(seed))  # + $GENAI_SEED, as every training
        model = Judge(data_dim=x.shape[1], hidden=hidden)
        train.fit(model, (x, split.y_train.long()), epochs=epochs, batch_size=64, lr=2e-3,
                  loss_fn=nn.functional.cross_entropy, device=device, quiet=True, seed=seed)
    return model.eval()


@torch.no_grad()
def features(model: nn.Module, x: Tensor | np.ndarray) -> Tensor:
    """Penultimate-layer features of a classifier: x (N, D) -> (N, F) float32 on the CPU."""
    if hasattr(model, "features"):
        body = model.features
    elif isinstance(model, nn.Sequential):
        body = model[:-1]  # everything but the final (logit) layer
    else:
        raise TypeError(f"model must have a `.features` module or be an nn.Sequential, "
                        f"got {type(model).__name__}")
    x = torch.as_tensor(x, dtype=torch.float32)
    x = x.reshape(len(x), -1)
    first = next((m for m in body.modules() if isinstance(m, nn.Linear)), None)
    if first is not None and x.shape[1] != first.in_features:
        raise ValueError(f"x must have shape (N, {first.in_features}) for this classifier, "
                         f"got {tuple(x.shape)}")
    dev = checks.device_of(model)
    with checks.eval_mode(model):
        return torch.cat([body(x[i:i + 1024].to(dev)).cpu() for i in range(0, len(x), 1024)])


def baselines(real_train: Tensor | np.ndarray, n: int, seed: int = 0, components: int = 20,
              pca_dim: int | None = None) -> dict[str, Tensor]:
    """Three reference "generators" (n, D), pixels clipped to [0, 1]: uniform noise, one
    Gaussian and a mixture of `components` full-covariance Gaussians fitted to real_train (N, D).

    pca_dim: fit the mixture on the first pca_dim principal components (for large images,
    where `components` full D x D covariances would need more data than there is).
    """
    from sklearn.decomposition import PCA

    real = checks.samples("real_train", real_train)
    checks.positive_int("n", n)
    g = torch.Generator().manual_seed(seed)
    noise = torch.rand(n, real.shape[1], generator=g)
    gauss = density.sample_gaussian(real, n, generator=g)
    x = real.numpy()
    pca = PCA(pca_dim, random_state=seed).fit(x) if pca_dim else None
    codes = pca.transform(x) if pca else x
    drawn = density.sample_mixture(density.fit_mixture(codes, components, seed), n, seed).numpy()
    drawn = pca.inverse_transform(drawn) if pca else drawn
    return {"noise": noise, "Gaussian": gauss.clamp(0, 1).float(),
            "Gaussian mixture": torch.as_tensor(drawn, dtype=torch.float32).clamp(0, 1)}


def copy_rate(samples: Tensor | np.ndarray, real_train: Tensor | np.ndarray,
              real_test: Tensor | np.ndarray, quantile: float = QUANTILE) -> float:
    """Share of samples (N, D) suspiciously close to a training image (M, D).

    "Suspiciously close": nearer to their nearest training image than all but `quantile` of
    the held-out images (K, D) are to theirs. Held-out data scores `quantile` by construction;
    the training set itself scores 1 (the warning line of a generator that memorises).
    """
    return near_copy_share(distance_to_closest_record(samples, real_train),
                           distance_to_closest_record(real_test, real_train), quantile,
                           name="quantile")


def sample_quality(real_train: Tensor | np.ndarray, real_test: Tensor | np.ndarray,
                   samples: dict[str, Tensor], judge: nn.Module, k: int = 3,
                   floor: bool = True) -> dict[str, dict[str, float]]:
    """Score sample sets {name: (N, D)} against held-out real data real_test (M, D), N >= M.

    "frechet": Fréchet distance between the judge's features of all N samples and of real_test;
    "precision", "recall": k-NN precision and recall in the judge's features, averaged over
    the N // M disjoint blocks of M samples (equal set sizes, as the measure assumes);
    "copy rate": see `copy_rate`; "mmd": kernel MMD on pixels (median-heuristic bandwidth of
    real_test, one for every row). floor=True adds a first row "real data (train)" that
    scores the training images: what real data achieves, and the copy rate's warning line.
    Lower frechet/mmd/copy rate and higher precision/recall are better.
    """
    ref = checks.samples("real_test", real_test).float()
    train = checks.samples("real_train", real_train).float()
    m = len(ref)
    if not isinstance(samples, dict):
        raise TypeError(f"samples must be a dict {{name: tensor (N, D)}}, got {type(samples).__name__}")
    sets = {"real data (train)": train} if floor else {}
    for name, x in samples.items():
        x = checks.samples(f"samples[{name!r}]", x).float()
        if x.shape[1] != ref.shape[1]:
            raise ValueError(f"samples[{name!r}] has {x.shape[1]} features, real_test has {ref.shape[1]}")
        if len(x) < m:
            raise ValueError(f"samples[{name!r}] needs at least {m} rows (len(real_test)) so "
                             f"precision and recall compare sets of equal size, got {len(x)}")
        _same_scale(f"samples[{name!r}]", x, ref)
        sets[name] = x
    h = metrics.median_bandwidth(ref[: m // 2], ref[m // 2:])  # the median within real_test
    ref_feat = features(judge, ref)
    held_out = distance_to_closest_record(ref, train)  # once, not once per row
    table: dict[str, dict[str, float]] = {}
    for name, x in sets.items():
        feat = features(judge, x)
        pr = [metrics.precision_recall(ref_feat, feat[i:i + m], k=k)
              for i in range(0, len(x) - m + 1, m)]
        table[name] = {"frechet": metrics.frechet_distance(feat, ref_feat),
                       "precision": float(np.mean([p for p, _ in pr])),
                       "recall": float(np.mean([r for _, r in pr])),
                       "copy rate": near_copy_share(distance_to_closest_record(x, train),
                                                    held_out, QUANTILE),
                       "mmd": metrics.mmd(x, ref, bandwidth=h)}
    return table


def _same_scale(name: str, x: Tensor, ref: Tensor) -> None:
    """A clear error when samples x lie far outside the real data's range (more than ten of
    its widths beyond it): samples on another scale, such as pixels in 0..255 against real
    pixels in [0, 1], would be scored as garbage without a word."""
    lo, hi = float(ref.min()), float(ref.max())
    span = (hi - lo) or 1.0
    x_lo, x_hi = float(x.min()), float(x.max())
    if x_lo >= lo - 10 * span and x_hi <= hi + 10 * span:
        return
    hint = (": pixels in 0..255? divide them by 255" if 0 <= lo and hi <= 1 and x_hi <= 255
            and x_lo >= 0 else "")
    raise ValueError(f"{name} lie in [{x_lo:.4g}, {x_hi:.4g}], far outside real_test's range "
                     f"[{lo:.4g}, {hi:.4g}]: put the samples on the real data's scale before "
                     f"scoring them{hint}")


# measure: (words in a sentence, higher is better)
MEASURES = {"frechet": ("the Fréchet distance", False), "precision": ("precision", True),
            "recall": ("recall", True)}


def gaps(a: Tensor, b: Tensor, real_test: Tensor, judge: nn.Module, boots: int = 200,
         seed: int = 0, measures: tuple[str, ...] = tuple(MEASURES), k: int = 3
         ) -> dict[str, tuple[float, float, float]]:
    """measure(a) - measure(b) against real_test, each with a 95 % bootstrap interval:
    {measure: (gap, low, high)} for "frechet", "precision", "recall".

    a (N, D), b (N', D): two sample sets, N, N' >= len(real_test) = M. Every round resamples
    a, b and real_test (the interval covers the sampling noise of all three, not that of the
    training run); precision and recall compare the first M of each resampled set.
    """
    unknown = set(measures) - set(MEASURES)
    if unknown:
        raise ValueError(f"unknown measures {sorted(unknown)}; choose from {list(MEASURES)}")
    checks.positive_int("boots", boots, low=5)
    fa, fb, fr = (features(judge, t).double() for t in (a, b, real_test))
    m = len(fr)
    if min(len(fa), len(fb)) < m:
        raise ValueError(f"a and b need at least len(real_test) = {m} rows, "
                         f"got {len(fa)} and {len(fb)}")

    def scores(xa: Tensor, xb: Tensor, r: Tensor) -> dict[str, float]:
        out = {}
        if "frechet" in measures:
            out["frechet"] = metrics.frechet_distance(xa, r) - metrics.frechet_distance(xb, r)
        if {"precision", "recall"} & set(measures):
            (pa, ra), (pb, rb) = (metrics.precision_recall(r, x[:m], k=k) for x in (xa, xb))
            out.update(precision=pa - pb, recall=ra - rb)
        return {name: out[name] for name in measures}

    g = torch.Generator().manual_seed(seed)
    pick = lambda f: f[torch.randint(len(f), (len(f),), generator=g)]  # noqa: E731
    rounds = [scores(pick(fa), pick(fb), pick(fr)) for _ in range(boots)]
    point = scores(fa, fb, fr)
    out = {}
    for name in measures:
        low, high = np.quantile([r[name] for r in rounds], [0.025, 0.975])
        out[name] = (float(point[name]), float(low), float(high))
    return out


def frechet_gap(a: Tensor, b: Tensor, real_test: Tensor, judge: nn.Module, boots: int = 200,
                seed: int = 0) -> tuple[float, float, float]:
    """Fréchet(a) - Fréchet(b) against real_test, with a 95 % bootstrap interval: (gap, low,
    high); see `gaps`."""
    return gaps(a, b, real_test, judge, boots, seed, measures=("frechet",))["frechet"]


def verdict_line(reference: str, found: dict[str, tuple[float, float, float]]) -> str:
    """'beats the Gaussian on the Fréchet distance, cannot be told apart from it on recall,
    loses to it on precision': each word from its interval (intervals.verdict).

    found: `gaps(model, reference, ...)`. The book's rule for precision and recall: a lead on
    one counts only where the other is not lost. Samples spread everywhere (noise, blur)
    reach every real digit without resembling one (recall without precision); a collapsed
    generator draws a few typical samples (precision without recall). Such a lead is named
    as what it is instead of "beats".
    """
    words = {name: verdict(low, high, MEASURES[name][1])
             for name, (_, low, high) in found.items()}
    notes = []  # the rule above: a lead whose partner is lost is named, not counted
    for lead, other in (("recall", "precision"), ("precision", "recall")):
        if words.get(lead) == VERDICTS[0] and words.get(other) == VERDICTS[2]:
            del words[lead]
            notes.append(f"has the higher {lead}, which does not count while its {other} "
                         f"is lower")
    parts = []
    for word in VERDICTS:
        names = [MEASURES[n][0] for n, w in words.items() if w == word]
        if names:
            parts.append(f"{word} {'it' if parts else f'the {reference}'} on {_join(names)}")
    return ", ".join(parts + notes)


def _join(words: list[str]) -> str:
    """['a', 'b', 'c'] -> 'a, b and c'."""
    return ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else words[0]


def balanced_labels(n: int, n_classes: int = 10, seed: int = 0) -> Tensor:
    """n labels (n,), each class as often as possible (counts differ by at most 1), shuffled."""
    checks.positive_int("n", n)
    labels = torch.arange(n) % n_classes
    return labels[torch.randperm(n, generator=torch.Generator().manual_seed(seed))]
