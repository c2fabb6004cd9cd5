"""Generative adversarial networks (Goodfellow et al., 2014): a generator G maps noise z to
data, a discriminator D tells real from generated, and each learns against the other.

Shapes: z (B, L) noise, x (B, D) data (flatten images), y (B,) integer labels for the
conditional GAN of Mirza & Osindero (2014). D returns logits (B,), never probabilities:
the losses use log-sigmoid forms, which stay finite where sigmoid saturates.

Training is two step functions, `discriminator_step` and `generator_step`, joined by
`gan_step` and plugged into the one loop, `genai_lib.train.fit`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from genai_lib.models import check_input
from genai_lib.train import Batch, StepFn

LOSSES = ("minimax", "ns", "wgan-gp")


def _sizes(hidden: int | Sequence[int]) -> list[int]:
    """Hidden layer widths as a list: 128 -> [128, 128]; (64, 32) -> [64, 32]."""
    sizes = [hidden, hidden] if isinstance(hidden, int) else list(hidden)
    if not sizes or any(isinstance(h, bool) or not isinstance(h, int) or h <= 0 for h in sizes):
        raise ValueError(f"hidden must be a positive int or a sequence of them, got {hidden!r}")
    return sizes


def _mlp(d_in: int, hidden: int | Sequence[int], d_out: int, act, dropout: float = 0.0) -> nn.Sequential:
    """Linear -> act [-> dropout] for each hidden width, then a last Linear: (B, d_in) -> (B, d_out)."""
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    layers: list[nn.Module] = []
    for h in _sizes(hidden):
        layers += [nn.Linear(d_in, h), act()] + ([nn.Dropout(dropout)] if dropout > 0 else [])
        d_in = h
    return nn.Sequential(*layers, nn.Linear(d_in, d_out))


def _positive(**sizes: int) -> None:
    """Raise unless every size is a positive integer (0 allowed for n_classes)."""
    for name, v in sizes.items():
        low = 0 if name == "n_classes" else 1
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {v!r}")


def _labels(labels: Tensor | None, n: int, n_classes: int, who: str) -> Tensor | None:
    """Check labels against the batch size and the class count; returns one-hot (B, C) or None."""
    if n_classes == 0:
        if labels is not None:
            raise ValueError(f"{who} is unconditional (n_classes=0) but labels were given")
        return None
    if labels is None:
        raise ValueError(f"{who} is conditional (n_classes={n_classes}): pass labels of shape ({n},)")
    if not isinstance(labels, Tensor):
        raise TypeError(f"{who}: labels must be a torch tensor of integer classes, shape ({n},), "
                        f"got {type(labels).__name__}")
    if labels.dim() != 1 or len(labels) != n:
        raise ValueError(f"{who}: labels must have shape ({n},) to match the batch, "
                         f"got {tuple(labels.shape)}")
    if labels.is_floating_point() or (n and (labels.min() < 0 or labels.max() >= n_classes)):
        raise ValueError(f"{who}: labels must be integers in [0, {n_classes - 1}], "
                         f"got {labels.dtype} in [{labels.min().item()}, {labels.max().item()}]")
    return F.one_hot(labels.long(), n_classes).float()


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
        _positive(latent_dim=latent_dim, data_dim=data_dim, n_classes=n_classes)
        self.latent_dim, self.data_dim, self.n_classes, self.output = latent_dim, data_dim, n_classes, output
        self.net = _mlp(latent_dim + n_classes, hidden, data_dim, nn.ReLU)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """(B, latent_dim) [, (B,)] -> (B, data_dim)."""
        check_input("z", z, self, f"(B, {self.latent_dim})")
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"noise z must have shape (B, {self.latent_dim}), got {tuple(z.shape)}")
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
        if isinstance(pack, bool) or not isinstance(pack, int) or pack < 1:
            raise ValueError(f"pack must be a positive integer, got {pack!r}")
        _positive(data_dim=data_dim, n_classes=n_classes)
        if pack > 1 and n_classes > 0:
            raise ValueError("pack > 1 is only supported for an unconditional discriminator (n_classes=0)")
        self.data_dim, self.n_classes, self.pack = data_dim, n_classes, pack
        self.net = _mlp(pack * data_dim + n_classes, hidden, 1, lambda: nn.LeakyReLU(0.2), dropout)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        """(B, data_dim) [, (B,)] -> (B // pack,) logits (a remainder of B % pack rows is dropped)."""
        check_input("x", x, self, f"(B, {self.data_dim})")
        if x.dim() != 2 or x.shape[1] != self.data_dim:
            raise ValueError(f"x must have shape (B, {self.data_dim}) (flatten images first), "
                             f"got {tuple(x.shape)}")
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
    Yazici et al. 2019): it averages out the game's last oscillations. Sample from `ema.module`.
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module,
                 ema_decay: float | None = None) -> None:
        super().__init__()
        if generator.data_dim != discriminator.data_dim or generator.n_classes != discriminator.n_classes:
            raise ValueError(f"generator makes data_dim={generator.data_dim}, n_classes={generator.n_classes} "
                             f"but the discriminator expects data_dim={discriminator.data_dim}, "
                             f"n_classes={discriminator.n_classes}")
        self.generator, self.discriminator = generator, discriminator
        if ema_decay is not None and not 0.0 < ema_decay < 1.0:
            raise ValueError(f"ema_decay must be between 0 and 1 (e.g. 0.99), got {ema_decay!r}")
        self.ema = (None if ema_decay is None else
                    AveragedModel(generator, multi_avg_fn=get_ema_multi_avg_fn(ema_decay),
                                  use_buffers=True))


