"""Unit tests of genai_lib.diffusion: the schedules and the closed-form forward process, the
loss of a perfect predictor, samplers that recover a known Gaussian, guidance, training, and
clear errors. Every random draw is seeded, so the tolerances cannot flake."""

import math

import pytest
import torch
from torch import nn

from genai_lib import diffusion, train

SCHEDULES = ("linear", "cosine")


def small(n_classes=0, timesteps=50, ema_decay=None, data_dim=2):
    torch.manual_seed(0)
    den = diffusion.Denoiser(data_dim, hidden=16, blocks=1, n_classes=n_classes)
    return diffusion.Diffusion(den, timesteps, ema_decay=ema_decay)


class GaussianOracle(nn.Module):
    """The exact noise predictor for data N(mu, s^2 I): E[eps | x_t] =
    sqrt(1 - ab_t) (x_t - sqrt(ab_t) mu) / (ab_t s^2 + 1 - ab_t). It reads ab_t from the
    Diffusion it is put in (`attach`); the dummy parameter tells the samplers the device."""

    def __init__(self, mu, s):
        super().__init__()
        self.mu, self.s = torch.tensor(mu), s
        self.data_dim, self.n_classes = len(mu), 0
        self.dummy = nn.Parameter(torch.zeros(()))
        self.source = ()

    def attach(self, model):
        self.source = (model,)  # a tuple, so the Diffusion is not registered as a submodule
        return model

    def forward(self, x, t, labels=None):
        ab = self.source[0].alpha_bar[t][:, None]
        return (1 - ab).sqrt() * (x - ab.sqrt() * self.mu) / (ab * self.s ** 2 + 1 - ab)


def oracle_model(mu=(0.5, -1.0), s=0.3, timesteps=200, schedule="cosine"):
    oracle = GaussianOracle(list(mu), s)
    return oracle.attach(diffusion.Diffusion(oracle, timesteps, schedule, ema_decay=None))


# ---------------------------------------------------------------- schedules, forward process

