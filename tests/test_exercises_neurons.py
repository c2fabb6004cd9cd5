"""The chapter 1 checkers accept the reference solutions and name typical mistakes."""

import numpy as np

from genai_lib.exercises.neurons import (B1, W1, X1, check_gate, check_neuron_output,
                                         check_perceptron_update, perceptron_update_reference)


def test_neuron_output():
    assert check_neuron_output(1 / (1 + np.exp(-(X1 @ W1 + B1))))
    assert not check_neuron_output(None)
    fb = check_neuron_output(float(X1 @ W1 + B1))
    assert not fb and "weighted sum" in fb.message
    fb = check_neuron_output(1 / (1 + np.exp(-(X1 @ W1))))
    assert not fb and "bias" in fb.message
    fb = check_neuron_output(0.9)
    assert not fb and "expected 0.2689" in fb.message


def test_gate():
    assert check_gate([-1.0, -1.0], 1.5, "nand")
    assert check_gate([1.0, 1.0], -1.5, "and")
    assert check_gate([1.0, 1.0], -0.5, "or")
    fb = check_gate([1.0, 1.0], -1.5, "nand")
    assert not fb and "opposite gate" in fb.message
    fb = check_gate([-1.0, -1.0], 0.5, "nand")
    assert not fb and "wrong on 2 of 4" in fb.message
    fb = check_gate([1.0, 1.0, 1.0], 0.0)
    assert not fb and "shape (2,)" in fb.message


def test_perceptron_update():
    assert check_perceptron_update(perceptron_update_reference)

    def flipped(w, b, x, y, lr):
        y_hat = float(x @ w + b >= 0)
        return w - lr * (y - y_hat) * x, b - lr * (y - y_hat)

    def always(w, b, x, y, lr):  # updates even when the sample is right
        return w + lr * (2 * y - 1) * x, b + lr * (2 * y - 1)

    def no_lr(w, b, x, y, lr):
        y_hat = float(x @ w + b >= 0)
        return w + (y - y_hat) * x, b + (y - y_hat)

    fb = check_perceptron_update(flipped)
    assert not fb and "wrong way" in fb.message
    fb = check_perceptron_update(always)
    assert not fb and "already classified right" in fb.message
    fb = check_perceptron_update(no_lr)
    assert not fb and "learning rate" in fb.message
    assert not check_perceptron_update(None)
    fb = check_perceptron_update(lambda w, b, x, y, lr: w)
    assert not fb and "pair" in fb.message