def _device(module: nn.Module) -> torch.device:
    """The device of a module's weights."""
    return next(module.parameters()).device


def noise(n: int, latent_dim: int, device: torch.device | str | None = None,
          generator: torch.Generator | None = None) -> Tensor:
    """Standard normal noise z ~ N(0, I): (n, latent_dim)."""
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    _positive(latent_dim=latent_dim)
    if generator is None:
        return torch.randn(n, latent_dim, device=device)
    return torch.randn(n, latent_dim, generator=generator).to(device or "cpu")


@torch.no_grad()
def sample(generator: Generator, n: int, labels: Tensor | None = None,
           z: Tensor | None = None) -> Tensor:
    """n samples (n, data_dim) from the generator (eval mode, no gradients), on its device.

    labels (n,): the requested classes of a conditional generator. z (n, latent_dim): fixed
    noise (e.g. to watch the same points move during training); fresh noise if None.
    """
    dev = _device(generator)
    if z is None:
        z = noise(n, generator.latent_dim, dev)
    if len(z) != n:
        raise ValueError(f"z has {len(z)} rows but n={n} samples were requested")
    if labels is not None and len(labels) != n:
        raise ValueError(f"labels has {len(labels)} entries but n={n} samples were requested")
    was_training = generator.training
    generator.eval()
    out = generator(z.to(dev), None if labels is None else labels.to(dev))
    generator.train(was_training)
    return out


