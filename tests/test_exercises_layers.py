"""The chapter 2 checkers accept the reference solutions and name typical mistakes."""

import numpy as np
import pytest

from genai_lib.exercises.layers import (check_abs_network, check_param_count, check_softmax,
                                        library_softmax_call)
from genai_lib.scratch.layers import softmax


def test_param_count():
    assert check_param_count(2 * 16 + 16 * 8 + 8 * 3 + 16 + 8 + 3)
    assert check_param_count(211.0) and check_param_count(np.int64(211))
    assert not check_param_count(None)


@pytest.mark.parametrize("n, says", [
    (2 * 16 + 16 * 8 + 8 * 3, "weights only"),                   # forgot the biases
    (184 + 2 + 16 + 8, "n_in biases"),                            # biases per input
    (211 + 2, "input layer"),                                     # biases for the inputs
    (184 + 3, "one bias per layer"),
    (2 + 16 + 8 + 3, "neurons"),                                  # units, not parameters
    (2 + 16 + 16 + 8 + 8 + 3 + 27, "n_in + n_out"),               # added, not multiplied
    (16 * 8 + 8 + 8 * 3 + 3, "leaves out the layer 2→16"),        # first layer missing
    (2 * 16 + 16 + 8 * 3 + 3, "leaves out the layer 16→8"),       # a hidden layer missing
    (422, "twice"),
    (212, "too many"),
    (209.5, "whole number"),
    ("211 parameters", "whole number"),
])
def test_param_count_names_the_mistake(n, says):
    fb = check_param_count(n)
    assert not fb and says in fb.message, fb.message
    assert "211" not in fb.message.replace("211 parameters", "")  # never gives the answer


def reference_softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_softmax_accepts_a_stable_softmax():
    assert check_softmax(reference_softmax)

    def in_two_steps(z):
        shifted = z - np.max(z, axis=1, keepdims=True)
        return np.exp(shifted) / np.sum(np.exp(shifted), axis=1)[:, None]

    assert check_softmax(in_two_steps)


def naive(z):
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def columns(z):
    e = np.exp(z - z.max())
    return e / e.sum(axis=0, keepdims=True)


def global_max(z):
    e = np.exp(z - z.max())
    return e / e.sum(axis=1, keepdims=True)


def min_shift(z):
    e = np.exp(z - z.min(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def mean_shift(z):
    e = np.exp(z - z.mean(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def no_keepdims(z):
    e = np.exp(z - z.max(axis=1))
    return e / e.sum(axis=1)


def whole_matrix(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum()


def column_max(z):
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def in_place(z):
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def log_softmax(z):
    s = z - z.max(axis=1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=1, keepdims=True))


def no_return(z):
    reference_softmax(z)


def calls_library(z):
    return softmax(z)


def calls_scipy(z):
    import scipy.special

    return scipy.special.softmax(z, axis=1)


def calls_torch(z):
    import torch

    return torch.softmax(torch.as_tensor(z), dim=1).numpy()


def calls_tensor_method(z):
    import torch

    return torch.as_tensor(z).softmax(dim=1).numpy()


def helper(z):
    return softmax(z)


def calls_a_helper(z):
    return helper(z)


@pytest.mark.parametrize("fn, says", [
    (naive, "overflows"),
    (columns, "rows"),
    (global_max, "whole matrix"),
    (min_shift, "maximum"),
    (mean_shift, "maximum"),
    (no_keepdims, "keepdims"),
    (whole_matrix, "sum of the whole matrix"),
    (column_max, "column's maximum"),
    (in_place, "in place"),
    (log_softmax, "logarithm"),
    (np.exp, "without normalising"),
    (lambda z: z / z.sum(axis=1, keepdims=True), "exponentiate first"),
    (lambda z: reference_softmax(z)[:, :1], "shape"),
    (lambda z: reference_softmax(z) * 0.9, "sum to [0.9"),
    (lambda z: reference_softmax(z)[:, ::-1], "not right"),
    (no_return, "None"),
    (calls_library, "library softmax (`softmax`)"),
    (calls_scipy, "library softmax (`softmax`)"),
    (calls_torch, "library softmax (`softmax`)"),
    (calls_tensor_method, "library softmax"),
    (calls_a_helper, "library softmax"),
    (lambda z: softmax(z), "library softmax"),
    (softmax, "library softmax"),
    (None, "None"),
    (3, "should be a function"),
])
def test_softmax_names_the_mistake(fn, says):
    fb = check_softmax(fn)
    assert not fb and says in fb.message, fb.message


def test_softmax_checks_on_fresh_inputs():
    """A learner's function that changes its input cannot change the checker's test inputs,
    so a later naive softmax is still caught."""
    check_softmax(in_place)
    assert not check_softmax(naive)


def test_library_softmax_call_ignores_the_learners_own_helpers():
    def my_helper(z):
        return np.exp(z - z.max(axis=1, keepdims=True))

    def uses_helper(z):
        e = my_helper(z)
        return e / e.sum(axis=1, keepdims=True)

    assert library_softmax_call(uses_helper) is None
    assert check_softmax(uses_helper)


def test_abs_network():
    good = [(np.array([[1.0, -1.0]]), np.zeros(2)), (np.array([[1.0], [1.0]]), np.zeros(1))]
    assert check_abs_network(good)
    assert not check_abs_network(None)


def net(w1, b1, w2, b2):
    return [(np.array([w1], dtype=float), np.array(b1, dtype=float)),
            (np.array(w2, dtype=float)[:, None], np.array([b2], dtype=float))]


@pytest.mark.parametrize("params, says", [
    (net([1, 1], [0, 0], [0.5, 0.5], 0), "relu(x)"),
    (net([-1, -1], [0, 0], [0.5, 0.5], 0), "relu(-x)"),
    (net([1, -1], [0, 0], [-1, -1], 0), "-|x|"),
    (net([1, -1], [0, 0], [1, -1], 0), "computes x"),
    (net([1, -1], [0, 0], [-1, 1], 0), "computes -x"),
    (net([1, -1], [0, 0], [1, 1], 1), "|x| + 1"),
    (net([1, -1], [0, 0], [2, 2], 0), "2|x|"),
    (net([1, -1], [0.5, 0.5], [1, 1], 0), "at x ="),
    ([(np.ones((2, 1)), np.zeros(2)), (np.ones((2, 1)), np.zeros(1))], "transposed"),
    ([(np.ones((2, 1)), np.zeros(1)), (np.ones((1, 1)), np.zeros(1))], "W1"),
    ([np.ones(3)], "two (W, b) pairs"),
])
def test_abs_network_names_the_mistake(params, says):
    fb = check_abs_network(params)
    assert not fb and says in fb.message, fb.message
