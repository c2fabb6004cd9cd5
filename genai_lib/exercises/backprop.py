"""Checkers for chapter 3 (loss, gradient descent, backpropagation).

Each `check_*` takes a learner's answer and returns `Feedback` that names the mistake:
a forgotten chain-rule factor, a wrong sign, the function returned instead of its
derivative, the other momentum convention, the wrong eigenvalue. Each typical mistake has
a test case in tests/test_exercises_backprop.py.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from genai_lib.exercises import (Feedback, as_number, compare, right, string_instead_of_number,
                                 wrong)
from genai_lib.scratch.backprop import (loss_and_grads, numerical_param_gradients,
                                        relative_error, softmax_cross_entropy)
from genai_lib.scratch.layers import init_mlp
from genai_lib.scratch.neuron import sigmoid

# Exercise 1: one sigmoid neuron with a squared error, L = (sigmoid(w x + b) - y)^2.
HAND = {"x": 1.5, "w": 0.8, "b": -0.5, "y": 1.0}
# Exercise 4: the bowl L(w) = 1/2 w^T A w has eigenvalues 10 (along (1, 1)) and 1 (along (1, -1)).
BOWL_A = np.array([[5.5, 4.5], [4.5, 5.5]])
LEAKY_ALPHA = 0.1


# Exercise 1 asks for no precision, so an answer rounded to three decimals (off by at most
# half a unit in the third decimal, 5e-4: 0.34 % of |dL/db| = 0.147 here) or to three
# significant digits (rtol 1e-3) is right; every typical slip is off by more than 20 %.
DECIMALS_ATOL = 5e-4 + 1e-12


def _close(a: float, b: float, rtol: float = 1e-3) -> bool:
    """Equal up to rounding to three decimals or three significant digits."""
    return bool(np.isclose(a, b, rtol=rtol, atol=1e-9)) or abs(a - b) <= DECIMALS_ATOL


def hand_gradient() -> tuple[float, float]:
    """Reference (dL/dw, dL/db) for the neuron of exercise 1, by the chain rule."""
    x, w, b, y = HAND["x"], HAND["w"], HAND["b"], HAND["y"]
    a = float(sigmoid(w * x + b))
    dz = 2 * (a - y) * a * (1 - a)  # dL/da * da/dz
    return dz * x, dz


def check_hand_gradient(answer) -> Feedback:
    """Check (dL/dw, dL/db) for L = (sigmoid(w x + b) - y)^2 at HAND's numbers; diagnose slips."""
    if answer is None:
        return wrong("`answer` is None: compute (dL_dw, dL_db) by hand and put the two numbers in a tuple.")
    text = string_instead_of_number("`answer`", answer)
    if text is not None:
        return text
    try:
        dw, db = (float(v) for v in answer)
    except (TypeError, ValueError):
        for name, value in zip(("dL_dw", "dL_db"), answer if isinstance(answer, tuple) else ()):
            if value is None:
                return wrong(f"`{name}` (in `answer`) is None: compute it and put the number "
                             f"in the pair")
        return wrong(f"`answer` should be a pair of numbers (dL_dw, dL_db), got {answer!r}")
    if not (np.isfinite(dw) and np.isfinite(db)):
        return wrong(f"`answer` contains NaN or inf: ({dw}, {db}); compute both numbers.")
    x, w, b, y = HAND["x"], HAND["w"], HAND["b"], HAND["y"]
    a = float(sigmoid(w * x + b))
    ref_w, ref_b = hand_gradient()
    if _close(dw, ref_b) and _close(db, ref_w):
        return wrong("the two numbers are swapped: give (dL_dw, dL_db), dL/dw first.")
    # (what the learner may have computed, the diagnosis); the dL/db slips are the same
    # chains without the last factor dz/dw = x.
    chains = [
        (2 * (a - y), "you left out the sigmoid's derivative da/dz = a (1 - a)"),
        ((a - y) * a * (1 - a), "you left out the factor 2 from d/da (a - y)^2 = 2 (a - y)"),
        (2 * (a - y) * a, "you used sigmoid(z) instead of its derivative sigmoid(z)(1 - sigmoid(z))"),
    ]
    if (not (_close(dw, ref_w) and _close(db, ref_b))
            and abs(dw - ref_w) < 5e-3 and abs(db - ref_b) < 5e-3):
        return wrong(f"({dw:g}, {db:g}) is close, but rounded too coarsely: give at least "
                     f"three decimals (or keep NumPy's full values).")
    if not _close(dw, ref_w):
        slips = [(value * x, why) for value, why in chains] + [
            (ref_b, "you left out dz/dw = x (that number is dL/db)"),
            (-ref_w, "the sign is wrong: a = sigmoid(z) is below y, so increasing w lowers L; "
                     "dL/dw < 0"),
        ]
        for value, why in slips:
            if _close(dw, value):
                return wrong(f"dL/dw = {dw:.4g} is not right: {why}.")
        return wrong(f"dL/dw = {dw:.4g} is not right. Write the forward values first: "
                     f"z = w x + b = {w * x + b:.4g}, a = sigmoid(z) = {a:.4g}, then multiply "
                     f"dL/da, da/dz and dz/dw.")
    if not _close(db, ref_b):
        if _close(db, ref_w):
            return wrong("dL/dw is right, but dL/db is not: dz/db = 1, not x.")
        if _close(db, -ref_b):
            return wrong("dL/dw is right, but dL/db has the wrong sign.")
        for value, why in chains:
            if _close(db, value):
                return wrong(f"dL/dw is right, but dL/db = {db:.4g} is not: {why}.")
        return wrong(f"dL/dw is right, but dL/db = {db:.4g} is not: it shares every factor "
                     f"with dL/dw except dz/dw = x, since dz/db = 1.")
    return right(f"dL/dw = {ref_w:.4f} and dL/db = {ref_b:.4f}.")