def gradient_penalty(discriminator: Discriminator, real: Tensor, fake: Tensor,
                     labels: Tensor | None = None) -> Tensor:
    """WGAN-GP penalty E[(|grad_x D(x_hat)| - 1)^2] on random mixes of real and fake (B, D).

    Gulrajani et al. (2017), eq. (3): a soft version of the 1-Lipschitz constraint on the critic.
    """
    if real.shape != fake.shape:
        raise ValueError(f"real and fake must have the same shape (B, D), got {tuple(real.shape)} "
                         f"and {tuple(fake.shape)}")
    eps = torch.rand(len(real), 1, device=real.device)
    mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
    scores = discriminator(mixed, labels)
    (grad,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    pack = getattr(discriminator, "pack", 1)  # one gradient per packed group of rows
    grad = grad[: len(grad) - len(grad) % pack].reshape(len(grad) // pack, -1)
    return ((grad.norm(dim=1) - 1) ** 2).mean()


def _check_loss(loss: str) -> None:
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")


def discriminator_loss(real_logits: Tensor, fake_logits: Tensor, loss: str) -> Tensor:
    """The discriminator's loss from its logits on real (B,) and fake (B,) samples.

    minimax / ns: -[log D(x) + log(1 - D(G(z)))], with log D = logsigmoid(logit) (Goodfellow
    et al. 2014, eq. 1). wgan-gp: E[D(G(z))] - E[D(x)] (the penalty is added by the caller).
    """
    _check_loss(loss)
    if loss == "wgan-gp":
        return fake_logits.mean() - real_logits.mean()
    return -(F.logsigmoid(real_logits).mean() + F.logsigmoid(-fake_logits).mean())


def generator_loss(fake_logits: Tensor, loss: str) -> Tensor:
    """The generator's loss from the discriminator's logits on fakes (B,).

    minimax: log(1 - D(G(z))) -- saturates when D wins; ns (non-saturating): -log D(G(z));
    wgan-gp: -E[D(G(z))].
    """
    _check_loss(loss)
    if loss == "minimax":
        return F.logsigmoid(-fake_logits).mean()
    if loss == "ns":
        return -F.logsigmoid(fake_logits).mean()
    return -fake_logits.mean()


def _split(batch: Batch, n_classes: int) -> tuple[Tensor, Tensor | None]:
    """(x,) or (x, y) from a batch, checked against the conditional setting."""
    if n_classes > 0 and len(batch) < 2:
        raise ValueError("a conditional GAN trains on (x, y) batches: pass data=(x, y) to fit")
    return batch[0], (batch[1] if n_classes > 0 else None)


def discriminator_step(generator: Generator, discriminator: Discriminator,
                       opt_d: torch.optim.Optimizer, latent_dim: int, loss: str = "ns",
                       gp_weight: float = 10.0) -> StepFn:
    """A step function: one discriminator update on a batch (x,) or (x, y); G is held fixed."""

    def step(batch: Batch) -> dict[str, Tensor]:
        real, labels = _split(batch, discriminator.n_classes)
        with torch.no_grad():  # G is not trained here: no graph through it
            fake = generator(noise(len(real), latent_dim, real.device), labels)
        real_logits, fake_logits = discriminator(real, labels), discriminator(fake, labels)
        d_loss = discriminator_loss(real_logits, fake_logits, loss)
        if loss == "wgan-gp":
            d_loss = d_loss + gp_weight * gradient_penalty(discriminator, real, fake, labels)
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        return {"d_loss": d_loss.detach(), "d_real": real_logits.detach().mean(),
                "d_fake": fake_logits.detach().mean()}

    return step


def generator_step(generator: Generator, discriminator: Discriminator,
                   opt_g: torch.optim.Optimizer, latent_dim: int, loss: str = "ns") -> StepFn:
    """A step function: one generator update against the current discriminator, batch size as x."""

    def step(batch: Batch) -> dict[str, Tensor]:
        real, labels = _split(batch, generator.n_classes)
        fake = generator(noise(len(real), latent_dim, real.device), labels)
        g_loss = generator_loss(discriminator(fake, labels), loss)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()  # also fills D's .grad; harmless, opt_d zeroes it before its step
        opt_g.step()
        return {"g_loss": g_loss.detach()}

    return step


def gan_step(generator: Generator, discriminator: Discriminator, opt_g: torch.optim.Optimizer,
             opt_d: torch.optim.Optimizer, latent_dim: int, loss: str = "ns",
             n_critic: int | None = None, gp_weight: float = 10.0,
             ema: AveragedModel | None = None) -> StepFn:
    """The step function for `fit`: n_critic discriminator updates, then one generator update.

    ema: a GAN's `ema` average, updated after every generator update.
    loss: "minimax", "ns" (non-saturating) or "wgan-gp". n_critic defaults to 1, and to 5 for
    wgan-gp (Gulrajani et al. 2017, Alg. 1); the critic reuses the real batch with fresh noise.
    Returns {"d_loss", "g_loss", "d_real", "d_fake"} (mean logits/scores on real and fake).
    """
    _check_loss(loss)
    if latent_dim != generator.latent_dim:
        raise ValueError(f"latent_dim={latent_dim} but the generator expects {generator.latent_dim}")
    n_critic = (5 if loss == "wgan-gp" else 1) if n_critic is None else n_critic
    if isinstance(n_critic, bool) or not isinstance(n_critic, int) or n_critic < 1:
        raise ValueError(f"n_critic must be a positive integer, got {n_critic!r}")
    d_step = discriminator_step(generator, discriminator, opt_d, latent_dim, loss, gp_weight)
    g_step = generator_step(generator, discriminator, opt_g, latent_dim, loss)

    def step(batch: Batch) -> dict[str, Tensor]:
        for _ in range(n_critic):
            logs = d_step(batch)
        logs = {**logs, **g_step(batch)}
        if ema is not None:
            ema.update_parameters(generator)
        return logs

    return step


class Snapshots:
    """Callback for `fit`: every `every` epochs, store G(fixed noise) and optionally D on a grid.

    frames: list of (n, data_dim) CPU tensors; surfaces: list of sigmoid(D(grid)) (M,) tensors
    (for plotting the decision surface; only for unconditional D). epochs: the epoch of each.
    """

    def __init__(self, z: Tensor, labels: Tensor | None = None, every: int = 1,
                 grid: Tensor | None = None) -> None:
        if labels is not None and len(labels) != len(z):
            raise ValueError(f"labels has {len(labels)} entries but the fixed noise z has {len(z)} rows")
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive integer (epochs), got {every!r}")
        self.z, self.labels, self.every, self.grid = z, labels, every, grid
        self.frames: list[Tensor] = []
        self.surfaces: list[Tensor] = []
        self.epochs: list[int] = []

    @torch.no_grad()
    def __call__(self, epoch: int, logs: dict[str, float], model: nn.Module) -> None:
        if epoch % self.every:
            return
        self.epochs.append(epoch + 1)
        self.frames.append(sample(model.generator, len(self.z), self.labels, self.z).cpu())
        if self.grid is not None:
            d = model.discriminator
            self.surfaces.append(torch.sigmoid(d(self.grid.to(_device(d)))).cpu())
