"""Denoising diffusion (Ho et al. 2020): destroy data with Gaussian noise step by step, learn
to undo one step, and generate by starting from pure noise.

Shapes: data x0 (B, D) flat, on the model's scale [-1, 1] (`Diffusion.scale`: the step
and the samplers map the data's own scale to it and back); t (B,) integer steps in
[0, T); labels (B,) integers, with `n_classes` meaning "no label" (classifier-free
guidance, Ho & Salimans 2022). A denoiser eps(x_t, t[, y]) (B, D) predicts the noise.

The notation follows the book (`notation.md`): beta_t the noise added at step t,
alpha_t = 1 - beta_t, alpha_bar_t = prod_{s <= t} alpha_s, so
q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I).
"""

from __future__ import annotations

import math
import numbers

import torch
from torch import Tensor, nn

from genai_lib import checks, runtime
from genai_lib.models import mlp
from genai_lib.train import Step, averaged_step, ema_of

SCHEDULES = ("linear", "cosine")


def betas(timesteps: int, kind: str = "cosine") -> Tensor:
    """The noise schedule beta_1..beta_T (T,): "linear" (Ho et al. 2020) or "cosine"
    (Nichol & Dhariwal 2021, alpha_bar_t = cos^2 of a slowly growing angle)."""
    if isinstance(timesteps, bool) or not isinstance(timesteps, int) or timesteps < 1:
        raise ValueError(f"timesteps must be a positive integer, got {timesteps!r}")
    if kind == "linear":  # the paper's 1e-4 .. 0.02 for T = 1000, rescaled for other T
        scale = 1000 / timesteps
        return torch.linspace(scale * 1e-4, min(scale * 0.02, 0.999), timesteps,
                              dtype=torch.float64)
    if kind == "cosine":
        s = torch.linspace(0, 1, timesteps + 1, dtype=torch.float64)
        alpha_bar = torch.cos((s + 0.008) / 1.008 * math.pi / 2) ** 2
        return (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=0.999)
    raise ValueError(f"schedule kind must be one of {SCHEDULES}, got {kind!r}")


def to_signal(x: Tensor) -> Tensor:
    """Pixels in [0, 1] -> the model's scale [-1, 1]."""
    return 2 * x - 1


def to_pixels(x: Tensor) -> Tensor:
    """The model's scale [-1, 1] -> pixels in [0, 1] (clamped)."""
    return ((x + 1) / 2).clamp(0, 1)


def timestep_embedding(t: Tensor, dim: int) -> Tensor:
    """Sinusoidal features of the step (Vaswani et al. 2017): t (B,) -> (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10_000) * torch.arange(half, device=t.device) / half)
    angles = t.float()[:, None] * freqs[None]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class Conditioning(nn.Module):
    """What a denoiser is told besides x_t: the step t (B,) and the label (B,) -> (B, dim).

    The step enters as sinusoidal features through a small MLP, the label (if n_classes > 0)
    as a learned embedding with one extra row, index n_classes, for "no label".
    """

    def __init__(self, dim: int, n_classes: int = 0) -> None:
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 2 or dim % 2:
            raise ValueError(f"the embedding width must be an even integer >= 2 (sines and "
                             f"cosines in pairs), got {dim!r}")
        self.dim, self.n_classes = dim, n_classes
        self.time = mlp([dim, dim, dim], nn.SiLU)
        self.label = nn.Embedding(n_classes + 1, dim) if n_classes else None

    def forward(self, t: Tensor, labels: Tensor | None = None) -> Tensor:
        """(B,) [, (B,)] -> (B, dim); labels None means "no label"."""
        emb = self.time(timestep_embedding(t, self.dim))
        if self.label is not None:
            labels = torch.full_like(t, self.n_classes) if labels is None else labels
            emb = emb + self.label(labels.long())
        return emb


class Denoiser(nn.Module):
    """An MLP noise predictor eps(x_t, t[, y]): (B, D) -> (B, D), residual blocks with the
    step (and label) embedding added to each."""

    def __init__(self, data_dim: int, hidden: int = 256, blocks: int = 3,
                 n_classes: int = 0, dropout: float = 0.0) -> None:
        super().__init__()
        self.data_dim, self.n_classes = data_dim, n_classes
        self.condition = Conditioning(hidden, n_classes)
        self.inp = nn.Linear(data_dim, hidden)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.LayerNorm(hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(),
                          nn.Dropout(dropout), nn.Linear(hidden, hidden)) for _ in range(blocks))
        self.out = nn.Sequential(nn.LayerNorm(hidden), nn.SiLU(), nn.Linear(hidden, data_dim))

    def forward(self, x: Tensor, t: Tensor, labels: Tensor | None = None) -> Tensor:
        """(B, D), (B,) [, (B,)] -> predicted noise (B, D)."""
        checks.rows("x", x, self.data_dim, self)
        if not isinstance(t, Tensor) or t.shape != (len(x),):
            raise ValueError(f"t must be a tensor of shape ({len(x)},), one step per row of x, "
                             f"got {tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__}")
        emb = self.condition(t, labels)
        h = self.inp(x)
        for block in self.blocks:
            h = h + block(h + emb)
        return self.out(h)


def check_range(data_range: tuple[float, float] | None) -> tuple[float, float] | None:
    """data_range checked: None, or (low, high) with low < high."""
    if data_range is not None and not data_range[0] < data_range[1]:
        raise ValueError(f"data_range must be (low, high) with low < high, got {data_range!r}")
    return data_range


class DataScale:
    """Maps batches from the data's own range `data_range` (low, high) to the model's scale
    [-1, 1] and samples back; no mapping when data_range is None. (B, D) -> (B, D)."""

    data_range: tuple[float, float] | None

    def scale(self, x: Tensor) -> Tensor:
        """Data (B, D) on its own scale -> the model's scale [-1, 1] (unchanged without range)."""
        if self.data_range is None:
            return x
        low, high = self.data_range
        return 2 * (x - low) / (high - low) - 1

    def unscale(self, x: Tensor) -> Tensor:
        """The model's scale -> the data's own (the inverse of `scale`), (B, D)."""
        if self.data_range is None:
            return x
        low, high = self.data_range
        return (x + 1) / 2 * (high - low) + low


