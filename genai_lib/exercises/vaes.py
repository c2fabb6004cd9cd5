"""Checkers for chapter 6 (VAEs): the Gaussian KL term, the reparameterisation trick and
the importance-weighted bound."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from genai_lib.exercises import Feedback, compare, right, wrong


def _kl_reference(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per row: (B, L) -> (B,)."""
    return -0.5 * (1 + logvar - mu ** 2 - logvar.exp()).sum(1)


def _kl_inputs() -> list[tuple[Tensor, Tensor]]:
    """Test inputs for the KL checker: a zero case, a hand case and a random batch."""
    g = torch.Generator().manual_seed(0)
    return [(torch.zeros(2, 3), torch.zeros(2, 3)),
            (torch.tensor([[1.0, 0.0]]), torch.log(torch.tensor([[0.25, 4.0]]))),
            (torch.randn(5, 4, generator=g), torch.randn(5, 4, generator=g))]


def _as_tensor(got, dtype: torch.dtype) -> Tensor | Feedback | None:
    """The learner's result as a tensor (None stays None), or a failing Feedback if it is not numeric."""
    if got is None:
        return None
    try:
        return torch.as_tensor(got, dtype=dtype)
    except (TypeError, ValueError, RuntimeError):
        return wrong(f"your function must return a tensor of numbers, got {type(got).__name__}")


def check_gaussian_kl(fn) -> Feedback:
    """Check a learner's kl(mu, logvar): (B, L), (B, L) -> (B,) against the closed form."""
    if fn is None:
        return wrong("`gaussian_kl` is None: define a function kl(mu, logvar) and pass it in.")
    if not callable(fn):
        return wrong(f"`gaussian_kl` should be a function, got {type(fn).__name__}")
    for mu, logvar in _kl_inputs():
        try:
            got = fn(mu.clone(), logvar.clone())
        except Exception as err:  # the learner's code failed: say how
            return wrong(f"`gaussian_kl` raised {type(err).__name__}: {err} "
                         f"for mu, logvar of shape {tuple(mu.shape)}")
        exp = _kl_reference(mu, logvar)
        g = _as_tensor(got, torch.float32)
        if isinstance(g, Feedback):
            return g
        if g is not None and g.shape == mu.shape:
            return wrong(f"the result has shape {tuple(g.shape)}, the shape of mu: sum the KL "
                         f"over the latent dimensions (.sum(1)) to get one number per example "
                         f"({len(mu)},)")
        if g is not None and g.dim() == 0 and len(mu) > 1:
            return wrong("the result is a single number: return one KL per example, shape (B,) "
                         "(sum over dim 1 only)")
        if g is not None and g.shape == exp.shape:
            std_as_logvar = -0.5 * (1 + 2 * logvar - mu ** 2 - (2 * logvar).exp()).sum(1)
            if not torch.allclose(exp, std_as_logvar) and torch.allclose(g, std_as_logvar, atol=1e-4):
                return wrong("you treated logvar as log(sigma): the variance is exp(logvar), "
                             "not exp(2 * logvar)")
            if mu.shape[1] > 1 and torch.allclose(g * mu.shape[1], exp, atol=1e-4) and exp.abs().sum() > 0:
                return wrong("you averaged over the latent dimensions: the KL of independent "
                             "dimensions is their sum (.sum(1), not .mean(1))")
        verdict = compare("gaussian_kl(mu, logvar)", g, exp, rtol=1e-4, atol=1e-5)
        if not verdict.ok:
            return wrong(f"for mu={mu.tolist()}, logvar={[[round(v, 3) for v in r] for r in logvar.tolist()]}: "
                         f"{verdict.message}" if mu.numel() <= 4 else verdict.message)
    return right("`gaussian_kl` matches -1/2 sum(1 + logvar - mu^2 - exp(logvar)) on every test input.")


