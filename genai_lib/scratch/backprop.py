"""Learning in NumPy: losses, backpropagation, gradient checks and
minibatch gradient descent.

Chapter 3 teaches this code. Training a network means lowering a loss
L(params) by gradient descent, params <- params - lr * dL/dparams;
backpropagation computes every gradient in one backward sweep by applying
the chain rule layer by layer (Rumelhart, Hinton & Williams 1986). The
layers themselves come from `layers.py`.

Notation (the book's): the layer index l = 1, ..., n_layers, the
formulas' superscript (l), is written in brackets: A[0] = X,
Z[l] = A[l-1] @ W[l] + b[l], A[l] = phi(Z[l]); the last layer's Z are
the logits, L is the loss and Delta[l] = dL/dZ[l]. The code's lists
count from 0: a[l] holds A[l] (a[0] = X), z[l] holds Z[l+1] and
params[l] holds (W[l+1], b[l+1]).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from genai_lib.runtime import training_seed
from genai_lib.scratch.layers import Params, dense, mlp_forward, softmax
from genai_lib.scratch.neuron import relu, relu_grad

Array = np.ndarray
Activation = Callable[[Array], Array]
LossFn = Callable[[Array, Array], tuple[float, Array]]


# --- losses: each returns (loss, dloss/dprediction) ------------------


def mse_loss(pred: Array, target: Array) -> tuple[float, Array]:
    """Mean squared error mean((pred - target)^2) and its gradient.

    pred, target: (N, K) -> (float, (N, K)).
    """
    pred = np.asarray(pred, dtype=float)
    target = np.asarray(target, dtype=float)
    if pred.shape != target.shape:
        raise ValueError(
            f"target must have the shape of pred {pred.shape}, "
            f"got {target.shape}"
        )
    diff = pred - target
    # The mean runs over all N*K entries (like torch's mse_loss),
    # hence the 2 / size.
    return float(np.mean(diff**2)), 2.0 * diff / diff.size


def _check_labels(logits: Array, labels: Array) -> tuple[Array, Array]:
    """Validate logits (N, K) and integer labels (N,) in [0, K)."""
    logits, labels = np.asarray(logits, dtype=float), np.asarray(labels)
    if logits.ndim != 2:
        raise ValueError(
            f"logits must have shape (N, K), got {logits.shape}"
        )
    n, k = logits.shape
    if labels.shape != (n,) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"labels must be integers of shape ({n},), "
            f"got {labels.dtype} of shape {labels.shape}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= k):
        raise ValueError(
            f"labels must lie in [0, {k}), got values from "
            f"{labels.min()} to {labels.max()}"
        )
    return logits, labels


def log_softmax(logits: Array) -> Array:
    """log softmax(z), stable (log-sum-exp with the row max taken out).

    logits: (N, K) -> (N, K).
    """
    z = np.asarray(logits, dtype=float)
    if z.ndim != 2:
        raise ValueError(f"logits must have shape (N, K), got {z.shape}")
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def softmax_cross_entropy(
    logits: Array, labels: Array
) -> tuple[float, Array]:
    """Mean cross-entropy -log softmax(z)[y] and its gradient
    (softmax(z) - onehot(y)) / N.

    logits: (N, K) float, labels: (N,) int in [0, K) -> (float, (N, K)).
    """
    logits, labels = _check_labels(logits, labels)
    n = len(labels)
    loss = -log_softmax(logits)[np.arange(n), labels].mean()
    # d/dz of -log softmax(z)[y] is softmax(z) - onehot(y): the softmax's
    # Jacobian and the log's 1/p cancel, so the gradient is just
    # "predicted minus true" probabilities.
    grad = softmax(logits)
    grad[np.arange(n), labels] -= 1.0
    return float(loss), grad / n


# --- forward with a cache, then the backward sweep -------------------


def forward_cache(
    params: Params, x: Array, activation: Activation = relu
) -> dict[str, list[Array]]:
    """MLP forward pass that keeps what backward needs. x: (N, D) ->
    {"a": [A[0] = x, ..., A[n_layers-1]], the inputs of the layers,
     "z": [Z[1], ..., Z[n_layers]], the pre-activations}.

    The lists count from 0: a[l] is A[l] but z[l] is Z[l+1].
    z[-1] (N, K) are the logits (no output activation).
    """
    if len(params) == 0:
        raise ValueError(
            "params must hold at least one (W, b) layer, got an empty list"
        )
    a = [np.asarray(x, dtype=float)]
    z: list[Array] = []
    for i, (W, b) in enumerate(params):
        # Layer l = i + 1: Z[l] = A[l-1] @ W[l] + b[l]
        z.append(dense(a[-1], W, b))
        if i < len(params) - 1:
            # A[l] = phi(Z[l]); the last layer stays linear
            a.append(activation(z[-1]))
    return {"a": a, "z": z}


def backward(
    params: Params,
    cache: dict[str, list[Array]],
    dlogits: Array,
    activation_grad: Activation = relu_grad,
) -> Params:
    """Backpropagation: the loss's gradients [(dW, db), ...], one pair
    per layer, dW: (n_in, n_out), db: (n_out,).

    dlogits (N, K): dL/dz[-1], the loss's gradient for the logits;
    cache: from forward_cache. Vectorised over the batch.
    """
    a, z = cache["a"], cache["z"]
    if len(a) != len(params) or len(z) != len(params):
        raise ValueError(
            f"cache is for a {len(z)}-layer net but params has "
            f"{len(params)} layers"
        )
    # delta = Delta[l] = dL/dZ[l], one row per example, from the last
    # layer back to the first.
    delta = np.asarray(dlogits, dtype=float)
    if delta.shape != z[-1].shape:
        raise ValueError(
            f"dlogits must have the logits' shape {z[-1].shape}, "
            f"got {delta.shape}"
        )
    grads: Params = []
    for layer in range(len(params) - 1, -1, -1):
        W = params[layer][0]  # W[l] for l = layer + 1
        # Z[l] = A[l-1] @ W[l] + b[l], so dL/dW[l] = A[l-1]^T Delta[l]
        # (the matrix product sums over the batch) and dL/db[l] is
        # Delta[l] summed over the batch. A[l-1] is a[layer].
        grads.append((a[layer].T @ delta, delta.sum(axis=0)))
        if layer > 0:
            # Chain rule through the layer and its activation:
            # Delta[l-1] = (Delta[l] @ W[l]^T) * phi'(Z[l-1]),
            # and Z[l-1] is z[layer - 1].
            delta = (delta @ W.T) * activation_grad(z[layer - 1])
    return grads[::-1]


def loss_and_grads(
    params: Params,
    x: Array,
    y: Array,
    loss: LossFn = softmax_cross_entropy,
    activation: Activation = relu,
    activation_grad: Activation = relu_grad,
) -> tuple[float, Params]:
    """One forward + backward pass: the loss on (x (N, D), y) and its
    gradients for every (W, b)."""
    cache = forward_cache(params, x, activation)
    value, dlogits = loss(cache["z"][-1], y)
    return value, backward(params, cache, dlogits, activation_grad)


# --- checking gradients ----------------------------------------------


def numerical_gradient(
    f: Callable[[Array], float], x: Array, eps: float = 1e-6
) -> Array:
    """Central finite differences (f(x + eps e_i) - f(x - eps e_i)) / 2 eps,
    in float64. x: any shape -> same shape."""
    if not eps > 0:
        raise ValueError(
            f"eps must be a small positive step such as 1e-6, got {eps!r}"
        )
    # A copy: the caller's array is never touched.
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        up = f(x)
        x[i] = old - eps
        down = f(x)
        x[i] = old
        # Error O(eps^2), vs O(eps) for one-sided differences.
        grad[i] = (up - down) / (2 * eps)
    return grad


def numerical_param_gradients(
    loss_of_params: Callable[[Params], float],
    params: Params,
    eps: float = 1e-6,
) -> Params:
    """Finite-difference gradients [(dW, db), ...] of
    loss_of_params(params) for every weight and bias."""
    params = [
        (np.asarray(W, dtype=np.float64), np.asarray(b, dtype=np.float64))
        for W, b in params
    ]
    grads: Params = []
    for i, (W, b) in enumerate(params):

        def swap(j: int, new: Array) -> Params:
            layer = (new, b) if j == 0 else (W, new)
            return params[:i] + [layer] + params[i + 1 :]

        dW = numerical_gradient(lambda w: loss_of_params(swap(0, w)), W, eps)
        db = numerical_gradient(lambda v: loss_of_params(swap(1, v)), b, eps)
        grads.append((dW, db))
    return grads


def relative_error(a: Array, b: Array) -> float:
    """max |a - b| / max(|a| + |b|): 0 for equal arrays, about 1e-8 or
    less for a correct gradient in float64."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(
            f"arrays must have the same shape, got {a.shape} and {b.shape}"
        )
    scale = np.max(np.abs(a) + np.abs(b), initial=0.0)
    return 0.0 if scale == 0 else float(np.max(np.abs(a - b)) / scale)