def leaky_relu(z: np.ndarray, alpha: float = LEAKY_ALPHA) -> np.ndarray:
    """Leaky ReLU: z where z > 0, alpha z elsewhere. z: any shape -> same."""
    z = np.asarray(z, dtype=float)
    return np.where(z > 0, z, alpha * z)


def leaky_relu_grad_reference(z: np.ndarray, alpha: float = LEAKY_ALPHA) -> np.ndarray:
    """Reference derivative of leaky ReLU: 1 where z > 0, alpha elsewhere. z: any shape -> same."""
    return np.where(np.asarray(z, dtype=float) > 0, 1.0, alpha)


def check_leaky_relu_grad(fn: Callable[[np.ndarray], np.ndarray] | None) -> Feedback:
    """Check a learner's leaky-ReLU derivative elementwise, then in a full backprop gradient check."""
    if fn is None:
        return wrong("`leaky_relu_grad` is None: define the function and pass it in.")
    if not callable(fn):
        return wrong(f"`leaky_relu_grad` should be a function, got {type(fn).__name__}")
    z = np.array([[-3.0, -1.5, -0.2, 0.3, 1.0, 2.5]])  # away from the kink at 0
    try:
        got = fn(z.copy())
    except Exception as err:  # the learner's code failed: say how
        return wrong(f"`leaky_relu_grad` raised {type(err).__name__}: {err} on z = {z.tolist()}")
    if got is None:
        return wrong("`leaky_relu_grad` returned None: did you forget to `return`?")
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return wrong(f"`leaky_relu_grad` must return an array of numbers, got {type(got).__name__}")
    if got.shape != z.shape:
        return wrong(f"`leaky_relu_grad` must return one slope per entry: shape {z.shape}, got {got.shape}")
    expected = leaky_relu_grad_reference(z)
    neg, pos = z < 0, z > 0
    if np.allclose(got, leaky_relu(z)):
        return wrong("you returned leaky_relu(z) itself, not its derivative (the slope).")
    if np.allclose(got, -expected):
        return wrong("wrong sign: leaky ReLU increases everywhere, so its slope is positive.")
    if np.allclose(got, np.where(z > 0, LEAKY_ALPHA, 1.0)):
        return wrong(f"the two slopes are swapped: 1 for z > 0 and alpha = {LEAKY_ALPHA} "
                     f"for z < 0, not the other way round.")
    if not np.allclose(got[pos], 1.0):
        return wrong(f"for z > 0, leaky ReLU is z, so its slope is 1; you gave {got[pos].tolist()}.")
    if np.allclose(got[neg], 0.0):
        return wrong(f"for z < 0 you give slope 0, which is ReLU's; leaky ReLU is alpha z there, "
                     f"with slope alpha = {LEAKY_ALPHA}.")
    if np.allclose(got[neg], 1.0):
        return wrong(f"for z < 0 you give slope 1: the factor alpha = {LEAKY_ALPHA} is missing.")
    if not np.allclose(got, expected):
        verdict = compare("leaky_relu_grad(z)", got, expected)
        return wrong(f"for z < 0 the slope should be alpha = {LEAKY_ALPHA}: {verdict.message}")
    # Elementwise right: now the real test, backprop through a net with it vs finite differences.
    rng = np.random.default_rng(0)
    params = init_mlp([4, 6, 3], seed=0)
    x, y = rng.normal(size=(5, 4)), rng.integers(0, 3, 5)
    try:
        _, grads = loss_and_grads(params, x, y, softmax_cross_entropy, leaky_relu, fn)
        numeric = numerical_param_gradients(
            lambda p: loss_and_grads(p, x, y, softmax_cross_entropy, leaky_relu, fn)[0], params)
        err = max(relative_error(g, n) for gl, nl in zip(grads, numeric)
                  for g, n in zip(gl, nl))
    except Exception as error:  # the learner's function failed inside backprop
        return wrong(f"elementwise right, but backprop with `leaky_relu_grad` raised "
                     f"{type(error).__name__}: {error} (z there has shape (5, 6))")
    if not np.isfinite(err):
        err = np.inf
    if err > 1e-6:
        return wrong(f"elementwise right, but the backprop gradient check fails "
                     f"(max relative error {err:.2e}): does your function handle 2-D arrays?")
    return right(f"your derivative is right, and backprop with it passes the gradient check "
                 f"(max relative error {err:.1e} < 1e-6).")


