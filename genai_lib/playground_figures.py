"""The figures of the playgrounds: what each playground computes and draws, and the grid of
settings that the book shows in its place (the rendered book has no kernel to move a slider).

Matplotlib and NumPy only; `widgets` adds the sliders. A neuron's decision line (chapter 1),
gradient descent on a 2-D function (chapter 3) and decoded points of a latent space (GANs, VAEs).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from genai_lib import checks
from genai_lib.plot import PALETTE, grid_2d, labels


def _panel_grid(n: int, ncols: int = 2, height: float = 3.6
                ) -> tuple[Figure, list[Axes]]:
    """n panels in rows of at most two, about 9 inches wide; unused slots are removed."""
    n = checks.positive_int("the number of panels", n)
    ncols = max(1, min(int(ncols), 2, n))
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.5 * ncols, height * nrows),
                             squeeze=False)
    for ax in axes.flat[n:]:
        ax.remove()
    return fig, list(axes.flat[:n])


def _legend_below(fig: Figure, handles: list, ncol: int) -> None:
    """A figure legend centred under the panels, off the data."""
    fig.tight_layout()
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0),
               ncol=ncol, frameon=False)


# --- a neuron as a linear classifier -------------------------------------------------------

def labelled_points(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labelled 2-D points, or a clear error: x (N, 2) floats, y (N,) in {0, 1}."""
    x, y = checks.matrix("x", x), np.asarray(y).ravel()
    if x.shape[1] != 2:
        raise ValueError(f"x must have shape (N, 2), got {x.shape}")
    if len(y) != len(x):
        raise ValueError(f"y must have shape ({len(x)},) to match x, got {y.shape}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError(f"y must hold labels 0 and 1, got values {np.unique(y)[:5]}")
    return x, y.astype(int)


def neuron_accuracy(x: np.ndarray, y: np.ndarray, w: Sequence[float], b: float) -> float:
    """Accuracy of the step neuron 1[w . x + b >= 0] (scratch.neuron.step). x: (N, 2), y: (N,)."""
    x, y = labelled_points(x, y)
    w = np.asarray(w, dtype=float)
    if w.shape != (2,):
        raise ValueError(f"w must have shape (2,) (one weight per input), got {w.shape}")
    return float(np.mean((x @ w + b >= 0).astype(int) == y))


def draw_neuron(ax: Axes, x: np.ndarray, y: np.ndarray, w: Sequence[float], b: float,
                xlim: tuple[float, float], ylim: tuple[float, float]) -> float:
    """Shade the neuron's two half-planes, draw its line and the points; returns accuracy."""
    xx, yy, pts = grid_2d(xlim, ylim, 100)
    score = (pts @ np.asarray(w, dtype=float) + b).reshape(xx.shape)
    ax.contourf(xx, yy, (score >= 0).astype(float), levels=[-0.5, 0.5, 1.5],
                colors=[PALETTE[0], PALETTE[1]], alpha=0.15)
    if np.ptp(score) > 0 and score.min() < 0 < score.max():
        ax.contour(xx, yy, score, levels=[0.0], colors="black", linewidths=1.5)
    for label in (0, 1):
        pts_c = x[y == label]
        ax.scatter(pts_c[:, 0], pts_c[:, 1], s=14, color=PALETTE[label], label=f"class {label}",
                   edgecolor="white", linewidth=0.3)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    acc = neuron_accuracy(x, y, w, b)
    labels(ax, f"w=({w[0]:.1f}, {w[1]:.1f}), b={b:.1f}: acc {acc:.0%}", "$x_1$", "$x_2$")
    return acc


def axis_limits(x: np.ndarray, margin: float = 0.5
                ) -> tuple[tuple[float, float], tuple[float, float]]:
    """Axis limits around 2-D points x: (N, 2)."""
    lo, hi = x.min(axis=0) - margin, x.max(axis=0) + margin
    return (float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1]))


