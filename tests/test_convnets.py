"""Tests of genai_lib.convnets, the GAN's weight average (EMA) and the VAE's conv network and code prior."""

import pytest
import torch

from genai_lib import convnets, gan, vae


def seeded(fn, seed=0):
    torch.manual_seed(seed)
    return fn()


# --- convnets -----------------------------------------------------------------------------------

def test_conv_shapes_and_ranges():
    g = seeded(lambda: convnets.ConvGenerator(latent_dim=8, channels=4))
    d = convnets.ConvDiscriminator(channels=4)
    x = g(torch.randn(5, 8))
    assert x.shape == (5, convnets.DATA_DIM) == (5, 784)
    assert x.min() >= 0 and x.max() <= 1
    assert d(x).shape == (5,)
    assert (g.latent_dim, g.data_dim, g.n_classes) == (8, 784, 0)
    assert (d.data_dim, d.n_classes, d.pack) == (784, 0, 1)
    enc, dec = convnets.ConvEncoder(latent_dim=3, channels=4), convnets.ConvDecoder(latent_dim=3, channels=4)
    assert enc(x).shape == (5, 6) and dec(torch.randn(5, 3)).shape == (5, 784)
    # Per-image: a discriminator/encoder score does not depend on the other images of the batch.
    assert torch.allclose(d(x[:2]), d(x)[:2], atol=1e-6)
    assert torch.allclose(enc(x[:2]), enc(x)[:2], atol=1e-6)


def test_conv_gradients_reach_every_layer():
    g, d = seeded(lambda: (convnets.ConvGenerator(8, 4), convnets.ConvDiscriminator(4)))
    d(g(torch.randn(4, 8))).sum().backward()
    for net in (g, d):
        for name, p in net.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_conv_clear_errors():
    g, d = convnets.ConvGenerator(8, 4), convnets.ConvDiscriminator(4)
    with pytest.raises(ValueError, match="unconditional: labels must be None"):
        g(torch.randn(2, 8), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"z must have shape \(B, 8\), got \(2, 5\)"):
        g(torch.randn(2, 5))
    with pytest.raises(ValueError, match=r"x must have shape \(B, 784\), got \(3, 1568\)"):
        d(torch.rand(3, 1568))  # two images per row must not become 6 logits
    with pytest.raises(ValueError, match=r"got \(2, 1, 28, 28\)"):
        d(torch.rand(2, 1, 28, 28))
    with pytest.raises(ValueError, match="unconditional: labels must be None"):
        d(torch.rand(2, 784), torch.tensor([0, 1]))
    with pytest.raises(TypeError, match="dtype"):
        d(torch.rand(2, 784, dtype=torch.float64))
    with pytest.raises(ValueError, match="data_dim=784.*expects data_dim=64"):
        gan.GAN(g, gan.Discriminator(64))


# --- the GAN's exponential moving average of the generator ----------------------------------------

def ema_gan(decay=0.5, conv=False):
    torch.manual_seed(0)
    if conv:
        g, d = convnets.ConvGenerator(8, 4), convnets.ConvDiscriminator(4)
    else:
        g, d = gan.Generator(3, 2, 16), gan.Discriminator(2, 16)
    return gan.GAN(g, d, ema_decay=decay)


def flat(module):
    return torch.cat([p.detach().flatten() for p in module.parameters()])


def test_ema_starts_equal_and_is_a_separate_copy():
    model = ema_gan()
    assert gan.GAN(model.generator, model.discriminator).ema is None
    avg = model.ema.module
    assert avg is not model.generator
    assert torch.equal(flat(avg), flat(model.generator))
    z = torch.randn(4, 3)
    assert torch.equal(avg(z), model.generator(z))
    # It is a submodule: saved and moved with the GAN.
    assert any(k.startswith("ema.") for k in model.state_dict())


@pytest.mark.parametrize("conv", [False, True])
def test_ema_follows_the_formula(conv):
    decay = 0.5
    model = ema_gan(decay, conv)
    g, d = model.generator, model.discriminator
    opt_g, opt_d = (torch.optim.Adam(m.parameters(), 1e-2) for m in (g, d))
    step = gan.gan_step(model, opt_g, opt_d, "ns")
    x = torch.rand(16, g.data_dim)
    start = flat(g).clone()
    step((x,))
    w1, b1 = flat(g).clone(), [b.clone() for b in g.buffers() if b.is_floating_point()]
    # torch's AveragedModel copies the weights on its first update, ...
    assert torch.allclose(flat(model.ema.module), w1)
    assert not torch.equal(w1, start)
    step((x,))
    w2, b2 = flat(g).clone(), [b.clone() for b in g.buffers() if b.is_floating_point()]
    # ... and averages from then on: w_ema = decay * w_ema + (1 - decay) * w.
    assert torch.allclose(flat(model.ema.module), decay * w1 + (1 - decay) * w2, atol=1e-6)
    # Buffers too (use_buffers=True): the batch-norm statistics of the conv generator.
    avg_buffers = [b for b in model.ema.module.buffers() if b.is_floating_point()]
    assert len(avg_buffers) == len(b2) and (len(b2) > 0) == conv
    for avg, first, second in zip(avg_buffers, b1, b2):
        assert torch.allclose(avg, decay * first + (1 - decay) * second, atol=1e-6)
    for _ in range(3):
        step((x,))
    assert not torch.allclose(flat(model.ema.module), flat(g))
    assert int(model.ema.n_averaged) == 5


