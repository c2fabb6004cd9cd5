"""Playgrounds built without a kernel: sliders move, observers redraw, the display carries a PNG."""

import base64

import numpy as np
import pytest
import torch

from genai_lib import widgets as gw

PNG_MAGIC = b"\x89PNG"


@pytest.fixture
def points():
    """Points labelled 1 where x1 + x2 > 0: the line of w = (1, 1), b = 0 gets them all."""
    x = np.random.default_rng(1).normal(size=(30, 2))
    return x, (x.sum(1) > 0).astype(int)


def bowl(p):
    """f(w) = w1^2 + 3 w2^2 at points p: (M, 2) -> (M,)."""
    return p[:, 0] ** 2 + 3 * p[:, 1] ** 2


def bowl_grad(q):
    """The gradient of `bowl` at one point q: (2,) -> (2,)."""
    return np.array([2 * q[0], 6 * q[1]])


def parts(pg):
    """(sliders, readout HTML, image) of a Playground."""
    controls, readout, image = pg.children
    return list(controls.children), readout, image


def test_neuron_playground_redraws_on_slider_change(points):
    x, y = points
    pg = gw.neuron_playground(x, y)
    sliders, readout, image = parts(pg)
    assert [s.description for s in sliders] == ["w1", "w2", "b"]
    assert "100.0%" in readout.value and bytes(image.value).startswith(PNG_MAGIC)
    before = bytes(image.value)
    sliders[0].value, sliders[1].value = -1.0, -1.0  # the line flips: every point is wrong
    assert "0.0%" in readout.value and bytes(image.value) != before


def test_playground_display_carries_static_png(points):
    bundle = gw.neuron_playground(*points)._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"]).startswith(PNG_MAGIC)


def test_gradient_descent_playground_redraws():
    pg = gw.gradient_descent_playground(bowl, bowl_grad, (2.0, 1.0), lr=0.1, steps=10)
    (s_lr, s_steps), readout, image = parts(pg)
    assert "after 10 steps" in readout.value
    before = bytes(image.value)
    s_steps.value = 0
    assert "after 0 steps: 7" in readout.value and bytes(image.value) != before  # f(2, 1) = 4 + 3
    s_steps.value, s_lr.value = 20, 0.5
    assert "e+" in readout.value  # lr = 0.5 overshoots along w2 and diverges


def test_latent_playground_redraws():
    weights = torch.linspace(-1, 1, 128).reshape(2, 64)
    pg = gw.latent_playground(lambda z: torch.tanh(z @ weights), latent_dim=2)
    sliders, readout, image = parts(pg)
    assert len(sliders) == 2 and readout.value == "z = (0.00, 0.00)"
    before = bytes(image.value)
    sliders[1].value = 1.5
    assert readout.value == "z = (0.00, 1.50)" and bytes(image.value) != before


def test_latent_playground_refuses_a_bad_latent_dim():
    with pytest.raises(ValueError, match="latent_dim must be a positive integer, got 2.5"):
        gw.latent_playground(lambda z: torch.zeros(1, 64), latent_dim=2.5)
