"""Layers of neurons in NumPy: a dense layer as a matrix product, an MLP forward pass, softmax.

Chapter 2 teaches this code. A layer of n_out neurons that all read the same n_in inputs is
one matrix product: the N x n_in batch times the n_in x n_out weight matrix, plus a bias row.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from genai_lib.scratch.neuron import relu

Params = list[tuple[np.ndarray, np.ndarray]]


def init_mlp(sizes: list[int], seed: int = 0, scale: str = "he") -> Params:
    """Random weights for an MLP with layer widths `sizes` = [D, h1, ..., K].

    Returns one (W, b) per layer, W: (n_in, n_out) Gaussian with std sqrt(2 / n_in) for
    scale="he" (He et al. 2015, keeps ReLU activations at a steady size) or sqrt(1 / n_in)
    for scale="xavier"/"lecun" (suits tanh/sigmoid), or 1 for scale="unit"; b: (n_out,) zeros.
    """
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"sizes must list at least 2 positive layer widths, got {sizes}")
    gains = {"he": 2.0, "xavier": 1.0, "lecun": 1.0}
    if scale not in (*gains, "unit"):
        raise ValueError(f"scale must be one of 'he', 'xavier', 'lecun', 'unit', got {scale!r}")
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        std = 1.0 if scale == "unit" else np.sqrt(gains[scale] / n_in)
        params.append((rng.normal(0.0, std, size=(n_in, n_out)), np.zeros(n_out)))
    return params


def dense(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A fully connected layer, x @ W + b. x: (N, n_in), W: (n_in, n_out), b: (n_out,) -> (N, n_out)."""
    x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"x must have shape (N, n_in), got {x.shape}")
    if W.ndim != 2 or W.shape[0] != x.shape[1]:
        raise ValueError(f"W must have shape ({x.shape[1]}, n_out) to match x of shape "
                         f"{x.shape}, got {W.shape}")
    if b.shape != (W.shape[1],):
        raise ValueError(f"b must have shape ({W.shape[1]},) to match W of shape {W.shape}, "
                         f"got {b.shape}")
    # Row i of the result is the n_out neurons' weighted sums for sample i; b is broadcast.
    return x @ W + b


def mlp_forward(params: Params, x: np.ndarray,
                activation: Callable[[np.ndarray], np.ndarray] = relu,
                output: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """Forward pass of an MLP. x: (N, D) -> (N, K); `activation` after every hidden layer,
    `output` (e.g. softmax; None = identity) after the last one."""
    if len(params) == 0:
        raise ValueError("params must hold at least one (W, b) layer, got an empty list")
    h = np.asarray(x, dtype=float)
    for W, b in params[:-1]:
        h = activation(dense(h, W, b))  # hidden layer: weighted sums, then non-linearity
    z = dense(h, *params[-1])           # output layer: weighted sums ("logits")
    return z if output is None else output(z)


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax exp(z_k) / sum_j exp(z_j), stable. z: (N, K) -> (N, K), rows sum to 1."""
    z = np.asarray(z, dtype=float)
    if z.ndim != 2:
        raise ValueError(f"z must have shape (N, K), got {z.shape}")
    # Subtracting the row maximum changes nothing mathematically (it cancels in the ratio)
    # but keeps exp() from overflowing: the largest exponent is exp(0) = 1.
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
