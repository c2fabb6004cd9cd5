"""Playgrounds: ipywidgets to explore an idea live, each with a static stand-in for the book.

Every `*_playground` returns a `Playground` (an ipywidgets VBox of sliders, a picture and a
readout) that redraws when a slider moves; it needs a running kernel to react. Every
`*_static` returns a matplotlib Figure showing a grid of settings: the rendered book has no
kernel, so a playground also carries a PNG of its static figure in its rich display; the
book's HTML shows that picture, JupyterLab shows the live widget.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Sequence

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .plot import PALETTE, grid_2d, labels

__all__ = ["Playground", "neuron_accuracy", "neuron_playground", "neuron_playground_static",
           "gradient_descent_path", "gradient_descent_playground",
           "gradient_descent_playground_static", "decode_image", "latent_playground",
           "latent_playground_static"]


def _png(fig: Figure, dpi: int = 80) -> bytes:
    """The figure as PNG bytes (the figure is closed afterwards)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


class Playground(W.VBox):
    """A VBox of controls and a picture whose display also carries a static PNG stand-in."""

    def __init__(self, children: Sequence[W.Widget], redraw: Callable[[], None],
                 static: Callable[[], Figure] | None = None, **kwargs) -> None:
        super().__init__(children=list(children), **kwargs)
        self.redraw = redraw
        self._static = static
        self._static_png: bytes | None = None

    def static_png(self) -> bytes | None:
        """PNG bytes of the static stand-in figure (drawn once, then cached); None if none."""
        if self._static is not None and self._static_png is None:
            self._static_png = _png(self._static(), dpi=100)
        return self._static_png

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs)
        png = self.static_png()
        if data is not None and png is not None:  # the book's HTML shows this (see _config.yml)
            data["image/png"] = base64.b64encode(png).decode("ascii")
        return data


def _slider(description: str, value: float, lo: float, hi: float, step: float) -> W.FloatSlider:
    """A float slider with the book's defaults (redraws while dragging)."""
    return W.FloatSlider(value=value, min=lo, max=hi, step=step, description=description,
                         continuous_update=True, readout_format=".2f")


def _assemble(sliders: list[W.Widget], draw: Callable[[], tuple[Figure, str]],
              static: Callable[[], Figure] | None) -> Playground:
    """Wire sliders to a draw() -> (figure, readout) function inside a Playground."""
    image, readout = W.Image(format="png"), W.HTML()

    def redraw(_change=None) -> None:
        fig, text = draw()
        image.value, readout.value = _png(fig), text

    for s in sliders:
        s.observe(redraw, names="value")
    redraw()
    return Playground([W.VBox(sliders), readout, image], redraw=redraw, static=static)


def _panel_grid(n: int, ncols: int = 2, height: float = 3.6
                ) -> tuple[Figure, list[Axes]]:
    """n panels in rows of at most two, about 9 inches wide; unused slots are removed."""
    if n < 1:
        raise ValueError(f"need at least one panel, got {n}")
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

