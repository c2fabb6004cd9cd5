"""Learning in NumPy: losses, backpropagation, gradient checks and minibatch gradient descent.

Chapter 3 teaches this code. Training a network means lowering a loss L(params) by
gradient descent, params <- params - lr * dL/dparams; backpropagation computes every
gradient in one backward sweep by applying the chain rule layer by layer
(Rumelhart, Hinton & Williams 1986). The layers themselves come from `layers.py`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from genai_lib.scratch.layers import Params, dense, mlp_forward, softmax
from genai_lib.scratch.neuron import relu, relu_grad

Array = np.ndarray
Activation = Callable[[Array], Array]
LossFn = Callable[[Array, Array], tuple[float, Array]]


# --- losses: each returns (loss, dloss/dprediction) -------------------------------------

def mse_loss(pred: Array, target: Array) -> tuple[float, Array]:
    """Mean squared error mean((pred - target)^2) and its gradient. pred, target: (N, K) -> (float, (N, K))."""
    pred, target = np.asarray(pred, dtype=float), np.asarray(target, dtype=float)
    if pred.shape != target.shape:
        raise ValueError(f"target must have the shape of pred {pred.shape}, got {target.shape}")
    diff = pred - target
    # The mean runs over all N*K entries (like torch's mse_loss), hence the 2 / size.
    return float(np.mean(diff ** 2)), 2.0 * diff / diff.size


def _check_labels(logits: Array, labels: Array) -> tuple[Array, Array]:
    """Validate logits (N, K) and integer labels (N,) in [0, K)."""
    logits, labels = np.asarray(logits, dtype=float), np.asarray(labels)
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape (N, K), got {logits.shape}")
    if labels.shape != (logits.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integers of shape ({logits.shape[0]},), "
                         f"got {labels.dtype} of shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= logits.shape[1]):
        raise ValueError(f"labels must lie in [0, {logits.shape[1]}), got values from "
                         f"{labels.min()} to {labels.max()}")
    return logits, labels


def log_softmax(logits: Array) -> Array:
    """log softmax(z), stable (log-sum-exp with the row max taken out). logits: (N, K) -> (N, K)."""
    z = np.asarray(logits, dtype=float)
    if z.ndim != 2:
        raise ValueError(f"logits must have shape (N, K), got {z.shape}")
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def softmax_cross_entropy(logits: Array, labels: Array) -> tuple[float, Array]:
    """Mean cross-entropy -log softmax(z)[y] and its gradient (softmax(z) - onehot(y)) / N.

    logits: (N, K) float, labels: (N,) int in [0, K) -> (float, (N, K)).
    """
    logits, labels = _check_labels(logits, labels)
    n = len(labels)
    loss = -log_softmax(logits)[np.arange(n), labels].mean()
    # d/dz of -log softmax(z)[y] is softmax(z) - onehot(y): the softmax's Jacobian and the
    # log's 1/p cancel, so the gradient is just "predicted minus true" probabilities.
    grad = softmax(logits)
    grad[np.arange(n), labels] -= 1.0
    return float(loss), grad / n


# --- forward with a cache, then the backward sweep ---------------------------------------

def forward_cache(params: Params, x: Array, activation: Activation = relu) -> dict[str, list[Array]]:
    """MLP forward pass that keeps what backward needs. x: (N, D) ->
    {"a": [x, a1, ..., a_{L-1}] inputs of each layer, "z": [z1, ..., zL] pre-activations};
    z[-1] (N, K) are the logits (no output activation)."""
    if len(params) == 0:
        raise ValueError("params must hold at least one (W, b) layer, got an empty list")
    a = [np.asarray(x, dtype=float)]
    z: list[Array] = []
    for i, (W, b) in enumerate(params):
        z.append(dense(a[-1], W, b))          # z_l = a_{l-1} W_l + b_l
        if i < len(params) - 1:
            a.append(activation(z[-1]))       # a_l = phi(z_l); the last layer stays linear
    return {"a": a, "z": z}


def backward(params: Params, cache: dict[str, list[Array]], dlogits: Array,
             activation_grad: Activation = relu_grad) -> Params:
    """Backpropagation: gradients [(dW_l (n_in, n_out), db_l (n_out,)), ...] of the loss,
    given dlogits = dL/dz_L (N, K) and the forward cache; vectorised over the batch."""
    a, z = cache["a"], cache["z"]
    if len(a) != len(params) or len(z) != len(params):
        raise ValueError(f"cache is for a {len(z)}-layer net but params has {len(params)} layers")
    delta = np.asarray(dlogits, dtype=float)  # delta_l = dL/dz_l, one row per example
    if delta.shape != z[-1].shape:
        raise ValueError(f"dlogits must have the logits' shape {z[-1].shape}, got {delta.shape}")
    grads: Params = []
    for layer in range(len(params) - 1, -1, -1):
        W = params[layer][0]
        # z_l = a_{l-1} W_l + b_l, so dL/dW_l = a_{l-1}^T delta_l (summed over the batch by the
        # matrix product) and dL/db_l = sum over the batch of delta_l.
        grads.append((a[layer].T @ delta, delta.sum(axis=0)))
        if layer > 0:
            # Chain rule through the layer and its activation: delta_{l-1} = (delta_l W_l^T) * phi'(z_{l-1}).
            delta = (delta @ W.T) * activation_grad(z[layer - 1])
    return grads[::-1]


def loss_and_grads(params: Params, x: Array, y: Array, loss: LossFn = softmax_cross_entropy,
                   activation: Activation = relu,
                   activation_grad: Activation = relu_grad) -> tuple[float, Params]:
    """One forward + backward pass: the loss on (x (N, D), y) and its gradients for every (W, b)."""
    cache = forward_cache(params, x, activation)
    value, dlogits = loss(cache["z"][-1], y)
    return value, backward(params, cache, dlogits, activation_grad)


# --- checking gradients --------------------------------------------------------------------

def numerical_gradient(f: Callable[[Array], float], x: Array, eps: float = 1e-6) -> Array:
    """Central finite differences (f(x + eps e_i) - f(x - eps e_i)) / 2 eps, in float64. x: any shape -> same."""
    if not eps > 0:
        raise ValueError(f"eps must be a small positive step such as 1e-6, got {eps!r}")
    x = np.array(x, dtype=np.float64)  # a copy: the caller's array is never touched
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        up = f(x)
        x[i] = old - eps
        down = f(x)
        x[i] = old
        grad[i] = (up - down) / (2 * eps)  # error O(eps^2), vs O(eps) for one-sided differences
    return grad


def numerical_param_gradients(loss_of_params: Callable[[Params], float], params: Params,
                              eps: float = 1e-6) -> Params:
    """Finite-difference gradients [(dW, db), ...] of loss_of_params(params) for every weight and bias."""
    params = [(np.asarray(W, dtype=np.float64), np.asarray(b, dtype=np.float64)) for W, b in params]
    grads: Params = []
    for i, (W, b) in enumerate(params):
        def swap(j: int, new: Array) -> Params:
            layer = (new, b) if j == 0 else (W, new)
            return params[:i] + [layer] + params[i + 1:]
        grads.append((numerical_gradient(lambda w: loss_of_params(swap(0, w)), W, eps),
                      numerical_gradient(lambda v: loss_of_params(swap(1, v)), b, eps)))
    return grads


def relative_error(a: Array, b: Array) -> float:
    """max |a - b| / max(|a| + |b|): 0 for equal arrays, about 1e-8 or less for a correct gradient in float64."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"arrays must have the same shape, got {a.shape} and {b.shape}")
    scale = np.max(np.abs(a) + np.abs(b), initial=0.0)
    return 0.0 if scale == 0 else float(np.max(np.abs(a - b)) / scale)


