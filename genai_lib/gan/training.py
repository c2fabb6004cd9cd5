"""How a GAN is trained: the losses of D and G, the WGAN-GP gradient penalty, the step
functions for `train.fit` (`discriminator_step` and `generator_step`, joined by `gan_step`)
and `Snapshots`, a callback that records the generator's samples as it learns.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genai_lib import checks
from genai_lib.gan.networks import GAN, Discriminator, generate, noise
from genai_lib.train import Batch, Step

LOSSES = ("minimax", "ns", "wgan-gp")


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


def discriminator_step(model: GAN, opt_d: torch.optim.Optimizer, loss: str = "ns",
                       gp_weight: float = 10.0) -> Step:
    """A step function: one discriminator update on a batch (x,) or (x, y); G is held fixed."""
    generator, discriminator = model.generator, model.discriminator

    def step(batch: Batch) -> dict[str, Tensor]:
        real, labels = _split(batch, discriminator.n_classes)
        with torch.no_grad():  # G is not trained here: no graph through it
            fake = generator(noise(len(real), generator.latent_dim, real.device), labels)
        real_logits, fake_logits = discriminator(real, labels), discriminator(fake, labels)
        d_loss = discriminator_loss(real_logits, fake_logits, loss)
        if loss == "wgan-gp":
            d_loss = d_loss + gp_weight * gradient_penalty(discriminator, real, fake, labels)
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        return {"d_loss": d_loss.detach(), "d_real": real_logits.detach().mean(),
                "d_fake": fake_logits.detach().mean()}

    return Step(step, {"discriminator": opt_d})


def generator_step(model: GAN, opt_g: torch.optim.Optimizer, loss: str = "ns") -> Step:
    """A step function: one generator update against the current discriminator, batch size as
    x; then the update of the generator's average (`model.ema`), if the GAN keeps one."""
    generator, discriminator = model.generator, model.discriminator

    def step(batch: Batch) -> dict[str, Tensor]:
        real, labels = _split(batch, generator.n_classes)
        fake = generator(noise(len(real), generator.latent_dim, real.device), labels)
        g_loss = generator_loss(discriminator(fake, labels), loss)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()  # also fills D's .grad; harmless, opt_d zeroes it before its step
        opt_g.step()
        if model.ema is not None:
            model.ema.update_parameters(generator)
        return {"g_loss": g_loss.detach()}

    return Step(step, {"generator": opt_g})


def gan_step(model: GAN, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
             loss: str = "ns", n_critic: int | None = None, gp_weight: float = 10.0) -> Step:
    """The step function for `fit`: n_critic discriminator updates, then one generator update
    (and the update of the GAN's own generator average, if it keeps one).

    loss: "minimax", "ns" (non-saturating) or "wgan-gp". n_critic defaults to 1, and to 5 for
    wgan-gp (Gulrajani et al. 2017, Alg. 1); the critic reuses the real batch with fresh noise.
    Returns {"d_loss", "g_loss", "d_real", "d_fake"} (mean logits/scores on real and fake).
    """
    if not isinstance(model, GAN):
        raise TypeError(f"gan_step takes the GAN (gan.GAN(generator, discriminator)), got "
                        f"{type(model).__name__}")
    _check_loss(loss)
    if n_critic is None:
        n_critic = 5 if loss == "wgan-gp" else 1
    n_critic = checks.positive_int("n_critic", n_critic)
    d_step = discriminator_step(model, opt_d, loss, gp_weight)
    g_step = generator_step(model, opt_g, loss)

    def step(batch: Batch) -> dict[str, Tensor]:
        for _ in range(n_critic):
            logs = d_step(batch)
        return {**logs, **g_step(batch)}

    return Step(step, {"generator": opt_g, "discriminator": opt_d})


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
        self.frames.append(generate(model.generator, self.z, self.labels).cpu())
        if self.grid is not None:
            d = model.discriminator
            self.surfaces.append(torch.sigmoid(d(self.grid.to(checks.device_of(d)))).cpu())
