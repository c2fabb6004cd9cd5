"""genai_lib.exercises.vaes.check_vae_loss (chapter 6, "The VAE's loss"): the reference loss
passes, each typical mistake fails with a message that names it, and the message names the
learner's function as the exercise does (`my_vae_loss`)."""

import pytest
import torch
import torch.nn.functional as F

from genai_lib.exercises.vaes import check_vae_loss
from genai_lib.vae import VAE, VAEConfig, elbo


def _bce(logits, x):
    """Per-pixel binary cross-entropy from logits: (B, D)."""
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none")


def _kl(mu, lv):
    """KL(N(mu, exp(lv)) || N(0, I)) per example: (B,)."""
    return 0.5 * (mu ** 2 + lv.exp() - 1 - lv).sum(1)


def reference(logits, x, mu, logvar, beta=1.0):
    recon = -_bce(logits, x).sum(1)
    return -(recon - beta * _kl(mu, logvar)).mean()


def via_probabilities(logits, x, mu, logvar, beta=1.0):
    """Right too: sigmoid first, then the cross-entropy of probabilities."""
    recon = -F.binary_cross_entropy(torch.sigmoid(logits), x, reduction="none").sum(1)
    return (-recon + beta * _kl(mu, logvar)).mean()


MISTAKES = [  # (id, the learner's function, words the message must contain)
    ("mean over pixels",
     lambda lg, x, mu, lv, beta=1.0: (_bce(lg, x).mean(1) + beta * _kl(mu, lv)).mean(),
     "averaged the reconstruction term over the D = 10 pixels"),
    ("default reductions (mean over everything)",
     lambda lg, x, mu, lv, beta=1.0: F.binary_cross_entropy_with_logits(lg, x)
     + beta * 0.5 * (mu ** 2 + lv.exp() - 1 - lv).mean(),
     "averaged over the pixels and over the latent dimensions"),
    ("sum over the batch",
     lambda lg, x, mu, lv, beta=1.0: (_bce(lg, x).sum(1) + beta * _kl(mu, lv)).sum(),
     "summed over the batch"),
    ("reduction='sum' with the KL averaged",
     lambda lg, x, mu, lv, beta=1.0: F.binary_cross_entropy_with_logits(
         lg, x, reduction="sum") + beta * _kl(mu, lv).mean(),
     "KL then weighs B = 6 times less"),
    ("KL summed over the batch",
     lambda lg, x, mu, lv, beta=1.0: _bce(lg, x).sum(1).mean() + beta * _kl(mu, lv).sum(),
     "KL then weighs B = 6 times more"),
    ("KL sign",
     lambda lg, x, mu, lv, beta=1.0: (_bce(lg, x).sum(1) - beta * _kl(mu, lv)).mean(),
     "KL has the wrong sign"),
    ("reconstruction sign",
     lambda lg, x, mu, lv, beta=1.0: (-_bce(lg, x).sum(1) + beta * _kl(mu, lv)).mean(),
     "reconstruction term has the wrong sign"),
    ("returns the ELBO",
     lambda lg, x, mu, lv, beta=1.0: (-_bce(lg, x).sum(1) - beta * _kl(mu, lv)).mean(),
     "returned the ELBO itself"),
    ("KL left out", lambda lg, x, mu, lv, beta=1.0: _bce(lg, x).sum(1).mean(),
     "KL term is missing"),
    ("KL mean over latent dims",
     lambda lg, x, mu, lv, beta=1.0: (_bce(lg, x).sum(1) + beta * 0.5 * (
         mu ** 2 + lv.exp() - 1 - lv).mean(1)).mean(),
     "averaged the KL over the L = 3 latent dimensions"),
    ("sigmoid twice",
     lambda lg, x, mu, lv, beta=1.0: (_bce(torch.sigmoid(lg), x).sum(1)
                                      + beta * _kl(mu, lv)).mean(),
     "sigmoid is applied twice"),
    ("logits given to binary_cross_entropy",
     lambda lg, x, mu, lv, beta=1.0: (F.binary_cross_entropy(lg, x, reduction="none")
                                      .sum(1) + beta * _kl(mu, lv)).mean(),
     "expects probabilities in [0, 1]"),
    ("log of the logits by hand",
     lambda lg, x, mu, lv, beta=1.0: (-(x * lg.log() + (1 - x) * (1 - lg).log()).sum(1)
                                      + beta * _kl(mu, lv)).mean(),
     "binary_cross_entropy_with_logits"),
    ("arguments swapped",
     lambda lg, x, mu, lv, beta=1.0: (_bce(x, lg).sum(1) + beta * _kl(mu, lv)).mean(),
     "arguments of binary_cross_entropy_with_logits are swapped"),
    ("squared error",
     lambda lg, x, mu, lv, beta=1.0: (((torch.sigmoid(lg) - x) ** 2).sum(1)
                                      + beta * _kl(mu, lv)).mean(),
     "squared error"),
    ("per-example values",
     lambda lg, x, mu, lv, beta=1.0: _bce(lg, x).sum(1) + beta * _kl(mu, lv),
     "one value per example"),
    ("per-pixel values",
     lambda lg, x, mu, lv, beta=1.0: _bce(lg, x), "one value per pixel"),
    ("KL with logvar as log sigma",
     lambda lg, x, mu, lv, beta=1.0: (_bce(lg, x).sum(1) + beta * 0.5 * (
         mu ** 2 + (2 * lv).exp() - 1 - 2 * lv).sum(1)).mean(),
     "in the KL term: you treated logvar as log(sigma)"),
    ("beta ignored",
     lambda lg, x, mu, lv, beta=1.0: (_bce(lg, x).sum(1) + _kl(mu, lv)).mean(),
     "does not change with beta"),
    ("beta on the reconstruction",
     lambda lg, x, mu, lv, beta=1.0: (beta * _bce(lg, x).sum(1) + _kl(mu, lv)).mean(),
     "beta multiplies the reconstruction term"),
    ("KL divided by beta",
     lambda lg, x, mu, lv, beta=1.0: (_bce(lg, x).sum(1) + _kl(mu, lv) / beta).mean(),
     "divided the KL by beta"),
    ("no beta argument",
     lambda lg, x, mu, lv: (_bce(lg, x).sum(1) + _kl(mu, lv)).mean(), "takes no beta"),
    ("a float (.item())",
     lambda lg, x, mu, lv, beta=1.0: reference(lg, x, mu, lv, beta).item(),
     "without a gradient"),
    ("no return", lambda lg, x, mu, lv, beta=1.0: None, "returned None"),
]


