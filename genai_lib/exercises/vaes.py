"""Checkers for chapter 6 (VAEs): the Gaussian KL term, the reparameterisation trick and
the importance-weighted bound.

Each checker names the learner's function as the exercise does (`my_kl`,
`my_reparameterize`, `my_iwae`) and recognises the typical mistakes by computing each wrong
answer and comparing (`genai_lib.exercises.diagnose`).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from genai_lib.exercises import (Feedback, call_for_tensor, diagnose, library_used,
                                 missing_function, right, wrong)


# --- 1. the KL term ---------------------------------------------------------------------------

def _kl_reference(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per row: (B, L) -> (B,)."""
    return -0.5 * (1 + logvar - mu ** 2 - logvar.exp()).sum(1)


def _kl_inputs() -> list[tuple[Tensor, Tensor]]:
    """Test inputs: the exercise's hand case, a random batch (where every typical mistake
    gives a different answer) and the zero case (q = prior, KL = 0)."""
    g = torch.Generator().manual_seed(0)
    return [(torch.tensor([[1.0, 0.0]]), torch.log(torch.tensor([[0.25, 4.0]]))),
            (torch.randn(5, 4, generator=g), torch.randn(5, 4, generator=g)),
            (torch.zeros(2, 3), torch.zeros(2, 3))]


def _kl_mistakes(mu: Tensor, lv: Tensor) -> list[tuple[Tensor, str]]:
    """(wrong answer, message) for the typical mistakes in the closed-form KL."""
    var, std = lv.exp(), (0.5 * lv).exp()
    return [
        (-(1 + lv - mu ** 2 - var).sum(1), "you left out the factor 1/2 in front: the KL is "
         "1/2 sum(mu^2 + sigma^2 - 1 - log sigma^2)"),
        (0.5 * (1 + lv - mu ** 2 - var).sum(1), "the sign is wrong everywhere: a KL is never "
         "negative; it is 1/2 sum(mu^2 + sigma^2 - 1 - log sigma^2)"),
        (0.5 * (mu ** 2 + var - 1 - lv).mean(1), "you averaged over the latent dimensions: "
         "the KL of independent dimensions is their sum (.sum(1), not .mean(1))"),
        (-0.5 * (1 + 2 * lv - mu ** 2 - (2 * lv).exp()).sum(1), "you treated logvar as "
         "log(sigma): the variance is sigma^2 = exp(logvar), not exp(2 * logvar), and the "
         "log term is log sigma^2 = logvar itself"),
        (0.5 * (mu ** 2 + std - 1 - lv).sum(1), "you used sigma = exp(logvar / 2) where the "
         "formula needs the variance sigma^2 = exp(logvar)"),
        (0.5 * (mu ** 2 + var - 1 - 0.5 * lv).sum(1), "the log term is log sigma^2 = logvar, "
         "not log sigma = logvar / 2"),
        (0.5 * (mu ** 2 + var - lv).sum(1), "you left out the -1 (one per latent "
         "dimension): without it the KL of q = N(0, I) from itself would be L/2, not 0"),
        (0.5 * (var - 1 - lv).sum(1), "the mu^2 term is missing: a code mean away from 0 "
         "also costs KL, 1/2 mu^2 per dimension"),
        (0.5 * (mu + var - 1 - lv).sum(1), "mu is not squared: the mean's cost is 1/2 mu^2 "
         "per dimension (mu ** 2)"),
        (0.5 * ((1 + mu ** 2) / var - 1 + lv).sum(1), "you computed the reverse divergence "
         "KL(N(0, I) || q): the ELBO needs KL(q || N(0, I)) = 1/2 sum(mu^2 + sigma^2 - 1 - "
         "log sigma^2)"),
    ]


def check_gaussian_kl(fn, name: str = "my_kl") -> Feedback:
    """Check a learner's kl(mu, logvar): (B, L), (B, L) -> (B,) against the closed form."""
    start = missing_function(name, fn, f"{name}(mu, logvar)") or library_used(
        name, fn, "the closed form 1/2 sum(mu^2 + exp(logvar) - 1 - logvar), not gaussian_kl",
        names={"gaussian_kl", "kl_divergence"})
    if start is not None:
        return start
    for mu, logvar in _kl_inputs():
        g = call_for_tensor(name, fn, (mu.clone(), logvar.clone()),
                            f"for mu, logvar of shape {tuple(mu.shape)}", torch.float32)
        if isinstance(g, Feedback):
            return g
        expected = _kl_reference(mu, logvar)
        if g.shape == mu.shape and mu.shape[1] > 1:
            return wrong(f"the result has shape {tuple(g.shape)}, the shape of mu: sum the KL "
                         f"over the latent dimensions (.sum(1)) to get one number per example "
                         f"({len(mu)},)")
        if g.dim() == 0:
            return wrong(f"the result is a single number: return one KL per example, shape "
                         f"(B,) = ({len(mu)},) (sum over dim 1 only, not over the batch)")
        lv = [[round(v, 3) for v in r] for r in logvar.tolist()]
        where = f"for mu = {mu.tolist()}, logvar = {lv}" if mu.numel() <= 2 else ""
        verdict = diagnose(f"{name}(mu, logvar)", g, expected, _kl_mistakes(mu, logvar), where)
        if verdict is not None:
            return verdict
    return right(f"`{name}` matches 1/2 sum(mu^2 + exp(logvar) - 1 - logvar) on every test "
                 f"input.")


