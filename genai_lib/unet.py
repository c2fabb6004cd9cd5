"""A small U-Net noise predictor for 28x28 images (Ronneberger et al. 2015; Ho et al. 2020).

The same interface as `diffusion.Denoiser`: flat images x_t (B, 784), steps t (B,) and
optional labels (B,) in; predicted noise (B, 784) out. Inside: 28 -> 14 -> 7 and back,
with skip connections joining each resolution on the way down to the one on the way up,
and the step (and label) embedding added inside every residual block.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from genai_lib.convnets import DATA_DIM, SIDE
from genai_lib.diffusion import Conditioning
from genai_lib import checks


class ResBlock(nn.Module):
    """Norm, SiLU, 3x3 conv, + the embedding, norm, SiLU, 3x3 conv, + the input: (B, C, H, W)."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(nn.GroupNorm(8, c_in), nn.SiLU(),
                                   nn.Conv2d(c_in, c_out, 3, padding=1))
        self.emb = nn.Linear(emb_dim, c_out)
        self.conv2 = nn.Sequential(nn.GroupNorm(8, c_out), nn.SiLU(),
                                   nn.Conv2d(c_out, c_out, 3, padding=1))
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        """(B, c_in, H, W), (B, emb_dim) -> (B, c_out, H, W)."""
        h = self.conv1(x) + self.emb(emb)[:, :, None, None]
        return self.conv2(h) + self.skip(x)


class UNet(nn.Module):
    """eps(x_t, t[, y]) for 28x28 images: (B, 784), (B,) [, (B,)] -> (B, 784).

    channels: the width at 28x28; it doubles at 14x14 and 7x7.
    """

    def __init__(self, channels: int = 32, n_classes: int = 0) -> None:
        super().__init__()
        c, emb = channels, 4 * channels
        if c % 8:
            raise ValueError(f"channels must be a multiple of 8 (group norm), got {channels!r}")
        self.data_dim, self.n_classes, self.channels = DATA_DIM, n_classes, c
        self.condition = Conditioning(emb, n_classes)
        self.inp = nn.Conv2d(1, c, 3, padding=1)
        self.down1, self.down2 = ResBlock(c, c, emb), ResBlock(2 * c, 2 * c, emb)
        self.pool1, self.pool2 = nn.Conv2d(c, 2 * c, 3, 2, 1), nn.Conv2d(2 * c, 2 * c, 3, 2, 1)
        self.mid = ResBlock(2 * c, 2 * c, emb)
        self.unpool2 = nn.ConvTranspose2d(2 * c, 2 * c, 4, 2, 1)
        self.unpool1 = nn.ConvTranspose2d(2 * c, c, 4, 2, 1)
        self.up2, self.up1 = ResBlock(4 * c, 2 * c, emb), ResBlock(2 * c, c, emb)
        self.out = nn.Sequential(nn.GroupNorm(8, c), nn.SiLU(), nn.Conv2d(c, 1, 3, padding=1))

    def forward(self, x: Tensor, t: Tensor, labels: Tensor | None = None) -> Tensor:
        """(B, 784), (B,) [, (B,)] -> predicted noise (B, 784)."""
        checks.rows("x", x, DATA_DIM, self)  # flat 28x28 images
        emb = self.condition(t, labels)
        h28 = self.down1(self.inp(x.reshape(-1, 1, SIDE, SIDE)), emb)     # (B, c, 28, 28)
        h14 = self.down2(self.pool1(h28), emb)                            # (B, 2c, 14, 14)
        h = self.mid(self.pool2(h14), emb)                                # (B, 2c, 7, 7)
        h = self.up2(torch.cat([self.unpool2(h), h14], 1), emb)           # (B, 2c, 14, 14)
        h = self.up1(torch.cat([self.unpool1(h), h28], 1), emb)           # (B, c, 28, 28)
        return self.out(h).flatten(1)
