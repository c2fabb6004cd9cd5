"""genai_lib.vae: the KL formula, the reparameterisation trick, the bounds, training, sampling."""

import math

import pytest
import torch
import torch.nn.functional as F

from genai_lib import train
from genai_lib.vae import (VAE, Autoencoder, VAEConfig, decode_mean, elbo, gaussian_kl,
                           iwae_bound, reconstruct, reparameterize, sample, vae_step)


def test_gaussian_kl_matches_monte_carlo_and_torch():
    torch.manual_seed(0)
    mu, logvar = torch.randn(3, 2), torch.randn(3, 2) * 0.5
    kl = gaussian_kl(mu, logvar)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    exact = torch.distributions.kl_divergence(q, p).sum(1)
    assert torch.allclose(kl, exact, atol=1e-5)
    z = q.sample((200_000,))                                  # (S, 3, 2)
    mc = (q.log_prob(z) - p.log_prob(z)).sum(-1).mean(0)
    assert torch.allclose(kl, mc, atol=0.02), (kl, mc)
    assert torch.allclose(gaussian_kl(torch.zeros(4, 3), torch.zeros(4, 3)), torch.zeros(4))


def test_reparameterize_mean_variance_and_gradients():
    torch.manual_seed(0)
    mu = torch.tensor([[1.0, -2.0]]).expand(100_000, 2).clone().requires_grad_()
    logvar = torch.log(torch.tensor([[0.25, 4.0]])).expand(100_000, 2).clone().requires_grad_()
    z = reparameterize(mu, logvar)
    assert torch.allclose(z.mean(0), torch.tensor([1.0, -2.0]), atol=0.03)
    assert torch.allclose(z.var(0), torch.tensor([0.25, 4.0]), rtol=0.03)
    z.sum().backward()  # dz/dmu = 1; dz/dlogvar = eps * sigma / 2
    assert torch.allclose(mu.grad, torch.ones_like(mu))
    assert logvar.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="same shape"):
        reparameterize(torch.zeros(2, 3), torch.zeros(2, 4))


def test_elbo_of_a_known_case():
    # A decoder that always outputs logits 0 (p=0.5) gives log p(x|z) = D log 0.5 for any
    # binary x; an encoder with mu=0, logvar=0 has KL 0; so the ELBO is exactly -D log 2.
    m = VAE(VAEConfig(data_dim=5, latent_dim=2, hidden=8))
    with torch.no_grad():
        for p in m.parameters():
            p.zero_()
    x = torch.randint(0, 2, (7, 5)).float()
    assert torch.allclose(elbo(m, x), torch.full((7,), -5 * math.log(2)), atol=1e-6)
    assert torch.allclose(iwae_bound(m, x, k=10), torch.full((7,), -5 * math.log(2)), atol=1e-5)
    # beta scales only the KL term
    with torch.no_grad():
        m.encoder[-1].bias[:2] = 1.0  # mu = 1 -> KL = 0.5 * 2 = 1
    assert torch.allclose(elbo(m, x, beta=3.0), torch.full((7,), -5 * math.log(2) - 3.0), atol=1e-5)


def test_gaussian_likelihood_known_case():
    m = VAE(VAEConfig(data_dim=3, latent_dim=1, hidden=4, likelihood="gaussian"))
    with torch.no_grad():
        for p in m.parameters():
            p.zero_()
    x = torch.tensor([[1.0, 0.0, -1.0]])
    expected = torch.distributions.Normal(0.0, 1.0).log_prob(x).sum(1)
    assert torch.allclose(elbo(m, x), expected, atol=1e-6)


def test_iwae_is_at_least_the_elbo_and_tightens():
    torch.manual_seed(0)
    m = VAE(VAEConfig(data_dim=6, latent_dim=2, hidden=16))
    x = torch.rand(20, 6)
    with torch.no_grad():
        e = torch.stack([elbo(m, x) for _ in range(200)]).mean()
        b1 = torch.stack([iwae_bound(m, x, 1) for _ in range(200)]).mean()
        b50 = torch.stack([iwae_bound(m, x, 50) for _ in range(10)]).mean()
    assert abs(float(e - b1)) < 0.05 * abs(float(e))   # k=1 is the ELBO
    assert b50 > e
    with pytest.raises(ValueError, match=r"k \(number of importance samples\) must be"):
        iwae_bound(m, x, 0)


