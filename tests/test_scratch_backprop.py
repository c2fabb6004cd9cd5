"""Backprop from scratch: losses, forward cache, backward, gradient checks, SGD.

Every gradient is compared two ways (as micrograd's tests do): against central finite
differences and against torch.autograd on the same float64 weights.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from genai_lib.scratch.backprop import (accuracy, backward, forward_cache, log_softmax,
                                        loss_and_grads, mse_loss, numerical_gradient,
                                        numerical_param_gradients, relative_error,
                                        sgd_train, softmax_cross_entropy)
from genai_lib.scratch.layers import init_mlp, mlp_forward
from genai_lib.scratch.neuron import relu, relu_grad, sigmoid, sigmoid_grad, tanh, tanh_grad

ACTIVATIONS = {"relu": (relu, relu_grad, torch.relu), "tanh": (tanh, tanh_grad, torch.tanh),
               "sigmoid": (sigmoid, sigmoid_grad, torch.sigmoid)}


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    params = init_mlp([5, 7, 6, 4], seed=1)
    params = [(W, rng.normal(0, 0.1, b.shape)) for W, b in params]  # non-zero biases too
    return params, rng.normal(size=(9, 5)), rng.integers(0, 4, 9)


def torch_grads(params, x, y, act, loss="ce"):
    """The same network in torch (float64): loss and [(dW, db), ...] from autograd."""
    tp = [(torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True)) for W, b in params]
    h = torch.tensor(x)
    for i, (W, b) in enumerate(tp):
        h = h @ W + b
        if i < len(tp) - 1:
            h = act(h)
    if loss == "ce":
        value = F.cross_entropy(h, torch.tensor(y))
    else:
        value = F.mse_loss(h, torch.tensor(y))
    value.backward()
    return value.item(), [(W.grad.numpy(), b.grad.numpy()) for W, b in tp]


def max_rel(g1, g2):
    return max(relative_error(a, b) for l1, l2 in zip(g1, g2) for a, b in zip(l1, l2))


def test_mse_loss_matches_torch():
    rng = np.random.default_rng(0)
    pred, target = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    value, grad = mse_loss(pred, target)
    tp = torch.tensor(pred, requires_grad=True)
    F.mse_loss(tp, torch.tensor(target)).backward()
    assert value == pytest.approx(F.mse_loss(tp, torch.tensor(target)).item(), rel=1e-12)
    assert relative_error(grad, tp.grad.numpy()) < 1e-12
    with pytest.raises(ValueError, match="target must have the shape"):
        mse_loss(pred, target[:, :2])


def test_softmax_cross_entropy_matches_torch_and_is_stable():
    rng = np.random.default_rng(0)
    logits, labels = rng.normal(size=(7, 5)) * 3, rng.integers(0, 5, 7)
    value, grad = softmax_cross_entropy(logits, labels)
    tl = torch.tensor(logits, requires_grad=True)
    expected = F.cross_entropy(tl, torch.tensor(labels))
    expected.backward()
    assert value == pytest.approx(expected.item(), rel=1e-12)
    assert relative_error(grad, tl.grad.numpy()) < 1e-12
    assert np.allclose(log_softmax(logits), F.log_softmax(torch.tensor(logits), 1).numpy())
    # Huge logits: a naive exp() overflows; the log-sum-exp form stays exact.
    big, g = softmax_cross_entropy(np.array([[1000.0, 0.0], [0.0, 1000.0]]), np.array([1, 1]))
    assert np.isfinite(big) and big == pytest.approx(500.0) and np.all(np.isfinite(g))


def test_cross_entropy_rejects_bad_labels():
    with pytest.raises(ValueError, match="labels must lie in"):
        softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="labels must be integers"):
        softmax_cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="logits must have shape"):
        softmax_cross_entropy(np.zeros(3), np.array([0]))


def test_forward_cache_matches_mlp_forward(problem):
    params, x, _ = problem
    cache = forward_cache(params, x, tanh)
    assert len(cache["z"]) == 3 and len(cache["a"]) == 3
    assert [z.shape for z in cache["z"]] == [(9, 7), (9, 6), (9, 4)]
    assert np.allclose(cache["z"][-1], mlp_forward(params, x, tanh))
    assert np.allclose(cache["a"][1], tanh(cache["z"][0]))
    with pytest.raises(ValueError, match="at least one"):
        forward_cache([], x)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_backward_matches_autograd_and_finite_differences(problem, name):
    params, x, y = problem
    act, act_grad, torch_act = ACTIVATIONS[name]
    value, grads = loss_and_grads(params, x, y, softmax_cross_entropy, act, act_grad)
    t_value, t_grads = torch_grads(params, x, y, torch_act)
    assert value == pytest.approx(t_value, rel=1e-12)
    assert max_rel(grads, t_grads) < 1e-6
    numeric = numerical_param_gradients(
        lambda p: loss_and_grads(p, x, y, softmax_cross_entropy, act, act_grad)[0], params)
    assert max_rel(grads, numeric) < 1e-6
    assert [g[0].shape for g in grads] == [W.shape for W, _ in params]


def test_backward_with_mse_matches_autograd(problem):
    params, x, _ = problem
    target = np.random.default_rng(3).normal(size=(9, 4))
    value, grads = loss_and_grads(params, x, target, mse_loss, tanh, tanh_grad)
    t_value, t_grads = torch_grads(params, x, target, torch.tanh, loss="mse")
    assert value == pytest.approx(t_value, rel=1e-12)
    assert max_rel(grads, t_grads) < 1e-6


def test_backward_detects_a_wrong_activation_gradient(problem):
    params, x, y = problem
    wrong = lambda z: tanh(z)  # noqa: E731  (the function, not its derivative)
    _, grads = loss_and_grads(params, x, y, softmax_cross_entropy, tanh, wrong)
    _, t_grads = torch_grads(params, x, y, torch.tanh)
    assert max_rel(grads, t_grads) > 1e-2


def test_backward_rejects_mismatched_inputs(problem):
    params, x, _ = problem
    cache = forward_cache(params, x)
    with pytest.raises(ValueError, match="dlogits must have"):
        backward(params, cache, np.zeros((9, 3)))
    with pytest.raises(ValueError, match="cache is for"):
        backward(params[:2], cache, np.zeros((9, 4)))


def test_numerical_gradient_and_relative_error():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    g = numerical_gradient(lambda v: float(np.sum(v ** 3)), x)
    assert relative_error(g, 3 * x ** 2) < 1e-8
    assert x[0, 0] == 1.0  # the input is not modified
    assert relative_error(np.ones(3), np.ones(3)) == 0.0
    assert relative_error(np.zeros(2), np.zeros(2)) == 0.0
    assert relative_error(np.array([1.0]), np.array([-1.0])) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="same shape"):
        relative_error(np.ones(2), np.ones(3))


def test_accuracy():
    params = [(np.eye(2), np.zeros(2))]
    x = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0]])
    assert accuracy(params, x, np.array([0, 1, 1])) == pytest.approx(2 / 3)


def blobs(n=200, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    return centres[y] + 0.5 * rng.normal(size=(n, 2)), y


def test_sgd_train_learns_and_records_history():
    x, y = blobs()
    start = init_mlp([2, 16, 3], seed=0)
    params, hist = sgd_train(start, x, y, lr=0.2, epochs=15, batch_size=20,
                             x_test=x[:50], y_test=y[:50])
    assert len(hist["step_loss"]) == 15 * 10 and len(hist["train_loss"]) == 15
    assert set(hist) == {"step_loss", "train_loss", "train_acc", "test_loss", "test_acc"}
    assert hist["train_loss"][-1] < 0.5 * hist["train_loss"][0]
    assert hist["train_acc"][-1] > 0.95 and hist["test_acc"][-1] > 0.95
    assert np.array_equal(start[0][0], init_mlp([2, 16, 3], seed=0)[0][0])  # input untouched
    again, _ = sgd_train(start, x, y, lr=0.2, epochs=15, batch_size=20)
    assert np.array_equal(again[0][0], params[0][0])  # same seed, same result


def test_sgd_train_momentum_and_regression():
    x, y = blobs()
    _, plain = sgd_train(init_mlp([2, 8, 3]), x, y, lr=0.01, epochs=5)
    _, heavy = sgd_train(init_mlp([2, 8, 3]), x, y, lr=0.01, epochs=5, momentum=0.9)
    assert heavy["train_loss"][-1] < plain["train_loss"][-1]
    target = np.stack([x[:, 0] * x[:, 1], x[:, 0]], axis=1)
    _, reg = sgd_train(init_mlp([2, 16, 2]), x, target, lr=0.02, epochs=30, loss=mse_loss,
                       activation=tanh, activation_grad=tanh_grad)
    assert set(reg) == {"step_loss", "train_loss"}
    assert reg["train_loss"][-1] < 0.5 * reg["train_loss"][0]


def test_sgd_train_stops_on_divergence_and_checks_arguments():
    x, y = blobs()
    _, hist = sgd_train(init_mlp([2, 8, 1]), x, y[:, None] * 100.0, lr=10.0, epochs=50,
                        loss=mse_loss)
    assert not np.isfinite(hist["step_loss"][-1])
    assert len(hist["step_loss"]) < 50 * 7
    with pytest.raises(ValueError, match="lr > 0"):
        sgd_train(init_mlp([2, 3]), x, y, lr=-1.0)
    with pytest.raises(ValueError, match="x must have shape"):
        sgd_train(init_mlp([2, 3]), x[:, 0], y)
    with pytest.raises(ValueError, match="x_test and y_test"):
        sgd_train(init_mlp([2, 3]), x, y, x_test=x)
