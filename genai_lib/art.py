"""Generative art: compositional pattern-producing networks (CPPNs, Stanley 2007), latent walks,
animations that play in a static page, and two measures of visual structure.

A CPPN is a function of the pixel coordinates: colour = f(x, y, r, z). A randomly initialised
MLP (`genai_lib.models.MLP`) with smooth activations already paints smooth, structured patterns;
the latent vector z changes the picture continuously. Images here are arrays (H, W, 3) in [0, 1].
"""

from __future__ import annotations

import zlib

import numpy as np
import torch
from torch import Tensor, nn

from genai_lib import checks
from genai_lib.models import MLP


def _size(resolution: int | tuple[int, int]) -> tuple[int, int]:
    """(height, width) from an int or a pair; checks both are positive."""
    h, w = (resolution, resolution) if isinstance(resolution, (int, np.integer)) else resolution
    if int(h) <= 0 or int(w) <= 0:
        raise ValueError(f"resolution must be positive, got {resolution!r}")
    return int(h), int(w)


def coordinates(resolution: int | tuple[int, int] = 128, scale: float = 1.0) -> Tensor:
    """Pixel coordinates (x, y, r) of an H x W image, x, y in [-scale, scale]: -> (H*W, 3)."""
    h, w = _size(resolution)
    aspect = w / h
    y, x = torch.meshgrid(torch.linspace(-scale, scale, h),
                          torch.linspace(-scale * aspect, scale * aspect, w), indexing="ij")
    r = torch.sqrt(x ** 2 + y ** 2)  # the radius gives the network radial symmetry to use
    return torch.stack([x, y, r], dim=-1).reshape(-1, 3)


def cppn(latent_dim: int = 8, hidden: int = 32, depth: int = 4, channels: int = 3,
         seed: int = 0, weight_std: float = 2.0, activation: str = "tanh") -> MLP:
    """A random CPPN: MLP (x, y, r, z) -> colour in [0, 1]. (B, 3 + latent_dim) -> (B, channels).

    Weights ~ N(0, weight_std^2 / fan_in) times a gain: larger `weight_std` gives finer,
    busier patterns. `seed` picks the network (the "style"); z picks a picture in that style.
    """
    latent_dim = checks.count("latent_dim", latent_dim)
    hidden, depth = checks.positive_int("hidden", hidden), checks.positive_int("depth", depth)
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grey) or 3 (RGB), got {channels!r}")
    with torch.random.fork_rng(devices=[]):  # leave the global RNG as it was: a pure function of seed
        net = MLP([3 + latent_dim] + [hidden] * depth + [channels], activation=activation,
                  out_activation="sigmoid")
    g = torch.Generator().manual_seed(seed)
    for module in net.modules():
        if isinstance(module, nn.Linear):
            fan_in = module.weight.shape[1]
            with torch.no_grad():  # Stanley (2007): the pattern is in the weights, not learnt
                module.weight.copy_(torch.randn(module.weight.shape, generator=g)
                                    * weight_std * 2.0 / fan_in ** 0.5)
                module.bias.copy_(torch.randn(module.bias.shape, generator=g) * 0.5)
    return net.eval()


def latent(latent_dim: int = 8, n: int = 1, seed: int = 0) -> Tensor:
    """n latent vectors z ~ N(0, I) from a fixed seed: -> (n, latent_dim)."""
    checks.positive_int("n", n)
    checks.count("latent_dim", latent_dim)
    return torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed))


@torch.no_grad()
def render(net: nn.Module, z: Tensor | None = None, resolution: int | tuple[int, int] = 128,
           scale: float = 1.0, palette: str | None = None, z_scale: float = 1.0) -> np.ndarray:
    """Paint one image: every pixel's (x, y, r, z) through `net`. z: (latent_dim,) -> (H, W, 3).

    With a `palette` (a matplotlib colormap name, e.g. "magma"), the first output channel is
    mapped through it; otherwise the network's outputs are the RGB colours (1 channel: grey).
    """
    h, w = _size(resolution)
    param = next(net.parameters())
    xyr = coordinates((h, w), scale).to(param.device, param.dtype)
    n_in = net.sizes[0] if hasattr(net, "sizes") else xyr.shape[1]
    latent_dim = n_in - 3
    if z is None:
        z = torch.zeros(latent_dim)
    z = torch.as_tensor(z, dtype=param.dtype).reshape(-1).to(param.device)
    if z.numel() != latent_dim:
        raise ValueError(f"z must have {latent_dim} values for this CPPN, got {z.numel()}")
    inputs = torch.cat([xyr, (z * z_scale).expand(len(xyr), -1)], dim=1)
    out = net(inputs).reshape(h, w, -1).cpu().numpy().astype(np.float64)
    if palette is not None:
        import matplotlib

        return np.asarray(matplotlib.colormaps[palette](out[..., 0]))[..., :3]
    return np.repeat(out, 3, axis=-1) if out.shape[-1] == 1 else out


