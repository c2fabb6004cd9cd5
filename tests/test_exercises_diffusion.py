"""genai_lib.exercises.diffusion: reference answers pass, typical mistakes fail with the right
message."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from genai_lib.diffusion import Diffusion
from genai_lib.diffusion import betas as make_betas
from genai_lib.diffusion import q_sample as library_q_sample
from genai_lib.exercises.diffusion import (check_alpha_bar, check_q_sample, check_reverse_mean,
                                           reverse_mean_reference)


def alpha_bar(betas: torch.Tensor) -> torch.Tensor:
    """Reference solution: the running product of alpha_t = 1 - beta_t."""
    return torch.cumprod(1 - betas, dim=0)


def q_sample(x0: torch.Tensor, alpha_bar_t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Reference solution: x_t = sqrt(ab) x0 + sqrt(1 - ab) noise, one ab per example."""
    ab = alpha_bar_t[:, None]
    return ab.sqrt() * x0 + (1 - ab).sqrt() * noise


def reverse_mean(x_t: torch.Tensor, eps: torch.Tensor, beta_t: float,
                 alpha_bar_t: float) -> torch.Tensor:
    """Reference solution: Ho et al. 2020, eq. 11."""
    return (x_t - beta_t / math.sqrt(1 - alpha_bar_t) * eps) / math.sqrt(1 - beta_t)


def _raises(*args):
    """A learner's function that fails."""
    raise ZeroDivisionError("division by zero")


# --- alpha_bar --------------------------------------------------------------------------------

def test_alpha_bar_accepts_right_answers():
    assert check_alpha_bar(alpha_bar)
    assert check_alpha_bar(lambda b: torch.exp(torch.cumsum(torch.log1p(-b), 0)))  # log space
    assert check_alpha_bar(lambda b: np.cumprod(1 - b.numpy()))  # numpy
    assert check_alpha_bar(lambda b: [float(torch.prod(1 - b[:i + 1])) for i in range(len(b))])
    # the reference solution agrees with the schedule the library's Diffusion keeps
    model = Diffusion(torch.nn.Linear(2, 2), timesteps=20, ema_decay=None)
    assert torch.allclose(alpha_bar(make_betas(20)).float(), model.alpha_bar)


@pytest.mark.parametrize("fn, phrase", [
    (lambda b: torch.cumprod(b, 0), "you multiplied the betas"),
    (lambda b: 1 - b, "you returned alpha_t = 1 - beta_t"),
    (lambda b: torch.cumsum(1 - b, 0), "you used cumsum"),
    (lambda b: 1 - torch.cumsum(b, 0), "first-order approximation"),
    (lambda b: 1 - torch.cumprod(b, 0), "1 - cumprod(betas)"),
    (lambda b: torch.cat([b.new_ones(1), torch.cumprod(1 - b, 0)[:-1]]), "off by one"),
    (lambda b: torch.cat([b.new_ones(1), torch.cumprod(1 - b, 0)]), "empty product"),
    (lambda b: torch.prod(1 - b), ".prod() multiplies all the steps"),
    (lambda b: torch.cumprod((1 - b).flip(0), 0).flip(0), "from step t to T"),
    (lambda b: torch.cumprod(1 - b, 0)[:-1], "has shape"),
    (lambda b: torch.cumprod(1 - 2 * b, 0), "is not right at index"),
    (lambda b: None, "forget to `return`"),
    (lambda b: "alpha", "should return a tensor of numbers"),
    (_raises, "raised ZeroDivisionError"),
])
def test_alpha_bar_mistakes(fn, phrase):
    verdict = check_alpha_bar(fn)
    assert not verdict
    assert phrase in verdict.message, verdict.message


def test_alpha_bar_no_function():
    assert not check_alpha_bar(None)
    assert "is None" in check_alpha_bar(None).message
    assert "should be a function" in check_alpha_bar(torch.tensor([0.9, 0.8])).message


# --- q_sample ---------------------------------------------------------------------------------

def test_q_sample_accepts_right_answers():
    assert check_q_sample(q_sample)
    assert check_q_sample(lambda x0, ab, n: ab.sqrt().view(-1, 1) * x0
                          + (1 - ab).sqrt().unsqueeze(1) * n)
    # the library's closed form, with alpha_bar looked up at t = 0..B-1
    library = lambda x0, ab, n: library_q_sample(  # noqa: E731
        SimpleNamespace(alpha_bar=ab), x0, torch.arange(len(ab)), n)
    assert check_q_sample(library)


def _silent_broadcast(x0, ab, noise):
    """Simulates a learner whose missing [:, None] only shows on a square batch (B == D)."""
    if x0.shape[0] != x0.shape[1]:
        return q_sample(x0, ab, noise)
    return ab.sqrt() * x0 + (1 - ab).sqrt() * noise


