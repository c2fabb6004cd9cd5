"""Checkers for chapter 2 (layers): counting an MLP's parameters, a stable softmax,
hand-set weights for a ReLU network that computes |x|."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from genai_lib.exercises import Feedback, check_function, compare, right, wrong
from genai_lib.scratch.layers import mlp_forward, softmax
from genai_lib.scratch.neuron import relu

SIZES = [2, 16, 8, 3]  # Exercise 1: the MLP whose parameters are counted


def check_param_count(n: int | None) -> Feedback:
    """Exercise 1: the number of weights and biases of an MLP with layer widths SIZES."""
    if n is None:
        return wrong("`n_params` is None: add up the weights and biases of every layer.")
    weights = sum(a * b for a, b in zip(SIZES[:-1], SIZES[1:]))
    biases = sum(SIZES[1:])
    if n == weights + biases:
        return right(f"{weights} weights + {biases} biases = {weights + biases} parameters.")
    if n == weights:
        return wrong(f"{n} counts the weights only: every neuron also has a bias.")
    if n == weights + sum(SIZES):
        return wrong("the input layer has no biases: it only holds the data.")
    if n == sum(SIZES):
        return wrong(f"{n} counts the neurons; count the connections (n_in x n_out per layer) "
                     f"and the biases.")
    return compare("n_params", n, weights + biases)


_SOFTMAX_INPUTS = [np.array([[1.0, 2.0, 3.0]]),
                   np.array([[0.5, -1.0], [2.0, 2.0], [-3.0, 0.0]]),
                   np.array([[1000.0, 1001.0, 999.0], [-1000.0, -1002.0, -1001.0]])]


def check_softmax(fn: Callable) -> Feedback:
    """Exercise 2: fn(z) -> row-wise softmax, z: (N, K) -> (N, K), stable for large |z|."""
    if not callable(fn):
        return wrong(f"`my_softmax` should be a function, got {type(fn).__name__}")
    z = _SOFTMAX_INPUTS[1]
    try:
        with np.errstate(all="ignore"):
            out = np.asarray(fn(z), dtype=float)
    except Exception as err:  # the learner's code failed: say how
        return wrong(f"`my_softmax` raised {type(err).__name__}: {err}")
    if out.shape == z.shape and np.allclose(out.sum(axis=0), 1.0) \
            and not np.allclose(out.sum(axis=1), 1.0):
        return wrong("your columns sum to 1, not your rows: normalise over axis=1 "
                     "(each row is one sample's K scores).")
    with np.errstate(all="ignore"):  # overflow is diagnosed below, not printed as a warning
        verdict = check_function("my_softmax", fn, softmax, _SOFTMAX_INPUTS[:2])
        if not verdict.ok:
            return verdict
        big = np.asarray(fn(_SOFTMAX_INPUTS[2]), dtype=float)
    if not np.all(np.isfinite(big)):
        return wrong("correct for small scores but NaN for z = [[1000, 1001, 999], ...]: "
                     "exp(1000) overflows. Subtract each row's maximum before exp().")
    verdict = check_function("my_softmax", fn, softmax, _SOFTMAX_INPUTS[2:])
    if not verdict.ok:
        return verdict
    return right("`my_softmax` matches the softmax on every test input, large logits included.")


def check_abs_network(params) -> Feedback:
    """Exercise 3: params [(W1 (1, 2), b1 (2,)), (W2 (2, 1), b2 (1,))] with relu(...) = |x|."""
    if params is None:
        return wrong("`params` is None: give [(W1, b1), (W2, b2)].")
    try:
        (W1, b1), (W2, b2) = [(np.asarray(W, dtype=float), np.asarray(b, dtype=float))
                              for W, b in params]
    except (TypeError, ValueError):
        return wrong("`params` should be a list of two (W, b) pairs: [(W1, b1), (W2, b2)].")
    expected = {"W1": (1, 2), "b1": (2,), "W2": (2, 1), "b2": (1,)}
    for name, arr in zip(expected, (W1, b1, W2, b2)):
        if arr.shape != expected[name]:
            return wrong(f"`{name}` should have shape {expected[name]}, got {arr.shape}")
    x = np.linspace(-3, 3, 13)[:, None]
    got = mlp_forward([(W1, b1), (W2, b2)], x, activation=relu)[:, 0]
    if np.allclose(got, np.abs(x[:, 0])):
        return right("relu(x) + relu(-x) = |x|: two hidden units, one for each side of the kink.")
    if np.allclose(got, relu(x[:, 0])):
        return wrong("your network computes relu(x): it is right for x > 0 but 0 for x < 0. "
                     "The second hidden unit should see -x.")
    if np.allclose(got, -np.abs(x[:, 0])):
        return wrong("your network computes -|x|: flip the signs of the output weights W2.")
    i = int(np.argmax(np.abs(got - np.abs(x[:, 0]))))
    return wrong(f"at x = {x[i, 0]:g} the network gives {got[i]:.4g}, but |x| = {abs(x[i, 0]):g}.")
