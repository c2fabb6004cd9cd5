"""Chapter 3 checkers: the reference answers pass; typical mistakes fail with the right message."""

import numpy as np
import pytest

from genai_lib.exercises.backprop import (BOWL_A, HAND, LEAKY_ALPHA, check_hand_gradient,
                                          check_leaky_relu_grad, check_max_learning_rate,
                                          check_momentum_step, hand_gradient, leaky_relu,
                                          leaky_relu_grad_reference, momentum_step_reference)
from genai_lib.scratch.backprop import numerical_gradient
from genai_lib.scratch.neuron import sigmoid


def test_hand_gradient_is_the_finite_difference():
    def loss(v):
        return float((sigmoid(v[0] * HAND["x"] + v[1]) - HAND["y"]) ** 2)
    numeric = numerical_gradient(loss, np.array([HAND["w"], HAND["b"]]))
    assert np.allclose(hand_gradient(), numeric, rtol=1e-7)


def test_check_hand_gradient():
    dw, db = hand_gradient()
    assert check_hand_gradient((dw, db))
    assert not check_hand_gradient(None)
    assert "pair of numbers" in check_hand_gradient(3.0).message
    assert "wrong" in check_hand_gradient((-dw, db)).message
    assert "factor 2" in check_hand_gradient((dw / 2, db / 2)).message
    assert "dz/dw = x" in check_hand_gradient((db, db)).message
    assert "dz/db = 1" in check_hand_gradient((dw, dw)).message
    x, w, b, y = HAND["x"], HAND["w"], HAND["b"], HAND["y"]
    a = float(sigmoid(w * x + b))
    assert "derivative" in check_hand_gradient((2 * (a - y) * x, 2 * (a - y))).message
    assert "forward values" in check_hand_gradient((1.0, 1.0)).message


def test_leaky_relu_and_reference_grad():
    z = np.array([-2.0, 3.0])
    assert np.allclose(leaky_relu(z), [-2.0 * LEAKY_ALPHA, 3.0])
    assert np.allclose(leaky_relu_grad_reference(z), [LEAKY_ALPHA, 1.0])


def test_check_leaky_relu_grad():
    verdict = check_leaky_relu_grad(leaky_relu_grad_reference)
    assert verdict and "gradient check" in verdict.message
    assert not check_leaky_relu_grad(None)
    relu_grad = lambda z: (z > 0).astype(float)  # noqa: E731
    assert "ReLU's" in check_leaky_relu_grad(relu_grad).message
    no_alpha = lambda z: np.ones_like(z)  # noqa: E731
    assert "alpha" in check_leaky_relu_grad(no_alpha).message
    assert "wrong sign" in check_leaky_relu_grad(lambda z: -leaky_relu_grad_reference(z)).message
    assert "itself" in check_leaky_relu_grad(leaky_relu).message
    assert "raised" in check_leaky_relu_grad(lambda z: z.nope).message
    assert "shape" in check_leaky_relu_grad(lambda z: 1.0).message
    tenth = lambda z: np.where(z > 0, 1.0, 0.01)  # noqa: E731
    assert not check_leaky_relu_grad(tenth)


def test_check_momentum_step():
    assert check_momentum_step(momentum_step_reference)
    assert not check_momentum_step(None)

    def other_convention(w, g, v, lr, beta):
        v = beta * v - lr * g
        return w + v, v

    def uphill(w, g, v, lr, beta):
        v = beta * v + g
        return w + lr * v, v

    def old_velocity(w, g, v, lr, beta):
        return w - lr * v, beta * v + g

    def no_memory(w, g, v, lr, beta):
        return w - lr * g, g

    assert "convention" in check_momentum_step(other_convention).message
    assert "uphill" in check_momentum_step(uphill).message
    assert "old velocity" in check_momentum_step(old_velocity).message
    assert "missing" in check_momentum_step(no_memory).message
    assert "pair" in check_momentum_step(lambda w, g, v, lr, beta: w).message


def test_check_max_learning_rate():
    lam = np.linalg.eigvalsh(BOWL_A)
    assert np.allclose(lam, [1.0, 10.0])
    assert check_max_learning_rate(0.2)
    assert "1 / lambda_max" in check_max_learning_rate(0.1).message
    assert "shallow" in check_max_learning_rate(2.0).message
    assert "diverges" in check_max_learning_rate(0.5).message
    assert "converges" in check_max_learning_rate(0.05).message
    assert not check_max_learning_rate(None)
    assert not check_max_learning_rate("fast")


@pytest.mark.parametrize("lr, converges", [(0.19, True), (0.21, False)])
def test_max_learning_rate_is_real(lr, converges):
    w = np.array([1.0, 0.3])
    for _ in range(300):
        w = w - lr * BOWL_A @ w
    assert (np.linalg.norm(w) < 1e-3) == converges