def test_gan_step_without_ema_still_works():
    model = ema_gan()
    model.ema = None  # a GAN without an average samples from its generator
    g, d = model.generator, model.discriminator
    step = gan.gan_step(model, torch.optim.SGD(g.parameters(), 0.1),
                        torch.optim.SGD(d.parameters(), 0.1))
    step((torch.randn(8, 2),))
    assert model.net is g


@pytest.mark.parametrize("decay", [0.0, 1.0, 1.5, -0.1])
def test_ema_decay_must_be_between_0_and_1(decay):
    with pytest.raises(ValueError, match="ema_decay must be between 0 and 1"):
        gan.GAN(gan.Generator(3, 2, 8), gan.Discriminator(2, 8), ema_decay=decay)


# --- the conv VAE and the code-mixture prior -------------------------------------------------------

def conv_vae(latent=4):
    torch.manual_seed(0)
    return vae.VAE(vae.VAEConfig(data_dim=784, latent_dim=latent, hidden=4, network="conv"))


def test_conv_vae_shapes_and_a_training_step():
    model = conv_vae()
    assert isinstance(model.encoder, convnets.ConvEncoder) and isinstance(model.decoder, convnets.ConvDecoder)
    x = torch.rand(6, 784)
    out, mu, logvar = model(x)
    assert out.shape == (6, 784) and mu.shape == logvar.shape == (6, 4)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    logs = vae.vae_step(model, opt)((x,))
    assert set(logs) == {"loss", "recon", "kl"} and torch.isfinite(logs["loss"])
    s = vae.sample(model, 3)
    assert s.shape == (3, 784) and s.min() >= 0 and s.max() <= 1
    with pytest.raises(ValueError, match=r"x must have shape \(B, 784\)"):
        model.encode(torch.rand(2, 64))


def test_vae_config_network():
    assert vae.VAEConfig().network == "mlp"
    with pytest.raises(ValueError, match="network='conv' is for unconditional 28x28 images.*data_dim=64"):
        vae.VAEConfig(network="conv", data_dim=64)
    with pytest.raises(ValueError, match="cond_dim=10"):
        vae.VAEConfig(network="conv", data_dim=784, cond_dim=10)
    with pytest.raises(ValueError, match=r"network must be one of \('mlp', 'conv'\), got 'rnn'"):
        vae.VAEConfig(network="rnn")


def test_fit_code_prior_and_sample_with_it():
    torch.manual_seed(0)
    model = vae.VAE(data_dim=64, latent_dim=3, hidden=16).train()
    x = torch.rand(300, 64)
    prior = vae.fit_code_prior(model, x, components=4, seed=0)
    assert model.training  # mode restored
    assert prior.means_.shape == (4, 3) and prior.covariances_.shape == (4, 3, 3)
    with torch.no_grad():
        codes = model.encode(x)[0].double()
    mixture_mean = torch.as_tensor((prior.weights_[:, None] * prior.means_).sum(0))
    assert torch.allclose(mixture_mean, codes.mean(0), atol=1e-3)  # EM keeps the data mean
    # Reproducible fit with a seed.
    again = vae.fit_code_prior(model, x, components=4, seed=0)
    assert (again.means_ == prior.means_).all()

    a = vae.sample(model, 50, seed=1)
    assert a.shape == (50, 64) and a.min() >= 0 and a.max() <= 1
    assert torch.equal(a, vae.sample(model, 50, seed=1))
    assert not torch.equal(a, vae.sample(model, 50, seed=2))
    # seed=None: drawn from the global stream, so torch.manual_seed reproduces it.
    torch.manual_seed(7)
    b = vae.sample(model, 50)
    torch.manual_seed(7)
    assert torch.equal(b, vae.sample(model, 50))
    # The prior's codes, decoded: the same as decoding sample_mixture's draws.
    from genai_lib.density import sample_mixture
    z = sample_mixture(prior, 50, seed=1)
    assert torch.allclose(a, vae.decode_mean(model, z), atol=1e-6)


def test_conv_vae_with_a_code_prior():
    model = conv_vae(latent=2)
    prior = vae.fit_code_prior(model, torch.rand(40, 784), components=2, seed=0)
    s = vae.sample(model, 5, seed=0)
    assert s.shape == (5, 784) and torch.equal(s, vae.sample(model, 5, seed=0))
    with pytest.raises(ValueError, match="n must be a positive integer"):
        vae.sample(model, 0)