def interpolate(z0: Tensor, z1: Tensor, steps: int = 8, spherical: bool = True) -> Tensor:
    """Points from z0 to z1 (both (D,)): linear, or spherical (slerp, keeps the norm typical of
    a Gaussian sample; Shoemake 1985 / White 2016). -> (steps, D)."""
    z0, z1 = torch.as_tensor(z0).reshape(-1).float(), torch.as_tensor(z1).reshape(-1).float()
    if z0.shape != z1.shape:
        raise ValueError(f"z0 and z1 must have the same size, got {z0.numel()} and {z1.numel()}")
    checks.positive_int("steps", steps, low=2)
    t = torch.linspace(0, 1, steps)[:, None]
    if not spherical:
        return (1 - t) * z0 + t * z1
    cos = torch.dot(z0, z1) / (z0.norm() * z1.norm()).clamp_min(1e-12)
    omega = torch.arccos(cos.clamp(-1 + 1e-7, 1 - 1e-7))
    if omega.abs() < 1e-4:  # (nearly) parallel: slerp is lerp
        return (1 - t) * z0 + t * z1
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


def latent_loop(latent_dim: int = 8, frames: int = 12, seed: int = 0) -> Tensor:
    """A closed path z(t) = a cos t + b sin t through latent space (the animation loops): -> (frames, D)."""
    checks.positive_int("frames", frames, low=2)
    a, b = latent(latent_dim, 2, seed)
    t = torch.linspace(0, 2 * torch.pi, frames + 1)[:-1, None]
    return a * torch.cos(t) + b * torch.sin(t)


def mix_weights(net_a: nn.Module, net_b: nn.Module, alpha: float) -> nn.Module:
    """A network whose weights are (1 - alpha) * A + alpha * B: a style between two CPPNs."""
    import copy

    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    sa, sb = net_a.state_dict(), net_b.state_dict()
    if sa.keys() != sb.keys() or any(sa[k].shape != sb[k].shape for k in sa):
        raise ValueError("net_a and net_b must have the same architecture to mix their weights")
    mixed = copy.deepcopy(net_a)
    mixed.load_state_dict({k: (1 - alpha) * sa[k] + alpha * sb[k] for k in sa})
    return mixed


def _check_image(img: np.ndarray) -> np.ndarray:
    """An image as float array (H, W, C) with H, W >= 2."""
    a = np.asarray(img, dtype=np.float64)
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[0] < 2 or a.shape[1] < 2:
        raise ValueError(f"img must have shape (H, W) or (H, W, C) with H, W >= 2, got {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError("img contains NaN or inf values")
    return a


def neighbour_correlation(img: np.ndarray) -> float:
    """Spatial autocorrelation at lag 1: the correlation of each pixel with its right and lower
    neighbours, averaged over channels. (H, W[, C]) -> float in [-1, 1] (noise: ~0)."""
    a = _check_image(img)
    values = []
    for c in range(a.shape[2]):
        ch = a[..., c]
        for p, q in ((ch[:, :-1], ch[:, 1:]), (ch[:-1, :], ch[1:, :])):
            p, q = p.ravel() - p.mean(), q.ravel() - q.mean()
            denom = np.sqrt((p ** 2).sum() * (q ** 2).sum())
            values.append(float((p * q).sum() / denom) if denom > 0 else 1.0)
    return float(np.mean(values))


def compression_ratio(img: np.ndarray) -> float:
    """Compressed size / raw size of the image as 8-bit pixels (H, W[, C]) -> float in (0, ~1];
    structure compresses (small ratio), noise does not (ratio near 1)."""
    a = _check_image(img)
    pixels = np.clip(np.round(a * 255), 0, 255).astype(np.uint8)
    # PNG's "Sub" filter: store each pixel minus its left neighbour (mod 256), then deflate.
    # Smooth regions become runs of small numbers that zlib packs tightly.
    delta = np.diff(pixels, axis=1, prepend=np.zeros_like(pixels[:, :1]))
    return len(zlib.compress(delta.tobytes(), 9)) / pixels.size


def shuffle_pixels(img: np.ndarray, seed: int = 0) -> np.ndarray:
    """The baseline: the same pixels (same colour histogram) in random positions. (H, W, C) -> same."""
    a = _check_image(img)
    h, w, c = a.shape
    flat = a.reshape(h * w, c)[np.random.default_rng(seed).permutation(h * w)]
    return flat.reshape(np.asarray(img).shape)


def animation_html(frames: np.ndarray, interval: int = 120, dpi: int = 70, size: float = 3.0,
                   title: str = "", cmap: str = "gray_r", interpolation: str = "bilinear") -> str:
    """An animation of frames (T, H, W[, 3]) as HTML/JavaScript that plays in a static page.

    Every frame is embedded as a PNG: keep T, `size` (inches) and `dpi` small for a light page."""
    import matplotlib.pyplot as plt
    from matplotlib import animation

    frames = np.asarray(frames)
    if frames.ndim not in (3, 4) or len(frames) < 1:
        raise ValueError(f"frames must have shape (T, H, W) or (T, H, W, 3), got {frames.shape}")
    fig, ax = plt.subplots(figsize=(size, size), dpi=dpi)
    ax.axis("off")
    if title:
        ax.set_title(title)
    image = ax.imshow(frames[0], cmap=cmap, vmin=0, vmax=1, interpolation=interpolation)
    anim = animation.FuncAnimation(fig, lambda i: [image.set_data(frames[i])],
                                   frames=len(frames), interval=interval)
    with plt.rc_context({"savefig.dpi": dpi}):  # frames are saved at savefig.dpi, not fig.dpi
        html = anim.to_jshtml(default_mode="loop")
    plt.close(fig)
    return html
