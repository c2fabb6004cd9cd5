"""Normalizing flows (Dinh et al. 2017, RealNVP): an invertible network f from data x to
noise z = f(x) ~ N(0, I), so the density of x is exact by the change of variables,

    log p(x) = log N(f(x); 0, I) + log |det df/dx|,

and sampling is one pass backwards, x = f^{-1}(z).

Shapes: x, z (B, D); a log-determinant (B,). Every layer maps towards the noise with
`forward(x) -> (y, logdet)` and back with `inverse(y) -> (x, logdet of the inverse)`.
Data on a grid of `levels` values (pixels 0..16 of the 8x8 digits) are dequantised: each
value k becomes (k + u) / levels, u ~ U[0, 1), so a density on (0, 1)^D applies to them.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from genai_lib import checks, runtime
from genai_lib.models import mlp
from genai_lib.train import Batch, Step

LOG_2PI = math.log(2 * math.pi)


class AffineCoupling(nn.Module):
    """One affine coupling layer: the coordinates where `mask` is 1 pass unchanged and set a
    scale s and shift t for the others, y = x * exp(s) + t (s, t zero where mask is 1).
    log |det| = sum of s: the Jacobian is triangular. (B, D) -> (B, D), (B,)."""

    def __init__(self, mask: Tensor, hidden: int) -> None:
        super().__init__()
        mask = torch.as_tensor(mask, dtype=torch.float32)
        if mask.dim() != 1 or not ((mask == 0) | (mask == 1)).all() or int(mask.sum()) in (0, len(mask)):
            raise ValueError("mask must be a vector of 0s and 1s with at least one of each "
                             "(1: the coordinates that pass unchanged)")
        self.register_buffer("mask", mask)
        dim = len(mask)
        self.net = mlp([dim, hidden, hidden, 2 * dim])
        nn.init.zeros_(self.net[-1].weight)  # start as the identity: s = t = 0
        nn.init.zeros_(self.net[-1].bias)
        self.scale = nn.Parameter(torch.ones(dim))  # s = scale * tanh(raw): bounded at first

    def shift_scale(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """s and t (B, D) from the unchanged coordinates of x, zero on them."""
        raw_s, t = self.net(x * self.mask).chunk(2, dim=1)
        free = 1 - self.mask
        return self.scale * torch.tanh(raw_s) * free, t * free

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Towards the noise: y = x * exp(s) + t and log |det dy/dx| = sum(s), (B, D), (B,)."""
        s, t = self.shift_scale(x)
        return x * torch.exp(s) + t, s.sum(1)

    def inverse(self, y: Tensor) -> tuple[Tensor, Tensor]:
        """Back to the data: x = (y - t) * exp(-s), s and t from the same unchanged part."""
        s, t = self.shift_scale(y)
        return (y - t) * torch.exp(-s), -s.sum(1)


class Logit(nn.Module):
    """Data in (0, 1) to the real line: y = logit(a + (1 - 2a) x), with a small a keeping
    y finite at 0 and 1 (RealNVP's preprocessing). (B, D) -> (B, D), (B,)."""

    def __init__(self, alpha: float = 0.05) -> None:
        super().__init__()
        if not 0.0 < alpha < 0.5:
            raise ValueError(f"alpha must be in (0, 0.5), e.g. 0.05, got {alpha!r}")
        self.alpha = alpha

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """y = log p - log(1 - p), p = a + (1 - 2a) x; log |det| = sum log((1-2a)/(p(1-p)))."""
        p = self.alpha + (1 - 2 * self.alpha) * x
        y = torch.log(p) - torch.log1p(-p)
        logdet = (math.log(1 - 2 * self.alpha) - torch.log(p) - torch.log1p(-p)).sum(1)
        return y, logdet

    def inverse(self, y: Tensor) -> tuple[Tensor, Tensor]:
        """x = (sigmoid(y) - a) / (1 - 2a), and the inverse's log-determinant."""
        p = torch.sigmoid(y)
        x = (p - self.alpha) / (1 - 2 * self.alpha)
        logdet = (torch.log(p) + torch.log1p(-p) - math.log(1 - 2 * self.alpha)).sum(1)
        return x, logdet