@pytest.mark.parametrize("kind", SCHEDULES)
@pytest.mark.parametrize("timesteps", [50, 1000])
def test_closed_form_matches_iterated_single_steps(kind, timesteps):
    b = diffusion.betas(timesteps, kind)
    assert b.shape == (timesteps,) and b.dtype == torch.float64
    assert bool((b > 0).all()) and bool((b < 1).all())
    m, v, ms, vs = 1.0, 0.0, [], []
    for beta in b.tolist():  # x_t = sqrt(1 - beta_t) x_{t-1} + sqrt(beta_t) eps
        m, v = math.sqrt(1 - beta) * m, (1 - beta) * v + beta
        ms.append(m)
        vs.append(v)
    alpha_bar = torch.cumprod(1 - b, 0)
    torch.testing.assert_close(torch.tensor(ms, dtype=torch.float64), alpha_bar.sqrt(),
                               rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(torch.tensor(vs, dtype=torch.float64), 1 - alpha_bar,
                               rtol=1e-9, atol=1e-12)
    model = diffusion.Diffusion(nn.Linear(2, 2), timesteps, kind, ema_decay=None)
    assert model.betas.dtype == model.alpha_bar.dtype == torch.float32
    torch.testing.assert_close(model.betas, b.float())
    torch.testing.assert_close(model.alpha_bar, alpha_bar.float())
    assert {"betas", "alpha_bar"} <= set(model.state_dict())


@pytest.mark.parametrize("kind", SCHEDULES)
def test_iterated_noising_matches_q_sample_empirically(kind):
    timesteps, n = 50, 20_000
    model = diffusion.Diffusion(nn.Linear(1, 1), timesteps, kind, ema_decay=None)
    gen = torch.Generator().manual_seed(0)
    x0 = 0.8 + 0.2 * torch.randn(n, 1, generator=gen)  # data N(0.8, 0.2^2)
    x, seen = x0.clone(), {}
    for t, beta in enumerate(diffusion.betas(timesteps, kind).tolist()):
        x = math.sqrt(1 - beta) * x + math.sqrt(beta) * torch.randn(n, 1, generator=gen)
        seen[t] = x
    for t in (4, timesteps // 2, timesteps - 1):
        ab = float(model.alpha_bar[t])
        closed = diffusion.q_sample(model, x0, torch.full((n,), t),
                                    torch.randn(n, 1, generator=gen))
        mean, std = 0.8 * math.sqrt(ab), math.sqrt(0.04 * ab + 1 - ab)
        for sample in (seen[t], closed):
            assert float(sample.mean()) == pytest.approx(mean, abs=0.03)
            assert float(sample.std()) == pytest.approx(std, abs=0.03)
        assert float(seen[t].mean()) == pytest.approx(float(closed.mean()), abs=0.03)
        assert float(seen[t].std()) == pytest.approx(float(closed.std()), abs=0.03)


@pytest.mark.parametrize("kind", SCHEDULES)
@pytest.mark.parametrize("timesteps", [250, 1000])
def test_last_step_is_nearly_standard_normal(kind, timesteps):
    model = diffusion.Diffusion(nn.Linear(1, 1), timesteps, kind, ema_decay=None)
    assert 0 < float(model.alpha_bar[-1]) < 1e-4
    assert bool((model.alpha_bar[1:] < model.alpha_bar[:-1]).all())  # strictly decreasing
    n = 20_000
    gen = torch.Generator().manual_seed(1)
    x_T = diffusion.q_sample(model, torch.ones(n, 1), torch.full((n,), timesteps - 1),
                             torch.randn(n, 1, generator=gen))
    assert abs(float(x_T.mean())) < 0.03
    assert float(x_T.std()) == pytest.approx(1.0, abs=0.03)


def test_linear_schedule_is_the_papers_at_t_1000():
    b = diffusion.betas(1000, "linear")
    assert float(b[0]) == pytest.approx(1e-4) and float(b[-1]) == pytest.approx(0.02)


def test_signal_pixels_and_timestep_embedding():
    x = torch.tensor([[0.0, 0.25, 1.0]])
    torch.testing.assert_close(diffusion.to_signal(x), torch.tensor([[-1.0, -0.5, 1.0]]))
    torch.testing.assert_close(diffusion.to_pixels(diffusion.to_signal(x)), x)
    assert diffusion.to_pixels(torch.tensor([-3.0, 3.0])).tolist() == [0.0, 1.0]
    emb = diffusion.timestep_embedding(torch.tensor([0, 7, 999]), 16)
    assert emb.shape == (3, 16) and float(emb.abs().max()) <= 1.0
    torch.testing.assert_close(emb[0], torch.cat([torch.zeros(8), torch.ones(8)]))
    assert not torch.allclose(emb[1], emb[2])


def test_denoiser_shapes_and_net_property():
    model = small()
    x, t = torch.randn(5, 2), torch.randint(0, 50, (5,))
    assert model.denoiser(x, t).shape == (5, 2)
    assert model.net is model.denoiser
    cond = small(n_classes=3, ema_decay=0.9)
    assert cond.denoiser(x, t, torch.tensor([0, 1, 2, 0, 1])).shape == (5, 2)
    assert cond.net is cond.ema.module


# ---------------------------------------------------------------- the loss

class ConstantOracle(nn.Module):
    """The exact noise for data that is always x0*: (x_t - sqrt(ab_t) x0*) / sqrt(1 - ab_t)."""

    def __init__(self, x0):
        super().__init__()
        self.x0, self.data_dim, self.n_classes = x0, len(x0), 0
        self.dummy = nn.Parameter(torch.zeros(()))
        self.source = ()

    def forward(self, x, t, labels=None):
        ab = self.source[0].alpha_bar[t][:, None]
        return (x - ab.sqrt() * self.x0) / (1 - ab).sqrt()


@pytest.mark.parametrize("kind", SCHEDULES)
def test_perfect_noise_predictor_has_zero_loss(kind):
    star = torch.tensor([0.7, -0.2, 0.1])
    oracle = ConstantOracle(star)
    model = diffusion.Diffusion(oracle, 1000, kind, ema_decay=None)
    oracle.source = (model,)
    torch.manual_seed(0)
    x0 = star.expand(256, 3)
    assert float(diffusion.loss(model, x0)) < 1e-6
    assert float(diffusion.loss(model, x0, min_snr=5.0)) < 1e-6
    assert float(diffusion.loss(model, x0 + 0.5)) > 1e-2  # other data: not perfect


class Recorder(nn.Module):
    """Predicts zero noise and records what it was given."""

    def __init__(self):
        super().__init__()
        self.data_dim, self.n_classes, self.seen = 2, 0, []
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x, t, labels=None):
        self.seen.append((x, t))
        return torch.zeros_like(x)


def test_loss_is_mean_squared_noise_and_min_snr_weights():
    rec = Recorder()
    model = diffusion.Diffusion(rec, 100, ema_decay=None)
    torch.manual_seed(0)
    zeros = torch.zeros(512, 2)
    for gamma in (None, 5.0):
        value = diffusion.loss(model, zeros, min_snr=gamma)
        x, t = rec.seen[-1]
        ab = model.alpha_bar[t]
        noise = x / (1 - ab).sqrt()[:, None]  # x0 = 0, so x_t = sqrt(1 - ab_t) eps
        error = (noise ** 2).mean(1)
        if gamma is None:
            expected = error.mean()
        else:
            snr = ab / (1 - ab)
            expected = (torch.clamp(snr, max=gamma) / snr * error).mean()
            assert bool((snr > gamma).any()) and bool((snr < gamma).any())
        torch.testing.assert_close(value, expected, rtol=1e-4, atol=1e-6)
    assert float(rec.seen[0][1].min()) >= 0 and float(rec.seen[0][1].max()) <= 99


# ---------------------------------------------------------------- the samplers

@pytest.mark.parametrize("steps, eta", [(None, 0.0), (50, 0.0), (50, 1.0)],
                         ids=["ancestral", "ddim-eta0", "ddim-eta1"])
def test_sampler_with_exact_predictor_recovers_a_gaussian(steps, eta):
    mu, s = torch.tensor([0.5, -1.0]), 0.3
    model = oracle_model(mu.tolist(), s)
    x = diffusion.sample(model, 4000, steps=steps, eta=eta, clip=None, seed=0)
    assert x.shape == (4000, 2) and bool(torch.isfinite(x).all())
    torch.testing.assert_close(x.mean(0), mu, atol=0.03, rtol=0)
    # Each reverse step uses only E[x0 | x_t]: with few, large steps a little of the data's
    # variance is lost (for this Gaussian exactly 3 %, 4 % and 9 %: see the next test).
    torch.testing.assert_close(x.std(0), torch.full((2,), s), atol=0.04, rtol=0)
    assert float((x - mu).pow(2).sum(1).mean()) > 0.5 * 2 * s ** 2  # not collapsed


def linear_gaussian_prediction(model, mu, s, steps, eta):
    """Mean and std of the sampler's output for 1-D data N(mu, s^2) and the exact predictor:
    every step is affine in x, so push N(0, 1) through the DDIM update
    x_prev = sqrt(ab') x0_hat + sqrt(1 - ab' - var) eps_hat + sqrt(var) z (float64)."""
    ab_all = model.alpha_bar.double()
    T = model.timesteps
    times = (list(range(T - 1, -1, -1)) if steps is None else
             [round(T - 1 - i * (T - 1) / (steps - 1)) for i in range(steps)])
    m, v = 0.0, 1.0
    for i, t in enumerate(times):
        ab = float(ab_all[t])
        ab_prev = float(ab_all[times[i + 1]]) if i + 1 < len(times) else 1.0
        var = (1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev) * (1.0 if steps is None else eta ** 2)
        c = math.sqrt(1 - ab) / (ab * s ** 2 + 1 - ab)          # eps_hat = c (x - sqrt(ab) mu)
        a0 = (1 - math.sqrt(1 - ab) * c) / math.sqrt(ab)        # x0_hat = a0 x + b0
        b0 = math.sqrt(1 - ab) * c * mu
        g = math.sqrt(max(1 - ab_prev - var, 0.0))
        a, b = math.sqrt(ab_prev) * a0 + g * c, math.sqrt(ab_prev) * b0 - g * c * math.sqrt(ab) * mu
        m, v = a * m + b, a * a * v + var
    return m, math.sqrt(v)


@pytest.mark.parametrize("timesteps, kind, steps, eta", [
    (200, "cosine", None, 0.0), (200, "cosine", 50, 0.0), (200, "cosine", 50, 1.0),
    (200, "cosine", 10, 0.5), (50, "cosine", None, 0.0), (20, "linear", None, 0.0)])
def test_sampler_matches_the_exact_linear_gaussian_recursion(timesteps, kind, steps, eta):
    # Short schedules too: there the ancestral step's variance (the posterior's beta-tilde,
    # not beta) decides the result, e.g. std 0.21 vs 0.31 at T = 20.
    model = oracle_model((0.5, 0.5), 0.3, timesteps, kind)
    x = diffusion.sample(model, 4000, steps=steps, eta=eta, clip=None, seed=1)
    m, sd = linear_gaussian_prediction(model, 0.5, 0.3, steps, eta)
    assert float(x.mean()) == pytest.approx(m, abs=0.01)
    assert float(x.std(0).mean()) == pytest.approx(sd, rel=0.03)


def test_ddim_eta0_is_the_deterministic_ddim_map():
    model = oracle_model()
    kw = dict(steps=10, eta=0.0, clip=None)
    path = diffusion.trajectory(model, 64, seed=3, keep=10, **kw)
    x = path[-1]
    assert torch.equal(x, diffusion.sample(model, 64, seed=3, **kw))
    times = torch.linspace(199, 0, 10).round().long().tolist()
    y = path[0]
    for i, t in enumerate(times):
        ab = model.alpha_bar[t]
        ab_prev = model.alpha_bar[times[i + 1]] if i + 1 < len(times) else torch.tensor(1.0)
        eps = model.denoiser(y, torch.full((64,), t))
        x0 = (y - (1 - ab).sqrt() * eps) / ab.sqrt()
        y = ab_prev.sqrt() * x0 + (1 - ab_prev).sqrt() * eps
        torch.testing.assert_close(path[i + 1], y, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(x, y, rtol=1e-4, atol=1e-5)


def test_ddim_eta0_draws_nothing_but_the_start_noise():
    model = oracle_model()
    torch.manual_seed(0)
    diffusion.sample(model, 8, steps=10, eta=0.0)
    after = torch.randn(4)
    torch.manual_seed(0)
    torch.randn(8, 2)
    assert torch.equal(after, torch.randn(4))  # only x_T came from the global generator
    torch.manual_seed(0)
    diffusion.sample(model, 8, steps=10, eta=1.0)
    assert not torch.equal(after, torch.randn(4))  # eta > 0 draws fresh noise every step


@pytest.mark.parametrize("steps, eta", [(None, 0.0), (10, 0.0), (10, 1.0)])
def test_same_seed_same_samples_and_keep(steps, eta):
    model = small(ema_decay=0.9)
    a = diffusion.sample(model, 6, steps=steps, eta=eta, seed=5)
    b = diffusion.sample(model, 6, steps=steps, eta=eta, seed=5)
    c = diffusion.sample(model, 6, steps=steps, eta=eta, seed=6)
    assert a.shape == (6, 2) and torch.equal(a, b) and not torch.equal(a, c)
    path = diffusion.trajectory(model, 6, seed=5, keep=4, steps=steps, eta=eta)
    x = path[-1]
    assert torch.equal(x, a) and len(path) == 5
    assert all(p.shape == (6, 2) for p in path) and torch.equal(path[-1], x)
    start = torch.randn(6, 2, generator=torch.Generator().manual_seed(5))
    assert torch.equal(path[0], start)  # noise first


def test_clip_bounds_the_samples_and_training_mode_is_restored():
    model = oracle_model(mu=(3.0, -3.0))  # data far outside [-1, 1]
    for steps in (None, 20):
        x = diffusion.sample(model, 100, steps=steps, seed=0)  # clip=1.0
        assert float(x.abs().max()) <= 1.0 + 1e-6
    free = diffusion.sample(model, 100, steps=20, clip=None, seed=0)
    assert float(free[:, 0].mean()) > 2.5
    model.train()
    diffusion.sample(model, 3, steps=2, seed=0)
    assert model.net.training
    model.eval()
    diffusion.sample(model, 3, steps=2, seed=0)
    assert not model.net.training


# ---------------------------------------------------------------- classifier-free guidance

def test_guided_noise_is_uncond_plus_w_times_the_difference():
    model = small(n_classes=3)
    net = model.denoiser.eval()
    torch.manual_seed(1)
    x, t, y = torch.randn(6, 2), torch.randint(0, 50, (6,)), torch.tensor([0, 1, 2, 2, 1, 0])
    cond = net(x, t, y)
    uncond = net(x, t, torch.full((6,), 3))
    torch.testing.assert_close(net(x, t, None), uncond)  # None means "no label"
    assert not torch.allclose(cond, uncond)  # the label matters
    torch.testing.assert_close(diffusion.guided_noise(net, x, t, y, 1.0), cond)
    for w in (0.0, 2.5):
        torch.testing.assert_close(diffusion.guided_noise(net, x, t, y, w),
                                   uncond + w * (cond - uncond), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(diffusion.guided_noise(net, x, t, None, 3.0), uncond)


def test_conditional_sampling_with_guidance():
    model = small(n_classes=3)
    y = torch.tensor([0, 1, 2, 0])
    kw = dict(steps=5, seed=0, clip=None)  # untrained: clip=1 would saturate every value
    plain = diffusion.sample(model, 4, y, **kw)
    guided = diffusion.sample(model, 4, y, guidance=3.0, **kw)
    unlabelled = diffusion.sample(model, 4, None, **kw)
    assert plain.shape == guided.shape == (4, 2)
    assert not torch.allclose(plain, guided) and not torch.allclose(plain, unlabelled)


# ---------------------------------------------------------------- training

def two_clusters(n=512):
    gen = torch.Generator().manual_seed(0)
    centres = torch.tensor([[0.6, 0.6], [-0.6, -0.4]])
    y = torch.randint(0, 2, (n,), generator=gen)
    return centres[y] + 0.05 * torch.randn(n, 2, generator=gen), y


def test_fit_lowers_the_loss_and_updates_the_ema():
    model = small(ema_decay=0.9)
    ema0 = [p.detach().clone() for p in model.ema.module.parameters()]
    opt = torch.optim.Adam(model.denoiser.parameters(), lr=3e-3)
    x, _ = two_clusters()
    torch.manual_seed(0)
    hist = train.fit(model, (x,), diffusion.diffusion_step(model, opt), optimizer=opt,
                     epochs=10, batch_size=64, device="cpu", quiet=True)
    losses = hist["loss"]
    assert len(losses) == 10 and all(math.isfinite(v) for v in losses)
    assert sum(losses[-3:]) / 3 < 0.8 * losses[0]
    assert int(model.ema.n_averaged) == 10 * 8
    ema = list(model.ema.module.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(ema0, ema))  # moved from the start
    assert any(not torch.allclose(a, b) for a, b in zip(ema, model.denoiser.parameters()))
    assert diffusion.sample(model, 5, steps=5, seed=0).shape == (5, 2)


def test_ema_is_the_moving_average_of_the_weights():
    model = small(ema_decay=0.9)
    opt = torch.optim.SGD(model.denoiser.parameters(), lr=0.1)
    step = diffusion.diffusion_step(model, opt)
    x, _ = two_clusters(32)
    torch.manual_seed(0)
    logs = step((x,))
    assert set(logs) == {"loss"} and logs["loss"].dim() == 0
    w1 = [p.detach().clone() for p in model.denoiser.parameters()]
    for a, b in zip(model.ema.module.parameters(), w1):
        torch.testing.assert_close(a, b)  # the first update copies the weights
    step((x,))
    for a, b, c in zip(model.ema.module.parameters(), w1, model.denoiser.parameters()):
        torch.testing.assert_close(a, 0.9 * b + 0.1 * c)


def test_scheduler_is_stepped_after_every_update():
    model = small()
    opt = torch.optim.SGD(model.denoiser.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    step = train.scheduled(diffusion.diffusion_step(model, opt), sched)
    x, _ = two_clusters(16)
    step((x,))
    step((x,))
    assert opt.param_groups[0]["lr"] == pytest.approx(0.025)


@pytest.mark.parametrize("p_uncond", [0.0, 0.95])
def test_p_uncond_trains_the_no_label_embedding(p_uncond):
    model = small(n_classes=3)
    opt = torch.optim.SGD(model.denoiser.parameters(), lr=0.0)  # keep the weights
    x, y = two_clusters(64)  # labels 0 and 1 only
    torch.manual_seed(0)
    diffusion.diffusion_step(model, opt, p_uncond=p_uncond)((x, y))
    grad = model.denoiser.condition.label.weight.grad
    assert grad.shape == (4, 16)  # n_classes + 1 rows: index 3 is "no label"
    assert float(grad[2].abs().sum()) == 0.0  # class 2 never appears
    if p_uncond == 0:
        assert float(grad[3].abs().sum()) == 0.0
    else:
        assert float(grad[3].abs().sum()) > 0.0
        assert float(grad[3].abs().sum()) > float(grad[0].abs().sum())  # most were dropped


# ---------------------------------------------------------------- clear errors

def cond_model():
    return small(n_classes=3)


BAD = [
    ("betas zero steps", lambda: diffusion.betas(0), ValueError,
     "timesteps must be a positive integer, got 0"),
    ("betas float steps", lambda: diffusion.betas(10.0), ValueError,
     "timesteps must be a positive integer"),
    ("betas bool steps", lambda: diffusion.betas(True), ValueError,
     "timesteps must be a positive integer"),
    ("Diffusion negative steps", lambda: diffusion.Diffusion(nn.Linear(2, 2), -5), ValueError,
     "timesteps must be a positive integer, got -5"),
    ("betas unknown kind", lambda: diffusion.betas(10, "quadratic"), ValueError,
     "schedule kind must be one of ('linear', 'cosine'), got 'quadratic'"),
    ("Diffusion unknown schedule",
     lambda: diffusion.Diffusion(nn.Linear(2, 2), 10, "sigmoid"), ValueError,
     "schedule kind must be one of"),
    ("ema_decay 1", lambda: diffusion.Diffusion(nn.Linear(2, 2), 10, ema_decay=1.0), ValueError,
     "ema_decay must be between 0 and 1"),
    ("ema_decay 0", lambda: diffusion.Diffusion(nn.Linear(2, 2), 10, ema_decay=0.0), ValueError,
     "ema_decay must be between 0 and 1"),
    ("ema_decay > 1", lambda: diffusion.Diffusion(nn.Linear(2, 2), 10, ema_decay=1.5),
     ValueError, "got 1.5"),
    ("sample steps 0", lambda: diffusion.sample(small(), 3, steps=0), ValueError,
     "steps must be an integer in [1, 50] or None, got 0"),
    ("sample steps > T", lambda: diffusion.sample(small(), 3, steps=51), ValueError,
     "steps must be an integer in [1, 50]"),
    ("sample steps float", lambda: diffusion.sample(small(), 3, steps=5.0), ValueError,
     "steps must be an integer"),
    ("sample steps bool", lambda: diffusion.sample(small(), 3, steps=True), ValueError,
     "steps must be an integer"),
    ("sample n 0", lambda: diffusion.sample(small(), 0), ValueError,
     "n must be a positive integer, got 0"),
    ("sample labels unconditional",
     lambda: diffusion.sample(small(), 3, torch.tensor([0, 1, 2]), steps=2), ValueError,
     "this denoiser is unconditional (n_classes=0): labels must be None"),
    ("sample labels wrong length",
     lambda: diffusion.sample(cond_model(), 3, torch.tensor([0, 1]), steps=2), ValueError,
     "labels must have shape (3,) to match the batch, got (2,)"),
    ("sample labels 2-D",
     lambda: diffusion.sample(cond_model(), 3, torch.zeros(3, 1, dtype=torch.long), steps=2),
     ValueError, "labels must have shape (3,)"),
    ("sample labels out of range",
     lambda: diffusion.sample(cond_model(), 3, torch.tensor([0, 1, 3]), steps=2), ValueError,
     "labels must be class labels in [0, 2] (3 classes)"),
    ("sample labels float",
     lambda: diffusion.sample(cond_model(), 3, torch.tensor([0.0, 1.0, 2.0]), steps=2),
     TypeError, "integer class labels"),
    ("sample labels list", lambda: diffusion.sample(cond_model(), 3, [0, 1, 2], steps=2),
     TypeError, "labels must be a torch tensor"),
    ("p_uncond 1", lambda: diffusion.diffusion_step(small(), None, p_uncond=1.0), ValueError,
     "p_uncond must be in [0, 1), got 1.0"),
    ("p_uncond negative", lambda: diffusion.diffusion_step(small(), None, p_uncond=-0.1),
     ValueError, "p_uncond must be in [0, 1)"),
    ("Denoiser wrong width",
     lambda: small().denoiser(torch.randn(4, 3), torch.zeros(4, dtype=torch.long)), ValueError,
     "x must have shape (B, 2), got (4, 3)"),
    ("Denoiser 1-D x", lambda: small().denoiser(torch.randn(2), torch.zeros(1, dtype=torch.long)),
     ValueError, "x must have shape (B, 2)"),
    ("Denoiser float64 x",
     lambda: small().denoiser(torch.randn(4, 2, dtype=torch.float64),
                              torch.zeros(4, dtype=torch.long)),
     TypeError, "x must have dtype torch.float32"),
    ("Denoiser list x", lambda: small().denoiser([[0.0, 1.0]], torch.zeros(1, dtype=torch.long)),
     TypeError, "x must be a torch tensor of shape (B, 2)"),
    ("loss wrong width", lambda: diffusion.loss(small(), torch.randn(4, 5)), ValueError,
     "x must have shape (B, 2), got (4, 5)"),
]


@pytest.mark.parametrize("call, exc, phrase", [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input_gives_clear_errors(call, exc, phrase):
    with pytest.raises(exc) as info:
        call()
    assert phrase in str(info.value)