@pytest.mark.parametrize("fn, phrase", [
    (lambda x0, ab, n: ab.sqrt() * x0 + (1 - ab).sqrt() * n, "[:, None]"),  # raises, B != D
    (lambda x0, ab, n: ab.sqrt().expand_as(x0) * x0 + (1 - ab).sqrt().expand_as(n) * n,
     "[:, None]"),
    (_silent_broadcast, "[:, None]"),
    (lambda x0, ab, n: ab[:, None] * x0 + (1 - ab[:, None]) * n, "forgot the square roots"),
    (lambda x0, ab, n: q_sample(n, ab, x0), "swapped the two coefficients"),
    (lambda x0, ab, n: ab[:, None].sqrt() * x0 + (1 - ab[:, None]) * n, "its variance"),
    (lambda x0, ab, n: ab[:, None] * x0 + (1 - ab[:, None]).sqrt() * n, "x0 is scaled by alpha"),
    (lambda x0, ab, n: ab[:, None].sqrt() * x0, "no noise in x_t"),
    (lambda x0, ab, n: q_sample(x0, ab, -n), "you subtracted the noise"),
    (lambda x0, ab, n: ab[:, None].sqrt() * x0 + n, "the noise is not scaled"),
    (lambda x0, ab, n: x0 + (1 - ab[:, None]).sqrt() * n, "x0 is not scaled"),
    (lambda x0, ab, n: q_sample(x0, ab, torch.randn_like(n)), "use the `noise` passed in"),
    (lambda x0, ab, n: q_sample(x0, ab, n).sum(1), "has shape"),
    (lambda x0, ab, n: q_sample(x0, ab, n) + 0.01, "is not right at index"),
    (lambda x0, ab, n: None, "forget to `return`"),
    (_raises, "raised ZeroDivisionError"),
])
def test_q_sample_mistakes(fn, phrase):
    verdict = check_q_sample(fn)
    assert not verdict
    assert phrase in verdict.message, verdict.message


def test_q_sample_no_function():
    assert not check_q_sample(None)
    assert "should be a function" in check_q_sample(3.0).message


def test_q_sample_keeps_the_global_rng():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    check_q_sample(lambda x0, ab, n: q_sample(x0, ab, torch.randn_like(n)))
    assert torch.equal(torch.rand(1), before)


# --- reverse_mean -------------------------------------------------------------------------------

def test_reverse_mean_accepts_right_answers():
    assert check_reverse_mean(reverse_mean)
    assert check_reverse_mean(reverse_mean_reference)
    assert check_reverse_mean(lambda x, e, b, ab: (x - b / (1 - ab) ** 0.5 * e) * (1 - b) ** -0.5)


def test_reverse_mean_equals_the_posterior_mean():
    """Eq. 11 is the mean of q(x_{t-1} | x_t, x0_hat), the form `diffusion.sample` uses."""
    def posterior(x, eps, beta, ab):
        x0 = (x - math.sqrt(1 - ab) * eps) / math.sqrt(ab)
        ab_prev = ab / (1 - beta)
        return (math.sqrt(ab_prev) * beta / (1 - ab) * x0
                + math.sqrt(1 - beta) * (1 - ab_prev) / (1 - ab) * x)
    assert check_reverse_mean(posterior)


def _c(b, ab):
    """The right noise coefficient beta_t / sqrt(1 - alpha_bar_t)."""
    return b / math.sqrt(1 - ab)


@pytest.mark.parametrize("fn, phrase", [
    (lambda x, e, b, ab: (x - _c(b, ab) * e) / math.sqrt(ab), "divided by sqrt(alpha_bar_t)"),
    (lambda x, e, b, ab: (x - math.sqrt(1 - ab) * e) / math.sqrt(ab), "estimate of the clean x_0"),
    (lambda x, e, b, ab: (x - math.sqrt(b) * e) / math.sqrt(1 - b), "scaled by sqrt(beta_t)"),
    (lambda x, e, b, ab: (x - math.sqrt(1 - ab) * e) / math.sqrt(1 - b), "all the noise in x_t"),
    (lambda x, e, b, ab: (x - b / (1 - ab) * e) / math.sqrt(1 - b), "divided by 1 - alpha_bar_t"),
    (lambda x, e, b, ab: (x + _c(b, ab) * e) / math.sqrt(1 - b), "added the predicted noise"),
    (lambda x, e, b, ab: x - _c(b, ab) * e, "forgot the 1 / sqrt(alpha_t)"),
    (lambda x, e, b, ab: (x - _c(b, ab) * e) * math.sqrt(1 - b), "multiplied by sqrt(alpha_t)"),
    (lambda x, e, b, ab: (x - _c(b, ab) * e) / (1 - b), "divided by alpha_t"),
    (lambda x, e, b, ab: (x - _c(b, ab) * e) / math.sqrt(b), "divided by sqrt(beta_t)"),
    (lambda x, e, b, ab: reverse_mean(x, e, b, ab).mean(1), "has shape"),
    (lambda x, e, b, ab: reverse_mean(x, e, b, ab) + 1e-3, "is not right at index"),
    (lambda x, e, b, ab: torch.sqrt(1 - b), "math.sqrt"),  # torch.sqrt on a Python float
    (lambda x, e, b, ab: None, "forget to `return`"),
    (_raises, "raised ZeroDivisionError"),
])
def test_reverse_mean_mistakes(fn, phrase):
    verdict = check_reverse_mean(fn)
    assert not verdict
    assert phrase in verdict.message, verdict.message


def test_reverse_mean_no_function():
    assert not check_reverse_mean(None)
    assert "should be a function" in check_reverse_mean("mu").message


def test_messages_render():
    assert repr(check_alpha_bar(alpha_bar)).startswith("✓")
    assert check_q_sample(None)._repr_markdown_().startswith("✗")
