"""Checkers for chapter 6 (VAEs): the Gaussian KL term, the reparameterisation trick, the
importance-weighted bound and the VAE's loss with its reductions.

Each checker names the learner's function as the exercise does (`my_kl`,
`my_reparameterize`, `my_iwae`, `my_vae_loss`) and recognises the typical mistakes by computing each wrong
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
    start = missing_function(name, fn, f"{name}(mu, logvar)")
    if start is not None:
        return start
    start = library_used(
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
    start = missing_function(name, fn, f"{name}(mu, logvar)")
    if start is not None:
        return start
    start = library_used(
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


# --- 4. the VAE's loss ------------------------------------------------------------------------

import torch.nn.functional as F  # noqa: E402 (this section's own imports)

from genai_lib.exercises import as_tensor  # noqa: E402

def _vae_loss_inputs() -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Fixed test inputs with B, D, L all different (6, 10, 3), so that each wrong reduction
    gives its own value: decoder logits (B, D) well outside [0, 1], grey images x (B, D) in
    [0, 1], and the encoder's mu, logvar (B, L)."""
    g = torch.Generator().manual_seed(0)
    logits = 2.0 * torch.randn(6, 10, generator=g)
    x = torch.rand(6, 10, generator=g)
    mu, logvar = torch.randn(6, 3, generator=g), 0.5 * torch.randn(6, 3, generator=g)
    return logits, x, mu, logvar


def _vae_loss_reference(logits: Tensor, x: Tensor, mu: Tensor, logvar: Tensor,
                        beta: float = 1.0) -> Tensor:
    """-(log p(x|z) - beta KL), the log-likelihood summed over the D pixels, the KL over the
    L latent dimensions, mean over the batch: a number (what `vae.vae_step` minimises)."""
    recon = -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)
    return -(recon - beta * _kl_reference(mu, logvar)).mean()


def _vae_loss_mistakes(logits: Tensor, x: Tensor, mu: Tensor, lv: Tensor,
                       beta: float) -> list[tuple[Tensor, str]]:
    """(wrong loss, message) for the typical mistakes in the VAE's loss."""
    (B, D), L = logits.shape, mu.shape[1]
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="none")  # (B, D)
    recon, kl = -bce.sum(1), _kl_reference(mu, lv)  # (B,) each

    def loss(r: Tensor, k: Tensor) -> Tensor:
        return -(r - beta * k).mean()

    p = torch.sigmoid(logits)
    mistakes = [
        (loss(-bce.mean(1), kl), f"you averaged the reconstruction term over the D = {D} "
         f"pixels (.mean(1), or F.binary_cross_entropy's default reduction): it is then D "
         f"times too small, so the KL weighs D times more than in the ELBO, as if beta were "
         f"{D} times larger; a VAE trained so collapses (its code carries nothing). Sum the "
         f"log-likelihood over the pixels: reduction='none', then .sum(1)"),
        (loss(-bce.mean(1), kl / L), f"you averaged over the pixels and over the latent "
         f"dimensions: the ELBO is a log-density of the whole image, so sum the "
         f"log-likelihood over the D = {D} pixels and the KL over the L = {L} latent "
         f"dimensions (.sum(1) both), and average only over the batch"),
        (-(recon - beta * kl).sum(), f"you summed over the batch: the loss is then B = {B} "
         f"times the mean, so the gradient and the step size grow with the batch size. "
         f"Take the mean over the batch (.mean())"),
        (-recon.sum() + beta * kl.mean(), f"the reconstruction term is summed over the batch "
         f"(reduction='sum') but the KL is averaged over it: the KL then weighs B = {B} "
         f"times less than in the ELBO. Reduce both the same way: sum over the pixels and "
         f"latent dimensions, then the mean over the batch"),
        (-recon.mean() + beta * kl.sum(), f"the KL is summed over the batch but the "
         f"reconstruction term is averaged over it: the KL then weighs B = {B} times more "
         f"than in the ELBO. Take the mean over the batch of both"),
        (-(recon + beta * kl).mean(), "the KL has the wrong sign: the ELBO is "
         "reconstruction minus KL, so the loss -ELBO adds + beta * KL; with - the optimiser "
         "would push q(z|x) away from the prior"),
        ((recon + beta * kl).mean(), "the reconstruction term has the wrong sign: "
         "log p(x|z) = -binary_cross_entropy_with_logits(...), so the loss is +BCE + beta * "
         "KL"),
        ((recon - beta * kl).mean(), "you returned the ELBO itself: training minimises the "
         "loss, which is minus the ELBO, -(recon - beta * KL)"),
        (-recon.mean(), "the KL term is missing: without it the loss is an autoencoder's "
         "with a noisy code, and nothing pulls q(z|x) towards the prior N(0, I). Add "
         "+ beta * KL"),
        (loss(recon, kl / L), f"you averaged the KL over the L = {L} latent dimensions "
         f"(.mean(1)): the KL of independent dimensions is their sum (.sum(1))"),
        (loss(-F.binary_cross_entropy_with_logits(p, x, reduction="none").sum(1), kl),
         "the sigmoid is applied twice: binary_cross_entropy_with_logits applies it itself, "
         "so pass it the logits, not torch.sigmoid(logits)"),
        (loss(-F.binary_cross_entropy_with_logits(x, logits, reduction="none").sum(1), kl),
         "the arguments of binary_cross_entropy_with_logits are swapped: the logits come "
         "first, the images (the targets) second"),
        (loss(-((p - x) ** 2).sum(1), kl), "you used the squared error of sigmoid(logits): "
         "the decoder here is Bernoulli, and its log-likelihood is minus the binary "
         "cross-entropy, -binary_cross_entropy_with_logits(logits, x)"),
        (loss(-((logits - x) ** 2).sum(1), kl), "you used the squared error of the logits: "
         "the decoder gives logits of a Bernoulli likelihood, whose log-likelihood is "
         "-binary_cross_entropy_with_logits(logits, x)"),
    ]
    if beta != 1.0:
        mistakes += [
            (loss(recon, kl / beta ** 2), "you divided the KL by beta: the loss is "
             "-(recon - beta * KL)"),
            (-(beta * recon - kl).mean(), "beta multiplies the reconstruction term: it is "
             "the weight of the KL, -(recon - beta * KL)"),
            (_vae_loss_reference(logits, x, mu, lv), f"the result does not change with "
             f"beta (here {beta}): beta multiplies the KL, -(recon - beta * KL)"),
        ]
    mistakes += [(loss(recon, k), f"in the KL term: {message}")
                 for k, message in _kl_mistakes(mu, lv)]
    return mistakes


