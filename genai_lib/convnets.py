"""Convolutional networks for 28x28 images (DCGAN-style, Radford et al. 2016).

Every network takes and returns *flat* images (B, 784), like the MLPs of `gan` and `vae`,
so the same step functions, samplers and quality table serve both; the reshape to
(B, 1, 28, 28) happens inside. Two stride-2 layers take 28 -> 14 -> 7 and back.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from genai_lib import checks

SIDE = 28
DATA_DIM = SIDE * SIDE


def _down(channels: int) -> nn.Sequential:
    """(B, 1, 28, 28) -> (B, 2 * channels * 7 * 7): two stride-2 convolutions, LeakyReLU(0.2)."""
    return nn.Sequential(nn.Conv2d(1, channels, 4, 2, 1), nn.LeakyReLU(0.2),
                         nn.Conv2d(channels, 2 * channels, 4, 2, 1), nn.LeakyReLU(0.2),
                         nn.Flatten())


def _up(d_in: int, channels: int) -> nn.Sequential:
    """(B, d_in) -> (B, 1, 28, 28) logits: a linear layer to 7x7, two transposed convolutions."""
    return nn.Sequential(nn.Linear(d_in, 2 * channels * 49), nn.ReLU(),
                         nn.Unflatten(1, (2 * channels, 7, 7)),
                         nn.ConvTranspose2d(2 * channels, channels, 4, 2, 1),
                         nn.BatchNorm2d(channels), nn.ReLU(),
                         nn.ConvTranspose2d(channels, 1, 4, 2, 1))


class ConvGenerator(nn.Module):
    """G(z): noise (B, latent_dim) -> images (B, 784) in [0, 1]; same interface as gan.Generator."""

    def __init__(self, latent_dim: int = 64, channels: int = 32) -> None:
        super().__init__()
        self.latent_dim, self.data_dim, self.n_classes = latent_dim, DATA_DIM, 0
        self.net = _up(latent_dim, channels)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """(B, latent_dim) -> (B, 784)."""
        checks.rows("z", z, self.latent_dim, self)
        if labels is not None:
            raise ValueError("ConvGenerator is unconditional: labels must be None")
        return torch.sigmoid(self.net(z)).flatten(1)


class ConvDiscriminator(nn.Module):
    """D(x): images (B, 784) -> logits (B,); same interface as gan.Discriminator (no batch norm)."""

    def __init__(self, channels: int = 32) -> None:
        super().__init__()
        self.data_dim, self.n_classes, self.pack = DATA_DIM, 0, 1
        self.net = nn.Sequential(_down(channels), nn.Linear(2 * channels * 49, 1))

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        """(B, 784) -> (B,)."""
        checks.rows("x", x, DATA_DIM, self)  # else a (B, 2 * 784) batch gives 2B logits
        if labels is not None:
            raise ValueError("ConvDiscriminator is unconditional: labels must be None")
        return self.net(x.reshape(-1, 1, SIDE, SIDE)).squeeze(1)


class ConvEncoder(nn.Module):
    """VAE encoder: images (B, 784) -> (B, 2 * latent_dim), the means and log-variances."""

    def __init__(self, latent_dim: int, channels: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(_down(channels), nn.Linear(2 * channels * 49, 2 * latent_dim))

    def forward(self, x: Tensor) -> Tensor:
        """(B, 784) -> (B, 2 * latent_dim)."""
        return self.net(x.reshape(-1, 1, SIDE, SIDE))


class ConvDecoder(nn.Module):
    """VAE decoder: codes (B, latent_dim) -> pixel logits (B, 784)."""

    def __init__(self, latent_dim: int, channels: int = 32) -> None:
        super().__init__()
        self.net = _up(latent_dim, channels)

    def forward(self, z: Tensor) -> Tensor:
        """(B, latent_dim) -> (B, 784)."""
        return self.net(z).flatten(1)
