"""Unit tests of genai_lib.unet: shapes, conditioning, gradients, clear errors, and sampling
inside a Diffusion. The networks are tiny (8 channels), so the file runs in seconds."""

import pytest
import torch

from genai_lib import diffusion, unet


def net(n_classes=0):
    torch.manual_seed(0)
    return unet.UNet(channels=8, n_classes=n_classes)


def test_shapes_and_attributes():
    u = net()
    assert (u.data_dim, u.n_classes, u.channels) == (784, 0, 8)
    x, t = torch.randn(3, 784), torch.tensor([0, 10, 249])
    out = u(x, t)
    assert out.shape == (3, 784) and out.dtype == torch.float32
    assert bool(torch.isfinite(out).all())
    assert not torch.allclose(u(x, torch.tensor([5, 5, 5])), u(x, torch.tensor([200] * 3)))


def test_conditional_variant_uses_labels():
    u = net(n_classes=10)
    assert u.n_classes == 10 and u.condition.label.num_embeddings == 11  # + "no label"
    x = torch.randn(1, 784).repeat(3, 1)
    t = torch.full((3,), 7)
    out = u(x, t, torch.tensor([0, 1, 2]))
    assert out.shape == (3, 784)
    assert not torch.allclose(out[0], out[1])
    torch.testing.assert_close(u(x, t), u(x, t, torch.full((3,), 10)))  # None: "no label"


def test_gradients_reach_every_parameter():
    for n_classes in (0, 3):
        u = net(n_classes)
        labels = torch.tensor([0, 1, 2, 0]) if n_classes else None
        out = u(torch.randn(4, 784), torch.tensor([1, 2, 3, 4]), labels)
        out.pow(2).mean().backward()
        for name, p in u.named_parameters():
            assert p.grad is not None, name
            assert float(p.grad.abs().sum()) > 0, name


@pytest.mark.parametrize("channels", [12, 4, 20])
def test_channels_not_a_multiple_of_8(channels):
    with pytest.raises(ValueError, match=rf"channels must be a multiple of 8 \(group norm\), "
                                         rf"got {channels}"):
        unet.UNet(channels=channels)


@pytest.mark.parametrize("x, phrase", [
    (torch.randn(2, 783), r"x must have shape \(B, 784\), got \(2, 783\)"),
    (torch.randn(2, 1, 28, 28), r"x must have shape \(B, 784\).*got \(2, 1, 28, 28\)"),
    (torch.randn(784), r"x must have shape \(B, 784\)"),
], ids=["width", "image", "1-D"])
def test_wrong_input_shape(x, phrase):
    with pytest.raises(ValueError, match=phrase):
        net()(x, torch.zeros(len(x), dtype=torch.long))


def test_wrong_input_type_and_dtype():
    with pytest.raises(TypeError, match=r"x must be a torch tensor of shape \(B, 784\)"):
        net()([[0.0] * 784], torch.zeros(1, dtype=torch.long))
    with pytest.raises(TypeError, match=r"x must have dtype torch.float32"):
        net()(torch.randn(1, 784, dtype=torch.float64), torch.zeros(1, dtype=torch.long))


def test_inside_diffusion_loss_and_sampling():
    model = diffusion.Diffusion(net(n_classes=3), timesteps=20, ema_decay=0.9)
    torch.manual_seed(0)
    x0 = diffusion.to_signal(torch.rand(2, 784))
    value = diffusion.loss(model, x0, torch.tensor([0, 2]), p_uncond=0.5, min_snr=5.0)
    assert value.dim() == 0 and bool(torch.isfinite(value))
    value.backward()
    x = diffusion.sample(model, 2, torch.tensor([1, 2]), steps=2, guidance=2.0, seed=0)
    assert x.shape == (2, 784) and float(x.abs().max()) <= 1.0 + 1e-6  # clip=1: x0 clamped
    again = diffusion.sample(model, 2, torch.tensor([1, 2]), steps=2, guidance=2.0, seed=0)
    assert torch.equal(x, again)
    pixels = diffusion.to_pixels(x)
    assert float(pixels.min()) >= 0 and float(pixels.max()) <= 1
