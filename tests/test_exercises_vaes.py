"""genai_lib.exercises.vaes: reference answers pass, typical mistakes fail with the right message,
and the message names the learner's function as the exercise does."""

import math

import pytest
import torch

from genai_lib.exercises.vaes import (check_gaussian_kl, check_iwae_from_log_weights,
                                      check_reparameterize)
from genai_lib.vae import gaussian_kl, reparameterize

# --- the KL term ------------------------------------------------------------------------------

KL_MISTAKES = [
    ("no 1/2", lambda mu, lv: -(1 + lv - mu ** 2 - lv.exp()).sum(1), "factor 1/2"),
    ("sign", lambda mu, lv: 0.5 * (1 + lv - mu ** 2 - lv.exp()).sum(1), "sign is wrong"),
    ("per dimension", lambda mu, lv: -0.5 * (1 + lv - mu ** 2 - lv.exp()), "sum the KL"),
    ("summed over the batch", lambda mu, lv: -0.5 * (1 + lv - mu ** 2 - lv.exp()).sum(),
     "single number"),
    ("mean over dims", lambda mu, lv: -0.5 * (1 + lv - mu ** 2 - lv.exp()).mean(1), ".mean(1)"),
    ("logvar as log sigma", lambda mu, lv: -0.5 * (1 + 2 * lv - mu ** 2 - (2 * lv).exp()).sum(1),
     "log(sigma)"),
    ("sigma instead of sigma^2", lambda mu, lv: 0.5 * (mu ** 2 + (0.5 * lv).exp() - 1 - lv).sum(1),
     "needs the variance"),
    ("log sigma instead of log sigma^2",
     lambda mu, lv: 0.5 * (mu ** 2 + lv.exp() - 1 - 0.5 * lv).sum(1), "not log sigma"),
    ("no -1", lambda mu, lv: 0.5 * (mu ** 2 + lv.exp() - lv).sum(1), "left out the -1"),
    ("no mu^2", lambda mu, lv: 0.5 * (lv.exp() - 1 - lv).sum(1), "mu^2 term is missing"),
    ("mu not squared", lambda mu, lv: 0.5 * (mu + lv.exp() - 1 - lv).sum(1), "not squared"),
    ("reverse KL", lambda mu, lv: 0.5 * ((1 + mu ** 2) / lv.exp() - 1 + lv).sum(1), "reverse"),
    ("no return", lambda mu, lv: None, "returned None"),
]


def my_kl(mu, logvar):
    """The closed form, written out as the exercise asks (not a call of gaussian_kl)."""
    return 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum(1)


def test_gaussian_kl_checker_accepts_the_reference():
    verdict = check_gaussian_kl(my_kl)
    assert verdict, verdict.message
    library = check_gaussian_kl(gaussian_kl)  # "do not call gaussian_kl"
    assert not library and "gaussian_kl" in library.message
    assert "`my_kl`" in verdict.message
    assert "`my_kl` is None" in check_gaussian_kl(None).message


@pytest.mark.parametrize("fn, expected", [m[1:] for m in KL_MISTAKES],
                         ids=[m[0] for m in KL_MISTAKES])
def test_gaussian_kl_checker_names_the_mistake(fn, expected):
    verdict = check_gaussian_kl(fn)
    assert not verdict.ok
    assert expected in verdict.message, verdict.message
    assert "gaussian_kl" not in verdict.message  # the learner's function is `my_kl`


# --- the reparameterisation trick -------------------------------------------------------------

def _shared_noise(mu, lv):
    return mu + (0.5 * lv).exp() * torch.randn(mu.shape[1])  # one eps for every example


