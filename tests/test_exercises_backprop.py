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
    assert "swapped" in check_hand_gradient((db, dw)).message
    # the slips in dL/db once dL/dw is right
    assert "da/dz" in check_hand_gradient((dw, 2 * (a - y))).message
    assert "factor 2" in check_hand_gradient((dw, db / 2)).message
    assert "instead of its derivative" in check_hand_gradient((dw, 2 * (a - y) * a)).message
    assert "wrong sign" in check_hand_gradient((dw, -db)).message
    assert "shares every factor" in check_hand_gradient((dw, 0.3)).message
    assert "sigmoid(z) instead" in check_hand_gradient((2 * (a - y) * a * x, db)).message
    assert "NaN" in check_hand_gradient((float("nan"), db)).message


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
    swapped = lambda z: np.where(z > 0, LEAKY_ALPHA, 1.0)  # noqa: E731
    assert "swapped" in check_leaky_relu_grad(swapped).message
    assert "returned None" in check_leaky_relu_grad(lambda z: None).message

    def only_one_row(z):  # right on the (1, 6) test row, fails on a batch
        if z.shape[0] != 1:
            raise ValueError("expected one row")
        return leaky_relu_grad_reference(z)
    verdict = check_leaky_relu_grad(only_one_row)
    assert not verdict and "backprop with" in verdict.message


def test_check_momentum_step():
    assert check_momentum_step(momentum_step_reference)
    assert not check_momentum_step(None)
    assert not check_momentum_step(3)

    def other_convention(w, g, v, lr, beta):
        v = beta * v - lr * g
        return w + v, v

    def lr_inside(w, g, v, lr, beta):
        v = beta * v + lr * g
        return w - v, v

    def averaged(w, g, v, lr, beta):
        v = beta * v + (1 - beta) * g
        return w - lr * v, v

    def uphill(w, g, v, lr, beta):
        v = beta * v + g
        return w + lr * v, v

    def w_before_v(w, g, v, lr, beta):  # the step uses the old velocity
        w = w - lr * v
        v = beta * v + g
        return w, v

    def no_memory(w, g, v, lr, beta):
        return w - lr * g, g

    def no_beta(w, g, v, lr, beta):
        v = v + g
        return w - lr * v, v

    def beta_on_grad(w, g, v, lr, beta):
        v = beta * g + v
        return w - lr * v, v

    def no_lr(w, g, v, lr, beta):
        v = beta * v + g
        return w - v, v

    def frozen_velocity(w, g, v, lr, beta):
        return w - lr * (beta * v + g), v

    def swapped(w, g, v, lr, beta):
        w_new, v_new = momentum_step_reference(w, g, v, lr, beta)
        return v_new, w_new

    def fixed_numbers(w, g, v, lr, beta):  # ignores lr and beta
        v = 0.9 * v + g
        return w - 0.05 * v, v

    def forgot_return(w, g, v, lr, beta):
        v = beta * v + g

    def plain_gd(w, g, v, lr, beta):
        v = beta * v + g
        return w - lr * g, v

    assert "convention" in check_momentum_step(other_convention).message
    assert "lr inside" in check_momentum_step(lr_inside).message
    assert "averaged" in check_momentum_step(averaged).message
    assert "uphill" in check_momentum_step(uphill).message
    assert "old velocity" in check_momentum_step(w_before_v).message
    assert "missing" in check_momentum_step(no_memory).message
    assert "factor beta" in check_momentum_step(no_beta).message
    assert "wrong term" in check_momentum_step(beta_on_grad).message
    assert "learning rate is missing" in check_momentum_step(no_lr).message
    assert "old velocity: the velocity must be updated" in check_momentum_step(
        frozen_velocity).message
    assert "swapped" in check_momentum_step(swapped).message
    assert "fixed numbers" in check_momentum_step(fixed_numbers).message
    assert "returned None" in check_momentum_step(forgot_return).message
    assert "plain gradient" in check_momentum_step(plain_gd).message
    assert "pair" in check_momentum_step(lambda w, g, v, lr, beta: w).message
    assert "raised" in check_momentum_step(lambda w, g, v, lr, beta: w.nope).message


def test_check_max_learning_rate():
    lam = np.linalg.eigvalsh(BOWL_A)
    assert np.allclose(lam, [1.0, 10.0])
    assert check_max_learning_rate(0.2)
    assert check_max_learning_rate(0.199)  # an estimate from experiments, just below
    assert check_max_learning_rate(np.float64(2) / 10)
    assert "1 / lambda_max" in check_max_learning_rate(0.1).message
    assert "fastest" in check_max_learning_rate(2 / 11).message
    assert "shallow" in check_max_learning_rate(2.0).message
    assert "diverges" in check_max_learning_rate(0.5).message
    # just above the limit diverges, slowly: never accepted
    for lr in (0.201, 0.205, 0.21):
        verdict = check_max_learning_rate(lr)
        assert not verdict and "diverges" in verdict.message
    assert "converges" in check_max_learning_rate(0.05).message
    assert "converges" in check_max_learning_rate(0.19).message
    assert "positive" in check_max_learning_rate(-0.2).message
    assert "positive" in check_max_learning_rate(0.0).message
    assert "finite" in check_max_learning_rate(float("nan")).message
    assert not check_max_learning_rate(None)
    assert not check_max_learning_rate("fast")


@pytest.mark.parametrize("lr, converges", [(0.19, True), (0.199, True), (0.201, False),
                                           (0.21, False)])
def test_max_learning_rate_is_real(lr, converges):
    w = np.array([1.0, 0.3])
    for _ in range(5000):
        w = w - lr * BOWL_A @ w
        if np.linalg.norm(w) > 1e6:
            break
    assert (np.linalg.norm(w) < 1e-3) == converges
