"""Checkers for chapter 1 (neurons): a neuron's output by hand, a logic gate from one neuron,
the perceptron update."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from genai_lib.exercises import Feedback, compare, right, string_instead_of_number, wrong
from genai_lib.scratch.neuron import sigmoid

# Exercise 1: y = sigmoid(x . w + b) for this input, by hand.
X1 = np.array([1.0, 2.0])
W1 = np.array([0.5, -1.0])
B1 = 0.5


def check_neuron_output(y: float | None) -> Feedback:
    """Exercise 1: sigmoid(X1 . W1 + B1), a single number."""
    if y is None:
        return wrong("`y` is None: compute the weighted sum, add the bias, apply the sigmoid.")
    text = string_instead_of_number("`y`", y)
    if text is not None:
        return text
    try:
        value = float(np.asarray(y, dtype=float).reshape(()))
    except (TypeError, ValueError):
        return wrong(f"`y` should be one number, got {np.asarray(y).shape or type(y).__name__}")
    z = float(X1 @ W1 + B1)
    expected = float(sigmoid(np.array(z)))
    if np.isclose(value, expected, atol=1e-4):
        return right(f"y = sigmoid({z:g}) = {expected:.4f}.")
    mistakes = [  # (the value a typical mistake gives, what to say)
        (z, f"{value:g} is the weighted sum z = x.w + b; pass it through the sigmoid."),
        (float(sigmoid(np.array(X1 @ W1))),
         "you forgot the bias b = 0.5: add it to the weighted sum before the sigmoid."),
        (float(sigmoid(np.array(X1 @ W1 - B1))),
         "you subtracted the bias: the weighted sum is x.w + b, with b = +0.5."),
        (float(sigmoid(np.array(-z))),
         "you computed sigmoid(-z): the sigmoid is 1 / (1 + exp(-z)), check the sign."),
        (float(np.tanh(z)), "you used tanh; this neuron's activation is the sigmoid."),
        (float(z >= 0), f"{value:g} is step(z); this neuron's activation is the sigmoid."),
    ]
    for candidate, message in mistakes:
        if np.isclose(value, candidate, atol=1e-4):
            return wrong(message)
    if not 0 < value < 1:
        return wrong(f"a sigmoid output lies strictly between 0 and 1, got {value:g}.")
    if abs(value - expected) < 5e-3:
        return wrong(f"{value:g} is close but rounded too coarsely: give `y` to four "
                     f"decimals (or keep NumPy's full value).")
    return wrong(f"expected {expected:.4f}, your answer = {value:.4f}.")


GATES = {"and": [0, 0, 0, 1], "or": [0, 1, 1, 1], "nand": [1, 1, 1, 0], "nor": [1, 0, 0, 0]}
INPUTS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])


def check_gate(w, b, gate: str = "nand") -> Feedback:
    """Exercise 2: a step neuron step(x . w + b) with w: (2,), b: scalar computing a logic gate."""
    if gate not in GATES:
        raise ValueError(f"gate must be one of {sorted(GATES)}, got {gate!r}")
    if w is None or b is None:
        return wrong("`w` or `b` is None: choose two weights and a bias.")
    for name, value in (("w", w), ("b", b)):
        text = string_instead_of_number(f"`{name}`", value)
        if text is not None:
            return text
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
    if not (np.all(np.isfinite(w)) and np.isfinite(b)):
        return wrong(f"`w` and `b` should be finite numbers, got w = {w.tolist()}, b = {b}")
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
    hint = ""
    if np.any(z[bad] == 0):
        hint = (" (step(0) = 1: an input exactly on the line z = 0 gets output 1; "
                "move the line off the corner)")
    return wrong(f"wrong on {bad.size} of 4 inputs: {rows}{hint}")


def perceptron_update_reference(w: np.ndarray, b: float, x: np.ndarray, y: int,
                                lr: float) -> tuple[np.ndarray, float]:
    """One step of Rosenblatt's rule. w: (D,), x: (D,), y in {0, 1} -> new (w, b)."""
    y_hat = 1.0 if x @ w + b >= 0 else 0.0
    return w + lr * (y - y_hat) * x, b + lr * (y - y_hat)


