"""Unit tests of genai_lib.gan: shapes, losses, one training step, sampling and clear errors."""

import pytest
import torch
import torch.nn.functional as F

from genai_lib import gan, train


def nets(n_classes=0, pack=1, data_dim=2, latent=3):
    torch.manual_seed(0)
    g = gan.Generator(latent, data_dim, 16, n_classes)
    d = gan.Discriminator(data_dim, (16, 8), n_classes, pack=pack)
    return g, d


def test_shapes_and_output_range():
    g, d = nets()
    z = gan.noise(5, 3)
    assert z.shape == (5, 3) and g(z).shape == (5, 2) and d(g(z)).shape == (5,)
    gs = gan.Generator(3, 64, 16, output="sigmoid")
    x = gs(gan.noise(7, 3))
    assert x.shape == (7, 64) and x.min() >= 0 and x.max() <= 1
    gc, dc = nets(n_classes=4)
    y = torch.tensor([0, 1, 2, 3, 0])
    assert gc(z, y).shape == (5, 2) and dc(gc(z, y), y).shape == (5,)
    _, dp = nets(pack=2)
    assert dp(torch.randn(7, 2)).shape == (3,)  # the odd row out is dropped


def test_conditional_generator_uses_labels():
    gc, _ = nets(n_classes=4)
    z = gan.noise(4, 3).repeat(1, 1)
    same_z = z[:1].repeat(4, 1)
    out = gc(same_z, torch.arange(4))
    assert not torch.allclose(out[0], out[1])


def test_losses_match_formulas():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    sig = torch.sigmoid
    d_expected = -(torch.log(sig(real)).mean() + torch.log(1 - sig(fake)).mean())
    assert torch.allclose(gan.discriminator_loss(real, fake, "ns"), d_expected)
    assert torch.allclose(gan.generator_loss(fake, "minimax"), torch.log(1 - sig(fake)).mean())
    assert torch.allclose(gan.generator_loss(fake, "ns"), -torch.log(sig(fake)).mean())
    assert torch.allclose(gan.discriminator_loss(real, fake, "wgan-gp"), fake.mean() - real.mean())
    assert torch.allclose(gan.generator_loss(fake, "wgan-gp"), -fake.mean())
    # The log-sigmoid form stays finite where the naive formula gives inf.
    assert torch.isfinite(gan.generator_loss(torch.tensor([-200.0]), "ns"))


def test_gradient_penalty_zero_for_unit_slope_critic():
    d = gan.Discriminator(2, 4)
    lin = torch.nn.Linear(2, 1)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[0.6, 0.8]]))  # |grad| = 1 everywhere
    d.net = torch.nn.Sequential(lin)
    gp = gan.gradient_penalty(d, torch.randn(8, 2), torch.randn(8, 2))
    assert float(gp.detach()) == pytest.approx(0.0, abs=1e-10)
    with torch.no_grad():
        lin.weight.mul_(3.0)  # |grad| = 3: penalty (3 - 1)^2 = 4
    assert float(gan.gradient_penalty(d, torch.randn(8, 2), torch.randn(8, 2)).detach()) == pytest.approx(4.0)


@pytest.mark.parametrize("loss", ["minimax", "ns", "wgan-gp"])
def test_one_step_changes_both_models(loss):
    g, d = nets()
    opt_g, opt_d = torch.optim.Adam(g.parameters(), 1e-2), torch.optim.Adam(d.parameters(), 1e-2)
    g0 = [p.clone() for p in g.parameters()]
    d0 = [p.clone() for p in d.parameters()]
    logs = gan.gan_step(gan.GAN(g, d), opt_g, opt_d, loss)((torch.randn(16, 2),))
    assert set(logs) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(torch.isfinite(v) and v.dim() == 0 for v in logs.values())
    assert any(not torch.equal(a, b) for a, b in zip(g0, g.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d0, d.parameters()))


