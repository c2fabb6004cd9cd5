"""genai_lib.exercises.diffusion.check_ddpm_step: right answers (in each form the chapter
writes) pass, and each typical mistake of one reverse step fails with a message naming it."""

import math

import pytest
import torch

from genai_lib import diffusion
from genai_lib.exercises.diffusion import check_ddpm_step, ddpm_step_reference


def ddpm_step(x_t, eps_hat, t, betas, alpha_bar, z):
    """Reference solution, Ho et al.'s algorithm 2: the mean of eq. 11, then sigma_t z."""
    beta, ab = betas[t], alpha_bar[t]
    mean = (x_t - beta / (1 - ab).sqrt() * eps_hat) / (1 - beta).sqrt()
    if t == 0:  # the last step: no noise
        return mean
    var = (1 - alpha_bar[t - 1]) / (1 - ab) * beta  # beta tilde_t
    return mean + var.sqrt() * z


def posterior_step(x_t, eps_hat, t, betas, alpha_bar, z):
    """The chapter's form: mu tilde(x_t, x0_hat), alpha_bar_{t-1} = 1 before the first step."""
    beta, ab = betas[t], alpha_bar[t]
    ab_prev = alpha_bar[t - 1] if t > 0 else torch.tensor(1.0, dtype=ab.dtype)
    x0_hat = (x_t - (1 - ab).sqrt() * eps_hat) / ab.sqrt()
    mean = (ab_prev.sqrt() * beta * x0_hat
            + (1 - beta).sqrt() * (1 - ab_prev) * x_t) / (1 - ab)
    var = (1 - ab_prev) / (1 - ab) * beta  # 0 at t = 0: no noise
    return mean + var.sqrt() * z


def ddim_form_step(x_t, eps_hat, t, betas, alpha_bar, z):
    """The library's form (DDIM with eta = 1): sqrt(ab_prev) x0_hat + ... + sigma z."""
    ab = float(alpha_bar[t])
    ab_prev = float(alpha_bar[t - 1]) if t > 0 else 1.0
    x0_hat = (x_t - math.sqrt(1 - ab) * eps_hat) / math.sqrt(ab)
    var = (1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev)
    return (math.sqrt(ab_prev) * x0_hat + math.sqrt(max(1 - ab_prev - var, 0)) * eps_hat
            + math.sqrt(var) * z)


def _raises(*args):
    """A learner's function that fails."""
    raise ZeroDivisionError("division by zero")


@pytest.mark.parametrize("fn", [ddpm_step, posterior_step, ddim_form_step, ddpm_step_reference])
def test_ddpm_step_accepts_right_answers(fn):
    verdict = check_ddpm_step(fn)
    assert verdict, verdict.message


def test_the_reference_step_is_the_library_sampler():
    """T reference steps, with the library's draws, give diffusion.sample(..., clip=None)."""
    torch.manual_seed(0)
    model = diffusion.Diffusion(diffusion.Denoiser(2, hidden=8, blocks=1), 20,
                                ema_decay=None)
    gen = torch.Generator().manual_seed(3)
    x = torch.randn((5, 2), generator=gen)
    with torch.no_grad():
        for t in range(19, -1, -1):
            eps = model.denoiser(x, torch.full((5,), t))
            z = torch.randn(x.shape, generator=gen) if t > 0 else torch.zeros_like(x)
            x = ddpm_step_reference(x, eps, t, model.betas, model.alpha_bar, z)
    library = diffusion.sample(model, 5, seed=3, clip=None)
    # float32 rounding only: the library computes the same step in another order
    assert torch.allclose(x, library, rtol=1e-4, atol=1e-5), (x - library).abs().max()


def _mean(x, e, t, b, ab):
    """The right mean of one step (eq. 11)."""
    return (x - b[t] / (1 - ab[t]).sqrt() * e) / (1 - b[t]).sqrt()


def _var(t, b, ab):
    """The right variance beta tilde_t."""
    prev = ab[t - 1] if t > 0 else torch.tensor(1.0, dtype=ab.dtype)
    return (1 - prev) / (1 - ab[t]) * b[t]


def _with_noise(scale):
    """A step with the right mean and z scaled by scale(t, b, ab) at every t > 0."""
    return lambda x, e, t, b, ab, z: (_mean(x, e, t, b, ab)
                                      + (scale(t, b, ab) * z if t > 0 else 0))


def _wrapped(x, e, t, b, ab, z):
    """alpha_bar[t - 1] without a guard: at t = 0 it reads alpha_bar[-1]."""
    return _mean(x, e, t, b, ab) + ((1 - ab[t - 1]) / (1 - ab[t]) * b[t]).sqrt() * z


