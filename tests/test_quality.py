"""Unit tests of genai_lib.quality: the judge, the baselines, copy rate and the quality table."""

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_limits
from torch import nn

from genai_lib import data, quality
from genai_lib.train import accuracy

METRICS = {"frechet", "precision", "recall", "copy rate", "mmd"}


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread():
    """One BLAS thread, as torch has here: the many small eigendecompositions of the Fréchet
    distance ran 70x slower with NumPy's default threads on a busy 2-core machine."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def digits_and_judge():
    split = data.digits()
    return split, quality.train_judge(split, epochs=8)


@pytest.fixture(scope="module")
def digits_table(digits_and_judge):
    split, judge = digits_and_judge
    samples = quality.baselines(split.x_train, len(split.x_test), seed=0)
    return samples, quality.sample_quality(split.x_train, split.x_test, samples, judge)


# --- the judge ------------------------------------------------------------------------------

def test_judge_accuracy_and_features(digits_and_judge):
    split, judge = digits_and_judge
    assert isinstance(judge, quality.Judge) and not judge.training
    assert accuracy(judge, split.x_test, split.y_test) > 0.85
    feats = quality.features(judge, split.x_test[:10])
    assert feats.shape == (10, 64) and feats.dtype == torch.float32 and feats.device.type == "cpu"
    assert (feats >= 0).all()  # after the last ReLU
    # Images (N, 1, 8, 8) and NumPy arrays are flattened/converted; same features.
    as_images = quality.features(judge, split.x_test[:10].reshape(10, 1, 8, 8).numpy())
    assert torch.allclose(as_images, feats)
    # An nn.Sequential: everything but the last (logit) layer; training mode is restored.
    seq = nn.Sequential(nn.Linear(64, 7), nn.ReLU(), nn.Linear(7, 10)).train()
    assert quality.features(seq, split.x_test[:4]).shape == (4, 7) and seq.training
    with pytest.raises(TypeError, match="features"):
        quality.features(nn.Linear(64, 10), split.x_test[:4])
    with pytest.raises(ValueError, match=r"\(N, 64\)"):
        quality.features(judge, torch.zeros(3, 784))


def test_judge_sizes():
    j = quality.Judge(data_dim=784, hidden=32, feature_dim=16, n_classes=3)
    assert j(torch.zeros(5, 784)).shape == (5, 3)
    assert quality.features(j, torch.zeros(5, 784)).shape == (5, 16)


def test_train_judge_reads_the_data_width_and_is_seeded():
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(40, 32, generator=g), torch.arange(40) % 10
    split = data.Split(x, y, x[:8], y[:8])
    a = quality.train_judge(split, epochs=1, hidden=16, seed=3)
    b = quality.train_judge(split, epochs=1, hidden=16, seed=3)
    assert a.features[0].in_features == 32 and a.features[0].out_features == 16
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    c = quality.train_judge(split, epochs=1, hidden=16, seed=4)
    assert not torch.equal(a.head.weight, c.head.weight)


def test_train_judge_leaves_global_rng_alone(digits_and_judge):
    split, _ = digits_and_judge
    small = data.Split(split.x_train[:64], split.y_train[:64], split.x_test, split.y_test)
    torch.manual_seed(123)
    a = torch.rand(3)
    torch.manual_seed(123)
    quality.train_judge(small, epochs=1)
    assert torch.equal(torch.rand(3), a)


# --- the baselines (their densities: test_density.py) ------------------------------------

def test_baselines():
    real = torch.rand(200, 5) * 0.5
    b = quality.baselines(real, 300, seed=0, components=3)
    assert list(b) == ["noise", "Gaussian", "Gaussian mixture"]
    for name, x in b.items():
        assert x.shape == (300, 5) and x.dtype == torch.float32, name
        assert x.min() >= 0 and x.max() <= 1, name
    assert torch.allclose(b["Gaussian"].mean(0), real.mean(0), atol=0.05)
    assert torch.allclose(b["Gaussian mixture"].mean(0), real.mean(0), atol=0.05)
    assert b["noise"].mean().item() == pytest.approx(0.5, abs=0.05)
    again = quality.baselines(real, 300, seed=0, components=3)
    assert all(torch.equal(b[k], again[k]) for k in b)
    other = quality.baselines(real, 300, seed=1, components=3)
    assert not any(torch.equal(b[k], other[k]) for k in b)
    # pca_dim: the mixture lives in a few principal components, samples still (n, D).
    p = quality.baselines(real, 40, components=2, pca_dim=3)
    assert p["Gaussian mixture"].shape == (40, 5)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="n must be"):
            quality.baselines(real, bad)


# --- copy rate ------------------------------------------------------------------------------

def test_copy_rate_constructed_cases():
    g = torch.Generator().manual_seed(0)
    train, test = torch.rand(300, 4, generator=g), torch.rand(200, 4, generator=g)
    for q in (0.05, 0.2, 0.5):
        # Held-out data against its own threshold: the quantile, up to one row.
        assert abs(quality.copy_rate(test, train, test, quantile=q) - q) <= 1 / len(test)
    assert quality.copy_rate(train, train, test) == 1.0          # the training set: all copies
    assert quality.copy_rate(train[:10] + 1e-4, train, test) == 1.0   # near-copies too
    assert quality.copy_rate(torch.rand(50, 4, generator=g) + 5, train, test) == 0.0  # far away
    half = torch.cat([train[:50], train[:50] + 5])
    assert quality.copy_rate(half, train, test) == 0.5
    for bad in (0, 1, -0.1, 1.5):
        with pytest.raises(ValueError, match="quantile must be between 0 and 1"):
            quality.copy_rate(test, train, test, quantile=bad)


def test_copy_rate_on_digits(digits_and_judge):
    split, _ = digits_and_judge
    xtr, xte = split.x_train, split.x_test
    assert abs(quality.copy_rate(xte, xtr, xte) - quality.QUANTILE) <= 1 / len(xte)
    assert quality.copy_rate(xtr, xtr, xte) == 1.0
    assert quality.copy_rate(torch.rand(100, 64), xtr, xte) == 0.0


# --- the quality table ------------------------------------------------------------------------

def test_sample_quality_rows_and_columns(digits_table):
    _, table = digits_table
    assert list(table) == ["real data (train)", "noise", "Gaussian", "Gaussian mixture"]
    for name, row in table.items():
        assert set(row) == METRICS, name
        assert all(isinstance(v, float) and np.isfinite(v) for v in row.values()), name
        assert 0 <= row["precision"] <= 1 and 0 <= row["recall"] <= 1 and 0 <= row["copy rate"] <= 1


def test_sample_quality_orders_real_mixture_gaussian_noise(digits_table):
    _, table = digits_table
    real, noise = table["real data (train)"], table["noise"]
    gauss, mix = table["Gaussian"], table["Gaussian mixture"]
    assert real["frechet"] < mix["frechet"] < gauss["frechet"] < noise["frechet"]
    assert real["mmd"] < mix["mmd"] < gauss["mmd"] < noise["mmd"]
    assert real["precision"] > gauss["precision"] > noise["precision"]
    assert mix["precision"] > gauss["precision"]
    assert real["recall"] > noise["recall"] and gauss["recall"] > noise["recall"]
    # The floor row is the training set: every row is a "copy".
    assert real["copy rate"] == 1.0 and noise["copy rate"] == 0.0
    assert mix["copy rate"] < 0.1


def test_sample_quality_options_and_blocks(digits_and_judge, digits_table):
    split, judge = digits_and_judge
    samples, table = digits_table
    m = len(split.x_test)
    one = {"Gaussian": samples["Gaussian"]}
    no_floor = quality.sample_quality(split.x_train, split.x_test, one, judge, floor=False)
    assert list(no_floor) == ["Gaussian"]
    assert no_floor["Gaussian"] == pytest.approx(table["Gaussian"])
    # Precision and recall average equal-size blocks: two copies of a set score as one.
    twice = {"twice": torch.cat([samples["Gaussian"], samples["Gaussian"]])}
    row = quality.sample_quality(split.x_train, split.x_test, twice, judge, floor=False)["twice"]
    assert row["precision"] == pytest.approx(table["Gaussian"]["precision"])
    assert row["recall"] == pytest.approx(table["Gaussian"]["recall"])
    # A bigger k widens the k-NN balls: precision cannot drop.
    k5 = quality.sample_quality(split.x_train, split.x_test, one, judge, k=5, floor=False)
    assert k5["Gaussian"]["precision"] >= table["Gaussian"]["precision"]
    # Errors: too few rows, not a dict, wrong width.
    with pytest.raises(ValueError, match=f"at least {m} rows"):
        quality.sample_quality(split.x_train, split.x_test, {"few": split.x_train[:m - 1]}, judge)
    with pytest.raises(TypeError, match="dict"):
        quality.sample_quality(split.x_train, split.x_test, [split.x_train], judge)
    with pytest.raises(ValueError, match="features"):
        quality.sample_quality(split.x_train, split.x_test, {"wide": torch.rand(m, 65)}, judge)


def test_frechet_gap(digits_and_judge, digits_table):
    split, judge = digits_and_judge
    samples, table = digits_table
    mix, gauss = samples["Gaussian mixture"], samples["Gaussian"]
    gap, low, high = quality.frechet_gap(mix, gauss, split.x_test, judge, boots=40, seed=0)
    assert gap == pytest.approx(table["Gaussian mixture"]["frechet"] - table["Gaussian"]["frechet"])
    assert low < gap < high and high < 0  # the mixture is better, beyond the sampling noise
    a = quality.frechet_gap(mix, gauss, split.x_test, judge, boots=5, seed=3)
    assert a == quality.frechet_gap(mix, gauss, split.x_test, judge, boots=5, seed=3)
    assert a[0] == gap and a[1:] != (low, high)
    same, lo, hi = quality.frechet_gap(gauss, gauss, split.x_test, judge, boots=20, seed=1)
    assert same == 0.0 and lo < 0 < hi


def test_gaps_give_every_measure_an_interval(digits_and_judge, digits_table):
    split, judge = digits_and_judge
    samples, table = digits_table
    noise, mix = samples["noise"], samples["Gaussian mixture"]
    found = quality.gaps(noise, mix, split.x_test, judge, boots=20, seed=0)
    assert set(found) == {"frechet", "precision", "recall"}
    for name, (gap, low, high) in found.items():
        want = table["noise"][name] - table["Gaussian mixture"][name]
        if name == "frechet":  # precision/recall here compare one block, the table averages
            assert gap == pytest.approx(want)
        assert low <= high
    assert found["frechet"][1] > 0 and found["precision"][2] < 0  # noise loses on both
    only = quality.gaps(noise, mix, split.x_test, judge, boots=5, measures=("recall",))
    assert set(only) == {"recall"}
    with pytest.raises(ValueError, match=r"unknown measures \['fid'\]"):
        quality.gaps(noise, mix, split.x_test, judge, measures=("fid",))
    with pytest.raises(ValueError, match="at least len\\(real_test\\)"):
        quality.gaps(noise[:10], mix, split.x_test, judge)


@pytest.mark.parametrize("found, line", [
    ({"frechet": (-1, -2, -0.5), "precision": (0.1, 0.05, 0.2), "recall": (0.1, 0.02, 0.3)},
     "beats the Gaussian on the Fréchet distance, precision and recall"),
    ({"frechet": (-1, -2, -0.5), "precision": (0.0, -0.1, 0.1), "recall": (-0.2, -0.3, -0.1)},
     "beats the Gaussian on the Fréchet distance, cannot be told apart from it on precision, "
     "loses to it on recall"),
    # the rule: a recall lead with lower precision is not a win (noise covers everything)
    ({"frechet": (3, 2, 4), "precision": (-0.5, -0.6, -0.4), "recall": (0.2, 0.1, 0.3)},
     "loses to the Gaussian on the Fréchet distance and precision, has the higher recall, "
     "which does not count while its precision is lower"),
    # and the other way round: a collapsed generator's precision lead
    ({"frechet": (3, 2, 4), "precision": (0.2, 0.1, 0.3), "recall": (-0.5, -0.6, -0.4)},
     "loses to the Gaussian on the Fréchet distance and recall, has the higher precision, "
     "which does not count while its recall is lower"),
])
def test_verdict_line_follows_the_intervals_and_the_recall_rule(found, line):
    assert quality.verdict_line("Gaussian", found) == line


# --- balanced labels ----------------------------------------------------------------------------

@pytest.mark.parametrize("n, classes", [(100, 10), (23, 10), (7, 10), (50, 3)])
def test_balanced_labels(n, classes):
    y = quality.balanced_labels(n, n_classes=classes, seed=0)
    assert y.shape == (n,) and y.dtype == torch.int64
    counts = torch.bincount(y, minlength=classes)
    assert len(counts) == classes and counts.sum() == n
    assert counts.max() - counts.min() <= 1
    assert torch.equal(y, quality.balanced_labels(n, n_classes=classes, seed=0))
    if n >= 20:  # shuffled: not in the order 0, 1, 2, ...; another seed, another order
        assert not torch.equal(y, torch.arange(n) % classes)
        assert not torch.equal(y, quality.balanced_labels(n, n_classes=classes, seed=1))


def test_balanced_labels_errors():
    for bad in (0, -1, 2.5, True, "10"):
        with pytest.raises(ValueError, match="n must be a positive integer"):
            quality.balanced_labels(bad)
