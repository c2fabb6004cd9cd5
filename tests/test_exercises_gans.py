"""The chapter 5 checkers accept the reference solutions and name typical mistakes."""

import numpy as np
import torch
import torch.nn.functional as F

from genai_lib.exercises import gans as ex


def test_optimal_discriminator():
    assert ex.check_optimal_discriminator(lambda p, q: p / (p + q))
    assert not ex.check_optimal_discriminator(None)
    assert "`d_star`" in ex.check_optimal_discriminator(None).message
    mistakes = {
        "probability of *fake*": lambda p, q: q / (p + q),
        "density ratio": lambda p, q: p / q,
        "ratio p_g / p_data": lambda p, q: q / p,
        "1/2 everywhere": lambda p, q: np.full_like(p, 0.5),
        "log D*": lambda p, q: np.log(p / (p + q)),
    }
    for phrase, fn in mistakes.items():
        verdict = ex.check_optimal_discriminator(fn)
        assert not verdict and phrase in verdict.message, (phrase, verdict)
        assert "`d_star`" in verdict.message
    assert "raised" in ex.check_optimal_discriminator(lambda p, q: 1 / 0).message
    other = ex.check_optimal_discriminator(lambda p, q: p / (p + 2 * q))
    assert not other and "`d_star" in other.message


def test_ns_generator_loss():
    assert ex.check_ns_generator_loss(lambda l: -F.logsigmoid(l).mean())
    assert not ex.check_ns_generator_loss(None)
    ones = lambda l: torch.ones_like(l)  # noqa: E731
    assert ex.check_ns_generator_loss(
        lambda l: F.binary_cross_entropy_with_logits(l, ones(l)))
    mistakes = {
        "saturating": lambda l: torch.log(1 - torch.sigmoid(l)).mean(),
        "wrong sign": lambda l: F.logsigmoid(l).mean(),
        # BCE with the fakes' label 0: the discriminator's target, not the generator's
        "label 0": lambda l: F.binary_cross_entropy_with_logits(l, torch.zeros_like(l)),
        "mean": lambda l: -F.logsigmoid(l).sum(),
        "without the log": lambda l: (1 - torch.sigmoid(l)).mean(),
        "logsigmoid": lambda l: -torch.log(torch.sigmoid(l)).mean(),  # inf at -200
        "torch tensor": lambda l: float(-F.logsigmoid(l).mean()),
        # finite at -200 but capped: an epsilon, or BCE on probabilities (log clamped at -100)
        "caps the loss": lambda l: -torch.log(torch.sigmoid(l) + 1e-8).mean(),
    }
    for phrase, fn in mistakes.items():
        verdict = ex.check_ns_generator_loss(fn)
        assert not verdict and phrase in verdict.message, (phrase, verdict)
        assert "`ns_loss`" in verdict.message
    capped = ex.check_ns_generator_loss(
        lambda l: F.binary_cross_entropy(torch.sigmoid(l), ones(l)))
    assert not capped and "caps the loss" in capped.message


def test_js_divergence():
    assert ex.check_js_divergence(ex.js_divergence)
    assert abs(ex.js_divergence([1, 0], [0, 1]) - np.log(2)) < 1e-12
    assert not ex.check_js_divergence(None)
    kl = ex._kl
    m = lambda p, q: (p + q) / 2  # noqa: E731
    mistakes = {
        "KL(p||q)": lambda p, q: kl(p, q),
        "KL(q||p)": lambda p, q: kl(q, p),
        "average of KL(p||q) and KL(q||p)": lambda p, q: (kl(p, q) + kl(q, p)) / 2,
        "only KL(p||m)": lambda p, q: kl(p, m(p, q)),
        "only (1/2) KL(p||m)": lambda p, q: kl(p, m(p, q)) / 2,
        "factor 2": lambda p, q: 2 * ex.js_divergence(p, q),
        "bits": lambda p, q: ex.js_divergence(p, q) / np.log(2),
        "square root": lambda p, q: np.sqrt(ex.js_divergence(p, q)),
        "not the sum": lambda p, q: (kl(p, p + q) + kl(q, p + q)) / 2,
        "reversed": lambda p, q: (kl(m(p, q), p) + kl(m(p, q), q)) / 2,
    }
    for phrase, fn in mistakes.items():
        verdict = ex.check_js_divergence(fn)
        assert not verdict and phrase in verdict.message, (phrase, verdict)
        assert "`js`" in verdict.message

    def naive(p, q):
        m = (p + q) / 2
        with np.errstate(all="ignore"):
            return 0.5 * np.sum(p * np.log(p / m)) + 0.5 * np.sum(q * np.log(q / m))

    verdict = ex.check_js_divergence(naive)
    assert not verdict and "0 * log 0" in verdict.message


def test_memorised():
    x_train = torch.rand(50, 64)
    ok = x_train[:10].repeat_interleave(45, dim=0)
    unanswered = ex.check_memorised(ok, x_train, n=450)  # the question is part of the exercise
    assert not unanswered and "`measure` is None" in unanswered.message
    assert ex.check_memorised(ok, x_train, n=450, measure="recall")
    fb = ex.check_memorised(ok, x_train, n=450, measure="precision")
    assert not fb and "precision stays high" in fb.message
    assert "shape" in ex.check_memorised(ok[:100], x_train, n=450).message
    assert "not copies" in ex.check_memorised(ok + 0.1, x_train, n=450).message
    assert "only 5 of the 10" in ex.check_memorised(x_train[:5].repeat(90, 1), x_train, n=450).message
    assert not ex.check_memorised(None, x_train)


def test_memorised_unbalanced():
    x_train = torch.rand(50, 64)
    lopsided = torch.cat([x_train[:1].repeat(400, 1), x_train[1:10].repeat(5, 1), x_train[:5]])
    fb = ex.check_memorised(lopsided, x_train, n=450)
    assert not fb and "equally often" in fb.message