# --- 2. the reparameterisation trick ----------------------------------------------------------

def check_reparameterize(fn, name: str = "my_reparameterize") -> Feedback:
    """Check a learner's reparameterize(mu, logvar) -> z: right mean, right variance, fresh
    noise per entry, gradients reaching mu and logvar."""
    start = missing_function(name, fn, f"{name}(mu, logvar)") or library_used(
        name, fn, "z = mu + exp(logvar / 2) * eps with eps = torch.randn_like(mu)",
        names={"reparameterize", "rsample"})
    if start is not None:
        return start
    n = 200_000
    mean, var = torch.tensor([2.0, -1.0]), torch.tensor([0.25, 9.0])
    mu = mean.repeat(n, 1).requires_grad_()
    logvar = var.log().repeat(n, 1).requires_grad_()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        try:
            z = fn(mu, logvar)
        except Exception as err:  # the learner's code failed: say how
            return wrong(f"`{name}` raised {type(err).__name__}: {err}")
    if z is None:
        return wrong(f"`{name}` returned None: did you forget to `return` z?")
    if not isinstance(z, Tensor):
        return wrong(f"`{name}` should return a tensor, got {type(z).__name__}")
    if z.shape != mu.shape:
        return wrong(f"z has shape {tuple(z.shape)}, expected the shape of mu "
                     f"{tuple(mu.shape)}")
    zd = z.detach().double()
    if not torch.isfinite(zd).all():
        return wrong("z contains NaN or inf: sigma = exp(logvar / 2) is finite for every "
                     "logvar (torch.sqrt(logvar) or torch.log(logvar) are not)")
    m, v = zd.mean(0).float(), zd.var(0).float()
    std = var.sqrt()
    shown = (f"mean {[round(x, 3) for x in m.tolist()]}, variance "
             f"{[round(x, 3) for x in v.tolist()]}")
    if v.max() < 1e-8:
        if torch.allclose(m, mean, atol=0.05):
            return wrong("the samples have no spread: z = mu. Add sigma * eps with "
                         "eps = torch.randn_like(mu)")
        return wrong(f"the samples have no spread ({shown}): every z is the same, so the "
                     f"noise is missing or shared by all examples. Draw fresh noise for each "
                     f"entry, eps = torch.randn_like(mu), and return mu + sigma * eps")
    # Typical mistakes, recognised by the mean and variance they produce.
    mistakes = [
        (mean, var ** 2, "you used sigma = exp(logvar), which is the variance: the standard "
         "deviation is sigma = exp(logvar / 2)"),
        (mean, var.log() ** 2, "you multiplied the noise by logvar itself: sigma = "
         "exp(logvar / 2)"),
        (mean, std, "the samples have variance sigma, not sigma^2: you scaled the noise by "
         "sqrt(sigma) = exp(logvar / 4); sigma = exp(logvar / 2)"),
        (mean, var / 4, "you scaled the noise by sigma / 2: the 1/2 belongs inside the exp, "
         "sigma = exp(0.5 * logvar)"),
        (mean, var ** 2 / 4, "you scaled the noise by 0.5 * exp(logvar): the 1/2 belongs "
         "inside the exp, sigma = exp(0.5 * logvar)"),
        (mean + std / 2, var / 12, "the noise is uniform on [0, 1) (torch.rand_like): draw "
         "standard normal noise with torch.randn_like"),
        (torch.zeros(2), var, "the samples have mean 0, not mu: add mu to the scaled noise, "
         "z = mu + sigma * eps"),
        (mean, torch.ones(2), "the samples have variance 1: multiply the noise by sigma = "
         "exp(logvar / 2)"),
    ]
    for m_bad, v_bad, message in mistakes:
        if (torch.allclose(m, m_bad, atol=0.05)
                and torch.allclose(v, v_bad, rtol=0.05, atol=1e-3)):
            return wrong(f"the samples have {shown}, expected mean mu = [2.0, -1.0] and "
                         f"variance exp(logvar) = [0.25, 9.0]: {message}")
    if not torch.allclose(m, mean, atol=0.05):
        return wrong(f"the samples have {shown}, expected mean mu = [2.0, -1.0]: z = mu + "
                     f"sigma * eps has mean mu because eps has mean 0")
    if not torch.allclose(v, var, rtol=0.05):
        return wrong(f"the samples have {shown}, expected variance exp(logvar) = [0.25, 9.0]: "
                     f"scale standard normal noise by sigma = exp(logvar / 2)")
    corr = float(torch.corrcoef(zd.T)[0, 1])  # independent noise: about 0 (+- 0.01 at n = 2e5)
    if abs(corr) > 0.05:
        return wrong(f"the two latent coordinates of z are correlated ({corr:.5f}): the noise is "
                     f"shared across the latent dimensions (e.g. torch.randn(B, 1), broadcast). "
                     f"z ~ N(mu, diag sigma^2) has independent coordinates: draw one eps per "
                     f"entry, eps = torch.randn_like(mu)")
    if not z.requires_grad:
        return wrong("z carries no gradient: sampling with torch.normal or .sample() (or a "
                     ".detach()) cuts the graph; write z = mu + sigma * eps so that mu and "
                     "logvar get gradients")
    (z ** 2).sum(1).mean().backward()  # E[z^2] = mu^2 + sigma^2: d/dmu = 2 mu, d/dlogvar = s^2
    gm = mu.grad.sum(0) if mu.grad is not None else None
    gl = logvar.grad.sum(0) if logvar.grad is not None else None
    if gm is None or gm.abs().max() == 0:
        return wrong("no gradient reaches mu: build z from mu with tensor operations (no "
                     ".detach(), no .item())")
    if gl is None or gl.abs().max() == 0:
        return wrong("no gradient reaches logvar: compute sigma = torch.exp(0.5 * logvar) "
                     "inside the graph (no .detach(), no .item(), no torch.normal)")
    if not torch.allclose(gm, 2 * mean, rtol=0.05, atol=0.05):
        return wrong(f"d E[z^2] / d mu = {[round(x, 3) for x in gm.tolist()]}, expected "
                     f"2 mu = [4, -2]")
    if not torch.allclose(gl, var, rtol=0.1):
        return wrong(f"d E[z^2] / d logvar = {[round(x, 3) for x in gl.tolist()]}, expected "
                     f"sigma^2 = [0.25, 9.0]")
    return right(f"`{name}` draws samples with mean mu and variance exp(logvar), and "
                 f"gradients reach mu and logvar (d E[z^2]/d mu = 2 mu, d/d logvar = sigma^2).")