# --- minibatch gradient descent --------------------------------------------------------------

def accuracy(params: Params, x: Array, y: Array, activation: Activation = relu) -> float:
    """Fraction of rows of x (N, D) whose largest logit is at the true label y (N,)."""
    y = np.asarray(y)
    if y.shape != (len(x),):
        raise ValueError(f"y must have shape ({len(x)},) (one label per row of x), got {y.shape}")
    return float(np.mean(mlp_forward(params, x, activation).argmax(axis=1) == y))


def sgd_train(params: Params, x: Array, y: Array, *, lr: float = 0.1, epochs: int = 10,
              batch_size: int = 32, momentum: float = 0.0, loss: LossFn = softmax_cross_entropy,
              activation: Activation = relu, activation_grad: Activation = relu_grad,
              x_test: Array | None = None, y_test: Array | None = None,
              seed: int = 0) -> tuple[Params, dict[str, list[float]]]:
    """Minibatch stochastic gradient descent on x (N, D), y (N,) from a copy of `params`.

    Each epoch visits the examples once in a fresh random order, B at a time; each step is
    v <- momentum v + g, params <- params - lr v (plain SGD when momentum = 0).
    Returns the trained params and a history: "step_loss" (one per step), and per epoch
    "train_loss", "train_acc" (and "test_loss", "test_acc" when test data is given; the
    accuracies only for integer class labels y).
    Stops early, keeping the history so far, if the loss becomes NaN or infinite.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y)
    if x.ndim != 2 or len(y) != len(x):
        raise ValueError(f"x must have shape (N, D) and y shape (N,), got {x.shape} and {y.shape}")
    if lr <= 0 or epochs < 1 or batch_size < 1 or not 0 <= momentum < 1:
        raise ValueError(f"need lr > 0, epochs >= 1, batch_size >= 1, 0 <= momentum < 1; "
                         f"got lr={lr}, epochs={epochs}, batch_size={batch_size}, momentum={momentum}")
    if (x_test is None) != (y_test is None):
        raise ValueError("give both x_test and y_test, or neither")
    params = [(np.array(W, dtype=float), np.array(b, dtype=float)) for W, b in params]
    velocity = [(np.zeros_like(W), np.zeros_like(b)) for W, b in params]
    rng = np.random.default_rng(seed)
    classify = y.ndim == 1 and np.issubdtype(y.dtype, np.integer)  # accuracy only makes sense then
    parts = ["train"] + (["test"] if x_test is not None else [])
    keys = ["step_loss"] + [f"{p}_{m}" for p in parts for m in (["loss", "acc"] if classify else ["loss"])]
    history: dict[str, list[float]] = {k: [] for k in keys}
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is reported, not warned about
        for _ in range(epochs):
            order = rng.permutation(len(x))
            for start in range(0, len(x), batch_size):
                idx = order[start:start + batch_size]
                value, grads = loss_and_grads(params, x[idx], y[idx], loss, activation, activation_grad)
                history["step_loss"].append(value)
                if not np.isfinite(value):
                    return params, history
                velocity = [(momentum * vW + gW, momentum * vb + gb)
                            for (vW, vb), (gW, gb) in zip(velocity, grads)]
                params = [(W - lr * vW, b - lr * vb) for (W, b), (vW, vb) in zip(params, velocity)]
            for part, (xs, ys) in {"train": (x, y), "test": (x_test, y_test)}.items():
                if xs is not None:
                    history[f"{part}_loss"].append(loss(mlp_forward(params, xs, activation), ys)[0])
                    if classify:
                        history[f"{part}_acc"].append(accuracy(params, xs, ys, activation))
    return params, history
