"""Autoencoders and variational autoencoders (Kingma & Welling, 2014): compress data to a
small code, reconstruct it, and -- for the VAE -- learn a distribution you can sample.

Shapes: x (B, D) data, z (B, L) latent codes, c (B, C) an optional condition, or integer
labels (B,) one-hot coded inside, for the conditional VAE of Sohn et al. (2015). Bounds are per example, in nats.
Sampling: `sample` (decoder means), `sample_with_noise` and `predictive_samples` (plus the
Gaussian decoder's noise, for scenarios and synthetic records).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genai_lib import checks, convnets, runtime
from genai_lib.models import mlp
from genai_lib.density import fit_mixture, sample_mixture
from genai_lib.train import Batch, Step

LIKELIHOODS = ("bernoulli", "gaussian")
NETWORKS = ("mlp", "conv")


class Autoencoder(nn.Module):
    """A plain (deterministic) autoencoder: x (B, D) -> code z (B, L) -> reconstruction (B, D) in [0, 1]."""

    def __init__(self, data_dim: int = 64, latent_dim: int = 2, hidden: int = 256) -> None:
        super().__init__()
        self.data_dim, self.latent_dim = data_dim, latent_dim
        self.encoder = mlp([data_dim, hidden, hidden, latent_dim])
        self.decoder = mlp([latent_dim, hidden, hidden, data_dim])

    def encode(self, x: Tensor) -> Tensor:
        """The code of each input: (B, D) -> (B, L)."""
        checks.rows("x", x, self.data_dim, self)
        return self.encoder(x)

    def decode(self, z: Tensor) -> Tensor:
        """Pixel intensities in [0, 1] from codes: (B, L) -> (B, D)."""
        checks.rows("z", z, self.latent_dim, self)
        return torch.sigmoid(self.decoder(z))

    def forward(self, x: Tensor) -> Tensor:
        """Reconstruction: (B, D) -> (B, D)."""
        return self.decode(self.encode(x))


@dataclass
class VAEConfig:
    """Sizes of a VAE: data dimension D, latent dimension L, hidden width, condition size C."""

    data_dim: int = 64
    latent_dim: int = 2
    hidden: int = 256            # width of the encoder/decoder MLP hidden layers
    cond_dim: int = 0            # >0: conditional VAE; condition c (B, cond_dim)
    likelihood: str = "bernoulli"  # or "gaussian" (decoder outputs means; learned log-std)
    network: str = "mlp"         # or "conv": convolutional encoder/decoder for 28x28 images

    def __post_init__(self) -> None:
        if self.likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {self.likelihood!r}")
        if self.network not in NETWORKS:
            raise ValueError(f"network must be one of {NETWORKS}, got {self.network!r}")
        if self.network == "conv" and (self.data_dim != 784 or self.cond_dim):
            raise ValueError("network='conv' is for unconditional 28x28 images: data_dim=784, "
                             f"cond_dim=0 (got data_dim={self.data_dim}, cond_dim={self.cond_dim})")
        for name in ("data_dim", "latent_dim", "hidden"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.cond_dim < 0:
            raise ValueError(f"cond_dim must be >= 0, got {self.cond_dim}")


class VAE(nn.Module):
    """Encoder q(z|x[,c]) = N(mu, diag(exp(logvar))) and decoder p(x|z[,c]); prior p(z) = N(0, I)."""

    def __init__(self, config: VAEConfig | None = None, **overrides) -> None:
        super().__init__()
        unknown = set(overrides) - set(VAEConfig.__dataclass_fields__)
        if unknown:
            raise TypeError(f"unknown VAE settings {sorted(unknown)}; the settings are "
                            f"{list(VAEConfig.__dataclass_fields__)}")
        cfg = config if config is not None else VAEConfig(**overrides)
        if config is not None and overrides:
            cfg = VAEConfig(**{**cfg.__dict__, **overrides})
        self.config = cfg
        if cfg.network == "conv":  # `hidden` is then the channel count of the first layer
            self.encoder = convnets.ConvEncoder(cfg.latent_dim, cfg.hidden)
            self.decoder = convnets.ConvDecoder(cfg.latent_dim, cfg.hidden)
        else:
            h = cfg.hidden  # two hidden layers each
            self.encoder = mlp([cfg.data_dim + cfg.cond_dim, h, h, 2 * cfg.latent_dim])
            self.decoder = mlp([cfg.latent_dim + cfg.cond_dim, h, h, cfg.data_dim])
        # Gaussian decoder: one learned log-std per feature, shared by all inputs.
        self.log_std = (nn.Parameter(torch.zeros(cfg.data_dim))
                        if cfg.likelihood == "gaussian" else None)
        self.prior = None  # p(z) = N(0, I); or a mixture fitted to the codes (fit_code_prior)

    def _join(self, t: Tensor, c: Tensor | None) -> Tensor:
        """Append the condition: (B, K), (B, C) -> (B, K + C); checks c against cond_dim.
        c may also be integer labels (B,): they are one-hot coded, C classes."""
        C = self.config.cond_dim
        if C == 0:
            if c is not None:
                raise ValueError("c was given but this VAE is unconditional (cond_dim=0); "
                                 "build it with VAEConfig(cond_dim=...)")
            return t
        if c is None:
            raise ValueError(f"this VAE is conditional: pass c with shape (B, {C})")
        if c.dim() == 1 and not c.is_floating_point():  # integer labels (B,) -> one-hot
            c = F.one_hot(checks.labels("labels", c, len(t), C).long(), C).to(t.device)
        checks.rows("c", c, C, self, dtype=False)
        if len(c) != len(t):
            raise ValueError(f"c has {len(c)} rows but the batch has {len(t)}")
        return torch.cat([t, c.to(t.dtype)], dim=1)

    def encode(self, x: Tensor, c: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Parameters of q(z|x): (B, D) -> mu (B, L), logvar (B, L)."""
        checks.rows("x", x, self.config.data_dim, self)
        mu, logvar = self.encoder(self._join(x, c)).chunk(2, dim=1)
        return mu, logvar

    def decode(self, z: Tensor, c: Tensor | None = None) -> Tensor:
        """Decoder output: (B, L) -> (B, D) logits (bernoulli) or means (gaussian)."""
        checks.rows("z", z, self.config.latent_dim, self)
        return self.decoder(self._join(z, c))

    def forward(self, x: Tensor, c: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """One pass: x (B, D) -> decoder output (B, D), mu (B, L), logvar (B, L)."""
        mu, logvar = self.encode(x, c)
        return self.decode(reparameterize(mu, logvar), c), mu, logvar

    def log_likelihood(self, x: Tensor, out: Tensor) -> Tensor:
        """log p(x|z) summed over features, from decoder output `out`: (B, D), (B, D) -> (B,)."""
        if self.config.likelihood == "bernoulli":
            # log Bernoulli(x; sigmoid(out)); for grey levels in [0, 1] it is the usual
            # cross-entropy reconstruction term of Kingma & Welling (2014), appendix C.1.
            return -F.binary_cross_entropy_with_logits(out, x, reduction="none").sum(1)
        std = self.log_std.exp()
        return (-0.5 * ((x - out) / std) ** 2 - self.log_std - 0.5 * math.log(2 * math.pi)).sum(1)

    def mean(self, out: Tensor) -> Tensor:
        """The decoder's mean E[x|z] from its output: probabilities (bernoulli) or means: (B, D)."""
        return torch.sigmoid(out) if self.config.likelihood == "bernoulli" else out


def reparameterize(mu: Tensor, logvar: Tensor) -> Tensor:
    """z = mu + sigma * eps, eps ~ N(0, I), sigma = exp(logvar / 2). mu, logvar: (B, L) -> (B, L)."""
    if mu.shape != logvar.shape:
        raise ValueError(f"mu and logvar must have the same shape, got {tuple(mu.shape)} "
                         f"and {tuple(logvar.shape)}")
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, diag(exp(logvar))) || N(0, I)) per example: (B, L), (B, L) -> (B,)."""
    if mu.shape != logvar.shape or mu.dim() != 2:
        raise ValueError(f"mu and logvar must both have shape (B, L), got {tuple(mu.shape)} "
                         f"and {tuple(logvar.shape)}")
    # Kingma & Welling (2014), appendix B: -1/2 sum(1 + log s^2 - m^2 - s^2).
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)


def _terms(model: VAE, x: Tensor, c: Tensor | None) -> tuple[Tensor, Tensor]:
    """One-sample reconstruction log-likelihood and KL per example: (B,), (B,)."""
    out, mu, logvar = model(x, c)
    return model.log_likelihood(x, out), gaussian_kl(mu, logvar)


def _check_beta(beta: float) -> None:
    if not beta >= 0:  # also catches NaN
        raise ValueError(f"beta (the KL weight) must be >= 0, got {beta!r}")


def elbo(model: VAE, x: Tensor, c: Tensor | None = None, beta: float = 1.0) -> Tensor:
    """E_q[log p(x|z)] - beta * KL(q(z|x) || p(z)), one-sample estimate per example: (B, D) -> (B,)."""
    _check_beta(beta)
    recon, kl = _terms(model, x, c)
    return recon - beta * kl


def iwae_bound(model: VAE, x: Tensor, k: int, c: Tensor | None = None) -> Tensor:
    """Importance-weighted bound log (1/k) sum_i p(x, z_i) / q(z_i|x) (Burda et al., 2016): (B, D) -> (B,).

    k=1 is the ELBO (with beta=1); it tightens towards log p(x) as k grows.
    """
    checks.positive_int("k (number of importance samples)", k)
    mu, logvar = model.encode(x, c)
    B, L = mu.shape
    z = reparameterize(mu.expand(k, B, L), logvar.expand(k, B, L))        # (k, B, L)
    flat = z.reshape(k * B, L)
    cc = None if c is None else c.repeat(k, 1)
    out = model.decode(flat, cc)
    log_px = model.log_likelihood(x.repeat(k, 1), out).view(k, B)
    log2pi = math.log(2 * math.pi)
    log_pz = (-0.5 * (z ** 2 + log2pi)).sum(-1)                            # (k, B)
    log_qz = (-0.5 * ((z - mu) ** 2 / logvar.exp() + logvar + log2pi)).sum(-1)
    return torch.logsumexp(log_px + log_pz - log_qz, dim=0) - math.log(k)


def vae_step(model: VAE, optimizer: torch.optim.Optimizer, beta: float = 1.0) -> Step:
    """Step function for `train.fit`: batch (x,) or (x, c) -> {"loss", "recon", "kl"} (nats/example)."""
    _check_beta(beta)

    def step(batch: Batch) -> dict[str, Tensor]:
        x, c = (batch[0], None) if len(batch) == 1 else batch[:2]
        recon, kl = _terms(model, x, c)
        loss = -(recon - beta * kl).mean()  # maximise the (beta-)ELBO
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return {"loss": loss.detach(), "recon": -recon.mean().detach(), "kl": kl.mean().detach()}

    return Step(step, {"model": optimizer})


@torch.no_grad()
def fit_code_prior(model: VAE, x: Tensor, components: int = 10, seed: int = 0):
    """A second-stage prior: a Gaussian mixture (sklearn, full covariances) fitted to the code
    means mu(x) of the training data x (N, D) (Ghosh et al. 2020, "ex-post density estimation").

    It becomes `model.prior` (and is returned): `sample` then draws codes where the data's
    codes really lie, not from N(0, I), which a VAE trained with beta < 1 no longer matches.
    Set `model.prior = None` to sample from N(0, I) again.
    """
    dev = checks.device_of(model)
    with checks.eval_mode(model):
        mu = torch.cat([model.encode(x[i:i + 1024].to(dev))[0] for i in range(0, len(x), 1024)])
    model.prior = fit_mixture(mu.cpu().double().numpy(), components, seed)
    return model.prior


def _codes(model: VAE, n: int, seed: int | None, gen: torch.Generator | None) -> Tensor:
    """n codes (n, L) from the model's prior, on its device: N(0, I) drawn from `gen`, or
    its fitted mixture drawn with `seed`."""
    checks.positive_int("n", n)
    dev = checks.device_of(model)
    if model.prior is None:
        return runtime.randn((n, model.config.latent_dim), gen, dev)
    if seed is None:
        seed = int(torch.randint(2**31 - 1, ()))
    return sample_mixture(model.prior, n, seed).to(dev)


def _conditions(model: VAE, n: int, labels: Tensor | None) -> Tensor | None:
    """labels (n,) integers or conditions (n, C), on the model's device, checked against n."""
    if labels is None:
        return None
    c = torch.as_tensor(labels).to(checks.device_of(model))
    if c.dim() == 2 and not c.is_floating_point():
        c = c.float()
    if len(c) != n:
        raise ValueError(f"labels has {len(c)} rows but n={n} samples were requested")
    return c


