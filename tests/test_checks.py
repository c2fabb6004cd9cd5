"""genai_lib.checks: every check passes good input through and names the problem in bad input."""

import numpy as np
import pytest
import torch
from torch import nn

from genai_lib import checks

META = "meta"  # a tensor with no data on another device: stands in for "data on the GPU"


def test_positive_int():
    assert checks.positive_int("n", 3) == 3
    assert checks.positive_int("n", np.int64(4)) == 4 and type(checks.positive_int("n", np.int64(4))) is int
    assert checks.positive_int("steps", 2, low=2) == 2
    for bad in (0, -1, 2.5, "3", True, None):
        with pytest.raises(ValueError, match=f"n must be a positive integer, got {bad!r}"):
            checks.positive_int("n", bad)
    with pytest.raises(ValueError, match=r"steps must be an integer >= 2, got 1"):
        checks.positive_int("steps", 1, low=2)


def test_positive_int_with_an_upper_bound_and_as_a_test():
    assert checks.positive_int("lags", 4, high=4) == 4
    for bad in (0, 5, 2.0):
        with pytest.raises(ValueError, match=f"lags must be an integer between 1 and 4, got {bad}"):
            checks.positive_int("lags", bad, high=4)
    assert checks.is_positive_int(3) and checks.is_positive_int(np.int16(3), high=3)
    assert checks.is_positive_int(0, low=0)
    assert not any(checks.is_positive_int(v) for v in (0, -2, 1.0, True, "2", None))
    assert not checks.is_positive_int(4, high=3)


def test_count():
    assert checks.count("n", 0) == 0 and checks.count("n", np.int32(5)) == 5
    for bad in (-1, 1.0, False):
        with pytest.raises(ValueError, match=f"n must be a non-negative integer, got {bad!r}"):
            checks.count("n", bad)


def test_device_of():
    assert checks.device_of(nn.Linear(2, 3)) == torch.device("cpu")
    assert checks.device_of(nn.ReLU()) == torch.device("cpu")          # no parameters
    assert checks.device_of(nn.Linear(2, 3, device=META)).type == META


@pytest.mark.parametrize("training", [True, False])
def test_eval_mode_restores_the_flag(training):
    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5)).train(training)
    with checks.eval_mode(net) as inside:
        assert inside is net and not net.training and not net[1].training
    assert net.training is training and net[1].training is training
    with pytest.raises(RuntimeError, match="boom"), checks.eval_mode(net):
        raise RuntimeError("boom")
    assert net.training is training                                  # restored after an error too


def test_train_mode_restores_the_flag():
    net = nn.Linear(2, 2).eval()
    with checks.train_mode(net):
        assert net.training
    assert not net.training


def test_tensor():
    net = nn.Linear(4, 2)
    checks.tensor("x", torch.zeros(3, 4), net, "(B, 4)")
    checks.tensor("x", torch.zeros(3, 4, dtype=torch.long), net, "(B, 4)", dtype=False)
    checks.tensor("x", torch.zeros(3, 4, dtype=torch.long), nn.ReLU(), "(B, 4)")  # no weights
    with pytest.raises(TypeError, match=r"x must be a torch tensor of shape \(B, 4\), got ndarray"):
        checks.tensor("x", np.zeros((3, 4)), net, "(B, 4)")
    with pytest.raises(ValueError, match="x is on device meta but the model's weights are on cpu"):
        checks.tensor("x", torch.empty(3, 4, device=META), net, "(B, 4)")
    with pytest.raises(TypeError, match=r"x must have dtype torch.float32 .*got torch.float64 "
                                        r"\(convert with x.to\(torch.float32\)\)"):
        checks.tensor("x", torch.zeros(3, 4, dtype=torch.float64), net, "(B, 4)")


def test_rows():
    net = nn.Linear(4, 2)
    checks.rows("x", torch.zeros(3, 4), 4, net)
    with pytest.raises(ValueError, match=r"x must have shape \(B, 4\), got \(3, 5\)$"):
        checks.rows("x", torch.zeros(3, 5), 4, net)
    with pytest.raises(ValueError, match=r"got \(3, 1, 2, 2\) \(flatten images first"):
        checks.rows("x", torch.zeros(3, 1, 2, 2), 4, net)
    with pytest.raises(TypeError, match="x must be a torch tensor"):
        checks.rows("x", [[0.0] * 4], 4, net)


def test_labels():
    y = torch.tensor([0, 2, 1])
    assert checks.labels("y", y, 3, 3) is y
    assert len(checks.labels("y", torch.zeros(0, dtype=torch.long), 0, 3)) == 0
    cases = [([0, 1, 2], TypeError, r"y must be a torch tensor of integer classes, shape \(3,\), got list"),
             (torch.tensor([0, 1]), ValueError, r"y must have shape \(3,\) to match the batch, got \(2,\)"),
             (torch.zeros(3, 1, dtype=torch.long), ValueError, r"y must have shape \(3,\)"),
             (torch.tensor([0.0, 1.0, 2.0]), TypeError,
              r"y must hold integer class labels \(torch.long\), got torch.float32"),
             (torch.tensor([True, False, True]), TypeError, r"got torch.bool"),
             (torch.tensor([0, 1, 3]), ValueError,
              r"y must be class labels in \[0, 2\] \(3 classes\), got values in \[0, 3\]"),
             (torch.tensor([-1, 1, 2]), ValueError, r"got values in \[-1, 2\]")]
    for bad, exc, pattern in cases:
        with pytest.raises(exc, match=pattern):
            checks.labels("y", bad, 3, 3)


def test_samples():
    t = checks.samples("x", np.arange(6, dtype=np.float32).reshape(3, 2))
    assert t.dtype == torch.float64 and t.shape == (3, 2) and t.device.type == "cpu"
    for bad, pattern in ((torch.zeros(4), r"real must have shape \(N, D\)"),
                         (torch.zeros(1, 3), r"real needs at least 2 samples, got 1"),
                         (torch.tensor([[0.0, float("inf")]] * 2), r"real contains NaN or inf")):
        with pytest.raises(ValueError, match=pattern):
            checks.samples("real", bad)


def test_vector():
    assert checks.vector("y", [1, 2]).tolist() == [1.0, 2.0]
    assert checks.vector("y", torch.ones(3, 1)).shape == (3,)       # a column is a vector
    assert checks.vector("y", np.ones((1, 3))).dtype == np.float64
    for bad, pattern in ((np.zeros((2, 2)), r"y must be a non-empty vector \(N,\), got shape \(2, 2\)"),
                         ([], r"y must be a non-empty vector"),
                         ([1.0, float("nan")], r"y contains NaN or inf values")):
        with pytest.raises(ValueError, match=pattern):
            checks.vector("y", bad)


def test_matrix():
    assert checks.matrix("x", torch.ones(2, 3)).shape == (2, 3)
    assert checks.matrix("x", [[1, 2]]).dtype == np.float64
    for bad, min_rows, pattern in (
            (np.zeros(3), 1, r"x must have shape \(N, D\) with N >= 1, got \(3,\)"),
            (np.zeros((1, 2)), 2, r"x must have shape \(N, D\) with N >= 2, got \(1, 2\)"),
            ([[1.0, np.inf]], 1, r"x has NaN or inf values")):
        with pytest.raises(ValueError, match=pattern):
            checks.matrix("x", bad, min_rows=min_rows)
