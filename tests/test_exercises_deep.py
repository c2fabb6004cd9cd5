"""Tests of the chapter 4 checkers: reference solutions pass, typical mistakes get the right message."""

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from genai_lib import data
from genai_lib.exercises.deep import (check_accuracy, check_digit_module, check_gradient_flow,
                                      check_parameter_count, expected_parameter_count)
from genai_lib.models import MLP, count_parameters
from genai_lib.train import fit


class TinyCNN(nn.Module):
    """The reference solution of exercise 2: 1,898 parameters."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.out = nn.Linear(64, 10)

    def forward(self, x):
        x = F.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = F.max_pool2d(torch.relu(self.conv2(x)), 2)
        return self.out(x.flatten(1))


def test_parameter_count_right_and_typical_mistakes():
    assert expected_parameter_count() == count_parameters(MLP([64, 128, 64, 10])) == 17226
    assert check_parameter_count(17226)
    assert "17,226" in check_parameter_count(17226).message
    weights_only = 64 * 128 + 128 * 64 + 64 * 10
    assert "only the weights" in check_parameter_count(weights_only).message
    assert "per *input*" in check_parameter_count(17226 - 202 + 256).message
    assert "units" in check_parameter_count(128 + 64 + 10).message
    assert "left out layer 3" in check_parameter_count(17226 - 650).message
    assert "off by +1" in check_parameter_count(17227).message
    assert "None" in check_parameter_count(None).message
    assert "integer" in check_parameter_count("many").message
    assert not check_parameter_count(None)


def test_digit_module_reference_passes():
    verdict = check_digit_module(TinyCNN())
    assert verdict and "1,898" in verdict.message


def test_digit_module_mistakes():
    assert "class" in check_digit_module(TinyCNN).message
    assert "None" in check_digit_module(None).message
    assert "nn.Module" in check_digit_module(lambda x: x).message
    assert "no trainable" in check_digit_module(nn.ReLU()).message

    class NoFlatten(TinyCNN):
        def forward(self, x):
            x = F.max_pool2d(torch.relu(self.conv1(x)), 2)
            return F.max_pool2d(torch.relu(self.conv2(x)), 2)

    msg = check_digit_module(NoFlatten()).message
    assert "(7, 16, 2, 2)" in msg or "(1, 16, 2, 2)" in msg
    assert "flatten" in msg
    big = nn.Sequential(nn.Flatten(), nn.Linear(64, 100), nn.ReLU(), nn.Linear(100, 10))
    assert "budget" in check_digit_module(big).message
    crash = nn.Sequential(nn.Linear(64, 10))  # forgot to flatten the image
    assert "raised RuntimeError" in check_digit_module(crash).message

    class Unused(TinyCNN):
        def __init__(self):
            super().__init__()
            self.spare = nn.Linear(2, 2)

    assert "no gradient" in check_digit_module(Unused()).message and "spare" in \
        check_digit_module(Unused()).message


def test_gradient_flow():
    torch.manual_seed(0)
    plain = MLP([64] + [32] * 19 + [10], activation="sigmoid")
    verdict = check_gradient_flow(plain)
    assert not verdict and "first layer" in verdict.message
    good = MLP([64] + [32] * 19 + [10], activation="sigmoid", residual=True, norm="layer")
    assert check_gradient_flow(good)
    shallow = MLP([64, 32, 10], activation="sigmoid")
    assert "Linear layers" in check_gradient_flow(shallow).message
    relu = MLP([64] + [32] * 19 + [10], activation="relu")
    assert "sigmoid" in check_gradient_flow(relu).message
    wrong_out = MLP([64] + [32] * 19 + [3], activation="sigmoid")
    assert "(B, 10)" in check_gradient_flow(wrong_out).message
    assert "nn.Module" in check_gradient_flow("net").message


def test_accuracy_checker():
    torch.manual_seed(0)
    model = TinyCNN()
    untrained = check_accuracy(model)
    assert not untrained and "below 0.95" in untrained.message
    split = data.digits(images=True)
    fit(model, (split.x_train, split.y_train), loss_fn=F.cross_entropy, epochs=12, lr=1e-2,
        batch_size=32, quiet=True, device="cpu")
    assert check_accuracy(model, threshold=0.9)
    assert "class" in check_accuracy(TinyCNN).message
