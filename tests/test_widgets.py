"""Playgrounds built without a kernel: sliders move, observers redraw, static figures check out."""

import base64

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from genai_lib import widgets as gw

PNG_MAGIC = b"\x89PNG"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def points():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2))
    return x, (x[:, 0] + x[:, 1] > 0).astype(int)


def bowl(p):
    return p[:, 0] ** 2 + 3 * p[:, 1] ** 2


def bowl_grad(q):
    return np.array([2 * q[0], 6 * q[1]])


def parts(pg):
    """(sliders, readout HTML, image) of a Playground."""
    controls, readout, image = pg.children
    return list(controls.children), readout, image


def test_neuron_accuracy(points):
    x, y = points
    assert gw.neuron_accuracy(x, y, (1, 1), 0) == 1.0
    assert gw.neuron_accuracy(x, y, (-1, -1), 0) == 0.0
    with pytest.raises(ValueError, match=r"x must have shape \(N, 2\)"):
        gw.neuron_accuracy(x[:, :1], y, (1, 1), 0)
    with pytest.raises(ValueError, match="labels 0 and 1"):
        gw.neuron_accuracy(x, y + 1, (1, 1), 0)


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


def panel_rows(fig):
    """The number of panels in each row of a figure's grid of axes."""
    rows = {}
    for ax in fig.axes:
        spec = ax.get_subplotspec()
        rows[spec.rowspan.start] = rows.get(spec.rowspan.start, 0) + 1
    return [rows[r] for r in sorted(rows)]


def test_neuron_playground_static(points):
    fig = gw.neuron_playground_static(*points, settings=[(1, 1, 0), (-1, -1, 0)], ncols=2)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["w=(1.0, 1.0), b=0.0: acc 100%", "w=(-1.0, -1.0), b=0.0: acc 0%"]
    assert all(ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes)
    with pytest.raises(ValueError, match="triples"):
        gw.neuron_playground_static(*points, settings=[(1, 1)])


@pytest.mark.parametrize("ncols", [2, 3])
def test_neuron_playground_static_has_at_most_two_panels_per_row(points, ncols):
    settings = [(1, 0, 0), (0, 1, 0), (1, 1, 0), (1, 1, -1), (-1, 1, 0)]
    fig = gw.neuron_playground_static(*points, settings=settings, ncols=ncols)
    assert panel_rows(fig) == [2, 2, 1]  # the unused sixth slot is removed
    assert fig.get_figwidth() == pytest.approx(9.0)
    assert all(ax.get_title() and ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes)
    assert all(ax.get_legend() is None for ax in fig.axes)  # one legend, under the panels
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [
        "class 0", "class 1", "decision line"]

def test_gradient_descent_path_converges_and_diverges():
    path = gw.gradient_descent_path(bowl_grad, (2.0, 1.0), lr=0.1, steps=50)
    assert path.shape == (51, 2)
    np.testing.assert_allclose(path[1], [2.0 - 0.1 * 4.0, 1.0 - 0.1 * 6.0])
    assert np.abs(path[-1]).max() < 1e-3
    wild = gw.gradient_descent_path(bowl_grad, (2.0, 1.0), lr=0.5, steps=500)
    assert len(wild) < 501 and np.abs(wild[-1]).max() > 1e6  # stopped once it blew up
    with pytest.raises(ValueError, match="lr must be > 0"):
        gw.gradient_descent_path(bowl_grad, (2.0, 1.0), lr=0.0, steps=5)
    with pytest.raises(ValueError, match=r"start must have shape \(2,\)"):
        gw.gradient_descent_path(bowl_grad, (2.0, 1.0, 0.0), lr=0.1, steps=5)


def test_gradient_descent_playground_redraws():
    pg = gw.gradient_descent_playground(bowl, bowl_grad, (2.0, 1.0), lr=0.1, steps=10)
    (s_lr, s_steps), readout, image = parts(pg)
    assert "after 10 steps" in readout.value
    before = bytes(image.value)
    s_steps.value = 0
    assert "after 0 steps: 7" in readout.value and bytes(image.value) != before  # f(2, 1) = 4 + 3
    s_steps.value, s_lr.value = 20, 0.5
    assert "e+" in readout.value  # lr = 0.5 overshoots along w2 and diverges


def test_gradient_descent_playground_static():
    fig = gw.gradient_descent_playground_static(bowl, bowl_grad, (2.0, 1.0), lrs=(0.01, 0.1))
    assert [ax.get_title().split(",")[0] for ax in fig.axes] == ["lr=0.01", "lr=0.1"]
    assert "(2, 1)" in fig._suptitle.get_text()
    assert panel_rows(fig) == [2]


def test_gradient_descent_static_rows_of_two_one_colour_per_rate():
    lrs = (0.01, 0.1, 0.2)
    fig = gw.gradient_descent_playground_static(bowl, bowl_grad, (2.0, 1.0), lrs=lrs)
    assert panel_rows(fig) == [2, 1]
    assert all(ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes)
    path_colours = [ax.lines[0].get_color() for ax in fig.axes]
    assert path_colours == [gw.PALETTE[i] for i in range(len(lrs))]
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == ["lr=0.01", "lr=0.1", "lr=0.2",
                                                          "start"]
    assert [h.get_color() for h in legend.legend_handles[:3]] == path_colours

def test_decode_image_shapes_and_errors():
    decoder = torch.nn.Linear(3, 64)
    img = gw.decode_image(decoder, [0.0, 1.0, 0.0])
    assert img.shape == (8, 8)
    expected = decoder(torch.tensor([[0.0, 1.0, 0.0]])).detach().numpy().reshape(8, 8)
    np.testing.assert_allclose(img, expected, rtol=1e-6)
    with pytest.raises(ValueError, match=r"decode must return \(1, 16\)"):
        gw.decode_image(decoder, [0.0, 0.0, 0.0], image_shape=(4, 4))


def test_latent_playground_redraws():
    weights = torch.linspace(-1, 1, 128).reshape(2, 64)
    pg = gw.latent_playground(lambda z: torch.tanh(z @ weights), latent_dim=2)
    sliders, readout, image = parts(pg)
    assert len(sliders) == 2 and readout.value == "z = (0.00, 0.00)"
    before = bytes(image.value)
    sliders[1].value = 1.5
    assert readout.value == "z = (0.00, 1.50)" and bytes(image.value) != before


def test_latent_playground_static():
    fig = gw.latent_playground_static(lambda z: z.sum() * torch.ones(1, 16), latent_dim=3,
                                      image_shape=(4, 4), values=(-1, 0, 1))
    assert len(fig.axes) == 1  # one panel: the 3 x 3 decoded images tiled into one picture
    (ax,) = fig.axes
    mosaic = np.ma.filled(ax.images[0].get_array(), np.nan)
    assert mosaic.shape == (3 * 4 + 2, 3 * 4 + 2)  # 4 x 4 images, 1-pixel gaps
    assert np.isnan(mosaic[4]).all() and np.isnan(mosaic[:, 4]).all()
    assert float(mosaic[:4, :4].mean()) == -1.0  # z_0 = -1
    assert float(mosaic[5:9, 10:14].mean()) == 1.0  # z_1 = 1
    assert [t.get_text() for t in ax.get_xticklabels()] == ["-1", "0", "1"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["$z_{0}$", "$z_{1}$", "$z_{2}$"]
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    with pytest.raises(ValueError, match="dims must lie in"):
        gw.latent_playground_static(lambda z: torch.zeros(1, 64), latent_dim=2, dims=[2])