def _check_points(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate labelled 2-D points: x (N, 2) floats, y (N,) in {0, 1}."""
    x, y = np.asarray(x, dtype=float), np.asarray(y).ravel()
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"x must have shape (N, 2), got {x.shape}")
    if len(y) != len(x):
        raise ValueError(f"y must have shape ({len(x)},) to match x, got {y.shape}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError(f"y must hold labels 0 and 1, got values {np.unique(y)[:5]}")
    return x, y.astype(int)


def neuron_accuracy(x: np.ndarray, y: np.ndarray, w: Sequence[float], b: float) -> float:
    """Accuracy of the step neuron 1[w . x + b >= 0] (as scratch.neuron.step). x: (N, 2), y: (N,)."""
    x, y = _check_points(x, y)
    w = np.asarray(w, dtype=float)
    if w.shape != (2,):
        raise ValueError(f"w must have shape (2,) (one weight per input), got {w.shape}")
    return float(np.mean((x @ w + b >= 0).astype(int) == y))


def _draw_neuron(ax: Axes, x: np.ndarray, y: np.ndarray, w: Sequence[float], b: float,
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


def _limits(x: np.ndarray, margin: float = 0.5) -> tuple[tuple[float, float], tuple[float, float]]:
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
    x, y = _check_points(x, y)
    settings = list(settings or [(1, 0, 0), (0, 1, 0), (1, 1, 0), (1, 1, -1), (-1, 1, 0),
                                 (2, 1, 0.5)])
    if not settings or any(len(s) != 3 for s in settings):
        raise ValueError(f"settings must be a list of (w1, w2, b) triples, got {settings!r}")
    fig, axes = _panel_grid(len(settings), ncols, height=3.6)
    xlim, ylim = _limits(x)
    for ax, (w1, w2, b) in zip(axes, settings):
        _draw_neuron(ax, x, y, (w1, w2), b, xlim, ylim)
    fig.suptitle("A neuron's decision line w1*x1 + w2*x2 + b = 0\nfor several settings")
    handles, _ = axes[0].get_legend_handles_labels()
    line = Line2D([], [], color="black", linewidth=1.5, label="decision line")
    _legend_below(fig, [*handles, line], ncol=3)
    return fig


def neuron_playground(x: np.ndarray, y: np.ndarray, w: tuple[float, float] = (1.0, 1.0),
                      b: float = 0.0, weight_range: float = 3.0,
                      bias_range: float | None = None,
                      settings: Sequence[tuple[float, float, float]] | None = None) -> Playground:
    """Sliders w1, w2, b move a neuron's decision line over labelled points x: (N, 2), y: (N,).

    `settings` are the (w1, w2, b) panels of the static stand-in shown in the rendered book.
    """
    x, y = _check_points(x, y)
    bias_range = bias_range if bias_range is not None else 2 * weight_range * np.abs(x).max()
    s_w1 = _slider("w1", w[0], -weight_range, weight_range, 0.05)
    s_w2 = _slider("w2", w[1], -weight_range, weight_range, 0.05)
    s_b = _slider("b", b, -bias_range, bias_range, 0.05)
    xlim, ylim = _limits(x)

    def draw() -> tuple[Figure, str]:
        fig = Figure(figsize=(4.5, 4.2))
        acc = _draw_neuron(fig.subplots(), x, y, (s_w1.value, s_w2.value), s_b.value, xlim, ylim)
        return fig, f"<b>accuracy: {acc:.1%}</b> ({len(x)} points)"

    return _assemble([s_w1, s_w2, s_b], draw, lambda: neuron_playground_static(x, y, settings))


# --- gradient descent on a 2-D function ----------------------------------------------------

def gradient_descent_path(grad: Callable[[np.ndarray], np.ndarray], start: Sequence[float],
                          lr: float, steps: int, blowup: float = 1e6) -> np.ndarray:
    """Points visited by x <- x - lr * grad(x): start (2,) -> path (<= steps + 1, 2)."""
    if lr <= 0 or steps < 0:
        raise ValueError(f"lr must be > 0 and steps >= 0, got lr={lr}, steps={steps}")
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


def _draw_descent(ax: Axes, f: Callable[[np.ndarray], np.ndarray], path: np.ndarray,
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
        _draw_descent(ax, f, path, xlim, ylim, lr, color=PALETTE[i % len(PALETTE)])
    where = ", ".join(f"{float(v):.2g}" for v in start)
    fig.suptitle(f"Gradient descent from ({where}) at several learning rates")
    handles = [ax.get_legend_handles_labels()[0][0] for ax in axes]
    start_mark = Line2D([], [], marker="s", color="black", linestyle="none",
                        markersize=6, label="start")
    _legend_below(fig, [*handles, start_mark], ncol=min(len(handles) + 1, 4))
    return fig


def gradient_descent_playground(f: Callable[[np.ndarray], np.ndarray],
                                grad: Callable[[np.ndarray], np.ndarray], start: Sequence[float],
                                lr: float = 0.1, steps: int = 20, max_steps: int = 100,
                                lr_range: tuple[float, float] = (0.001, 1.0),
                                xlim: tuple[float, float] = (-3, 3),
                                ylim: tuple[float, float] = (-3, 3)) -> Playground:
    """Learning-rate and steps sliders; f: (M, 2) -> (M,), grad: (2,) -> (2,)."""
    gradient_descent_path(grad, start, lr, 1)  # fail now, with a clear message, on bad input
    s_lr = W.FloatLogSlider(value=lr, base=10, min=np.log10(lr_range[0]),
                            max=np.log10(lr_range[1]), step=0.05, description="lr")
    s_steps = W.IntSlider(value=steps, min=0, max=max_steps, description="steps")

    def draw() -> tuple[Figure, str]:
        path = gradient_descent_path(grad, start, s_lr.value, s_steps.value)
        fig = Figure(figsize=(4.5, 4.2))
        end = _draw_descent(fig.subplots(), f, path, xlim, ylim, s_lr.value)
        return fig, f"<b>f after {len(path) - 1} steps: {end:.4g}</b>"

    return _assemble([s_lr, s_steps], draw, lambda: gradient_descent_playground_static(
        f, grad, start, xlim=xlim, ylim=ylim))


# --- decoding points of a latent space -----------------------------------------------------

def decode_image(decode: Callable[[torch.Tensor], torch.Tensor], z: Sequence[float],
                 image_shape: tuple[int, int] = (8, 8)) -> np.ndarray:
    """Decode one latent point z: (L,) -> image (H, W), via decode: (1, L) -> (1, H*W)."""
    device = (next(decode.parameters()).device if isinstance(decode, torch.nn.Module)
              and any(True for _ in decode.parameters()) else torch.device("cpu"))
    z_t = torch.as_tensor(np.asarray(z, dtype=np.float32), device=device).reshape(1, -1)
    with torch.no_grad():
        out = decode(z_t)
    out = np.asarray(out.detach().cpu() if isinstance(out, torch.Tensor) else out, dtype=float)
    if out.size != int(np.prod(image_shape)):
        raise ValueError(f"decode must return (1, {int(np.prod(image_shape))}) values for "
                         f"image_shape={image_shape}, got shape {out.shape}")
    return out.reshape(image_shape)


def latent_playground_static(decode: Callable[[torch.Tensor], torch.Tensor], latent_dim: int,
                             image_shape: tuple[int, int] = (8, 8), dims: Sequence[int] | None = None,
                             values: Sequence[float] = (-2, -1, 0, 1, 2)) -> Figure:
    """Rows: one latent dimension swept over `values` (others 0); each cell a decoded image.

    One panel: the decoded images are tiled into a single picture (one grey scale for all,
    thin pale-blue gaps between them), the rows labelled by the latent coordinate swept and
    the columns by its value, so the figure stays readable at the width of the book's column.
    """
    if latent_dim < 1:
        raise ValueError(f"latent_dim must be >= 1, got {latent_dim}")
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


def latent_playground(decode: Callable[[torch.Tensor], torch.Tensor], latent_dim: int,
                      image_shape: tuple[int, int] = (8, 8), z_range: float = 3.0) -> Playground:
    """One slider per latent coordinate; decode: (1, L) -> (1, H*W) redraws the image live."""
    decode_image(decode, np.zeros(latent_dim), image_shape)  # fail now on a bad decoder
    sliders = [_slider(f"z{i}", 0.0, -z_range, z_range, 0.05) for i in range(latent_dim)]

    def draw() -> tuple[Figure, str]:
        z = [s.value for s in sliders]
        fig = Figure(figsize=(2.6, 2.6))
        ax = fig.subplots()
        ax.imshow(decode_image(decode, z, image_shape), cmap="gray_r")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title("decoded image")
        return fig, "z = (" + ", ".join(f"{v:.2f}" for v in z) + ")"

    return _assemble(sliders, draw, lambda: latent_playground_static(
        decode, latent_dim, image_shape))
