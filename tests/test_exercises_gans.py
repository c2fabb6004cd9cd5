"""The chapter 5 checkers accept the reference solutions and name typical mistakes."""

import numpy as np
import torch
import torch.nn.functional as F

from genai_lib.exercises import gans as ex


def test_optimal_discriminator():
    assert ex.check_optimal_discriminator(lambda p, q: p / (p + q))
    assert not ex.check_optimal_discriminator(None)
    swapped = ex.check_optimal_discriminator(lambda p, q: q / (p + q))
    assert not swapped and "probability of *fake*" in swapped.message
    ratio = ex.check_optimal_discriminator(lambda p, q: p / q)
    assert not ratio and "density ratio" in ratio.message
    assert "raised" in ex.check_optimal_discriminator(lambda p, q: 1 / 0).message


def test_ns_generator_loss():
    assert ex.check_ns_generator_loss(lambda l: -F.logsigmoid(l).mean())
    assert not ex.check_ns_generator_loss(None)
    minimax = ex.check_ns_generator_loss(lambda l: torch.log(1 - torch.sigmoid(l)).mean())
    assert not minimax and "saturating" in minimax.message
    sign = ex.check_ns_generator_loss(lambda l: F.logsigmoid(l).mean())
    assert not sign and "wrong sign" in sign.message
    summed = ex.check_ns_generator_loss(lambda l: -F.logsigmoid(l).sum())
    assert not summed and "mean" in summed.message
    naive = ex.check_ns_generator_loss(lambda l: -torch.log(torch.sigmoid(l)).mean())
    assert not naive and "logsigmoid" in naive.message
    numpy_out = ex.check_ns_generator_loss(lambda l: float(-F.logsigmoid(l).mean()))
    assert not numpy_out and "torch tensor" in numpy_out.message


def test_js_divergence():
    assert ex.check_js_divergence(ex.js_divergence)
    assert abs(ex.js_divergence([1, 0], [0, 1]) - np.log(2)) < 1e-12
    assert not ex.check_js_divergence(None)
    bits = ex.check_js_divergence(lambda p, q: ex.js_divergence(p, q) / np.log(2))
    assert not bits and "bits" in bits.message
    double = ex.check_js_divergence(lambda p, q: 2 * ex.js_divergence(p, q))
    assert not double and "factor 2" in double.message

    def naive(p, q):
        m = (p + q) / 2
        with np.errstate(all="ignore"):
            return 0.5 * np.sum(p * np.log(p / m)) + 0.5 * np.sum(q * np.log(q / m))

    verdict = ex.check_js_divergence(naive)
    assert not verdict and "0 * log 0" in verdict.message


def test_memorised():
    x_train = torch.rand(50, 64)
    ok = x_train[:10].repeat_interleave(45, dim=0)
    assert ex.check_memorised(ok, x_train, n=450)
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