class Flow(nn.Module):
    """A stack of invertible layers from data to N(0, I) noise, and back.

    levels: the data are values on a grid of `levels` steps in [0, 1] (e.g. 17 for the
    digits' 0..16): the flow models them dequantised (`dequantize`) and `sample` returns
    them on the data's scale. None: continuous data, modelled as they are.
    """

    def __init__(self, layers: list[nn.Module], dim: int, levels: int | None = None) -> None:
        super().__init__()
        self.layers, self.data_dim = nn.ModuleList(layers), checks.positive_int("dim", dim)
        if levels is not None:
            checks.positive_int("levels", levels, low=2)
        self.levels = levels

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """z = f(x) (B, D) and log |det df/dx| (B,), summed over the layers."""
        checks.rows("x", x, self.data_dim, self)
        logdet = x.new_zeros(len(x))
        for layer in self.layers:
            x, ld = layer(x)
            logdet = logdet + ld
        return x, logdet

    def inverse(self, z: Tensor) -> Tensor:
        """x = f^{-1}(z): through the layers in reverse order, (B, D) -> (B, D)."""
        checks.rows("z", z, self.data_dim, self)
        for layer in reversed(self.layers):
            z, _ = layer.inverse(z)
        return z

    def log_prob(self, x: Tensor) -> Tensor:
        """The exact log-density log p(x) (B,) in nats: log N(f(x)) + log |det df/dx|."""
        z, logdet = self(x)
        return -0.5 * (z ** 2 + LOG_2PI).sum(1) + logdet


def masks(dim: int, n: int) -> list[Tensor]:
    """n coupling masks (dim,): in turn even/odd coordinates and first/second half, each
    followed by its complement, so every coordinate is transformed in every pair."""
    idx = torch.arange(dim)
    patterns = [idx % 2 == 0, idx % 2 == 1, idx < dim // 2, idx >= dim // 2]
    return [patterns[i % 4].float() for i in range(n)]


def realnvp(dim: int, hidden: int = 256, couplings: int = 8, levels: int | None = None,
            alpha: float = 0.05) -> Flow:
    """A RealNVP-style flow: `couplings` affine coupling layers with MLPs of width `hidden`;
    for grid data (`levels`) a `Logit` layer first, as for images in (0, 1)."""
    checks.positive_int("couplings", couplings, low=2)
    layers: list[nn.Module] = [Logit(alpha)] if levels is not None else []
    layers += [AffineCoupling(m, hidden) for m in masks(dim, couplings)]
    return Flow(layers, dim, levels)


def dequantize(x: Tensor, levels: int, generator: torch.Generator | None = None) -> Tensor:
    """Grid values k / (levels - 1) in [0, 1] -> (k + u) / levels in (0, 1), u ~ U[0, 1)."""
    k = torch.round(x * (levels - 1))
    u = torch.rand(x.shape, generator=generator).to(x.device)
    return (k + u) / levels


def bits_per_dim(log_prob: Tensor, dim: int, levels: int) -> Tensor:
    """A bound on the negative log-likelihood of grid data in bits per dimension, from the
    log-density (B,) of their dequantised values: -(log p - D log levels) / (D log 2)."""
    return -(log_prob - dim * math.log(levels)) / (dim * math.log(2))


def flow_step(model: Flow, optimizer: torch.optim.Optimizer) -> Step:
    """The step function for `train.fit`: batches x (B, D) on the data's scale (dequantised
    afresh when the flow has `levels`); one update of the mean negative log-likelihood."""

    def step(batch: Batch) -> dict[str, Tensor]:
        x = batch[0] if model.levels is None else dequantize(batch[0], model.levels)
        value = -model.log_prob(x).mean()
        optimizer.zero_grad(set_to_none=True)
        value.backward()
        optimizer.step()
        return {"loss": value.detach()}

    return Step(step, {"model": optimizer})


@torch.no_grad()
def sample(model: Flow, n: int, labels: Tensor | None = None, seed: int | None = None) -> Tensor:
    """n samples (n, D) on the data's scale, on the model's device: z ~ N(0, I), x = f^{-1}(z);
    grid data are mapped back from (0, 1) to [0, 1] (continuous values near the grid)."""
    checks.positive_int("n", n)
    if labels is not None:
        raise ValueError("this flow is unconditional: labels must be None")
    z = runtime.randn((n, model.data_dim), runtime.generator(seed), checks.device_of(model))
    with checks.eval_mode(model):
        x = model.inverse(z)
    if model.levels is None:
        return x
    return ((x * model.levels - 0.5) / (model.levels - 1)).clamp(0, 1)