_CASES = [  # (w, b, x, y, lr)
    (np.array([1.0, -1.0]), 0.0, np.array([2.0, 1.0]), 1, 0.5),     # right already
    (np.array([1.0, -1.0]), -0.5, np.array([0.0, 1.0]), 1, 0.5),    # false negative
    (np.array([0.5, 2.0]), 0.25, np.array([1.0, 1.0]), 0, 0.1),     # false positive
    (np.array([0.0, 0.0]), 0.0, np.array([3.0, -2.0]), 0, 1.0),     # z = 0: y_hat = 1
    (np.array([1.0, -1.0]), -0.5, np.array([1.0, 1.0]), 1, 0.5),    # the bias decides
]


def _update(w, b, x, y, lr, y_hat, db=None):
    """The rule's step for a given prediction y_hat; db overrides the bias change."""
    error = y - y_hat
    return w + lr * error * x, b + (lr * error if db is None else db)


def _mistakes(w, b, x, y, lr) -> list[tuple[tuple[np.ndarray, float], str]]:
    """What typical wrong versions of the update return on one case, with the diagnosis."""
    z = float(x @ w + b)
    y_hat = 1.0 if z >= 0 else 0.0
    zero_one = ("in this exercise y and y_hat are 0 or 1: y_hat = step(w.x + b), 1 if "
                "w.x + b >= 0 else 0, and the step is lr (y - y_hat) x")
    return [
        (_update(w, b, x, y, lr, 1.0 if z >= 0 else -1.0),
         "your prediction is -1 or +1 (the ±1 label convention, y_hat = sign(w.x + b)): "
         f"{zero_one}. With y_hat = -1 the error y - y_hat is 2 and the step doubles"),
        ((w + lr * y * x, b + lr * y) if y * z <= 0 else (w, b),
         "you used the ±1 form of the rule (labels in {-1, +1}: update w + lr y x when "
         f"y (w.x + b) <= 0): {zero_one}. With y = 0 that rule never moves w"),
        (_update(w, b, x, y, -lr, y_hat),
         "the update goes the wrong way: it is lr (y - y_hat) x, not lr (y_hat - y) x"),
        (_update(w, b, x, y, 1.0, y_hat),
         "you left out the learning rate lr: the step is lr (y - y_hat) x"),
        (_update(w, b, x, y, lr, 1.0 if z > 0 else 0.0),
         f"here z = w.x + b = {z:g}, and step(0) = 1, so y_hat = 1: "
         "predict with `>= 0`, not `> 0`"),
        (_update(w, b, x, y, lr, 1.0 if x @ w >= 0 else 0.0),
         "your prediction leaves out the bias: y_hat = step(w.x + b), not step(w.x)"),
        (_update(w, b, x, y, lr, y_hat, db=0.0),
         "`new_w` is right but the bias did not change: it is also updated, "
         "b + lr (y - y_hat)"),
        (_update(w, b, x, y, lr, float(sigmoid(np.array(z)))),
         "y_hat must be the step's 0 or 1, not the sigmoid of z"),
        (_update(w, b, x, y, lr, 1.0 - y),
         "you update even when the sample is already classified right: then y - y_hat = 0 "
         "and nothing should change"),
        ((w, b), "you returned `w` and `b` unchanged, but this sample is misclassified: "
         "move them by lr (y - y_hat) x and lr (y - y_hat)"),
    ]


def _same_step(got, candidate) -> bool:
    """Whether an output (new_w, new_b) equals a candidate pair."""
    try:
        got_w, got_b = np.asarray(got[0], dtype=float), float(np.asarray(got[1], dtype=float))
    except (TypeError, ValueError, IndexError):
        return False
    return (got_w.shape == np.shape(candidate[0]) and np.allclose(got_w, candidate[0])
            and bool(np.isclose(got_b, candidate[1])))