@torch.no_grad()
def sample(model: VAE, n: int, labels: Tensor | None = None, seed: int | None = None) -> Tensor:
    """n new data points: codes z from the prior (`model.prior`, N(0, I) by default) decoded
    to means (probabilities for bernoulli): (n, D), on the model's device.

    labels: integer classes (n,) or conditions (n, C) of a conditional VAE. seed: the draw
    of the codes (None: the global random state)."""
    z = _codes(model, n, seed, runtime.generator(seed))
    with checks.eval_mode(model):
        return model.mean(model.decode(z, _conditions(model, n, labels)))


@torch.no_grad()
def sample_with_noise(model: VAE, n: int, labels: Tensor | None = None,
                      seed: int | None = None) -> Tensor:
    """n draws of x ~ p(x[|c]) from a Gaussian VAE: decoder mean at z ~ prior plus decoder noise.

    labels: None, integer classes (n,) or conditions (n, C) -> (n, D). Unlike `sample`
    (decoder means only) this adds the noise N(0, diag(std^2)) that is part of the model's
    distribution (Kingma & Welling, 2014).
    """
    if getattr(model, "log_std", None) is None:
        raise ValueError("model must be a VAE with likelihood='gaussian' (it has no log_std)")
    c = _conditions(model, n, labels)
    gen = runtime.generator(seed)
    z = _codes(model, n, seed, gen)
    with checks.eval_mode(model):
        mean = model.mean(model.decode(z, c))
        return mean + model.log_std.exp() * runtime.randn(mean.shape, gen, mean.device)


