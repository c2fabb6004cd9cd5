"""Neural networks as `torch.nn.Module`s: the MLP builder `mlp`, a configurable `MLP` and a
small CNN for 8x8 digits.

Sizes are arguments; nothing is hard-coded to a device (the weights live where `.to()`
puts them, and inputs must be on the same device). Chapter 4 explains every option:
activations, normalisation, residual connections and weight initialisation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from genai_lib import checks

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),  # 0.2: the slope DCGAN uses (Radford et al., 2016)
    "gelu": nn.GELU,
    "elu": nn.ELU,
    "identity": nn.Identity,
}
NORMS = (None, "batch", "layer")
Activation = str | Callable[[], nn.Module] | None


def activation_layer(name: Activation) -> nn.Module:
    """A fresh activation module from a name in ACTIVATIONS, a factory, or None (identity)."""
    if name is None:
        return nn.Identity()
    if isinstance(name, str):
        if name.lower() not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)} or a factory "
                             f"returning an nn.Module, got {name!r}")
        return ACTIVATIONS[name.lower()]()
    if callable(name):
        module = name()
        if not isinstance(module, nn.Module):
            raise TypeError(f"activation factory must return an nn.Module, "
                            f"got {type(module).__name__}")
        return module
    raise TypeError(f"activation must be a string, a factory or None, got {type(name).__name__}")


def _check_sizes(sizes: Sequence[int], dropout: float) -> list[int]:
    """Layer widths [n_in, ..., n_out] as a list, and the dropout rate, checked."""
    sizes = list(sizes)
    if len(sizes) < 2 or not all(checks.is_positive_int(s) for s in sizes):
        raise ValueError(f"sizes must list at least 2 positive integers "
                         f"[n_in, ..., n_out], got {sizes!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    return [int(s) for s in sizes]  # NumPy integers too


def mlp(sizes: Sequence[int], activation: Activation = "relu", dropout: float = 0.0,
        out_activation: Activation = None) -> nn.Sequential:
    """The plain MLP as an nn.Sequential: Linear -> activation [-> Dropout] per hidden width,
    then a last Linear [-> out_activation]. sizes [n_in, h1, ..., n_out]: (B, n_in) -> (B, n_out).

    Layers are created input to output, so a seed fixes the weights. `MLP` is the module
    with normalisation, residual connections and each hidden layer's output (`activations`).
    """
    sizes = _check_sizes(sizes, dropout)
    activation_layer(activation)  # fail early on a bad name
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-2], sizes[1:-1]):
        layers += [nn.Linear(a, b), activation_layer(activation)]
        layers += [nn.Dropout(dropout)] if dropout > 0 else []
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    if out_activation is not None:
        layers.append(activation_layer(out_activation))
    return nn.Sequential(*layers)


class Block(nn.Module):
    """One hidden layer: Linear -> norm -> activation -> dropout, plus x if residual. (B, i) -> (B, o)."""

    def __init__(self, n_in: int, n_out: int, activation: Activation = "relu",
                 dropout: float = 0.0, norm: str | None = None, residual: bool = False) -> None:
        super().__init__()
        self.linear = nn.Linear(n_in, n_out)
        # Batch norm (Ioffe & Szegedy, 2015) / layer norm (Ba et al., 2016) before the activation.
        self.norm = (nn.BatchNorm1d(n_out) if norm == "batch" else
                     nn.LayerNorm(n_out) if norm == "layer" else nn.Identity())
        self.act = activation_layer(activation)
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        # A skip connection x + f(x) (He et al., 2016) needs equal input and output sizes.
        self.residual = residual and n_in == n_out

    def forward(self, x: Tensor) -> Tensor:
        """(B, n_in) -> (B, n_out)."""
        h = self.drop(self.act(self.norm(self.linear(x))))
        return x + h if self.residual else h


class MLP(nn.Module):
    """A multi-layer perceptron: sizes [n_in, h1, ..., n_out]; (B, n_in) or (B, ...) -> (B, n_out).

    Hidden layers are `Block`s; the last layer is a plain Linear followed by
    `out_activation` (None: raw scores/logits, e.g. for cross-entropy).
    Inputs with more than 2 dims (e.g. images (B, 1, 8, 8)) are flattened.
    """

    def __init__(self, sizes: Sequence[int], activation: Activation = "relu",
                 dropout: float = 0.0, norm: str | None = None, residual: bool = False,
                 out_activation: Activation = None) -> None:
        super().__init__()
        sizes = _check_sizes(sizes, dropout)
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
        activation_layer(activation)  # fail early on a bad name
        self.sizes = sizes
        self.hidden = nn.ModuleList(
            Block(a, b, activation, dropout, norm, residual) for a, b in zip(sizes[:-2], sizes[1:-1]))
        self.out = nn.Linear(sizes[-2], sizes[-1])
        self.out_act = activation_layer(out_activation)

    def _flat(self, x: Tensor) -> Tensor:
        checks.tensor("x", x, self, f"(B, {self.sizes[0]})")
        if x.dim() > 2:
            x = x.flatten(1)
        if x.dim() != 2 or x.shape[1] != self.sizes[0]:
            raise ValueError(f"x must have shape (B, {self.sizes[0]}), got {tuple(x.shape)}")
        return x

    def forward(self, x: Tensor) -> Tensor:
        """(B, n_in) -> (B, n_out)."""
        x = self._flat(x)
        for block in self.hidden:
            x = block(x)
        return self.out_act(self.out(x))

    def activations(self, x: Tensor) -> list[Tensor]:
        """The output of every hidden layer: (B, n_in) -> [(B, h1), (B, h2), ...]."""
        x, acts = self._flat(x), []
        for block in self.hidden:
            x = block(x)
            acts.append(x)
        return acts


@dataclass
class CNNConfig:
    """Sizes of `CNN`: image (in_channels, image_size, image_size) -> `classes` scores."""

    in_channels: int = 1
    image_size: int = 8
    channels: tuple[int, ...] = (16, 32)
    hidden: int = 64
    classes: int = 10
    dropout: float = 0.0


class CNN(nn.Module):
    """A small convolutional net: [conv3x3 -> ReLU -> maxpool2] per entry of `channels`, then an MLP head.

    (B, C, S, S) -> (B, classes). Each pooling halves S (8 -> 4 -> 2 for the 8x8 digits).
    """

    def __init__(self, channels: Sequence[int] = (16, 32), classes: int = 10, hidden: int = 64,
                 in_channels: int = 1, image_size: int = 8, dropout: float = 0.0) -> None:
        super().__init__()
        self.config = cfg = CNNConfig(in_channels, image_size, tuple(channels), hidden, classes,
                                      dropout)
        if not cfg.channels or not all(checks.is_positive_int(c) for c in cfg.channels):
            raise ValueError(f"channels must be a non-empty list of positive ints, got {channels!r}")
        side = cfg.image_size // 2 ** len(cfg.channels)
        if side < 1:
            raise ValueError(f"{len(cfg.channels)} pooling stages shrink a {cfg.image_size}x"
                             f"{cfg.image_size} image to nothing; use fewer `channels`")
        chans = [cfg.in_channels, *cfg.channels]
        self.convs = nn.ModuleList(
            nn.Sequential(nn.Conv2d(a, b, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
            for a, b in zip(chans[:-1], chans[1:]))
        sizes = [cfg.channels[-1] * side * side] + ([hidden] if hidden else []) + [classes]
        self.head = MLP(sizes, dropout=dropout)

    def forward(self, x: Tensor) -> Tensor:
        """(B, C, S, S) -> (B, classes)."""
        return self.head(self.features(x)[-1])

    def features(self, x: Tensor) -> list[Tensor]:
        """Feature maps after each conv stage: (B, C, S, S) -> [(B, c1, S/2, S/2), ...]."""
        cfg = self.config
        expected = (cfg.in_channels, cfg.image_size, cfg.image_size)
        checks.tensor("x", x, self, f"(B, {', '.join(map(str, expected))})")
        if x.dim() == 2 and x.shape[1] == cfg.in_channels * cfg.image_size ** 2:
            x = x.view(-1, *expected)  # accept flat pixels (B, 64) too
        if x.dim() != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"x must have shape (B, {', '.join(map(str, expected))}), "
                             f"got {tuple(x.shape)}")
        maps = []
        for conv in self.convs:
            x = conv(x)
            maps.append(x)
        return maps


def init_weights(model: nn.Module, scheme: str = "he") -> nn.Module:
    """Re-initialise every Linear/Conv weight: 'xavier' (Glorot & Bengio, 2010), 'he' (He et al., 2015),
    or 'default' (PyTorch's); biases to 0. Returns the model (in place)."""
    schemes = ("xavier", "he", "default")
    if scheme not in schemes:
        raise ValueError(f"scheme must be one of {schemes}, got {scheme!r}")
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            if scheme == "default":
                module.reset_parameters()
                continue
            if scheme == "xavier":  # Var(w) = 2 / (fan_in + fan_out): keeps sigmoid/tanh signals
                nn.init.xavier_normal_(module.weight)
            else:  # Var(w) = 2 / fan_in: ReLU zeroes half its inputs, so double the variance
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return model


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of scalar parameters (weights + biases) in `model`."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def layer_grad_norms(model: nn.Module, x: Tensor, y: Tensor,
                     loss_fn: Callable[[Tensor, Tensor], Tensor] | None = None) -> list[float]:
    """L2 norm of d loss / d W for every Linear/Conv weight, input to output, on one batch.

    x: (B, ...), y: (B,) class labels (loss_fn defaults to cross-entropy). Gradients are cleared after.
    """
    loss_fn = loss_fn or nn.functional.cross_entropy
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be a function (output, y) -> loss, e.g. "
                        f"torch.nn.functional.cross_entropy, got {loss_fn!r}")
    weights = [m.weight for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    if not weights:
        raise ValueError("model has no Linear or Conv2d layers to measure")
    with checks.train_mode(model):  # once the graph is built the mode no longer matters
        out = model(x)
    if loss_fn is nn.functional.cross_entropy:  # the default: y must be class indices
        checks.labels("y", y, len(out), out.shape[1])
    grads = torch.autograd.grad(loss_fn(out, y), weights)
    return [float(g.norm()) for g in grads]
