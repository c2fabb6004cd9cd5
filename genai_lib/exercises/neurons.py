"""Checkers for chapter 1 (neurons): a neuron's output by hand, a logic gate from one neuron,
the perceptron update."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from genai_lib.exercises import Feedback, compare, right, wrong
from genai_lib.scratch.neuron import sigmoid

# Exercise 1: y = sigmoid(x . w + b) for this input, by hand.
X1 = np.array([1.0, 2.0])
W1 = np.array([0.5, -1.0])
B1 = 0.5


def check_neuron_output(y: float | None) -> Feedback:
    """Exercise 1: sigmoid(X1 . W1 + B1), a single number."""
    if y is None:
        return wrong("`y` is None: compute the weighted sum, add the bias, apply the sigmoid.")
    try:
        value = float(np.asarray(y, dtype=float).reshape(()))
    except (TypeError, ValueError):
        return wrong(f"`y` should be one number, got {np.asarray(y).shape or type(y).__name__}")
    z = float(X1 @ W1 + B1)
    expected = float(sigmoid(np.array(z)))
    if np.isclose(value, expected, atol=1e-4):
        return right(f"y = sigmoid({z:g}) = {expected:.4f}.")
    if np.isclose(value, z, atol=1e-4):
        return wrong(f"{value:g} is the weighted sum z = x.w + b; pass it through the sigmoid.")
    if np.isclose(value, float(sigmoid(np.array(X1 @ W1))), atol=1e-4):
        return wrong("you forgot the bias b = 0.5: add it to the weighted sum before the sigmoid.")
    if np.isclose(value, float(sigmoid(np.array(-z))), atol=1e-4):
        return wrong("you computed sigmoid(-z): the sigmoid is 1 / (1 + exp(-z)), check the sign.")
    if not 0 < value < 1:
        return wrong(f"a sigmoid output lies strictly between 0 and 1, got {value:g}.")
    return wrong(f"expected {expected:.4f}, your answer = {value:.4f}.")


GATES = {"and": [0, 0, 0, 1], "or": [0, 1, 1, 1], "nand": [1, 1, 1, 0], "nor": [1, 0, 0, 0]}
INPUTS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])


def check_gate(w, b, gate: str = "nand") -> Feedback:
    """Exercise 2: a step neuron step(x . w + b) with w: (2,), b: scalar computing a logic gate."""
    if gate not in GATES:
        raise ValueError(f"gate must be one of {sorted(GATES)}, got {gate!r}")
    if w is None or b is None:
        return wrong("`w` or `b` is None: choose two weights and a bias.")
    try:
        w = np.asarray(w, dtype=float)
    except (TypeError, ValueError):
        return wrong(f"`w` should be two numbers, e.g. [1.0, -2.0], got {type(w).__name__}")
    if w.shape != (2,):
        return wrong(f"`w` should have shape (2,) (one weight per input), got {w.shape}")
    try:
        b = float(np.asarray(b, dtype=float).reshape(()))
    except (TypeError, ValueError):
        return wrong(f"`b` should be one number, got shape {np.asarray(b).shape}")
    z = INPUTS @ w + b
    got = (z >= 0).astype(int)
    target = np.array(GATES[gate])
    bad = np.flatnonzero(got != target)
    if bad.size == 0:
        return right(f"the neuron computes {gate.upper()} on all four inputs.")
    if bad.size == 4:
        return wrong("every output is flipped: you built the opposite gate; negate w and b.")
    rows = "; ".join(f"x = {INPUTS[i].astype(int).tolist()}: z = {z[i]:g}, output {got[i]}, "
                     f"{gate.upper()} needs {target[i]}" for i in bad)
    return wrong(f"wrong on {bad.size} of 4 inputs: {rows}")


def perceptron_update_reference(w: np.ndarray, b: float, x: np.ndarray, y: int,
                                lr: float) -> tuple[np.ndarray, float]:
    """One step of Rosenblatt's rule. w: (D,), x: (D,), y in {0, 1} -> new (w, b)."""
    y_hat = 1.0 if x @ w + b >= 0 else 0.0
    return w + lr * (y - y_hat) * x, b + lr * (y - y_hat)


_CASES = [  # (w, b, x, y, lr): right already, false negative, false positive, on the boundary
    (np.array([1.0, -1.0]), 0.0, np.array([2.0, 1.0]), 1, 0.5),
    (np.array([1.0, -1.0]), -0.5, np.array([0.0, 1.0]), 1, 0.5),
    (np.array([0.5, 2.0]), 0.25, np.array([1.0, 1.0]), 0, 0.1),
    (np.array([0.0, 0.0]), 0.0, np.array([3.0, -2.0]), 0, 1.0),
]


def check_perceptron_update(fn: Callable) -> Feedback:
    """Exercise 3: fn(w, b, x, y, lr) -> (new_w, new_b), one perceptron update on one sample."""
    if not callable(fn):
        return wrong(f"`perceptron_update` should be a function, got {type(fn).__name__}")
    for w, b, x, y, lr in _CASES:
        case = f"w = {w.tolist()}, b = {b}, x = {x.tolist()}, y = {y}, lr = {lr}"
        try:
            out = fn(w.copy(), b, x.copy(), y, lr)
        except Exception as err:  # the learner's code failed: say how, on which input
            return wrong(f"raised {type(err).__name__}: {err} on {case}")
        if out is None or not isinstance(out, tuple) or len(out) != 2:
            return wrong(f"should return a pair (new_w, new_b), got {type(out).__name__} on {case}")
        exp_w, exp_b = perceptron_update_reference(w, b, x, y, lr)
        for name, got, exp in (("new_w", out[0], exp_w), ("new_b", out[1], exp_b)):
            verdict = compare(name, got, exp)
            if not verdict.ok:
                hint = ""
                if np.allclose(np.asarray(got, dtype=float), np.asarray(exp, dtype=float)
                               - 2 * (np.asarray(exp, dtype=float) - (w if name == "new_w" else b))):
                    hint = " (the update goes the wrong way: it is lr (y - y_hat) x, not (y_hat - y))"
                elif np.allclose(np.asarray(got, dtype=float),
                                 perceptron_update_reference(w, b, x, y, 1.0)[name == "new_b"]):
                    hint = " (you left out the learning rate lr: the step is lr (y - y_hat) x)"
                elif y == int(x @ w + b >= 0):
                    hint = " (this sample is already classified right, so nothing should change)"
                return wrong(f"on {case}: {verdict.message}{hint}")
    return right(f"your update agrees with the perceptron rule on all {len(_CASES)} cases.")