@pytest.mark.parametrize("fn", [reference, via_probabilities])
def test_vae_loss_checker_accepts_right_answers(fn):
    verdict = check_vae_loss(fn)
    assert verdict.ok, verdict.message
    assert "`my_vae_loss`" in verdict.message


def test_vae_loss_checker_names_a_missing_function_and_the_library():
    assert "`my_vae_loss` is None" in check_vae_loss(None).message

    def uses_the_library(logits, x, mu, logvar, beta=1.0):
        from genai_lib.vae import gaussian_kl
        recon = -_bce(logits, x).sum(1)
        return -(recon - beta * gaussian_kl(mu, logvar)).mean()

    verdict = check_vae_loss(uses_the_library)
    assert not verdict.ok and "gaussian_kl" in verdict.message, verdict.message


@pytest.mark.parametrize("fn, words", [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_vae_loss_checker_names_the_mistake(fn, words):
    verdict = check_vae_loss(fn)
    assert not verdict.ok, verdict.message
    assert words in verdict.message, verdict.message
    assert "vae_step" not in verdict.message  # it speaks of the learner's function


def test_the_reference_is_what_vae_step_minimises():
    """The checker's reference is the library's loss, -elbo(...).mean(), on the same noise."""
    torch.manual_seed(0)
    model = VAE(VAEConfig(data_dim=10, latent_dim=3, hidden=16))
    x = torch.rand(6, 10)
    for beta in (1.0, 0.5):
        torch.manual_seed(1)
        library = -elbo(model, x, beta=beta).mean()
        torch.manual_seed(1)
        mu, logvar = model.encode(x)
        logits = model.decode(mu + torch.exp(0.5 * logvar) * torch.randn_like(mu))
        assert torch.allclose(reference(logits, x, mu, logvar, beta), library)
