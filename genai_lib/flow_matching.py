"""Flow matching (Lipman et al. 2023; Liu et al. 2023, rectified flow): learn a velocity
field along straight lines between data and noise, and generate by following it back.

The book's notation is diffusion's (and Esser et al. 2024's): time t runs from 0 (data x_0)
to 1 (noise eps ~ N(0, I)). The path between a pair is x_t = (1 - t) x_0 + t eps, its
velocity dx_t/dt = eps - x_0; a network v(x_t, t[, y]) regresses that target, and a sampler
integrates dx/dt = v(x, t) backwards, from t = 1 (noise) to t = 0 (data).

Shapes: x (B, D) flat, on the model's scale [-1, 1] inside (`DataScale`, as in
diffusion); t (B,) floats in [0, 1]; labels (B,) integers, n_classes meaning "no label".
The velocity network is a `diffusion.Denoiser` (any net(x, time, labels) works): it is
told the time as 1000 t, the range its sinusoidal features were made for.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from genai_lib import checks, runtime
from genai_lib.diffusion import DataScale, check_guidance, check_range, guided_noise
from genai_lib.train import Step, averaged_step, ema_of

TIME_SCALE = 1000.0   # the velocity network sees 1000 t (sinusoidal features of steps)
METHODS = ("euler", "heun")
TIMES = ("uniform", "logit-normal")   # how training draws t


class FlowMatching(DataScale, nn.Module):
    """A velocity network, its moving average (`ema`, sampled from) and the data's range."""

    def __init__(self, velocity: nn.Module, ema_decay: float | None = 0.999,
                 data_range: tuple[float, float] | None = None) -> None:
        super().__init__()
        self.velocity, self.data_range = velocity, check_range(data_range)
        self.ema = ema_of(velocity, ema_decay)

    @property
    def net(self) -> nn.Module:
        """The network to sample with: the averaged velocity network if there is one."""
        return self.ema.module if self.ema is not None else self.velocity


def path(x0: Tensor, eps: Tensor, t: Tensor) -> Tensor:
    """The straight line from data x0 to noise eps at times t (B,): (1 - t) x0 + t eps."""
    t = t[:, None]
    return (1 - t) * x0 + t * eps


def velocity(net: nn.Module, x: Tensor, t: Tensor, labels: Tensor | None = None,
             guidance: float = 1.0) -> Tensor:
    """The network's velocity v(x, t[, y]) (B, D) at times t (B,) in [0, 1]; guidance as
    for diffusion's noise (`guided_noise`)."""
    return guided_noise(net, x, TIME_SCALE * t, labels, guidance)


def draw_times(n: int, times: str = "uniform", device: torch.device | str = "cpu") -> Tensor:
    """n training times (n,) in (0, 1): uniform, or logit-normal, t = sigmoid(N(0, 1)), which
    puts more updates at middle times (Esser et al. 2024)."""
    if times == "uniform":
        return torch.rand(n, device=device)
    if times == "logit-normal":
        return torch.sigmoid(torch.randn(n, device=device))
    raise ValueError(f"times must be one of {TIMES}, got {times!r}")


def loss(model: FlowMatching, x0: Tensor, labels: Tensor | None = None,
         p_uncond: float = 0.0, times: str = "uniform") -> Tensor:
    """The flow-matching loss: mean ||v(x_t, t) - (eps - x0)||^2, eps ~ N(0, I), t drawn by
    `draw_times`, for data x0 (B, D) on the model's scale. p_uncond: the share of labels
    replaced by "no label" (for guidance)."""
    if not 0.0 <= p_uncond < 1.0:
        raise ValueError(f"p_uncond must be in [0, 1), got {p_uncond!r}")
    if times not in TIMES:
        raise ValueError(f"times must be one of {TIMES}, got {times!r}")
    n_classes = getattr(model.velocity, "n_classes", 0)
    if labels is not None:
        if not n_classes:
            raise ValueError("this velocity network is unconditional (n_classes=0): "
                             "labels must be None")
        labels = checks.labels("labels", labels, len(x0), n_classes)
        if p_uncond > 0:
            drop = torch.rand(len(labels), device=labels.device) < p_uncond
            labels = torch.where(drop, torch.full_like(labels, n_classes), labels)
    eps = torch.randn_like(x0)
    t = draw_times(len(x0), times, x0.device)
    pred = model.velocity(path(x0, eps, t), TIME_SCALE * t, labels)
    return ((pred - (eps - x0)) ** 2).mean()


def flow_matching_step(model: FlowMatching, optimizer: torch.optim.Optimizer,
                       p_uncond: float = 0.0, times: str = "uniform") -> Step:
    """The step function for `train.fit`: batches x (B, D) on the data's own scale
    [, labels (B,)]; one update of the velocity network, then of its average."""
    if times not in TIMES:
        raise ValueError(f"times must be one of {TIMES}, got {times!r}")

    return averaged_step(model, optimizer, model.velocity, "velocity",
                         lambda x0, labels: loss(model, x0, labels, p_uncond, times))


def _clipped(x: Tensor, t: float, v: Tensor, clip: float | None) -> Tensor:
    """The velocity from the clamped data it points to: (x - clamp(x - t v)) / t."""
    if clip is None or t <= 0.0:
        return v
    return (x - (x - t * v).clamp(-clip, clip)) / t


@torch.no_grad()
def sample(model: FlowMatching, n: int, labels: Tensor | None = None, seed: int | None = None,
           *, steps: int = 8, method: str = "euler", guidance: float = 1.0,
           clip: float | None = None) -> Tensor:
    """n samples (n, D) on the data's own scale, on the model's device: noise x_1 ~ N(0, I)
    carried back to t = 0 in `steps` equal steps of h = 1 / steps.

    euler: x <- x - h v(x, t), one network call per step. heun: an Euler guess, then the
    average of the velocities at both ends (two calls per step, second-order accurate).
    clip: clamp the data each velocity points to, x0_hat = x - t v, to [-clip, clip] on the
    model's scale (as DDIM clamps its x0_hat); None for data without bounds.
    """
    checks.positive_int("steps", steps)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    check_guidance(model.net, labels, guidance, "velocity network")
    if clip is not None and not clip > 0:
        raise ValueError(f"clip must be a positive number (1 on the model's scale) or None, "
                         f"got {clip!r}")
    checks.positive_int("n", n)
    net = model.net
    dev = checks.device_of(net)
    n_classes = getattr(net, "n_classes", 0)
    if labels is not None:
        if not n_classes:
            raise ValueError("this velocity network is unconditional (n_classes=0): "
                             "labels must be None")
        labels = checks.labels("labels", labels, n, n_classes).to(dev)
    x = runtime.randn((n, net.data_dim), runtime.generator(seed), dev)
    h = 1.0 / steps
    with checks.eval_mode(net):
        for i in range(steps):
            t = 1.0 - i * h
            tt = torch.full((n,), t, device=dev)
            v = _clipped(x, t, velocity(net, x, tt, labels, guidance), clip)
            if method == "heun":
                x_end = x - h * v
                v_end = velocity(net, x_end, tt - h, labels, guidance)
                v = (v + _clipped(x_end, t - h, v_end, clip)) / 2
            x = x - h * v
    return model.unscale(x)
