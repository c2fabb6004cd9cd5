"""genai_lib.exercises.vaes: reference answers pass, typical mistakes fail with the right message."""

import math

import torch

from genai_lib.exercises.vaes import (check_gaussian_kl, check_iwae_from_log_weights,
                                      check_reparameterize)
from genai_lib.vae import gaussian_kl, reparameterize


def test_gaussian_kl_checker():
    assert check_gaussian_kl(gaussian_kl)
    assert not check_gaussian_kl(None)
    half = lambda mu, lv: -(1 + lv - mu ** 2 - lv.exp()).sum(1)  # noqa: E731  (no 1/2)
    assert "factor of 2" in check_gaussian_kl(half).message
    per_dim = lambda mu, lv: -0.5 * (1 + lv - mu ** 2 - lv.exp())  # noqa: E731
    assert "sum the KL" in check_gaussian_kl(per_dim).message
    as_log_std = lambda mu, lv: -0.5 * (1 + 2 * lv - mu ** 2 - (2 * lv).exp()).sum(1)  # noqa: E731
    assert "log(sigma)" in check_gaussian_kl(as_log_std).message
    averaged = lambda mu, lv: -0.5 * (1 + lv - mu ** 2 - lv.exp()).mean(1)  # noqa: E731
    assert ".mean(1)" in check_gaussian_kl(averaged).message
    sign = lambda mu, lv: 0.5 * (1 + lv - mu ** 2 - lv.exp()).sum(1)  # noqa: E731
    assert "sign" in check_gaussian_kl(sign).message


def test_reparameterize_checker():
    assert check_reparameterize(reparameterize)
    assert not check_reparameterize(None)
    std_wrong = lambda mu, lv: mu + lv.exp() * torch.randn_like(mu)  # noqa: E731
    assert "exp(logvar / 2)" in check_reparameterize(std_wrong).message
    no_grad = lambda mu, lv: torch.normal(mu, (0.5 * lv).exp()).detach()  # noqa: E731
    assert "no gradient" in check_reparameterize(no_grad).message
    no_mu = lambda mu, lv: (0.5 * lv).exp() * torch.randn_like(mu)  # noqa: E731
    assert "add mu" in check_reparameterize(no_mu).message


def test_iwae_checker():
    ref = lambda lw: torch.logsumexp(lw, 0) - math.log(lw.shape[0])  # noqa: E731
    assert check_iwae_from_log_weights(ref)
    assert "ELBO" in check_iwae_from_log_weights(lambda lw: lw.mean(0)).message
    assert "log(k)" in check_iwae_from_log_weights(lambda lw: torch.logsumexp(lw, 0)).message
    naive = lambda lw: lw.exp().mean(0).log()  # noqa: E731
    assert "logsumexp" in check_iwae_from_log_weights(naive).message
    wrong_dim = lambda lw: torch.logsumexp(lw, 1) - math.log(lw.shape[1])  # noqa: E731
    assert "dim 0" in check_iwae_from_log_weights(wrong_dim).message
