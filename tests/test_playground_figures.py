"""The figures behind the playgrounds: neuron accuracy, descent paths, decoded images, and the
static grids of settings the book shows in place of the live widgets."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from genai_lib import playground_figures as pf


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


def test_neuron_accuracy(points):
    x, y = points
    assert pf.neuron_accuracy(x, y, (1, 1), 0) == 1.0
    assert pf.neuron_accuracy(x, y, (-1, -1), 0) == 0.0
    with pytest.raises(ValueError, match=r"x must have shape \(N, 2\)"):
        pf.neuron_accuracy(x[:, :1], y, (1, 1), 0)
    with pytest.raises(ValueError, match="labels 0 and 1"):
        pf.neuron_accuracy(x, y + 1, (1, 1), 0)


def panel_rows(fig):
    """The number of panels in each row of a figure's grid of axes."""
    rows = {}
    for ax in fig.axes:
        spec = ax.get_subplotspec()
        rows[spec.rowspan.start] = rows.get(spec.rowspan.start, 0) + 1
    return [rows[r] for r in sorted(rows)]


def test_neuron_playground_static(points):
    fig = pf.neuron_playground_static(*points, settings=[(1, 1, 0), (-1, -1, 0)], ncols=2)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["w=(1.0, 1.0), b=0.0: acc 100%", "w=(-1.0, -1.0), b=0.0: acc 0%"]
    assert all(ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes)
    with pytest.raises(ValueError, match="triples"):
        pf.neuron_playground_static(*points, settings=[(1, 1)])


@pytest.mark.parametrize("ncols", [2, 3])
def test_neuron_playground_static_has_at_most_two_panels_per_row(points, ncols):
    settings = [(1, 0, 0), (0, 1, 0), (1, 1, 0), (1, 1, -1), (-1, 1, 0)]
    fig = pf.neuron_playground_static(*points, settings=settings, ncols=ncols)
    assert panel_rows(fig) == [2, 2, 1]  # the unused sixth slot is removed
    assert fig.get_figwidth() == pytest.approx(9.0)
    assert all(ax.get_title() and ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes)
    assert all(ax.get_legend() is None for ax in fig.axes)  # one legend, under the panels
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [
        "class 0", "class 1", "decision line"]


def test_gradient_descent_path_converges_and_diverges():
    path = pf.gradient_descent_path(bowl_grad, (2.0, 1.0), lr=0.1, steps=50)
    assert path.shape == (51, 2)
    np.testing.assert_allclose(path[1], [2.0 - 0.1 * 4.0, 1.0 - 0.1 * 6.0])
    assert np.abs(path[-1]).max() < 1e-3
    wild = pf.gradient_descent_path(bowl_grad, (2.0, 1.0), lr=0.5, steps=500)
    assert len(wild) < 501 and np.abs(wild[-1]).max() > 1e6  # stopped once it blew up
    with pytest.raises(ValueError, match="lr must be > 0"):
        pf.gradient_descent_path(bowl_grad, (2.0, 1.0), lr=0.0, steps=5)
    with pytest.raises(ValueError, match=r"start must have shape \(2,\)"):
        pf.gradient_descent_path(bowl_grad, (2.0, 1.0, 0.0), lr=0.1, steps=5)


def test_gradient_descent_playground_static():
    fig = pf.gradient_descent_playground_static(bowl, bowl_grad, (2.0, 1.0), lrs=(0.01, 0.1))
    assert [ax.get_title().split(",")[0] for ax in fig.axes] == ["lr=0.01", "lr=0.1"]
    assert "(2, 1)" in fig._suptitle.get_text()
    assert panel_rows(fig) == [2]


def test_gradient_descent_static_rows_of_two_one_colour_per_rate():
    lrs = (0.01, 0.1, 0.2)
    fig = pf.gradient_descent_playground_static(bowl, bowl_grad, (2.0, 1.0), lrs=lrs)
    assert panel_rows(fig) == [2, 1]
    assert all(ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes)
    path_colours = [ax.lines[0].get_color() for ax in fig.axes]
    assert path_colours == [pf.PALETTE[i] for i in range(len(lrs))]
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == ["lr=0.01", "lr=0.1", "lr=0.2",
                                                          "start"]
    assert [h.get_color() for h in legend.legend_handles[:3]] == path_colours


def test_decode_image_shapes_and_errors():
    decoder = torch.nn.Linear(3, 64)
    img = pf.decode_image(decoder, [0.0, 1.0, 0.0])
    assert img.shape == (8, 8)
    expected = decoder(torch.tensor([[0.0, 1.0, 0.0]])).detach().numpy().reshape(8, 8)
    np.testing.assert_allclose(img, expected, rtol=1e-6)
    with pytest.raises(ValueError, match=r"decode must return \(1, 16\)"):
        pf.decode_image(decoder, [0.0, 0.0, 0.0], image_shape=(4, 4))


def test_latent_playground_static():
    fig = pf.latent_playground_static(lambda z: z.sum() * torch.ones(1, 16), latent_dim=3,
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
        pf.latent_playground_static(lambda z: torch.zeros(1, 64), latent_dim=2, dims=[2])


def test_bad_input_is_refused_clearly(points):
    x, y = points
    with pytest.raises(ValueError, match="steps must be a non-negative integer, got -1"):
        pf.gradient_descent_path(bowl_grad, (2.0, 1.0), lr=0.1, steps=-1)
    with pytest.raises(ValueError, match="latent_dim must be a positive integer, got 0"):
        pf.latent_playground_static(lambda z: torch.zeros(1, 64), latent_dim=0)
    with pytest.raises(ValueError, match="the number of panels must be a positive integer"):
        pf.gradient_descent_playground_static(bowl, bowl_grad, (2.0, 1.0), lrs=())
    with pytest.raises(ValueError, match="x has NaN or inf values"):
        pf.neuron_accuracy(np.full((3, 2), np.nan), [0, 1, 1], (1, 1), 0)


def test_decode_image_with_a_module_without_weights():
    img = pf.decode_image(torch.nn.Tanh(), np.linspace(-2, 2, 64))  # device_of: cpu
    assert img.shape == (8, 8) and np.allclose(img.ravel(), np.tanh(np.linspace(-2, 2, 64)))