# --- 3. the importance-weighted bound ---------------------------------------------------------

def _iwae_reference(log_w: Tensor) -> Tensor:
    """log (1/k) sum_i exp(log_w[i]) per column: (k, B) -> (B,)."""
    return torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0])


def _iwae_mistakes(log_w: Tensor) -> list[tuple[Tensor, str]]:
    """(wrong answer, message) for the typical mistakes in log mean exp."""
    k = log_w.shape[0]
    lse = torch.logsumexp(log_w, 0)
    return [
        (log_w.mean(0), "you averaged the log weights: that is the ELBO estimate, not the IWAE "
         "bound; average the weights themselves, log mean exp(log_w)"),
        (lse, f"you forgot the 1/k: subtract log(k) = log({k})"),
        (lse + math.log(k), f"you added log(k): the 1/k inside the log becomes - log(k) = "
         f"- log({k})"),
        (lse / k, f"you divided the log by k: the 1/k is inside the log, so subtract "
         f"log(k) = log({k})"),
        (log_w.max(0).values, "you took the largest log weight: logsumexp starts from the "
         "maximum but adds the log of the sum of exp(log_w - max); use torch.logsumexp"),
        (log_w.sum(0), "you summed the log weights: average the weights inside the log, "
         "logsumexp(log_w, 0) - log(k)"),
    ]


def check_iwae_from_log_weights(fn, name: str = "my_iwae") -> Feedback:
    """Check fn(log_w): (k, B) -> (B,), the IWAE bound from log importance weights."""
    start = missing_function(name, fn, f"{name}(log_w)")
    if start is not None:
        return start
    g = torch.Generator().manual_seed(1)
    small = torch.randn(5, 3, generator=g, dtype=torch.float64)
    large = -800.0 + 3 * torch.randn(20, 4, generator=g, dtype=torch.float64)  # 784 pixels
    for log_w in (small, large):
        t = call_for_tensor(name, fn, (log_w.clone(),), f"on log_w of shape {tuple(log_w.shape)}")
        if isinstance(t, Feedback):
            return t
        expected = _iwae_reference(log_w)
        if t.dim() == 1 and len(t) == log_w.shape[0] != log_w.shape[1]:
            return wrong(f"the result has {len(t)} values, one per sample: reduce over the "
                         f"k samples (dim 0) to get one bound per example ({log_w.shape[1]},)")
        if t.dim() == 0:
            return wrong(f"the result is a single number: return one bound per example, "
                         f"shape ({log_w.shape[1]},), reducing over dim 0 only")
        if t.shape == expected.shape and not torch.isfinite(t).all():
            return wrong("the result is -inf or NaN for log weights near -800: exp() "
                         "underflows to 0 there. Use torch.logsumexp (it subtracts the "
                         "maximum before exponentiating)")
        verdict = diagnose(f"{name}(log_w)", t, expected, _iwae_mistakes(log_w))
        if verdict is not None:
            return verdict
    return right(f"`{name}` computes log (1/k) sum exp(log_w) stably, one bound per example.")