def neuron_playground_static(x: np.ndarray, y: np.ndarray,
                             settings: Sequence[tuple[float, float, float]] | None = None,
                             ncols: int = 2) -> Figure:
    """A grid of decision lines, one panel per (w1, w2, b) setting, over points x: (N, 2).

    Panels come in rows of `ncols`, at most two (wider rows would not fit the book's
    column); the class colours and a legend under the panels are the same for every panel.
    """
    x, y = labelled_points(x, y)
    settings = list(settings or [(1, 0, 0), (0, 1, 0), (1, 1, 0), (1, 1, -1), (-1, 1, 0),
                                 (2, 1, 0.5)])
    if not settings or any(len(s) != 3 for s in settings):
        raise ValueError(f"settings must be a list of (w1, w2, b) triples, got {settings!r}")
    fig, axes = _panel_grid(len(settings), ncols, height=3.6)
    xlim, ylim = axis_limits(x)
    for ax, (w1, w2, b) in zip(axes, settings):
        draw_neuron(ax, x, y, (w1, w2), b, xlim, ylim)
    fig.suptitle("A neuron's decision line w1*x1 + w2*x2 + b = 0\nfor several settings")
    handles, _ = axes[0].get_legend_handles_labels()
    line = Line2D([], [], color="black", linewidth=1.5, label="decision line")
    _legend_below(fig, [*handles, line], ncol=3)
    return fig


# --- gradient descent on a 2-D function ----------------------------------------------------

def gradient_descent_path(grad: Callable[[np.ndarray], np.ndarray], start: Sequence[float],
                          lr: float, steps: int, blowup: float = 1e6) -> np.ndarray:
    """Points visited by x <- x - lr * grad(x): start (2,) -> path (<= steps + 1, 2)."""
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr!r}")
    steps = checks.count("steps", steps)
    point = np.asarray(start, dtype=float)
    if point.shape != (2,):
        raise ValueError(f"start must have shape (2,), got {point.shape}")
    path = [point]
    for _ in range(steps):
        g = np.asarray(grad(point), dtype=float)
        if g.shape != (2,):
            raise ValueError(f"grad must return shape (2,), got {g.shape}")
        point = point - lr * g
        path.append(point)
        if not np.all(np.isfinite(point)) or np.abs(point).max() > blowup:
            break  # diverged: stop before overflow, the plot shows the escape
    return np.array(path)


def draw_descent(ax: Axes, f: Callable[[np.ndarray], np.ndarray], path: np.ndarray,
                 xlim: tuple[float, float], ylim: tuple[float, float], lr: float,
                 color: str = PALETTE[5]) -> float:
    """Contours of f: (M, 2) -> (M,) with the descent path on top; returns f at the end."""
    xx, yy, pts = grid_2d(xlim, ylim, 120)
    zz = np.asarray(f(pts), dtype=float).reshape(xx.shape)
    ax.contour(xx, yy, zz, levels=20, colors="grey", linewidths=0.7)
    ax.grid(False)
    ax.plot(path[:, 0], path[:, 1], "-o", color=color, markersize=3, linewidth=1.2,
            label=f"lr={lr:g}")
    ax.plot(*path[0], "s", color="black", markersize=6, label="start")
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    end = float(np.asarray(f(path[-1:]), dtype=float)[0])
    labels(ax, f"lr={lr:g}, {len(path) - 1} steps: f={end:.3g}", "$w_1$", "$w_2$")
    return end