# --- minibatch gradient descent --------------------------------------


def accuracy(
    params: Params, x: Array, y: Array, activation: Activation = relu
) -> float:
    """Fraction of rows of x (N, D) whose largest logit is at the true
    label y (N,)."""
    y = np.asarray(y)
    if y.shape != (len(x),):
        raise ValueError(
            f"y must have shape ({len(x)},) (one label per row of x), "
            f"got {y.shape}"
        )
    logits = mlp_forward(params, x, activation)
    return float(np.mean(logits.argmax(axis=1) == y))


def sgd_train(
    params: Params,
    x: Array,
    y: Array,
    *,
    lr: float = 0.1,
    epochs: int = 10,
    batch_size: int = 32,
    momentum: float = 0.0,
    loss: LossFn = softmax_cross_entropy,
    activation: Activation = relu,
    activation_grad: Activation = relu_grad,
    x_test: Array | None = None,
    y_test: Array | None = None,
    seed: int = 0,
) -> tuple[Params, dict[str, list[float]]]:
    """Minibatch stochastic gradient descent on x (N, D), y (N,),
    starting from a copy of `params`.

    Each epoch visits the examples once in a fresh random order,
    batch_size at a time; each step is v <- momentum v + g,
    params <- params - lr v (plain SGD when momentum = 0).
    Returns the trained params and a history: "step_loss" (one per
    step), and per epoch "train_loss", "train_acc" (and "test_loss",
    "test_acc" when test data is given; the accuracies only for integer
    class labels y). Stops early, keeping the history so far, if the
    loss becomes NaN or infinite.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y)
    if x.ndim != 2 or len(y) != len(x):
        raise ValueError(
            "x must have shape (N, D) and y shape (N,), "
            f"got {x.shape} and {y.shape}"
        )
    if lr <= 0 or epochs < 1 or batch_size < 1 or not 0 <= momentum < 1:
        raise ValueError(
            "need lr > 0, epochs >= 1, batch_size >= 1, "
            f"0 <= momentum < 1; got lr={lr}, epochs={epochs}, "
            f"batch_size={batch_size}, momentum={momentum}"
        )
    if (x_test is None) != (y_test is None):
        raise ValueError("give both x_test and y_test, or neither")
    params = [
        (np.array(W, dtype=float), np.array(b, dtype=float))
        for W, b in params
    ]
    velocity = [(np.zeros_like(W), np.zeros_like(b)) for W, b in params]
    rng = np.random.default_rng(training_seed(seed))  # seed + $GENAI_SEED
    # Accuracy only makes sense for integer class labels.
    classify = y.ndim == 1 and np.issubdtype(y.dtype, np.integer)
    parts = ["train"] + (["test"] if x_test is not None else [])
    metrics = ["loss", "acc"] if classify else ["loss"]
    keys = ["step_loss"] + [f"{p}_{m}" for p in parts for m in metrics]
    history: dict[str, list[float]] = {k: [] for k in keys}
    # A diverging run is reported in the history, not warned about.
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(epochs):
            order = rng.permutation(len(x))
            for start in range(0, len(x), batch_size):
                idx = order[start : start + batch_size]
                value, grads = loss_and_grads(
                    params, x[idx], y[idx], loss, activation, activation_grad
                )
                history["step_loss"].append(value)
                if not np.isfinite(value):
                    return params, history
                velocity = [
                    (momentum * vW + gW, momentum * vb + gb)
                    for (vW, vb), (gW, gb) in zip(velocity, grads)
                ]
                params = [
                    (W - lr * vW, b - lr * vb)
                    for (W, b), (vW, vb) in zip(params, velocity)
                ]
            data = {"train": (x, y), "test": (x_test, y_test)}
            for part, (xs, ys) in data.items():
                if xs is not None:
                    out = mlp_forward(params, xs, activation)
                    history[f"{part}_loss"].append(loss(out, ys)[0])
                    if classify:
                        history[f"{part}_acc"].append(
                            accuracy(params, xs, ys, activation)
                        )
    return params, history
