"""Unit tests of genai_lib.scratch.neuron: activations against torch and finite differences,
the neuron's shapes and errors, the perceptron rule on separable data and on XOR."""

import numpy as np
import pytest
import torch

from genai_lib.scratch.neuron import (neuron, perceptron_train, relu, relu_grad, sigmoid,
                                      sigmoid_grad, step, tanh, tanh_grad)

Z = np.linspace(-6, 6, 61) + 0.05  # avoid the kinks of step/relu at exactly 0


@pytest.mark.parametrize("fn, ref", [(sigmoid, torch.sigmoid), (tanh, torch.tanh),
                                     (relu, torch.relu)])
def test_activations_match_torch(fn, ref):
    z = np.random.default_rng(0).normal(size=(5, 4)) * 3
    out = fn(z)
    assert out.shape == z.shape
    np.testing.assert_allclose(out, ref(torch.tensor(z)).numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("fn, grad", [(sigmoid, sigmoid_grad), (tanh, tanh_grad),
                                      (relu, relu_grad)])
def test_grads_match_finite_differences(fn, grad):
    h = 1e-6
    numeric = (fn(Z + h) - fn(Z - h)) / (2 * h)
    np.testing.assert_allclose(grad(Z), numeric, rtol=1e-6, atol=1e-8)


def test_grads_match_autograd():
    z = torch.tensor(Z, requires_grad=True)
    for fn, grad, ref in [(sigmoid, sigmoid_grad, torch.sigmoid), (tanh, tanh_grad, torch.tanh)]:
        (g,) = torch.autograd.grad(ref(z).sum(), z)
        np.testing.assert_allclose(grad(Z), g.numpy(), rtol=1e-10)


def test_sigmoid_is_stable_and_step_thresholds():
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no overflow warnings for huge inputs
        s = sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    np.testing.assert_allclose(s, [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(step(np.array([-0.1, 0.0, 2.0])), [0.0, 1.0, 1.0])
    assert sigmoid(np.float64(0.0)).shape == ()


def test_neuron_computes_weighted_sum_plus_bias():
    x = np.array([[1.0, 2.0], [0.0, -1.0], [3.0, 0.5]])
    w, b = np.array([0.5, -1.0]), 0.5
    out = neuron(x, w, b)
    assert out.shape == (3,)
    np.testing.assert_allclose(out, 1 / (1 + np.exp(-(x @ w + b))))
    np.testing.assert_allclose(neuron(x, w, b, activation=lambda z: z), [-1.0, 1.5, 1.5])


def test_neuron_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"w must have shape \(2,\)"):
        neuron(np.ones((4, 2)), np.ones(3), 0.0)
    with pytest.raises(ValueError, match="x must have shape"):
        neuron(np.ones(4), np.ones(4), 0.0)


def test_perceptron_converges_on_separable_data():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 2))
    y = (x @ np.array([2.0, -1.0]) + 0.3 > 0).astype(int)
    x = x[np.abs(x @ np.array([2.0, -1.0]) + 0.3) > 0.2]  # leave a margin
    y = (x @ np.array([2.0, -1.0]) + 0.3 > 0).astype(int)
    w, b, hist = perceptron_train(x, y, lr=1.0, epochs=50, seed=0)
    assert hist["errors"][-1] == 0
    assert np.all(step(x @ w + b) == y)
    assert hist["weights"].shape == (51, 2) and hist["bias"].shape == (51,)
    np.testing.assert_allclose(hist["weights"][0], 0.0)
    np.testing.assert_allclose(hist["weights"][-1], w)
    assert hist["updates"].shape == (hist["errors"].sum(), 3)
    np.testing.assert_allclose(hist["updates"][-1], np.append(w, b))
    assert hist["update_sample"].shape == (hist["errors"].sum(),)


def test_perceptron_fails_on_xor():
    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0])
    w, b, hist = perceptron_train(x, y, lr=1.0, epochs=100, seed=0)
    assert hist["errors"].min() > 0  # it never gets through an epoch without a mistake
    correct = [(step(x @ wi + bi) == y).sum() for wi, bi in zip(hist["weights"], hist["bias"])]
    assert max(correct) <= 3


def test_perceptron_is_reproducible_and_validates():
    x = np.random.default_rng(0).normal(size=(30, 2))
    y = (x[:, 0] > 0).astype(int)
    a, b = perceptron_train(x, y, 1.0, 5, seed=3), perceptron_train(x, y, 1.0, 5, seed=3)
    np.testing.assert_array_equal(a[0], b[0])
    with pytest.raises(ValueError, match="labels 0 and 1"):
        perceptron_train(x, 2 * y - 1, 1.0, 5, 0)
    with pytest.raises(ValueError, match=r"y must have shape \(30,\)"):
        perceptron_train(x, y[:10], 1.0, 5, 0)
