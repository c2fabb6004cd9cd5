"""The chapter 2 checkers accept the reference solutions and name typical mistakes."""

import numpy as np

from genai_lib.exercises.layers import check_abs_network, check_param_count, check_softmax
from genai_lib.scratch.layers import softmax


def test_param_count():
    assert check_param_count(2 * 16 + 16 * 8 + 8 * 3 + 16 + 8 + 3)
    fb = check_param_count(2 * 16 + 16 * 8 + 8 * 3)
    assert not fb and "weights only" in fb.message
    fb = check_param_count(211 + 2)
    assert not fb and "input layer" in fb.message
    assert not check_param_count(None)


def test_softmax():
    assert check_softmax(softmax)

    def naive(z):
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def columns(z):
        e = np.exp(z - z.max())
        return e / e.sum(axis=0, keepdims=True)

    fb = check_softmax(naive)
    assert not fb and "overflows" in fb.message
    fb = check_softmax(columns)
    assert not fb and "rows" in fb.message
    fb = check_softmax(lambda z: np.exp(z))
    assert not fb and "on input" in fb.message
    assert not check_softmax(None)


def test_abs_network():
    good = [(np.array([[1.0, -1.0]]), np.zeros(2)), (np.array([[1.0], [1.0]]), np.zeros(1))]
    assert check_abs_network(good)
    half = [(np.array([[1.0, 1.0]]), np.zeros(2)), (np.array([[0.5], [0.5]]), np.zeros(1))]
    fb = check_abs_network(half)
    assert not fb and "relu(x)" in fb.message
    neg = [(np.array([[1.0, -1.0]]), np.zeros(2)), (np.array([[-1.0], [-1.0]]), np.zeros(1))]
    fb = check_abs_network(neg)
    assert not fb and "-|x|" in fb.message
    fb = check_abs_network([(np.ones((2, 1)), np.zeros(1)), (np.ones((1, 1)), np.zeros(1))])
    assert not fb and "W1" in fb.message
    assert not check_abs_network(None)