def gradient_descent_playground_static(f: Callable[[np.ndarray], np.ndarray],
                                       grad: Callable[[np.ndarray], np.ndarray],
                                       start: Sequence[float],
                                       lrs: Sequence[float] = (0.01, 0.1, 0.5),
                                       steps: int = 30, xlim: tuple[float, float] = (-3, 3),
                                       ylim: tuple[float, float] = (-3, 3)) -> Figure:
    """One panel per learning rate: the descent path from `start` on f's contours.

    Panels come in rows of at most two; the i-th learning rate is drawn in PALETTE[i] in
    every panel and in the legend under the panels (so small, medium and large rates get
    the colours the book's own learning-rate figures use).
    """
    lrs = list(lrs)
    fig, axes = _panel_grid(len(lrs), 2, height=3.6)
    for i, (ax, lr) in enumerate(zip(axes, lrs)):
        path = gradient_descent_path(grad, start, lr, steps)
        draw_descent(ax, f, path, xlim, ylim, lr, color=PALETTE[i % len(PALETTE)])
    where = ", ".join(f"{float(v):.2g}" for v in start)
    fig.suptitle(f"Gradient descent from ({where}) at several learning rates")
    handles = [ax.get_legend_handles_labels()[0][0] for ax in axes]
    start_mark = Line2D([], [], marker="s", color="black", linestyle="none",
                        markersize=6, label="start")
    _legend_below(fig, [*handles, start_mark], ncol=min(len(handles) + 1, 4))
    return fig


# --- decoding points of a latent space -----------------------------------------------------

def decode_image(decode: Callable[[torch.Tensor], torch.Tensor], z: Sequence[float],
                 image_shape: tuple[int, int] = (8, 8)) -> np.ndarray:
    """Decode one latent point z: (L,) -> image (H, W), via decode: (1, L) -> (1, H*W)."""
    module = isinstance(decode, torch.nn.Module)
    device = checks.device_of(decode) if module else torch.device("cpu")
    z_t = torch.as_tensor(np.asarray(z, dtype=np.float32), device=device).reshape(1, -1)
    with torch.no_grad():
        out = decode(z_t)
    out = np.asarray(out.detach().cpu() if isinstance(out, torch.Tensor) else out, dtype=float)
    if out.size != int(np.prod(image_shape)):
        raise ValueError(f"decode must return (1, {int(np.prod(image_shape))}) values for "
                         f"image_shape={image_shape}, got shape {out.shape}")
    return out.reshape(image_shape)


def latent_playground_static(decode: Callable[[torch.Tensor], torch.Tensor], latent_dim: int,
                             image_shape: tuple[int, int] = (8, 8),
                             dims: Sequence[int] | None = None,
                             values: Sequence[float] = (-2, -1, 0, 1, 2)) -> Figure:
    """Rows: one latent dimension swept over `values` (others 0); each cell a decoded image.

    One panel: the decoded images are tiled into a single picture (one grey scale for all,
    thin pale-blue gaps between them), the rows labelled by the latent coordinate swept and
    the columns by its value, so the figure stays readable at the width of the book's column.
    """
    latent_dim = checks.positive_int("latent_dim", latent_dim)
    dims = list(dims if dims is not None else range(min(latent_dim, 4)))
    if any(not 0 <= d < latent_dim for d in dims):
        raise ValueError(f"dims must lie in [0, {latent_dim}), got {dims}")
    values = list(values)
    h, w = image_shape
    gap = max(1, h // 8)
    rows, cols = len(dims), len(values)
    mosaic = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap), np.nan)
    for r, d in enumerate(dims):
        for c, v in enumerate(values):
            z = np.zeros(latent_dim)
            z[d] = v
            top, left = r * (h + gap), c * (w + gap)
            mosaic[top:top + h, left:left + w] = decode_image(decode, z, image_shape)
    fig, ax = plt.subplots(figsize=(1.0 * cols + 1.6, 1.0 * rows + 1.3))
    cmap = plt.get_cmap("gray_r").with_extremes(bad="#cfe2f3")  # bad: the gaps
    ax.imshow(mosaic, cmap=cmap)
    ax.grid(False)
    ax.set_xticks([c * (w + gap) + (w - 1) / 2 for c in range(cols)],
                  labels=[f"{v:g}" for v in values])
    ax.set_yticks([r * (h + gap) + (h - 1) / 2 for r in range(rows)],
                  labels=[f"$z_{{{d}}}$" for d in dims])
    ax.tick_params(length=0)
    labels(ax, "Decoded images along each latent axis\n(other coordinates 0)",
           "value of the swept coordinate", "coordinate swept")
    fig.tight_layout()
    return fig
