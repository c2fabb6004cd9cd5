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
    assert "whole number" in check_parameter_count(17226.7).message  # int() would truncate
    assert not check_parameter_count(17226.7)
    assert check_parameter_count(17226.0)
    assert "bool" in check_parameter_count(True).message
    both = 17226 + 64 + 128 + 64
    assert "inputs *and*" in check_parameter_count(both).message
    assert not check_parameter_count(None)


def test_digit_module_reference_passes():
    verdict = check_digit_module(TinyCNN())
    assert verdict and "1,898" in verdict.message and "`TinyCNN`" in verdict.message


def test_digit_module_does_not_modify_the_model():
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 10))
    model.train()
    before = model[1].running_mean.clone()
    assert check_digit_module(model)
    assert model.training and torch.equal(model[1].running_mean, before)
    assert all(p.grad is None for p in model.parameters())


def test_digit_module_without_convolution_is_not_a_cnn():
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(64, 20), nn.ReLU(), nn.Linear(20, 10))
    verdict = check_digit_module(mlp)
    assert not verdict and "not a CNN" in verdict.message and "nn.Conv2d" in verdict.message

    class Functional(nn.Module):  # a convolution through F.conv2d counts too
        def __init__(self):
            super().__init__()
            self.kernel = nn.Parameter(torch.randn(4, 1, 3, 3))
            self.out = nn.Linear(4 * 4 * 4, 10)

        def forward(self, x):
            x = torch.relu(F.conv2d(x, self.kernel, padding=1))
            return self.out(F.max_pool2d(x, 2).flatten(1))

    assert check_digit_module(Functional())

    class Unused(nn.Module):  # a Conv2d defined but never called
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 1, 3)
            self.out = nn.Linear(64, 10)

        def forward(self, x):
            return self.out(x.flatten(1))

    assert "not a CNN" in check_digit_module(Unused()).message


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
    big = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(512, 10))
    assert "budget" in check_digit_module(big).message
    crash = nn.Sequential(nn.Linear(64, 10))  # forgot to flatten the image
    assert "raised RuntimeError" in check_digit_module(crash).message

    class Unused(TinyCNN):
        def __init__(self):
            super().__init__()
            self.spare = nn.Linear(2, 2)

    assert "no gradient" in check_digit_module(Unused()).message and "spare" in \
        check_digit_module(Unused()).message

    class Probabilities(TinyCNN):  # softmax in forward: cross-entropy would apply it twice
        def forward(self, x):
            return super().forward(x).softmax(dim=1)

    assert "probabilities" in check_digit_module(Probabilities()).message

    class Constant(TinyCNN):  # ignores its input
        def forward(self, x):
            return super().forward(torch.zeros_like(x))

    assert "same scores to every image" in check_digit_module(Constant()).message

    class MixesBatch(TinyCNN):  # a transpose before flattening mixes the examples
        def forward(self, x):
            x = F.max_pool2d(torch.relu(self.conv1(x)), 2)
            x = F.max_pool2d(torch.relu(self.conv2(x)), 2)
            return self.out(x.transpose(0, 1).reshape(len(x), -1))

    assert "mixes the examples" in check_digit_module(MixesBatch()).message


def test_gradient_flow():
    torch.manual_seed(0)
    plain = MLP([64] + [32] * 19 + [10], activation="sigmoid")
    verdict = check_gradient_flow(plain)
    assert not verdict and "first layer" in verdict.message
    assert "residual" in verdict.message
    good = MLP([64] + [32] * 19 + [10], activation="sigmoid", residual=True, norm="layer")
    assert check_gradient_flow(good)
    shallow = MLP([64, 32, 10], activation="sigmoid")
    assert "Linear layers" in check_gradient_flow(shallow).message
    relu = MLP([64] + [32] * 19 + [10], activation="relu")
    assert "sigmoid" in check_gradient_flow(relu).message
    wrong_out = MLP([64] + [32] * 19 + [3], activation="sigmoid")
    assert "(B, 10)" in check_gradient_flow(wrong_out).message
    assert "nn.Module" in check_gradient_flow("net").message


@pytest.mark.parametrize("seed", range(5))
def test_gradient_flow_fixes_pass_for_every_seed(seed):
    sizes = [64] + [32] * 19 + [10]
    for kwargs in (dict(residual=True), dict(residual=True, norm="layer"),
                   dict(norm="batch")):
        torch.manual_seed(seed)
        verdict = check_gradient_flow(MLP(sizes, activation="sigmoid", **kwargs))
        assert verdict, (seed, kwargs, verdict.message)
    torch.manual_seed(seed)
    assert not check_gradient_flow(MLP(sizes, activation="sigmoid"))


def test_gradient_flow_mistakes():
    sizes = [64] + [32] * 19 + [10]
    torch.manual_seed(0)
    layer_norm_only = MLP(sizes, activation="sigmoid", norm="layer")
    verdict = check_gradient_flow(layer_norm_only)
    assert not verdict and "Layer normalisation alone" in verdict.message

    class FunctionalSigmoid(nn.Module):  # torch.sigmoid in forward counts as a sigmoid
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))
            self.norms = nn.ModuleList(nn.BatchNorm1d(b) for b in sizes[1:-1])

        def forward(self, x):
            for layer, norm in zip(self.layers, self.norms):
                x = torch.sigmoid(norm(layer(x)))
            return self.layers[-1](x)

    assert check_gradient_flow(FunctionalSigmoid())

    class UnusedSigmoids(MLP):  # sigmoids defined but not applied: ReLU in forward
        def __init__(self):
            super().__init__(sizes, activation="relu", norm="batch")
            self.sigmoids = nn.ModuleList(nn.Sigmoid() for _ in range(19))

    assert "sigmoid" in check_gradient_flow(UnusedSigmoids()).message

    class Skipped(nn.Module):  # 20 Linear layers defined, 2 used
        def __init__(self):
            super().__init__()
            self.stack = MLP(sizes, activation="sigmoid")

        def forward(self, x):
            hidden = self.stack.hidden
            return self.stack.out(hidden[-1](torch.sigmoid(hidden[0].linear(x))))

    assert "are used in forward" in check_gradient_flow(Skipped()).message

    class Bypass(nn.Module):  # a shortcut from the input to the output, stack muted
        def __init__(self):
            super().__init__()
            self.stack = MLP(sizes, activation="sigmoid")
            self.skip = nn.Linear(64, 10)

        def forward(self, x):
            return self.skip(x) + 0 * self.stack(x)

    assert "get almost none" in check_gradient_flow(Bypass()).message

    torch.manual_seed(0)
    batch_norm = MLP(sizes, activation="sigmoid", norm="batch")
    batch_norm.train()
    before = batch_norm.hidden[0].norm.running_mean.clone()
    assert check_gradient_flow(batch_norm)
    assert torch.equal(batch_norm.hidden[0].norm.running_mean, before)  # untouched


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
    mlp = MLP([64, 20, 10])  # accurate enough, but not a CNN
    fit(mlp, (split.x_train, split.y_train), loss_fn=F.cross_entropy, epochs=12, lr=1e-2,
        batch_size=32, quiet=True, device="cpu")
    assert "not a CNN" in check_accuracy(mlp, threshold=0.5).message
