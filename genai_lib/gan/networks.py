"""The two networks of a GAN and how to draw from one: `Generator`, `Discriminator`, the
`GAN` that holds both (and an average of the generator's weights), `noise`, `generate`
(fixed noise) and `sample`.

Shapes: z (B, L) noise, x (B, D) data (flatten images), y (B,) integer labels for the
conditional GAN of Mirza & Osindero (2014). D returns logits (B,), never probabilities:
the losses (`gan.training`) use log-sigmoid forms, which stay finite where sigmoid saturates.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genai_lib import checks, runtime
from genai_lib.models import mlp
from genai_lib.train import ema_of


def _widths(hidden: int | Sequence[int]) -> list[int]:
    """Hidden layer widths as a list: 128 -> [128, 128]; (64, 32) -> [64, 32]."""
    sizes = [hidden, hidden] if isinstance(hidden, int) else list(hidden)
    if not sizes or any(isinstance(h, bool) or not isinstance(h, int) or h <= 0 for h in sizes):
        raise ValueError(f"hidden must be a positive int or a sequence of them, got {hidden!r}")
    return sizes


def _labels(labels: Tensor | None, n: int, n_classes: int, who: str) -> Tensor | None:
    """Labels (n,) checked against the batch size and class count -> one-hot (n, C), or None."""
    if n_classes == 0:
        if labels is not None:
            raise ValueError(f"{who} is unconditional (n_classes=0) but labels were given")
        return None
    if labels is None:
        raise ValueError(f"{who} is conditional (n_classes={n_classes}): pass labels of shape ({n},)")
    return F.one_hot(checks.labels(f"{who} labels", labels, n, n_classes).long(), n_classes).float()


class Generator(nn.Module):
    """G(z[, y]): noise (B, latent_dim) [+ labels (B,)] -> samples (B, data_dim).

    output="sigmoid" keeps samples in [0, 1] (pixels); output="linear" leaves them free (2-D points).
    A conditional generator (n_classes > 0) reads the one-hot label next to the noise.
    """

    def __init__(self, latent_dim: int, data_dim: int, hidden: int | Sequence[int] = 128,
                 n_classes: int = 0, output: str = "linear") -> None:
        super().__init__()
        if output not in ("linear", "sigmoid"):
            raise ValueError(f"output must be 'linear' or 'sigmoid', got {output!r}")
        checks.positive_int("latent_dim", latent_dim)
        checks.positive_int("data_dim", data_dim)
        checks.count("n_classes", n_classes)
        self.latent_dim, self.data_dim, self.n_classes, self.output = latent_dim, data_dim, n_classes, output
        self.net = mlp([latent_dim + n_classes, *_widths(hidden), data_dim], "relu")

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """(B, latent_dim) [, (B,)] -> (B, data_dim)."""
        checks.rows("z", z, self.latent_dim, self)
        onehot = _labels(labels, len(z), self.n_classes, "Generator")
        h = self.net(z if onehot is None else torch.cat([z, onehot], dim=1))
        return torch.sigmoid(h) if self.output == "sigmoid" else h


class Discriminator(nn.Module):
    """D(x[, y]): samples (B, data_dim) [+ labels (B,)] -> logits (B // pack,), large = "real".

    LeakyReLU(0.2) keeps gradients flowing for inputs D rejects (Radford et al., 2016); no batch
    norm, because the WGAN-GP penalty is defined per example (Gulrajani et al., 2017).
    pack > 1 (PacGAN, Lin et al., 2018): D judges `pack` samples at once, concatenated, so it
    can see that a batch lacks variety -- a direct penalty on mode collapse.
    dropout > 0 slows D down so G keeps a useful signal (Goodfellow et al. 2014 used it in D).
    """

    def __init__(self, data_dim: int, hidden: int | Sequence[int] = 128, n_classes: int = 0,
                 pack: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        checks.positive_int("pack", pack)
        checks.positive_int("data_dim", data_dim)
        checks.count("n_classes", n_classes)
        if pack > 1 and n_classes > 0:
            raise ValueError("pack > 1 is only supported for an unconditional discriminator (n_classes=0)")
        self.data_dim, self.n_classes, self.pack = data_dim, n_classes, pack
        self.net = mlp([pack * data_dim + n_classes, *_widths(hidden), 1], "leaky_relu", dropout)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        """(B, data_dim) [, (B,)] -> (B // pack,) logits (a remainder of B % pack rows is dropped)."""
        checks.rows("x", x, self.data_dim, self)
        if len(x) < self.pack:
            raise ValueError(f"a batch needs at least pack={self.pack} rows, got {len(x)}")
        onehot = _labels(labels, len(x), self.n_classes, "Discriminator")
        if self.pack > 1:  # (B, D) -> (B // pack, pack * D): consecutive rows judged together
            x = x[: len(x) - len(x) % self.pack].reshape(-1, self.pack * self.data_dim)
        return self.net(x if onehot is None else torch.cat([x, onehot], dim=1)).squeeze(1)


class GAN(nn.Module):
    """A generator and a discriminator in one module, so `fit` can move, save and restore both.

    ema_decay: also keep `ema`, an exponential moving average of the generator's weights,
    w_ema <- decay * w_ema + (1 - decay) * w after every generator step (Karras et al. 2018;
    Yazici et al. 2019): it averages out the game's last oscillations. `gan_step` updates it;
    `net` is the generator to sample from.
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module,
                 ema_decay: float | None = None) -> None:
        super().__init__()
        if generator.data_dim != discriminator.data_dim or generator.n_classes != discriminator.n_classes:
            raise ValueError(f"generator makes data_dim={generator.data_dim}, n_classes={generator.n_classes} "
                             f"but the discriminator expects data_dim={discriminator.data_dim}, "
                             f"n_classes={discriminator.n_classes}")
        self.generator, self.discriminator = generator, discriminator
        self.ema = ema_of(generator, ema_decay)

    @property
    def net(self) -> nn.Module:
        """The generator to sample with: the average of its weights if there is one."""
        return self.ema.module if self.ema is not None else self.generator


def noise(n: int, latent_dim: int, device: torch.device | str | None = None,
          generator: torch.Generator | None = None) -> Tensor:
    """Standard normal noise z ~ N(0, I): (n, latent_dim)."""
    checks.positive_int("n", n)
    checks.positive_int("latent_dim", latent_dim)
    if generator is None:
        return torch.randn(n, latent_dim, device=device)
    return torch.randn(n, latent_dim, generator=generator).to(device or "cpu")


@torch.no_grad()
def generate(generator: Generator, z: Tensor, labels: Tensor | None = None) -> Tensor:
    """G(z[, y]) for given noise z (n, latent_dim) in eval mode, without gradients: (n, D).

    For fixed noise (to watch the same points move, or to walk between two codes)."""
    dev = checks.device_of(generator)
    if labels is not None and len(labels) != len(z):
        raise ValueError(f"labels has {len(labels)} entries but z has {len(z)} rows")
    with checks.eval_mode(generator):
        return generator(z.to(dev), None if labels is None else labels.to(dev))


@torch.no_grad()
def sample(model: GAN, n: int, labels: Tensor | None = None, seed: int | None = None) -> Tensor:
    """n samples (n, data_dim) from a GAN's averaged generator (its generator without EMA),
    on the model's device. labels (n,): the classes of a conditional GAN. seed: the noise's
    (None: the global random state)."""
    if not isinstance(model, GAN):
        raise TypeError(f"sample takes the GAN (it draws from the generator's average), got "
                        f"{type(model).__name__}; for a bare generator and fixed noise use "
                        f"gan.generate(generator, z, labels)")
    checks.positive_int("n", n)
    g = model.net
    z = noise(n, g.latent_dim, checks.device_of(g), generator=runtime.generator(seed))
    return generate(g, z, labels)
