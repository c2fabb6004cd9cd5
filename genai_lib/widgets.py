"""Playgrounds: ipywidgets to explore an idea live, each with a static stand-in for the book.

Every `*_playground` returns a `Playground` (an ipywidgets VBox of sliders, a picture and a
readout) that redraws when a slider moves; it needs a running kernel to react. The rendered
book has no kernel, so a playground also carries, in its rich display, a PNG of its static
stand-in (a grid of settings drawn by `playground_figures`): the book's HTML shows that
picture, JupyterLab shows the live widget.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Sequence

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from genai_lib import checks
from genai_lib import playground_figures as pf

__all__ = ["Playground", "neuron_playground", "gradient_descent_playground", "latent_playground"]


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


def neuron_playground(x: np.ndarray, y: np.ndarray, w: tuple[float, float] = (1.0, 1.0),
                      b: float = 0.0, weight_range: float = 3.0,
                      bias_range: float | None = None,
                      settings: Sequence[tuple[float, float, float]] | None = None) -> Playground:
    """Sliders w1, w2, b move a neuron's decision line over labelled points x: (N, 2), y: (N,).

    `settings` are the (w1, w2, b) panels of the static stand-in shown in the rendered book.
    """
    x, y = pf.labelled_points(x, y)
    bias_range = bias_range if bias_range is not None else 2 * weight_range * np.abs(x).max()
    s_w1 = _slider("w1", w[0], -weight_range, weight_range, 0.05)
    s_w2 = _slider("w2", w[1], -weight_range, weight_range, 0.05)
    s_b = _slider("b", b, -bias_range, bias_range, 0.05)
    xlim, ylim = pf.axis_limits(x)

    def draw() -> tuple[Figure, str]:
        fig = Figure(figsize=(4.5, 4.2))
        acc = pf.draw_neuron(fig.subplots(), x, y, (s_w1.value, s_w2.value), s_b.value, xlim, ylim)
        return fig, f"<b>accuracy: {acc:.1%}</b> ({len(x)} points)"

    return _assemble([s_w1, s_w2, s_b], draw, lambda: pf.neuron_playground_static(x, y, settings))


def gradient_descent_playground(f: Callable[[np.ndarray], np.ndarray],
                                grad: Callable[[np.ndarray], np.ndarray], start: Sequence[float],
                                lr: float = 0.1, steps: int = 20, max_steps: int = 100,
                                lr_range: tuple[float, float] = (0.001, 1.0),
                                xlim: tuple[float, float] = (-3, 3),
                                ylim: tuple[float, float] = (-3, 3)) -> Playground:
    """Learning-rate and steps sliders; f: (M, 2) -> (M,), grad: (2,) -> (2,)."""
    pf.gradient_descent_path(grad, start, lr, 1)  # fail now, with a clear message, on bad input
    s_lr = W.FloatLogSlider(value=lr, base=10, min=np.log10(lr_range[0]),
                            max=np.log10(lr_range[1]), step=0.05, description="lr")
    s_steps = W.IntSlider(value=steps, min=0, max=max_steps, description="steps")

    def draw() -> tuple[Figure, str]:
        path = pf.gradient_descent_path(grad, start, s_lr.value, s_steps.value)
        fig = Figure(figsize=(4.5, 4.2))
        end = pf.draw_descent(fig.subplots(), f, path, xlim, ylim, s_lr.value)
        return fig, f"<b>f after {len(path) - 1} steps: {end:.4g}</b>"

    return _assemble([s_lr, s_steps], draw, lambda: pf.gradient_descent_playground_static(
        f, grad, start, xlim=xlim, ylim=ylim))


def latent_playground(decode: Callable[[torch.Tensor], torch.Tensor], latent_dim: int,
                      image_shape: tuple[int, int] = (8, 8), z_range: float = 3.0) -> Playground:
    """One slider per latent coordinate; decode: (1, L) -> (1, H*W) redraws the image live."""
    latent_dim = checks.positive_int("latent_dim", latent_dim)
    pf.decode_image(decode, np.zeros(latent_dim), image_shape)  # fail now on a bad decoder
    sliders = [_slider(f"z{i}", 0.0, -z_range, z_range, 0.05) for i in range(latent_dim)]

    def draw() -> tuple[Figure, str]:
        z = [s.value for s in sliders]
        fig = Figure(figsize=(2.6, 2.6))
        ax = fig.subplots()
        ax.imshow(pf.decode_image(decode, z, image_shape), cmap="gray_r")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title("decoded image")
        return fig, "z = (" + ", ".join(f"{v:.2f}" for v in z) + ")"

    return _assemble(sliders, draw, lambda: pf.latent_playground_static(
        decode, latent_dim, image_shape))
