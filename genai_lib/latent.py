"""Generation in a learned latent space (Rombach et al. 2022): a frozen autoencoder maps
images to short codes, a generator (flow matching, diffusion) learns the codes'
distribution, and the decoder turns its samples back into images.

Shapes: x (B, D) images, codes (B, L). The codes are the encoder's means mu(x),
standardised per dimension with the training codes' mean and standard deviation, so the
inner generator sees data of unit scale.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from genai_lib import checks
from genai_lib.vae import VAE


class Latent(nn.Module):
    """A frozen VAE (`autoencoder`) and a generator of its codes (`inner`)."""

    def __init__(self, autoencoder: VAE, inner: nn.Module) -> None:
        super().__init__()
        self.autoencoder, self.inner = autoencoder, inner
        self.autoencoder.requires_grad_(False)
        dim = autoencoder.config.latent_dim
        self.register_buffer("code_mean", torch.zeros(dim))
        self.register_buffer("code_std", torch.ones(dim))

    @torch.no_grad()
    def codes(self, x: Tensor, batch_size: int = 1024) -> Tensor:
        """Standardised codes (B, L) of images x (B, D): (mu(x) - mean) / std."""
        dev = checks.device_of(self.autoencoder)
        with checks.eval_mode(self.autoencoder):
            mu = torch.cat([self.autoencoder.encode(x[i:i + batch_size].to(dev))[0]
                            for i in range(0, len(x), batch_size)])
        return (mu - self.code_mean) / self.code_std

    @torch.no_grad()
    def fit_scale(self, x: Tensor) -> Tensor:
        """Set the code mean and std from training images x (B, D); their codes (B, L)."""
        self.code_mean.zero_()
        self.code_std.fill_(1.0)
        mu = self.codes(x)  # the raw means mu(x), with the scale just reset
        self.code_mean.copy_(mu.mean(0))
        self.code_std.copy_(mu.std(0).clamp(min=1e-6))
        return (mu - self.code_mean) / self.code_std

    @torch.no_grad()
    def decode(self, codes: Tensor) -> Tensor:
        """Images (B, D) from standardised codes (B, L): the decoder's means."""
        checks.rows("codes", codes, self.autoencoder.config.latent_dim, self)
        z = codes.to(self.code_mean.device) * self.code_std + self.code_mean
        with checks.eval_mode(self.autoencoder):
            return self.autoencoder.mean(self.autoencoder.decode(z))


def sample(model: Latent, n: int, labels: Tensor | None = None, seed: int | None = None, *,
           sampler, **settings) -> Tensor:
    """n images (n, D): codes from the inner generator, `sampler(model.inner, n, labels,
    seed, **settings)` (e.g. flow_matching.sample), decoded."""
    return model.decode(sampler(model.inner, n, labels, seed, **settings))
