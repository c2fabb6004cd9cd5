"""A single artificial neuron in NumPy: activations, their derivatives and
the perceptron rule.

Chapter 1 teaches this code. A neuron computes phi(z) with z = w^T x + b:
a weighted sum of its inputs x plus a bias b, passed through an activation
function phi. For a batch X with one example per row, z = X @ w + b.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from genai_lib.runtime import training_seed

Activation = Callable[[np.ndarray], np.ndarray]


def step(z: np.ndarray) -> np.ndarray:
    """Heaviside step: 1 where z >= 0, else 0 (Rosenblatt's threshold unit).

    z: any shape -> same shape.
    """
    return (np.asarray(z, dtype=float) >= 0).astype(float)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic sigmoid 1 / (1 + exp(-z)), stable for large |z|.

    z: any shape -> same shape.
    """
    z = np.asarray(z, dtype=float)
    # exp(-|z|) never overflows; for z < 0 use the equal form
    # e^z / (1 + e^z).
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_grad(z: np.ndarray) -> np.ndarray:
    """d sigmoid / dz = s(z) (1 - s(z)), evaluated at z. z: any shape."""
    s = sigmoid(z)
    return s * (1.0 - s)


def tanh(z: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent, output in (-1, 1). z: any shape -> same."""
    return np.tanh(np.asarray(z, dtype=float))


def tanh_grad(z: np.ndarray) -> np.ndarray:
    """d tanh / dz = 1 - tanh(z)^2, evaluated at z. z: any shape."""
    t = np.tanh(np.asarray(z, dtype=float))
    return 1.0 - t * t


def relu(z: np.ndarray) -> np.ndarray:
    """Rectified linear unit max(0, z). z: any shape -> same."""
    return np.maximum(np.asarray(z, dtype=float), 0.0)


def relu_grad(z: np.ndarray) -> np.ndarray:
    """d relu / dz = 1 where z > 0, else 0 (we take 0 at the kink z = 0).

    z: any shape -> same shape.
    """
    return (np.asarray(z, dtype=float) > 0).astype(float)


def _check_xw(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate and convert inputs x: (N, D) and weights w: (D,)."""
    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"x must have shape (N, D), got {x.shape}")
    if w.shape != (x.shape[1],):
        raise ValueError(
            f"w must have shape ({x.shape[1]},) to match x of shape "
            f"{x.shape}, got {w.shape}"
        )
    return x, w


def neuron(
    x: np.ndarray,
    w: np.ndarray,
    b: float,
    activation: Activation = sigmoid,
) -> np.ndarray:
    """One neuron on a batch: phi(x @ w + b).

    x: (N, D) one example per row, w: (D,), b: scalar -> (N,).
    """
    x, w = _check_xw(x, w)
    return activation(x @ w + float(b))


def perceptron_train(
    x: np.ndarray,
    y: np.ndarray,
    lr: float = 1.0,
    epochs: int = 20,
    seed: int = 0,
) -> tuple[np.ndarray, float, dict[str, np.ndarray]]:
    """Rosenblatt's perceptron rule (Rosenblatt 1958).

    x: (N, D), y: (N,) labels in {0, 1} -> w: (D,), b, history.

    For each sample (in a fresh random order every epoch) the prediction
    is y_hat = step(w^T x + b) and the update is
    w += lr (y - y_hat) x, b += lr (y - y_hat):
    nothing changes when the sample is classified right.
    Weights start at zero. The history holds
    "errors": (epochs,) mistakes made during each epoch;
    "weights": (epochs + 1, D) and "bias": (epochs + 1,) the parameters
    before training and after every epoch, so the decision line can be
    drawn moving; "updates": (U, D + 1) the parameters [w, b] after each
    of the U updates, and "update_sample": (U,) the index of the
    misclassified sample that caused each update.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y)
    if x.ndim != 2:
        raise ValueError(f"x must have shape (N, D), got {x.shape}")
    if y.shape != (x.shape[0],):
        raise ValueError(
            f"y must have shape ({x.shape[0]},) to match x, got {y.shape}"
        )
    if not np.isin(y, (0, 1)).all():
        raise ValueError(
            f"y must contain only the labels 0 and 1, got {np.unique(y)[:5]}"
        )
    if not np.isfinite(x).all():
        raise ValueError("x contains NaN or inf values")
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    rng = np.random.default_rng(training_seed(seed))  # seed + $GENAI_SEED
    w, b = np.zeros(x.shape[1]), 0.0
    weights, biases, errors = [w.copy()], [b], []
    updates, update_sample = [], []
    for _ in range(epochs):
        mistakes = 0
        for i in rng.permutation(len(x)):
            y_hat = 1.0 if x[i] @ w + b >= 0 else 0.0
            delta = float(y[i]) - y_hat  # -1, 0 or +1
            if delta != 0:
                w = w + lr * delta * x[i]
                b = b + lr * delta
                mistakes += 1
                updates.append(np.append(w, b))
                update_sample.append(i)
        weights.append(w.copy())
        biases.append(b)
        errors.append(mistakes)
    history = {
        "errors": np.array(errors),
        "weights": np.array(weights),
        "bias": np.array(biases),
        "updates": np.array(updates).reshape(-1, x.shape[1] + 1),
        "update_sample": np.array(update_sample, dtype=int),
    }
    return w, float(b), history