class Diffusion(DataScale, nn.Module):
    """A denoiser and its noise schedule in one module (the schedule moves and saves with it).

    ema_decay: also keep `ema`, a moving average of the denoiser's weights; sample from it.
    data_range: (low, high) of the data (e.g. (0, 1) for pixels): the model works on the scale
    [-1, 1] and maps batches to it (`scale`) and samples back (`unscale`). None: no mapping.
    """

    def __init__(self, denoiser: nn.Module, timesteps: int = 1000, schedule: str = "cosine",
                 ema_decay: float | None = 0.999,
                 data_range: tuple[float, float] | None = None) -> None:
        super().__init__()
        checks.positive_int("timesteps", timesteps)
        self.denoiser, self.timesteps = denoiser, timesteps
        self.data_range = check_range(data_range)
        b = betas(timesteps, schedule)
        self.register_buffer("betas", b.float())
        self.register_buffer("alpha_bar", torch.cumprod(1 - b, 0).float())
        self.ema = ema_of(denoiser, ema_decay)

    @property
    def net(self) -> nn.Module:
        """The network to sample with: the averaged denoiser if there is one."""
        return self.ema.module if self.ema is not None else self.denoiser


def q_sample(model: Diffusion, x0: Tensor, t: Tensor, noise: Tensor) -> Tensor:
    """The forward process in closed form: x_t = sqrt(ab_t) x0 + sqrt(1 - ab_t) eps, (B, D)."""
    ab = model.alpha_bar[t][:, None]
    return ab.sqrt() * x0 + (1 - ab).sqrt() * noise


def loss(model: Diffusion, x0: Tensor, labels: Tensor | None = None, p_uncond: float = 0.0,
         min_snr: float | None = None) -> Tensor:
    """The simple loss of Ho et al.: mean ||eps - eps_theta(x_t, t)||^2 at a random step t.

    p_uncond: the share of labels replaced by "no label", so one network learns both the
    conditional and the unconditional noise (needed for classifier-free guidance).
    min_snr: weight each example by min(SNR_t, gamma) / SNR_t, SNR_t = ab_t / (1 - ab_t), so
    the nearly clean steps, whose noise is hardest to see and matters least, count less
    (Hang et al. 2023).
    """
    if not 0.0 <= p_uncond < 1.0:
        raise ValueError(f"p_uncond must be in [0, 1), got {p_uncond!r}")
    if min_snr is not None and not min_snr > 0:
        raise ValueError(f"min_snr must be a positive number (e.g. 5) or None, got {min_snr!r}")
    if labels is not None:
        n_classes = getattr(model.denoiser, "n_classes", 0)
        if not n_classes:
            raise ValueError("this denoiser is unconditional (n_classes=0): labels must be None")
        labels = checks.labels("labels", labels, len(x0), n_classes)
    t = torch.randint(0, model.timesteps, (len(x0),), device=x0.device)
    noise = torch.randn_like(x0)
    if labels is not None and p_uncond > 0:
        drop = torch.rand(len(labels), device=labels.device) < p_uncond
        labels = torch.where(drop, torch.full_like(labels, model.denoiser.n_classes), labels)
    error = (model.denoiser(q_sample(model, x0, t, noise), t, labels) - noise) ** 2
    if min_snr is None:
        return error.mean()
    snr = model.alpha_bar[t] / (1 - model.alpha_bar[t])
    return (snr.clamp(max=min_snr) / snr * error.mean(1)).mean()