@torch.no_grad()
def predictive_samples(model: VAE, c: Tensor, n: int) -> Tensor:
    """n draws of x ~ p(x|c) from a conditional Gaussian VAE per row of c: (N, C) -> (N, n, D)."""
    checks.positive_int("n", n)
    c = torch.as_tensor(c, dtype=torch.float32)
    if c.dim() != 2:
        raise ValueError(f"c must have shape (N, C), got {tuple(c.shape)}")
    x = sample_with_noise(model, len(c) * n, c.repeat_interleave(n, dim=0))
    return x.view(len(c), n, -1)


@torch.no_grad()
def reconstruct(model: VAE, x: Tensor, c: Tensor | None = None) -> Tensor:
    """Decoded mean at the encoder's mean code (no sampling): (B, D) -> (B, D)."""
    dev = checks.device_of(model)
    x = x.to(dev)
    c = None if c is None else c.to(dev)
    mu, _ = model.encode(x, c)
    return model.mean(model.decode(mu, c))


@torch.no_grad()
def decode_mean(model: VAE, z: Tensor, c: Tensor | None = None) -> Tensor:
    """Decoded means for given codes (e.g. a latent grid): (B, L) -> (B, D)."""
    dev = checks.device_of(model)
    return model.mean(model.decode(z.to(dev), None if c is None else c.to(dev)))