def test_training_improves_the_elbo_and_conditional_sampling():
    torch.manual_seed(0)
    x = (torch.rand(256, 8) < torch.linspace(0.1, 0.9, 8)).float()
    y = torch.randint(0, 3, (256,))
    c = F.one_hot(y, 3).float()
    m = VAE(VAEConfig(data_dim=8, latent_dim=2, hidden=32, cond_dim=3))
    with torch.no_grad():
        before = elbo(m, x, c).mean()
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    hist = train.fit(m, (x, c), step=vae_step(m, opt), optimizer=opt, epochs=15, quiet=True)
    assert set(hist) == {"loss", "recon", "kl"}
    with torch.no_grad():
        after = elbo(m, x, c).mean()
    assert after > before + 0.5
    s = sample(m, 4, c[:4])
    assert s.shape == (4, 8) and (s >= 0).all() and (s <= 1).all()
    assert reconstruct(m, x[:3], c[:3]).shape == (3, 8)
    assert decode_mean(m, torch.zeros(2, 2), c[:2]).shape == (2, 8)


def test_autoencoder_shapes_and_range():
    ae = Autoencoder(data_dim=10, latent_dim=2, hidden=16)
    x = torch.rand(4, 10)
    assert ae.encode(x).shape == (4, 2)
    out = ae(x)
    assert out.shape == (4, 10) and (out >= 0).all() and (out <= 1).all()
    with pytest.raises(ValueError, match=r"x must have shape \(B, 10\)"):
        ae(torch.rand(4, 9))


def test_clear_errors_on_bad_input():
    m = VAE(VAEConfig(data_dim=64, latent_dim=2, hidden=8))
    with pytest.raises(ValueError, match=r"x must have shape \(B, 64\), got \(3, 1, 8, 8\)"):
        m.encode(torch.rand(3, 1, 8, 8))
    with pytest.raises(ValueError, match=r"z must have shape \(B, 2\)"):
        m.decode(torch.rand(3, 5))
    with pytest.raises(ValueError, match="unconditional"):
        m.encode(torch.rand(3, 64), torch.rand(3, 10))
    mc = VAE(VAEConfig(data_dim=64, latent_dim=2, hidden=8, cond_dim=10))
    with pytest.raises(ValueError, match="conditional: pass c"):
        mc.encode(torch.rand(3, 64))
    with pytest.raises(ValueError, match=r"c must have shape \(B, 10\)"):
        mc.encode(torch.rand(3, 64), torch.rand(3, 4))
    with pytest.raises(ValueError, match="likelihood"):
        VAEConfig(likelihood="poisson")
    with pytest.raises(ValueError, match="mu and logvar"):
        gaussian_kl(torch.zeros(3), torch.zeros(3))
    with pytest.raises(ValueError, match="n must be"):
        sample(m, 0)


def test_sampling_from_gaussian_vae():
    import numpy as np

    from genai_lib import vae

    torch.manual_seed(0)
    m = VAE(VAEConfig(data_dim=2, latent_dim=2, hidden=8, cond_dim=3, likelihood="gaussian"))
    with torch.no_grad():
        m.log_std.fill_(np.log(2.0))
    c = torch.randn(4, 3)
    out = vae.predictive_samples(m, c, 500)
    assert out.shape == (4, 500, 2)
    assert out.std(dim=1).mean() > 1.5          # the decoder noise is included
    assert vae.sample_with_noise(m, 4, c).shape == (4, 2)
    with pytest.raises(ValueError, match="gaussian"):
        vae.sample_with_noise(VAE(VAEConfig(data_dim=2, latent_dim=2, hidden=8)), 3)
    with pytest.raises(ValueError, match=r"labels has 4 rows but n=5"):
        vae.sample_with_noise(m, 5, c)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        vae.predictive_samples(m, c, 0)