def _noise_at_the_end(x, e, t, b, ab, z):
    """Right for t > 0; at t = 0 still adds sqrt(beta_0) z."""
    return ddpm_step(x, e, t, b, ab, z) if t > 0 else _mean(x, e, t, b, ab) + b[0].sqrt() * z


@pytest.mark.parametrize("fn, phrases", [
    (lambda x, e, t, b, ab, z: ddpm_step(x, e, t - 1, b, ab, z), ["off by one", "t - 1"]),
    (lambda x, e, t, b, ab, z: ddpm_step(x, e, t + 1, b, ab, z), ["off by one", "t + 1"]),
    (lambda x, e, t, b, ab, z: (x - b[t] / (1 - ab[t - 1]).sqrt() * e) / (1 - b[t]).sqrt()
     + _var(t, b, ab).sqrt() * z, ["off by one in the mean"]),
    (_with_noise(lambda t, b, ab: ((1 - ab[t]) / (1 - ab[t + 1]) * b[t]).sqrt()),
     ["off by one in beta tilde_t"]),
    (lambda x, e, t, b, ab, z: ddpm_step(x, e, t, b, ab, z) if t < 7 else b[t + 1],
     ["IndexError", "off by one"]),
    (_wrapped, ["alpha_bar[-1]", "t = 0"]),
    (_noise_at_the_end, ["noise at the last step", "t = 0"]),
    (lambda x, e, t, b, ab, z: _mean(x, e, t, b, ab) + 0.3 * z * (t == 0)
     + (_var(t, b, ab).sqrt() * z if t else 0), ["noise at the last step"]),
    (_with_noise(lambda t, b, ab: _var(t, b, ab)), ["variance vs standard deviation"]),
    (_with_noise(lambda t, b, ab: b[t]), ["variance vs standard deviation", "beta_t"]),
    (_with_noise(lambda t, b, ab: b[t].sqrt()), ["sqrt(beta_t)", "beta tilde_t"]),
    (lambda x, e, t, b, ab, z: ddpm_step(x, -e, t, b, ab, z), ["wrong sign on the noise term"]),
    (lambda x, e, t, b, ab, z: ddpm_step(x, e, t, b, ab, -z), ["subtracted sigma_t z"]),
    (lambda x, e, t, b, ab, z: (x - b[t] / b[t].sqrt() * e) / (1 - b[t]).sqrt()
     + _var(t, b, ab).sqrt() * z, ["alpha_t where alpha_bar_t belongs"]),
    (_with_noise(lambda t, b, ab: ((1 - (1 - b[t - 1])) / (1 - (1 - b[t])) * b[t]).sqrt()),
     ["alpha_t where alpha_bar_t", "beta tilde_t"]),
    (lambda x, e, t, b, ab, z: (x - b[t] / (1 - ab[t]).sqrt() * e) / ab[t].sqrt()
     + _var(t, b, ab).sqrt() * z, ["divided by sqrt(alpha_bar_t)"]),
    (lambda x, e, t, b, ab, z: (x - (1 - ab[t]).sqrt() * e) / ab[t].sqrt()
     + _var(t, b, ab).sqrt() * z, ["x0_hat"]),
    (lambda x, e, t, b, ab, z: x - b[t] / (1 - ab[t]).sqrt() * e + _var(t, b, ab).sqrt() * z,
     ["forgot to divide by sqrt(alpha_t)"]),
    (lambda x, e, t, b, ab, z: _mean(x, e, t, b, ab), ["added no noise at t = 4"]),
    (lambda x, e, t, b, ab, z: ddpm_step(x, e, t, b, ab, z) if t > 1 else _mean(x, e, t, b, ab),
     ["added no noise at t = 1"]),
    (lambda x, e, t, b, ab, z: ddpm_step(x, e, t, b, ab, torch.randn_like(z)),
     ["z passed in"]),
    (lambda x, e, t, b, ab, z: ddpm_step(x, e, t, b, ab, z).sum(1), ["has shape"]),
    (lambda x, e, t, b, ab, z: ddpm_step(x, e, t, b, ab, z) + 1e-3, ["is not right at index"]),
    (lambda x, e, t, b, ab, z: None, ["forget to `return` x_{t-1}"]),
    (_raises, ["raised ZeroDivisionError"]),
])
def test_ddpm_step_mistakes(fn, phrases):
    verdict = check_ddpm_step(fn)
    assert not verdict
    for phrase in phrases:
        assert phrase in verdict.message, verdict.message


def test_ddpm_step_no_function():
    assert "is None" in check_ddpm_step(None).message
    assert "should be a function" in check_ddpm_step(3).message


def test_ddpm_step_leaves_the_global_random_state():
    state = torch.random.get_rng_state()
    check_ddpm_step(lambda x, e, t, b, ab, z: ddpm_step(x, e, t, b, ab, torch.randn_like(z)))
    assert torch.equal(state, torch.random.get_rng_state())
