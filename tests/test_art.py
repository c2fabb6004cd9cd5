"""Unit tests of genai_lib.art: CPPNs, rendering, latent paths, structure measures, animation."""

import numpy as np
import pytest
import torch

from genai_lib import art


def test_coordinates_shape_and_range():
    c = art.coordinates((4, 6), scale=2.0)
    assert c.shape == (24, 3)
    assert torch.isclose(c[:, 1].abs().max(), torch.tensor(2.0))
    assert torch.allclose(c[:, 2], torch.sqrt(c[:, 0] ** 2 + c[:, 1] ** 2))
    with pytest.raises(ValueError, match="resolution"):
        art.coordinates(0)


def test_cppn_is_seeded_and_outputs_in_unit_interval():
    a, b, c = art.cppn(seed=1), art.cppn(seed=1), art.cppn(seed=2)
    x = torch.randn(5, 11)
    assert torch.equal(a(x), b(x)) and not torch.equal(a(x), c(x))
    assert a(x).shape == (5, 3) and (a(x) >= 0).all() and (a(x) <= 1).all()
    with pytest.raises(ValueError, match="channels"):
        art.cppn(channels=2)
    torch.manual_seed(0)
    expected = torch.rand(1)
    torch.manual_seed(0)
    art.cppn(seed=3)
    assert torch.equal(torch.rand(1), expected)  # the global RNG is untouched


def test_render_shapes_palette_and_bad_z():
    net = art.cppn(latent_dim=4, seed=0)
    img = art.render(net, art.latent(4)[0], resolution=(16, 24))
    assert img.shape == (16, 24, 3) and img.min() >= 0 and img.max() <= 1
    assert art.render(net, None, 8, palette="magma").shape == (8, 8, 3)
    grey = art.render(art.cppn(latent_dim=0, channels=1), None, 8)
    assert grey.shape == (8, 8, 3) and np.allclose(grey[..., 0], grey[..., 2])
    with pytest.raises(ValueError, match="z must have 4"):
        art.render(net, torch.zeros(3), 8)


def test_latent_is_reproducible():
    assert torch.equal(art.latent(3, 2, seed=5), art.latent(3, 2, seed=5))
    assert art.latent(3, 2).shape == (2, 3)


def test_interpolate_endpoints_and_slerp_norm():
    z0, z1 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    path = art.interpolate(z0, z1, 5)
    assert torch.allclose(path[0], z0, atol=1e-6) and torch.allclose(path[-1], z1, atol=1e-6)
    assert torch.allclose(path.norm(dim=1), torch.ones(5), atol=1e-5)  # slerp keeps the norm
    assert art.interpolate(z0, z1, 5, spherical=False)[2].norm() < 0.8  # lerp cuts the corner
    with pytest.raises(ValueError, match="steps"):
        art.interpolate(z0, z1, 1)


def test_latent_loop_closes():
    path = art.latent_loop(4, frames=8)
    assert path.shape == (8, 4)
    step = (path[1] - path[0]).norm()
    assert torch.isclose((path[0] - path[-1]).norm(), step, rtol=0.3)  # last frame leads to the first


def test_mix_weights_endpoints():
    a, b = art.cppn(seed=0), art.cppn(seed=1)
    x = torch.randn(3, 11)
    assert torch.allclose(art.mix_weights(a, b, 0.0)(x), a(x))
    assert torch.allclose(art.mix_weights(a, b, 1.0)(x), b(x))
    with pytest.raises(ValueError, match="alpha"):
        art.mix_weights(a, b, 1.5)
    with pytest.raises(ValueError, match="architecture"):
        art.mix_weights(a, art.cppn(hidden=8), 0.5)


def test_structure_measures_separate_smooth_from_noise():
    yy, xx = np.mgrid[0:64, 0:64] / 64.0
    smooth = np.stack([xx, yy, 0.5 * (xx + yy)], axis=-1)
    noise = art.shuffle_pixels(smooth, seed=0)
    assert sorted(noise.ravel()) == pytest.approx(sorted(smooth.ravel()))  # same pixels
    assert art.neighbour_correlation(smooth) > 0.95
    assert abs(art.neighbour_correlation(noise)) < 0.05
    assert art.compression_ratio(smooth) < 0.5 * art.compression_ratio(noise)
    with pytest.raises(ValueError, match="img"):
        art.neighbour_correlation(np.zeros(5))


def test_animation_html_contains_frames():
    frames = np.random.default_rng(0).random((3, 8, 8))
    html = art.animation_html(frames, dpi=30, size=1.0, title="t")
    assert "<script" in html and html.count("data:image/png;base64") >= 3
    with pytest.raises(ValueError, match="frames"):
        art.animation_html(np.zeros(4))