def diffusion_step(model: Diffusion, optimizer: torch.optim.Optimizer, p_uncond: float = 0.0,
                   min_snr: float | None = None) -> Step:
    """The step function for `train.fit`: batches x0 (B, D) on the data's own scale
    [, labels (B,)]; one update of the denoiser, then of its average (`model.ema`)."""
    if not 0.0 <= p_uncond < 1.0:
        raise ValueError(f"p_uncond must be in [0, 1), got {p_uncond!r}")

    return averaged_step(model, optimizer, model.denoiser, "denoiser",
                         lambda x0, labels: loss(model, x0, labels, p_uncond, min_snr))


def guided_noise(net: nn.Module, x: Tensor, t: Tensor, labels: Tensor | None,
                 guidance: float) -> Tensor:
    """Classifier-free guidance: eps_uncond + w (eps_cond - eps_uncond); w = 1 is plain
    conditioning, w > 1 pushes samples towards their label (Ho & Salimans 2022). (B, D)."""
    if labels is None or guidance == 1.0:
        return net(x, t, labels)
    both = net(torch.cat([x, x]), torch.cat([t, t]),
               torch.cat([labels, torch.full_like(labels, net.n_classes)]))
    cond, uncond = both.chunk(2)
    return uncond + guidance * (cond - uncond)


def _start(model: Diffusion, n: int, labels: Tensor | None, seed: int | None):
    """Checks and the starting noise x_T (n, D) for the samplers."""
    checks.positive_int("n", n)
    net = model.net
    dev = checks.device_of(net)
    if net.n_classes:
        if labels is not None:
            labels = checks.labels("labels", labels, n, net.n_classes).to(dev)
    elif labels is not None:
        raise ValueError("this denoiser is unconditional (n_classes=0): labels must be None")
    gen = runtime.generator(seed)
    x = runtime.randn((n, net.data_dim), gen, dev)
    return net, dev, labels, gen, x


def _x0(model: Diffusion, x: Tensor, eps: Tensor, t: int, clip: float | None) -> Tensor:
    """The clean data the predicted noise implies: (x_t - sqrt(1 - ab) eps) / sqrt(ab)."""
    ab = model.alpha_bar[t]
    x0 = (x - (1 - ab).sqrt() * eps) / ab.sqrt()
    return x0 if clip is None else x0.clamp(-clip, clip)


def _times(model: Diffusion, steps: int | None, eta: float) -> list[int]:
    """The steps t the sampler visits, from T - 1 down to 0: all of them (DDPM) or S (DDIM)."""
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int)
                              or not 1 <= steps <= model.timesteps):
        raise ValueError(f"steps must be an integer in [1, {model.timesteps}] or None, "
                         f"got {steps!r}")
    if (isinstance(eta, bool) or not isinstance(eta, numbers.Real)
            or not 0 <= eta < float("inf")):
        raise ValueError(f"eta must be a finite number >= 0 (0: deterministic DDIM, 1: as "
                         f"random as DDPM), got {eta!r}")
    if steps is None:
        return list(range(model.timesteps - 1, -1, -1))
    return torch.linspace(model.timesteps - 1, 0, steps).round().long().tolist()


def check_guidance(net: nn.Module, labels: Tensor | None, guidance: float,
                   what: str = "denoiser") -> None:
    """Clear errors for a sampler's guidance: a finite number >= 0, and other than 1 only
    with labels for a conditional network (`what` names it in the message)."""
    if (isinstance(guidance, bool) or not isinstance(guidance, numbers.Real)
            or not 0 <= guidance < float("inf")):
        raise ValueError(f"guidance must be a finite number >= 0 (1: plain conditioning, "
                         f"0: unconditional, above 1: stronger), got {guidance!r}")
    if guidance != 1.0 and (labels is None or not getattr(net, "n_classes", 0)):
        who = (f"this {what} is unconditional (n_classes=0)"
               if not getattr(net, "n_classes", 0) else "no labels were given")
        raise ValueError(f"guidance={guidance!r} needs labels to guide towards, but {who}: "
                         f"leave guidance=1.0, or pass labels (n,) to a conditional model")