def check_vae_loss(fn, name: str = "my_vae_loss") -> Feedback:
    """Check a learner's loss(logits, x, mu, logvar, beta=1.0) -> a number: minus the
    (beta-)ELBO of a Bernoulli VAE, summed over pixels and latent dimensions, mean over the
    batch; every typical mistake (reductions, signs, logits) is named."""
    signature = f"{name}(logits, x, mu, logvar, beta=1.0)"
    start = missing_function(name, fn, signature)  # a failing Feedback is falsy: no `or`
    if start is None:
        start = library_used(
            name, fn, "from binary_cross_entropy_with_logits and the closed-form KL",
            names={"gaussian_kl", "kl_divergence", "elbo", "vae_step", "log_likelihood"})
    if start is not None:
        return start
    logits, x, mu, logvar = _vae_loss_inputs()
    B, D = logits.shape
    for beta in (1.0, 0.5):
        args = [t.clone().requires_grad_(t is not x) for t in (logits, x, mu, logvar)]
        try:
            got = fn(*args) if beta == 1.0 else fn(*args, beta=beta)
        except TypeError as err:
            if beta != 1.0 and "beta" in str(err):
                return wrong(f"`{name}` takes no beta: give it the argument, {signature}, "
                             f"and weigh the KL by it")
            return wrong(f"`{name}` raised TypeError: {err} (call: {signature})")
        except Exception as err:  # the learner's code failed: say how
            if "between 0 and 1" in str(err):
                return wrong(f"`{name}` passed the logits to F.binary_cross_entropy, which "
                             f"expects probabilities in [0, 1]: use "
                             f"F.binary_cross_entropy_with_logits(logits, x), which takes "
                             f"the logits and applies the sigmoid itself, stably")
            return wrong(f"`{name}` raised {type(err).__name__}: {err}")
        t = as_tensor(name, got, returns="the loss", kind="the loss, a number")
        if isinstance(t, Feedback):
            return t
        expected = _vae_loss_reference(logits.double(), x.double(), mu.double(),
                                       logvar.double(), beta)
        if t.shape == (B,):
            return wrong(f"`{name}` returned one value per example, shape ({B},): the loss "
                         f"is one number, the mean over the batch (.mean())")
        if t.shape == (B, D):
            return wrong(f"`{name}` returned one value per pixel, shape ({B}, {D}): sum "
                         f"the log-likelihood over the pixels (.sum(1)), then take the "
                         f"mean over the batch")
        if t.numel() != 1:
            return wrong(f"`{name}` returned shape {tuple(t.shape)}: the loss is one number, "
                         f"the mean over the batch of -(recon - beta * KL)")
        t = t.reshape(())
        if not torch.isfinite(t):
            return wrong(f"`{name}` returned {float(t)}: log of the logits? The decoder gives "
                         f"logits, not probabilities: use F.binary_cross_entropy_with_logits")
        mistakes = _vae_loss_mistakes(logits.double(), x.double(), mu.double(),
                                      logvar.double(), beta)
        where = f"with beta = {beta}" if beta != 1.0 else ""
        verdict = diagnose(f"{name}(logits, x, mu, logvar)", t, expected, mistakes, where)
        if verdict is not None:
            return verdict
        if not (isinstance(got, Tensor) and got.requires_grad):
            return wrong(f"`{name}` returned a number without a gradient (.item(), .detach() "
                         f"or a float): return the loss tensor so that .backward() can "
                         f"train the model")
    return right(f"`{name}` is minus the (beta-)ELBO: the Bernoulli log-likelihood summed "
                 f"over the pixels, the KL over the latent dimensions, the mean over the batch.")
