"""Coupling flows, flow matching and latent generation against exact oracles: inverses,
log-determinants from autograd's Jacobian, and the sampler on Gaussian data whose exact
velocity field is known."""

import math

import pytest
import torch
from torch import nn

from genai_lib import diffusion, flow_matching as fm, flows, latent, train, vae


def _trained_like(flow: flows.Flow, seed: int = 0) -> flows.Flow:
    """Random (non-identity) weights in every layer, so the tests see a real transform."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in flow.parameters():
            p.copy_(0.3 * torch.randn(p.shape, generator=g))
    return flow


@pytest.mark.parametrize("levels", [None, 17])
def test_flow_inverts_to_1e5(levels):
    dim = 6
    flow = _trained_like(flows.realnvp(dim, hidden=16, couplings=4, levels=levels))
    x = torch.rand(32, dim) * 0.9 + 0.05 if levels else torch.randn(32, dim)
    z, _ = flow(x)
    assert torch.allclose(flow.inverse(z), x, atol=1e-5)
    assert not torch.allclose(z, x, atol=1e-2)  # the transform is not the identity


@pytest.mark.parametrize("layer", [
    flows.AffineCoupling(torch.tensor([1.0, 0, 1, 0]), hidden=8),
    flows.AffineCoupling(torch.tensor([0.0, 0, 1, 1]), hidden=8),
    flows.Logit(0.05),
])
def test_log_determinant_equals_autograd_jacobian(layer):
    _trained_like(layer, seed=1) if list(layer.parameters()) else None
    x = torch.rand(5, 4, dtype=torch.float64) * 0.8 + 0.1
    layer = layer.double()
    _, logdet = layer(x)
    for i in range(len(x)):
        jac = torch.func.jacrev(lambda v: layer(v[None])[0][0])(x[i])
        assert logdet[i].item() == pytest.approx(torch.linalg.slogdet(jac)[1].item(), abs=1e-9)
    y, _ = layer(x)
    back, inv_logdet = layer.inverse(y)
    assert torch.allclose(back, x, atol=1e-10)
    assert torch.allclose(inv_logdet, -logdet, atol=1e-10)


def test_flow_log_prob_is_a_normalised_density_in_2d():
    flow = _trained_like(flows.realnvp(2, hidden=16, couplings=4), seed=2).double()
    grid = torch.linspace(-8, 8, 401, dtype=torch.float64)
    xx, yy = torch.meshgrid(grid, grid, indexing="ij")
    with torch.no_grad():
        p = flow.log_prob(torch.stack([xx.ravel(), yy.ravel()], 1)).exp()
    cell = (grid[1] - grid[0]) ** 2
    assert (p.sum() * cell).item() == pytest.approx(1.0, abs=0.02)


def test_identity_flow_is_the_standard_normal():
    flow = flows.realnvp(3, hidden=8, couplings=2)  # zero-initialised: the identity
    x = torch.randn(10, 3)
    expected = torch.distributions.Normal(0.0, 1.0).log_prob(x).sum(1)
    assert torch.allclose(flow.log_prob(x), expected, atol=1e-6)


def test_dequantize_and_bits_per_dim():
    x = torch.arange(17.0).repeat(3, 1) / 16
    y = flows.dequantize(x, 17, torch.Generator().manual_seed(0))
    k = torch.floor(y * 17)
    assert torch.equal(k, torch.round(x * 16)) and (y > 0).all() and (y < 1).all()
    # the uniform density on (0, 1)^D gives exactly log2(levels) bits per dimension
    bpd = flows.bits_per_dim(torch.zeros(4, dtype=torch.float64), 64, 17)
    assert bpd.tolist() == pytest.approx([math.log2(17)] * 4, abs=1e-12)


def test_flow_step_lowers_the_nll_and_sample_shapes():
    torch.manual_seed(0)
    x = torch.randn(256, 2) * torch.tensor([2.0, 0.5]) + 1
    flow = flows.realnvp(2, hidden=32, couplings=4)
    before = -flow.log_prob(x).mean().item()
    train.fit(flow, x, flows.flow_step(flow, torch.optim.Adam(flow.parameters(), 1e-2)),
              epochs=20, batch_size=64, quiet=True, seed=0)
    assert -flow.log_prob(x).mean().item() < before - 0.3
    s = flows.sample(flow, 7, seed=3)
    assert s.shape == (7, 2) and torch.equal(s, flows.sample(flow, 7, seed=3))
    grid_flow = flows.realnvp(4, hidden=8, couplings=2, levels=17)
    g = flows.sample(grid_flow, 5, seed=0)
    assert g.min() >= 0 and g.max() <= 1


def test_flow_bad_input_is_named():
    with pytest.raises(ValueError, match="mask must be"):
        flows.AffineCoupling(torch.ones(4), 8)
    with pytest.raises(ValueError, match="alpha must be"):
        flows.Logit(0.5)
    with pytest.raises(ValueError, match="unconditional"):
        flows.sample(flows.realnvp(2), 3, labels=torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="x"):
        flows.realnvp(2).log_prob(torch.zeros(3, 5))


class GaussianVelocity(nn.Module):
    """The exact velocity of the straight path from data N(m, s^2 I) (t = 0) to noise
    N(0, I) (t = 1): E[eps - x0 | x_t = x] = -m + (t - (1 - t) s^2) / var (x - (1 - t) m),
    var = (1 - t)^2 s^2 + t^2."""

    n_classes = 0

    def __init__(self, m: float, s: float, dim: int = 2) -> None:
        super().__init__()
        self.m, self.s, self.data_dim = m, s, dim
        self.dummy = nn.Parameter(torch.zeros(()))  # a device to live on

    def forward(self, x, time, labels=None):
        t = (time / fm.TIME_SCALE)[:, None]
        var = (1 - t) ** 2 * self.s ** 2 + t ** 2
        return -self.m + (t - (1 - t) * self.s ** 2) / var * (x - (1 - t) * self.m)


@pytest.mark.parametrize("method,steps,tol", [("euler", 400, 0.03), ("heun", 50, 0.03)])
def test_sampler_with_the_exact_velocity_recovers_gaussian_data(method, steps, tol):
    model = fm.FlowMatching(GaussianVelocity(m=2.0, s=0.5), ema_decay=None)
    x = fm.sample(model, 40_000, seed=0, steps=steps, method=method)
    assert x.mean().item() == pytest.approx(2.0, abs=tol)
    assert x.std().item() == pytest.approx(0.5, abs=tol)


def test_clip_keeps_samples_in_range_and_changes_nothing_inside_it():
    model = fm.FlowMatching(GaussianVelocity(m=0.0, s=0.2), ema_decay=None)
    free = fm.sample(model, 2000, seed=0, steps=20)
    clipped = fm.sample(model, 2000, seed=0, steps=20, clip=10.0)  # never reached
    assert torch.allclose(free, clipped, atol=1e-5)
    tight = fm.sample(model, 2000, seed=0, steps=20, clip=0.1)
    assert tight.abs().max() <= 0.1 + 1e-5 < free.abs().max()


def test_heun_is_more_accurate_than_euler_at_equal_steps():
    model = fm.FlowMatching(GaussianVelocity(m=2.0, s=0.5), ema_decay=None)
    err = {m: abs(fm.sample(model, 20_000, seed=0, steps=4, method=m).std().item() - 0.5)
           for m in fm.METHODS}
    assert err["heun"] < err["euler"]


def test_flow_matching_loss_target_and_step():
    torch.manual_seed(0)
    x0, eps, t = torch.randn(5, 3), torch.randn(5, 3), torch.rand(5)
    xt = fm.path(x0, eps, t)
    assert torch.allclose(xt, x0 + t[:, None] * (eps - x0))
    net = diffusion.Denoiser(2, 32, 1)
    model = fm.FlowMatching(net, ema_decay=0.9, data_range=(0.0, 1.0))
    x = torch.rand(128, 2)
    h = train.fit(model, x, fm.flow_matching_step(model, torch.optim.Adam(net.parameters(), 1e-2)),
                  epochs=15, batch_size=32, quiet=True, seed=0)
    assert h["loss"][-1] < h["loss"][0]
    s = fm.sample(model, 6, seed=1, steps=3)
    assert s.shape == (6, 2) and torch.equal(s, fm.sample(model, 6, seed=1, steps=3))


def test_logit_normal_times_crowd_the_middle():
    torch.manual_seed(0)
    u, ln = fm.draw_times(20_000, "uniform"), fm.draw_times(20_000, "logit-normal")
    assert 0 < ln.min() and ln.max() < 1 and 0 <= u.min() and u.max() < 1
    middle = lambda t: ((t > 0.3) & (t < 0.7)).float().mean().item()  # noqa: E731
    assert middle(u) == pytest.approx(0.4, abs=0.02) and middle(ln) > 0.55


def test_flow_matching_bad_input_is_named():
    model = fm.FlowMatching(diffusion.Denoiser(2, 8, 1), ema_decay=None)
    with pytest.raises(ValueError, match="method must be"):
        fm.sample(model, 3, method="rk4")
    with pytest.raises(ValueError, match="steps"):
        fm.sample(model, 3, steps=0)
    with pytest.raises(ValueError, match="guidance"):
        fm.sample(model, 3, guidance=float("nan"))
    with pytest.raises(ValueError, match="unconditional"):
        fm.sample(model, 3, labels=torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="p_uncond"):
        fm.loss(model, torch.zeros(4, 2), p_uncond=1.0)
    with pytest.raises(ValueError, match="times must be one of"):
        fm.flow_matching_step(model, torch.optim.SGD(model.parameters(), 0.1), times="beta")
    with pytest.raises(ValueError, match="clip"):
        fm.sample(model, 3, clip=0.0)
    with pytest.raises(ValueError, match="data_range"):
        fm.FlowMatching(diffusion.Denoiser(2, 8, 1), data_range=(1.0, 0.0))


def test_latent_codes_round_trip_and_sample():
    torch.manual_seed(0)
    auto = vae.VAE(data_dim=12, latent_dim=3, hidden=16)
    x = torch.rand(50, 12)
    inner = fm.FlowMatching(diffusion.Denoiser(3, 16, 1), ema_decay=None)
    model = latent.Latent(auto, inner)
    codes = model.fit_scale(x)
    assert torch.allclose(codes.mean(0), torch.zeros(3), atol=1e-5)
    assert torch.allclose(codes.std(0), torch.ones(3), atol=1e-5)
    mu = auto.encode(x)[0]
    assert torch.allclose(model.decode(codes), auto.mean(auto.decode(mu)), atol=1e-5)
    assert not any(p.requires_grad for p in model.autoencoder.parameters())
    s = latent.sample(model, 4, seed=0, sampler=fm.sample, steps=2)
    assert s.shape == (4, 12) and (s >= 0).all() and (s <= 1).all()