def _check_settings(model: Diffusion, labels: Tensor | None, guidance: float,
                    clip: float | None) -> None:
    """Clear errors for the sampler's guidance and clip (before any noise is drawn)."""
    check_guidance(model.net, labels, guidance)
    if clip is not None and (isinstance(clip, bool) or not isinstance(clip, numbers.Real)
                             or not 0 < clip < float("inf")):
        raise ValueError(f"clip must be a positive number (the data's range, 1 on the model's "
                         f"scale) or None, got {clip!r}")


@torch.no_grad()
def _reverse(model: Diffusion, n: int, labels: Tensor | None, seed: int | None,
             steps: int | None, guidance: float, eta: float, clip: float | None, keep: int):
    """The reverse process on the model's scale: x_0 (n, D) and `keep` snapshots on the way."""
    _check_settings(model, labels, guidance, clip)
    net, dev, labels, gen, x = _start(model, n, labels, seed)
    ddpm, times = steps is None, _times(model, steps, eta)
    marks = set(torch.linspace(0, len(times) - 1, keep).round().long().tolist()) if keep else set()
    path = []
    with checks.eval_mode(net):
        for i, t in enumerate(times):
            if i in marks:
                path.append(x.cpu())
            tt = torch.full((n,), t, device=dev, dtype=torch.long)
            eps = guided_noise(net, x, tt, labels, guidance)
            x0 = _x0(model, x, eps, t, clip)
            prev = times[i + 1] if i + 1 < len(times) else -1
            ab = model.alpha_bar[t]
            ab_prev = model.alpha_bar[prev] if prev >= 0 else x.new_tensor(1.0)
            if ddpm or eta > 0:  # the posterior's variance, scaled by eta for DDIM
                var = (1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev)
                var = var if ddpm else eta ** 2 * var
            else:
                var = x.new_tensor(0.0)
            eps = (x - ab.sqrt() * x0) / (1 - ab).sqrt()  # the noise consistent with a clipped x0
            x = ab_prev.sqrt() * x0 + (1 - ab_prev - var).clamp(min=0).sqrt() * eps
            if prev >= 0 and var > 0:
                x = x + var.sqrt() * torch.randn(x.shape, generator=gen).to(dev)
    return x, path + [x.cpu()]


def sample(model: Diffusion, n: int, labels: Tensor | None = None, seed: int | None = None, *,
           steps: int | None = None, guidance: float = 1.0, eta: float = 0.0,
           clip: float | None = 1.0) -> Tensor:
    """n samples (n, D) on the data's own scale, on the model's device, from pure noise x_T.

    steps=None: the ancestral sampler of DDPM through all T steps (x_{t-1} drawn from the
    Gaussian posterior q(x_{t-1} | x_t, x0_hat)). steps=S < T: DDIM (Song et al. 2021),
    S evenly spaced steps, deterministic when eta = 0. clip: clamp the implied x0 to
    [-clip, clip] on the model's scale; None for data without bounds. labels (n,) and
    guidance w: see `guided_noise`. seed: the noise's (None: the global random state).
    """
    x, _ = _reverse(model, n, labels, seed, steps, guidance, eta, clip, 0)
    return model.unscale(x)


def trajectory(model: Diffusion, n: int, labels: Tensor | None = None, seed: int | None = None,
               *, keep: int = 10, steps: int | None = None, guidance: float = 1.0,
               eta: float = 0.0, clip: float | None = 1.0) -> list[Tensor]:
    """The reverse path of `sample` (same settings, same seed, same samples): `keep`
    snapshots of x (n, D) evenly spaced along the steps, pure noise first, then x_0; on the
    data's own scale, on the CPU."""
    n_times = len(_times(model, steps, eta))
    if isinstance(keep, bool) or not isinstance(keep, int) or not 1 <= keep <= n_times:
        raise ValueError(f"keep must be an integer in [1, {n_times}] (snapshots along the "
                         f"{n_times} steps), got {keep!r}")
    _, path = _reverse(model, n, labels, seed, steps, guidance, eta, clip, keep)
    return [model.unscale(x) for x in path]