def momentum_step_reference(w: np.ndarray, grad: np.ndarray, velocity: np.ndarray,
                            lr: float, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """Heavy-ball step (PyTorch's convention): v <- beta v + grad, w <- w - lr v. Arrays of one shape."""
    v = beta * velocity + grad
    return w - lr * v, v


def _momentum_verdict(fn, w, g, v, lr, beta) -> Feedback:
    """One call of a learner's momentum_step on (w, g, v, lr, beta), diagnosed."""
    try:
        out = fn(w.copy(), g.copy(), v.copy(), lr, beta)
    except Exception as err:  # the learner's code failed: say how
        return wrong(f"`momentum_step` raised {type(err).__name__}: {err}")
    if out is None:
        return wrong("`momentum_step` returned None: did you forget to `return w_new, v_new`?")
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        return wrong(f"`momentum_step` must return a pair (w_new, v_new), got {type(out).__name__}")
    try:
        w_new, v_new = (np.asarray(o, dtype=float) for o in out)
    except (TypeError, ValueError):
        return wrong("`momentum_step` must return two arrays of numbers (w_new, v_new)")
    w_ref, v_ref = momentum_step_reference(w, g, v, lr, beta)
    if w_new.shape != w.shape or v_new.shape != v.shape:
        return wrong(f"w_new and v_new must have w's shape {w.shape}, got {w_new.shape} and "
                     f"{v_new.shape}")
    if np.allclose(w_new, v_ref) and np.allclose(v_new, w_ref):
        return wrong("the pair is swapped: return (w_new, v_new), the weights first.")
    if not np.allclose(v_new, v_ref):
        if np.allclose(v_new, beta * v - lr * g):
            return wrong("you used the convention v <- beta v - lr grad, w <- w + v; this exercise "
                         "(like torch.optim.SGD) uses v <- beta v + grad, w <- w - lr v.")
        if np.allclose(v_new, beta * v + lr * g):
            return wrong("you put lr inside the velocity (v <- beta v + lr grad, w <- w - v); this "
                         "exercise (like torch.optim.SGD) uses v <- beta v + grad, w <- w - lr v.")
        if np.allclose(v_new, beta * v + (1 - beta) * g):
            return wrong("you averaged, v <- beta v + (1 - beta) grad (the convention of Adam's "
                         "running mean); heavy-ball momentum adds the whole gradient: "
                         "v <- beta v + grad.")
        if np.allclose(v_new, g):
            return wrong("v_new equals the gradient: the old velocity, times beta, is missing.")
        if np.allclose(v_new, v + g):
            return wrong("v_new = velocity + grad: the factor beta on the old velocity is missing.")
        if np.allclose(v_new, beta * g + v):
            return wrong("beta multiplies the wrong term: v_new = beta * velocity + grad.")
        if np.allclose(v_new, v):
            return wrong("v_new equals the old velocity: the velocity must be updated, "
                         "v_new = beta * velocity + grad.")
        return compare("v_new", v_new, v_ref)
    if np.allclose(w_new, w + lr * v_ref):
        return wrong("w moved uphill: subtract lr * v_new, do not add it.")
    if np.allclose(w_new, w - lr * v):
        return wrong("w was updated with the old velocity (before updating v): update v first, "
                     "then take the step with the new one, w_new = w - lr * v_new.")
    if np.allclose(w_new, w - lr * g):
        return wrong("w was updated with the plain gradient (no momentum); use v_new.")
    if np.allclose(w_new, w - v_ref):
        return wrong("the learning rate is missing from the step: w_new = w - lr * v_new.")
    if np.allclose(w_new, w):
        return wrong("w_new equals w: the weights did not move; w_new = w - lr * v_new.")
    if not np.allclose(w_new, w_ref):
        return compare("w_new", w_new, w_ref)
    return right("one heavy-ball step: v_new = beta v + grad, w_new = w - lr v_new.")


def check_momentum_step(fn) -> Feedback:
    """Check a learner's momentum_step(w, grad, velocity, lr, beta) -> (w_new, v_new).

    Two settings of (lr, beta), so that a function with fixed numbers instead of its
    arguments lr and beta fails."""
    if fn is None:
        return wrong("`momentum_step` is None: define the function and pass it in.")
    if not callable(fn):
        return wrong(f"`momentum_step` should be a function, got {type(fn).__name__}")
    rng = np.random.default_rng(1)
    w, g, v = rng.normal(size=3), rng.normal(size=3), rng.normal(size=3)
    settings = [(0.05, 0.9), (0.3, 0.5)]  # lr != 1 - beta, so the conventions differ
    verdicts = [_momentum_verdict(fn, w, g, v, lr, beta) for lr, beta in settings]
    if all(verdicts):
        return verdicts[0]
    if any(verdicts):
        (lr_ok, beta_ok), (lr_bad, beta_bad) = (settings if verdicts[0] else settings[::-1])
        bad = verdicts[1] if verdicts[0] else verdicts[0]
        return wrong(f"right for lr = {lr_ok}, beta = {beta_ok}, but not for lr = {lr_bad}, "
                     f"beta = {beta_bad}: use the arguments lr and beta, not fixed numbers "
                     f"({bad.message})")
    return verdicts[0]


def check_max_learning_rate(answer) -> Feedback:
    """Check the learning rate above which gradient descent on 1/2 w^T BOWL_A w diverges.

    The exact answer is 2 / lambda_max; an estimate from experiments lands a little below
    it (at most 2% is accepted), a value above it diverges and is wrong."""
    text = string_instead_of_number("`lr_max`", answer)
    if text is not None:
        return text
    lr = as_number("lr_max", answer, "find the learning rate above which gradient descent "
                   "diverges.")
    if isinstance(lr, Feedback):
        return lr
    if not np.isfinite(lr):
        return wrong(f"`lr_max` = {lr}: give a finite learning rate.")
    if lr <= 0:
        return wrong(f"lr_max = {lr:.3g}: a learning rate must be positive (lr <= 0 does not step "
                     f"downhill).")
    eig = np.linalg.eigvalsh(BOWL_A)
    small, big = eig.min(), eig.max()
    ref = 2.0 / big
    hint = "(hint: along an eigenvector, w <- (1 - lr lambda) w)"
    if 0.98 * ref <= lr <= ref * (1 + 1e-6):
        return right(f"lr_max = 2 / lambda_max = 2 / {big:.3g} = {ref:.3g}: beyond it the step along "
                     f"the steepest direction overshoots by more than it corrects, and grows.")
    if abs(lr - 1.0 / big) <= 0.02 / big:
        return wrong("that is 1 / lambda_max, the rate that jumps straight to the minimum along the "
                     "steep direction; the iteration still converges (oscillating) up to twice that.")
    if abs(lr - 2.0 / (small + big)) <= 0.02 * 2.0 / (small + big):
        return wrong("that is 2 / (lambda_min + lambda_max), the rate that converges fastest "
                     "overall; larger rates still converge.")
    if abs(lr - 2.0 / small) <= 0.02 * 2.0 / small:
        return wrong("that is the limit for the shallow direction (lambda_min); the steep direction "
                     "diverges much earlier.")
    if lr > ref:
        factor = 1 - lr * big
        return wrong(f"with lr = {lr:.4g} gradient descent diverges: along the steep direction "
                     f"each step multiplies the distance by 1 - lr lambda_max = {factor:.4g}, "
                     f"larger than 1 in size. Look for a smaller value {hint}.")
    return wrong(f"with lr = {lr:.4g} gradient descent still converges: a larger rate is still "
                 f"stable {hint}.")