REPARAM_MISTAKES = [
    ("sigma = exp(logvar)", lambda mu, lv: mu + lv.exp() * torch.randn_like(mu),
     "exp(logvar / 2)"),
    ("sigma = logvar", lambda mu, lv: mu + lv * torch.randn_like(mu), "logvar itself"),
    ("variance sigma", lambda mu, lv: mu + (0.25 * lv).exp() * torch.randn_like(mu),
     "variance sigma, not sigma^2"),
    ("sigma / 2", lambda mu, lv: mu + 0.5 * (0.5 * lv).exp() * torch.randn_like(mu),
     "sigma / 2"),
    ("0.5 * exp(logvar)", lambda mu, lv: mu + 0.5 * lv.exp() * torch.randn_like(mu),
     "0.5 * exp(logvar)"),
    ("uniform noise", lambda mu, lv: mu + (0.5 * lv).exp() * torch.rand_like(mu), "uniform"),
    ("no mu", lambda mu, lv: (0.5 * lv).exp() * torch.randn_like(mu), "add mu"),
    ("no sigma", lambda mu, lv: mu + torch.randn_like(mu), "variance 1"),
    ("no noise", lambda mu, lv: mu + 0 * lv, "no spread"),
    ("shared noise", _shared_noise, "shared by all examples"),
    ("torch.normal", lambda mu, lv: torch.normal(mu, (0.5 * lv).exp()).detach(), "no gradient"),
    ("detached logvar", lambda mu, lv: mu + (0.5 * lv.detach()).exp() * torch.randn_like(mu),
     "no gradient reaches logvar"),
    ("no return", lambda mu, lv: None, "returned None"),
]


def test_reparameterize_checker_accepts_the_reference():
    by_hand = lambda mu, lv: mu + (0.5 * lv).exp() * torch.randn_like(mu)  # noqa: E731
    verdict = check_reparameterize(by_hand)
    assert verdict, verdict.message
    library = check_reparameterize(reparameterize)  # the library's, not written
    assert not library and "reparameterize" in library.message
    assert "`my_reparameterize`" in verdict.message
    minus = lambda mu, lv: mu - (0.5 * lv).exp() * torch.randn_like(mu)  # noqa: E731  (same law)
    assert check_reparameterize(minus)
    assert "`my_reparameterize` is None" in check_reparameterize(None).message


@pytest.mark.parametrize("fn, expected", [m[1:] for m in REPARAM_MISTAKES],
                         ids=[m[0] for m in REPARAM_MISTAKES])
def test_reparameterize_checker_names_the_mistake(fn, expected):
    verdict = check_reparameterize(fn)
    assert not verdict.ok
    assert expected in verdict.message, verdict.message


# --- the importance-weighted bound ------------------------------------------------------------

IWAE_MISTAKES = [
    ("mean of log weights", lambda lw: lw.mean(0), "ELBO"),
    ("no 1/k", lambda lw: torch.logsumexp(lw, 0), "forgot the 1/k"),
    ("plus log k", lambda lw: torch.logsumexp(lw, 0) + math.log(lw.shape[0]), "added log(k)"),
    ("divided by k", lambda lw: torch.logsumexp(lw, 0) / lw.shape[0], "divided the log by k"),
    ("max only", lambda lw: lw.max(0).values, "largest log weight"),
    ("sum of log weights", lambda lw: lw.sum(0), "summed the log weights"),
    ("underflow", lambda lw: lw.exp().mean(0).log(), "logsumexp"),
    ("wrong dim", lambda lw: torch.logsumexp(lw, 1) - math.log(lw.shape[1]), "dim 0"),
    ("whole tensor", lambda lw: torch.logsumexp(lw.flatten(), 0) - math.log(lw.numel()),
     "single number"),
    ("no return", lambda lw: None, "returned None"),
]


def test_iwae_checker_accepts_the_reference():
    ref = lambda lw: torch.logsumexp(lw, 0) - math.log(lw.shape[0])  # noqa: E731
    verdict = check_iwae_from_log_weights(ref)
    assert verdict, verdict.message
    assert "`my_iwae`" in verdict.message
    assert "`my_iwae` is None" in check_iwae_from_log_weights(None).message


@pytest.mark.parametrize("fn, expected", [m[1:] for m in IWAE_MISTAKES],
                         ids=[m[0] for m in IWAE_MISTAKES])
def test_iwae_checker_names_the_mistake(fn, expected):
    verdict = check_iwae_from_log_weights(fn)
    assert not verdict.ok
    assert expected in verdict.message, verdict.message
