"""Plots: one figure style for the whole book and the figures chapters share.

Nothing here runs on import; `use_style()` (called by `runtime.setup()`) applies the style.
Functions draw and return the figure/axes; notebooks decide what to show.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

# Okabe & Ito (2008), a palette distinguishable with every common colour-vision deficiency.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#000000"]
DIVERGING = "RdBu_r"   # for signed values (weights, decision scores): blue < 0 < red
SEQUENTIAL = "viridis"  # for magnitudes and probabilities

STYLE = {
    "figure.figsize": (6.0, 4.0),
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "axes.prop_cycle": mpl.cycler(color=PALETTE),
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.frameon": False,
    "image.cmap": SEQUENTIAL,
    "animation.embed_limit": 40.0,  # MB, for to_jshtml animations in the page
}


def use_style() -> None:
    """Apply the book's matplotlib style (palette, grid, sizes) to later figures."""
    mpl.rcParams.update(STYLE)


def labels(ax: Axes, title: str, xlabel: str, ylabel: str) -> Axes:
    """Set a title and axis labels in one call (every figure in the book has all three)."""
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


def curves(history: dict[str, Sequence[float]], keys: Sequence[str] | None = None,
           title: str = "Training curves", xlabel: str = "epoch", ylabel: str = "value",
           ax: Axes | None = None, logy: bool = False) -> Axes:
    """Plot per-epoch histories {name: [v0, v1, ...]} as lines, one per key."""
    if ax is None:
        _, ax = plt.subplots()
    for key in keys if keys is not None else list(history):
        if key not in history:
            raise KeyError(f"history has no {key!r}; it has {sorted(history)}")
        ax.plot(np.arange(1, len(history[key]) + 1), history[key], label=key)
    if logy:
        ax.set_yscale("log")
    ax.legend()
    return labels(ax, title, xlabel, ylabel)


def image_grid(images: np.ndarray, nrow: int | None = None, titles: Sequence[str] | None = None,
               title: str = "", cmap: str = "gray_r", size: float = 1.0,
               vmin: float | None = None, vmax: float | None = None) -> Figure:
    """Show images (N, H, W) in a grid of `nrow` rows, with optional per-image titles."""
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]
    if images.ndim != 3:
        raise ValueError(f"images must have shape (N, H, W) or (N, 1, H, W), got {images.shape}")
    n = len(images)
    nrow = nrow or int(np.ceil(np.sqrt(n)))
    ncol = int(np.ceil(n / nrow))
    fig, axes = plt.subplots(nrow, ncol, figsize=(size * ncol, size * nrow + 0.4 * bool(title)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i], cmap=cmap, vmin=vmin, vmax=vmax)
            if titles is not None:
                ax.set_title(titles[i], fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def scatter2d(points: Sequence[np.ndarray], names: Sequence[str], title: str,
              ax: Axes | None = None, xlabel: str = "$x_1$", ylabel: str = "$x_2$",
              size: float = 6, alpha: float = 0.5) -> Axes:
    """Overlay several 2-D point clouds [(N_i, 2), ...] with a legend."""
    if len(points) != len(names):
        raise ValueError(f"names must give one name per point cloud: {len(points)} clouds, "
                         f"got {len(names)} names")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    for pts, name in zip(points, names):
        pts = np.asarray(pts)
        if pts.ndim != 2 or pts.shape[1] != 2:
            raise ValueError(f"{name!r}: points must have shape (N, 2), got {pts.shape}")
        ax.scatter(pts[:, 0], pts[:, 1], s=size, alpha=alpha, label=name)
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend(markerscale=3)
    return labels(ax, title, xlabel, ylabel)


def grid_2d(xlim: tuple[float, float], ylim: tuple[float, float],
            steps: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A mesh over a rectangle: xx, yy of shape (steps, steps) and points (steps*steps, 2)."""
    if steps < 2:
        raise ValueError(f"steps must be >= 2 (grid points per axis), got {steps}")
    xx, yy = np.meshgrid(np.linspace(*xlim, steps), np.linspace(*ylim, steps))
    return xx, yy, np.column_stack([xx.ravel(), yy.ravel()])


def decision_surface(fn, xlim: tuple[float, float], ylim: tuple[float, float],
                     ax: Axes | None = None, steps: int = 200, levels: int = 21,
                     cmap: str = DIVERGING, colorbar: bool = True, label: str = "score"):
    """Fill the plane with fn(points): (M, 2) -> (M,), e.g. a classifier's output."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    xx, yy, pts = grid_2d(xlim, ylim, steps)
    zz = np.asarray(fn(pts), dtype=float)
    if zz.size != xx.size:
        raise ValueError(f"fn must map points (M, 2) to one score each, shape ({xx.size},), "
                         f"got shape {zz.shape}")
    zz = zz.reshape(xx.shape)
    cs = ax.contourf(xx, yy, zz, levels=levels, cmap=cmap, alpha=0.8)
    if colorbar:
        ax.figure.colorbar(cs, ax=ax, label=label)
    return ax