def check_reparameterize(fn) -> Feedback:
    """Check a learner's reparameterize(mu, logvar) -> z: right mean, right variance, gradients flow."""
    if fn is None:
        return wrong("`reparameterize` is None: define a function reparameterize(mu, logvar).")
    if not callable(fn):
        return wrong(f"`reparameterize` should be a function, got {type(fn).__name__}")
    n = 200_000
    mu = torch.tensor([[2.0, -1.0]]).repeat(n, 1).requires_grad_()
    logvar = torch.log(torch.tensor([[0.25, 9.0]])).repeat(n, 1).requires_grad_()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        try:
            z = fn(mu, logvar)
        except Exception as err:
            return wrong(f"`reparameterize` raised {type(err).__name__}: {err}")
    if not isinstance(z, Tensor):
        return wrong(f"`reparameterize` should return a tensor, got {type(z).__name__}")
    if z.shape != mu.shape:
        return wrong(f"z has shape {tuple(z.shape)}, expected the shape of mu {tuple(mu.shape)}")
    m, v = z.detach().mean(0), z.detach().var(0)
    if not torch.allclose(m, torch.tensor([2.0, -1.0]), atol=0.05):
        return wrong(f"the samples have mean {[round(x, 3) for x in m.tolist()]}, expected mu = "
                     f"[2.0, -1.0]: add mu to the scaled noise")
    if v.max() < 1e-8:
        return wrong("the samples have no spread: multiply sigma by fresh noise "
                     "eps = torch.randn_like(mu)")
    target = torch.tensor([0.25, 9.0])
    if not torch.allclose(v, target, rtol=0.05):
        hint = ""
        if torch.allclose(v, target ** 2, rtol=0.05):
            hint = ": you used sigma = exp(logvar); it is exp(logvar / 2)"
        elif torch.allclose(v, target.log() ** 2, rtol=0.05):
            hint = ": you multiplied the noise by logvar itself; sigma = exp(logvar / 2)"
        elif torch.allclose(v, target.sqrt(), rtol=0.05):
            hint = ": the variance came out as sigma, not sigma^2 (sigma = exp(logvar / 2))"
        return wrong(f"the samples have variance {[round(x, 3) for x in v.tolist()]}, expected "
                     f"exp(logvar) = [0.25, 9.0]{hint}")
    if not z.requires_grad:
        return wrong("z carries no gradient: sampling with torch.normal or .sample() cuts the "
                     "graph; write z = mu + sigma * eps so mu and logvar get gradients")
    (z ** 2).sum(1).mean().backward()  # E[z^2] = mu^2 + sigma^2: d/dmu = 2 mu, d/dlogvar = sigma^2
    gm = mu.grad.sum(0) if mu.grad is not None else None
    gl = logvar.grad.sum(0) if logvar.grad is not None else None
    if gm is None or gl is None or gl.abs().max() == 0:
        return wrong("gradients do not reach both mu and logvar: compute sigma from logvar "
                     "inside the graph (no .detach(), no .item())")
    if not torch.allclose(gm, 2 * torch.tensor([2.0, -1.0]), rtol=0.05, atol=0.05):
        return wrong(f"d E[z^2] / d mu = {gm.tolist()}, expected 2 mu = [4, -2]")
    if not torch.allclose(gl, target, rtol=0.1):
        return wrong(f"d E[z^2] / d logvar = {gl.tolist()}, expected sigma^2 = [0.25, 9.0]")
    return right("the samples have mean mu and variance exp(logvar), and gradients reach "
                 "mu and logvar (d E[z^2]/d mu = 2 mu, d/d logvar = sigma^2).")


def _iwae_reference(log_w: Tensor) -> Tensor:
    """log (1/k) sum_i exp(log_w[i]) per column: (k, B) -> (B,)."""
    return torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0])


def check_iwae_from_log_weights(fn) -> Feedback:
    """Check fn(log_w): (k, B) -> (B,), the IWAE bound from log importance weights."""
    if fn is None:
        return wrong("`iwae` is None: define a function iwae(log_w) returning one value per column.")
    if not callable(fn):
        return wrong(f"`iwae` should be a function, got {type(fn).__name__}")
    g = torch.Generator().manual_seed(1)
    small = torch.randn(5, 3, generator=g, dtype=torch.float64)
    large = -800.0 + 3 * torch.randn(20, 4, generator=g, dtype=torch.float64)  # nats of real images
    for log_w in (small, large):
        try:
            got = fn(log_w.clone())
        except Exception as err:
            return wrong(f"`iwae` raised {type(err).__name__}: {err} on log_w of shape {tuple(log_w.shape)}")
        exp = _iwae_reference(log_w)
        t = _as_tensor(got, torch.float64)
        if isinstance(t, Feedback):
            return t
        if t is not None and t.shape == exp.shape:
            if torch.allclose(t, log_w.mean(0), atol=1e-6):
                return wrong("you averaged the log weights: that is the ELBO estimate, not the "
                             "IWAE bound; average the weights themselves, log mean exp(log_w)")
            if torch.allclose(t, torch.logsumexp(log_w, 0), atol=1e-6):
                return wrong(f"you forgot the 1/k: subtract log(k) = log({log_w.shape[0]})")
            if not torch.isfinite(t).all() and log_w is large:
                return wrong("the result is -inf/NaN for log weights near -800: exp() underflows. "
                             "Use torch.logsumexp (it subtracts the maximum first)")
        verdict = compare("iwae(log_w)", t, exp, rtol=1e-6, atol=1e-6)
        if not verdict.ok:
            if t is not None and t.dim() == 1 and len(t) == log_w.shape[0]:
                return wrong(f"the result has {len(t)} values, one per sample: reduce over the "
                             f"k samples (dim 0) to get one bound per example ({log_w.shape[1]},)")
            return wrong(verdict.message)
    return right("`iwae` computes log (1/k) sum exp(log_w) stably, one bound per example.")
