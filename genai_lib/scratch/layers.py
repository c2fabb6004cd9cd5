"""Layers of neurons in NumPy: a dense layer as a matrix product, an MLP
forward pass, softmax.

Chapter 2 teaches this code. A layer of n_out neurons that all read the
same n_in inputs is one matrix product plus a bias row, Z = X @ W + b:
X is the (N, n_in) batch with one example per row, W the (n_in, n_out)
weight matrix with one column per neuron, b the (n_out,) bias vector.
An MLP of n_layers layers computes A[0] = X,
Z[l] = A[l-1] @ W[l] + b[l] and A[l] = phi(Z[l]) for l = 1, ..., n_layers
(the formulas' A^(l), Z^(l), W^(l); the last layer's Z are the logits).
The code's 0-based list `params` holds layer l's (W[l], b[l]) at
params[l - 1].
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from genai_lib.runtime import training_seed

from genai_lib.scratch.neuron import relu

Params = list[tuple[np.ndarray, np.ndarray]]


def init_mlp(sizes: list[int], seed: int = 0, scale: str = "he") -> Params:
    """Random weights for an MLP with layer widths `sizes` = [D, ..., K].

    Returns one (W, b) per layer: W: (n_in, n_out) Gaussian with std
    sqrt(2 / n_in) for scale="he" (He et al. 2015, keeps ReLU activations
    at a steady size), sqrt(1 / n_in) for scale="xavier" or "lecun" (suits
    tanh and sigmoid), or 1 for scale="unit"; b: (n_out,) zeros.
    """
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(
            f"sizes must list at least 2 positive layer widths, got {sizes}"
        )
    gains = {"he": 2.0, "xavier": 1.0, "lecun": 1.0}
    if scale not in (*gains, "unit"):
        raise ValueError(
            "scale must be one of 'he', 'xavier', 'lecun', 'unit', "
            f"got {scale!r}"
        )
    rng = np.random.default_rng(training_seed(seed))  # seed + $GENAI_SEED
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        std = 1.0 if scale == "unit" else np.sqrt(gains[scale] / n_in)
        W = rng.normal(0.0, std, size=(n_in, n_out))
        params.append((W, np.zeros(n_out)))
    return params


def dense(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A fully connected layer, Z = x @ W + b.

    x: (N, n_in), W: (n_in, n_out), b: (n_out,) -> Z: (N, n_out).
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"x must have shape (N, n_in), got {x.shape}")
    if W.ndim != 2 or W.shape[0] != x.shape[1]:
        raise ValueError(
            f"W must have shape ({x.shape[1]}, n_out) to match x of "
            f"shape {x.shape}, got {W.shape}"
        )
    if b.shape != (W.shape[1],):
        raise ValueError(
            f"b must have shape ({W.shape[1]},) to match W of shape "
            f"{W.shape}, got {b.shape}"
        )
    # Row i of Z holds the n_out neurons' weighted sums for example i;
    # b is broadcast (added to every row).
    return x @ W + b


def mlp_forward(
    params: Params,
    x: np.ndarray,
    activation: Callable[[np.ndarray], np.ndarray] = relu,
    output: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """Forward pass of an MLP. x: (N, D) -> (N, K).

    `activation` (phi) follows every hidden layer, `output` (e.g.
    softmax; None = identity) follows the last one.
    """
    if len(params) == 0:
        raise ValueError(
            "params must hold at least one (W, b) layer, got an empty list"
        )
    h = np.asarray(x, dtype=float)  # A[0] = X
    for W, b in params[:-1]:
        # Hidden layer: A[l] = phi(A[l-1] @ W[l] + b[l]).
        h = activation(dense(h, W, b))
    # Output layer: weighted sums only, its Z (the "logits").
    z = dense(h, *params[-1])
    return z if output is None else output(z)


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax exp(z_k) / sum_j exp(z_j), computed stably.

    z: (N, K) -> (N, K), every row sums to 1.
    """
    z = np.asarray(z, dtype=float)
    if z.ndim != 2:
        raise ValueError(f"z must have shape (N, K), got {z.shape}")
    # Subtracting the row maximum changes nothing mathematically (it
    # cancels in the ratio) but keeps exp() from overflowing: the largest
    # exponent is exp(0) = 1.
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