def test_fit_learns_a_shifted_gaussian_and_snapshots():
    torch.manual_seed(0)
    g, d = nets(latent=2)
    opt_g = torch.optim.Adam(g.parameters(), 2e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), 2e-3, betas=(0.5, 0.999))
    real = torch.randn(512, 2) * 0.3 + torch.tensor([3.0, -2.0])
    fixed = gan.noise(10, 2)
    snaps = gan.Snapshots(fixed, every=2, grid=torch.zeros(5, 2))
    model = gan.GAN(g, d)
    hist = train.fit(model, real, gan.gan_step(model, opt_g, opt_d), epochs=20,
                     batch_size=64, optimizer=[opt_d, opt_g], quiet=True, callbacks=[snaps])
    assert len(hist["g_loss"]) == 20 and len(snaps.frames) == 10 and snaps.epochs[:2] == [1, 3]
    assert snaps.frames[0].shape == (10, 2) and snaps.surfaces[0].shape == (5,)
    mean = gan.sample(model, 2000).mean(0)
    assert torch.allclose(mean, torch.tensor([3.0, -2.0]), atol=0.6), mean


def test_conditional_step_and_sample():
    g, d = nets(n_classes=3)
    opt_g, opt_d = torch.optim.Adam(g.parameters()), torch.optim.Adam(d.parameters())
    step = gan.gan_step(gan.GAN(g, d), opt_g, opt_d)
    step((torch.randn(6, 2), torch.tensor([0, 1, 2, 0, 1, 2])))
    assert gan.sample(gan.GAN(g, d), 6, labels=torch.arange(6) % 3).shape == (6, 2)
    with pytest.raises(ValueError, match=r"\(x, y\) batches"):
        step((torch.randn(6, 2),))


def test_clear_errors():
    g, d = nets()
    gc, dc = nets(n_classes=3)
    with pytest.raises(ValueError, match=r"z must have shape \(B, 3\)"):
        g(torch.randn(4, 5))
    with pytest.raises(ValueError, match=r"x must have shape \(B, 2\)"):
        d(torch.randn(4, 3))
    with pytest.raises(ValueError, match="unconditional"):
        g(gan.noise(2, 3), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"pass labels of shape \(4,\)"):
        gc(gan.noise(4, 3))
    with pytest.raises(ValueError, match=r"labels must have shape \(4,\)"):
        gc(gan.noise(4, 3), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"class labels in \[0, 2\]"):
        dc(torch.randn(2, 2), torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="labels has 5 entries but z has 3 rows"):
        gan.generate(g, gan.noise(3, 3), torch.zeros(5))
    with pytest.raises(ValueError, match="labels has 2 entries but z has 4 rows"):
        gan.sample(gan.GAN(gc, dc), 4, labels=torch.tensor([0, 1]))
    with pytest.raises(TypeError, match="sample takes the GAN"):
        gan.sample(g, 4)
    with pytest.raises(ValueError, match="loss must be one of"):
        gan.gan_step(gan.GAN(g, d), None, None, loss="hinge")
    with pytest.raises(TypeError, match="gan_step takes the GAN"):
        gan.gan_step(g, None, None)
    with pytest.raises(ValueError, match="n_critic"):
        gan.gan_step(gan.GAN(g, d), None, None, n_critic=0)
    with pytest.raises(ValueError, match="hidden must be"):
        gan.Generator(3, 2, 0)
    with pytest.raises(ValueError, match="output must be"):
        gan.Generator(3, 2, 8, output="tanh")
    with pytest.raises(ValueError, match="pack > 1"):
        gan.Discriminator(2, 8, n_classes=3, pack=2)
    with pytest.raises(ValueError, match="dropout"):
        gan.Discriminator(2, 8, dropout=1.5)
    with pytest.raises(ValueError, match="n_classes"):
        gan.GAN(g, dc)
    with pytest.raises(ValueError, match="labels has 2 entries but the fixed noise z has 4"):
        gan.Snapshots(gan.noise(4, 3), labels=torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="n must be a positive integer"):
        gan.noise(0, 3)


def test_the_package_joins_networks_and_training():
    """`gan` is two modules, the networks (and sampling) and their training; every public name
    is reachable as gan.<name>, as the chapters use them."""
    from genai_lib.gan import networks, training

    for name in gan.__all__:
        assert getattr(gan, name) is getattr(networks, name, None) or getattr(training, name)
    assert gan.Generator.__module__ == "genai_lib.gan.networks"
    assert gan.gan_step.__module__ == "genai_lib.gan.training"
    assert not hasattr(networks, "gan_step")  # the networks know nothing of training