def _name_mistake(fn: Callable, case: tuple, got_w: np.ndarray, got_b: float) -> str | None:
    """The diagnosis of the typical mistake the learner's output on `case` matches, or None.

    Two mistakes can give the same numbers on one case (on a false negative with lr = 0.5, the
    ±1 prediction's doubled step equals a missing learning rate): the one that also matches the
    learner's output on every other case wins."""
    w, b, x, y, lr = case
    exp_w, exp_b = perceptron_update_reference(w, b, x, y, lr)
    matching = [k for k, ((cand_w, cand_b), _) in enumerate(_mistakes(w, b, x, y, lr))
                if not (np.allclose(cand_w, exp_w) and np.isclose(cand_b, exp_b))
                and np.allclose(got_w, cand_w) and np.isclose(got_b, cand_b)]
    if not matching:
        return None
    outputs = []
    for other in _CASES:
        try:
            outputs.append(fn(other[0].copy(), other[1], other[2].copy(), other[3], other[4]))
        except Exception:  # noqa: BLE001 - a failing case cannot confirm a mistake
            outputs.append(None)
    everywhere = [k for k in matching
                  if all(_same_step(out, _mistakes(*other)[k][0])
                         for out, other in zip(outputs, _CASES))]
    return _mistakes(*case)[(everywhere or matching)[0]][1]


def check_perceptron_update(fn: Callable) -> Feedback:
    """Exercise 3: fn(w, b, x, y, lr) -> (new_w, new_b), one perceptron update on one sample,
    without changing the caller's `w` (or `x`) in place."""
    name = "perceptron_update"
    if not callable(fn):
        return wrong(f"`{name}` should be a function, got {type(fn).__name__}")
    for w, b, x, y, lr in _CASES:
        case = f"w = {w.tolist()}, b = {b}, x = {x.tolist()}, y = {y}, lr = {lr}"
        w_arg, x_arg = w.copy(), x.copy()
        try:
            out = fn(w_arg, b, x_arg, y, lr)
        except Exception as err:  # the learner's code failed: say how, on which input
            return wrong(f"`{name}` raised {type(err).__name__}: {err} on {case}")
        if not np.array_equal(w_arg, w):
            return wrong(f"`{name}` changed the caller's `w` in place (e.g. `w += ...` or "
                         f"`w[:] = ...`) on {case}: return a new array, `new_w = w + ...`")
        if not np.array_equal(x_arg, x):
            return wrong(f"`{name}` changed the caller's `x` in place on {case}")
        if out is None:
            return wrong(f"`{name}` returned None on {case}: did you forget to "
                         f"`return new_w, new_b`?")
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            return wrong(f"`{name}` should return a pair (new_w, new_b), "
                         f"got {type(out).__name__} on {case}")
        exp_w, exp_b = perceptron_update_reference(w, b, x, y, lr)
        verdicts = [compare(n, got, exp) for n, got, exp
                    in (("new_w", out[0], exp_w), ("new_b", out[1], exp_b))]
        if all(verdicts):
            continue
        try:
            got_w = np.asarray(out[0], dtype=float)
            got_b = np.asarray(out[1], dtype=float)
        except (TypeError, ValueError):
            got_w = got_b = None
        if got_w is not None and got_w.shape == exp_w.shape and got_b.size == 1:
            named = _name_mistake(fn, (w, b, x, y, lr), got_w, float(got_b))
            if named is not None:
                return wrong(f"on {case}: {named}")
        bad = next(v for v in verdicts if not v)
        return wrong(f"on {case}: {bad.message}")
    return right(f"your update agrees with the perceptron rule on all {len(_CASES)} cases "
                 f"and leaves the caller's `w` unchanged.")
