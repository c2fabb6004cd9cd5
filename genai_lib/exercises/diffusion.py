"""Checkers for the diffusion chapter: the cumulative schedule alpha_bar, the closed-form
forward process q(x_t | x_0), the mean of one DDPM reverse step (Ho et al. 2020, eq. 11) and
a whole reverse step with its noise (`check_ddpm_step`).

Notation (as in `genai_lib.diffusion`): beta_t the noise added at step t, alpha_t = 1 - beta_t,
alpha_bar_t = prod_{s <= t} alpha_s, q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from genai_lib.exercises import (Feedback, as_tensor, call_for_tensor, diagnose,
                                 missing_function, right, same, wrong)


# --- 1. alpha_bar from betas ----------------------------------------------------------------

def _alpha_bar_inputs() -> list[Tensor]:
    """Schedules (T,): a hand case, a seeded random float64 one and a linear float32 one."""
    g = torch.Generator().manual_seed(0)
    return [torch.tensor([0.1, 0.2, 0.5], dtype=torch.float64),
            0.01 + 0.3 * torch.rand(7, generator=g, dtype=torch.float64),
            torch.linspace(1e-3, 0.1, 50, dtype=torch.float32)]


def check_alpha_bar(fn: Callable | None) -> Feedback:
    """Check a learner's alpha_bar(betas): (T,) -> (T,), alpha_bar_t = prod_{s<=t} (1 - beta_s)."""
    start = missing_function("alpha_bar", fn, "alpha_bar(betas)")
    if start is not None:
        return start
    for b in _alpha_bar_inputs():
        t = call_for_tensor("alpha_bar", fn, (b.clone(),), f"on betas of shape {tuple(b.shape)}")
        if isinstance(t, Feedback):
            return t
        b = b.double()
        alpha = 1 - b
        expected = torch.cumprod(alpha, 0)
        T = len(b)
        if t.dim() == 0:
            return wrong("the result is a single number: .prod() multiplies all the steps "
                         "together. Keep one running product per step with "
                         "torch.cumprod(1 - betas, dim=0), shape (T,)")
        if t.shape == (T + 1,):
            return wrong(f"the result has {T + 1} values for T = {T} steps: you kept the empty "
                         f"product alpha_bar = 1 in front. alpha_bar_1 = 1 - beta_1 already "
                         f"includes the first step; return torch.cumprod(1 - betas, dim=0)")
        mistakes = [
            (torch.cumprod(b, 0), "you multiplied the betas: alpha_bar is the running product of "
             "alpha_t = 1 - beta_t, the share of the signal each step keeps: "
             "torch.cumprod(1 - betas, dim=0)"),
            (alpha, "you returned alpha_t = 1 - beta_t, a single step's factor: alpha_bar_t "
             "multiplies all steps up to t, torch.cumprod(1 - betas, dim=0)"),
            (torch.cumsum(alpha, 0), "you used cumsum: alpha_bar is a running *product* "
             "(the signal shrinks by a factor alpha_t at every step), use torch.cumprod"),
            (1 - torch.cumsum(b, 0), "1 - cumsum(betas) is only the first-order approximation of "
             "the product: use torch.cumprod(1 - betas, dim=0)"),
            (1 - torch.cumprod(b, 0), "you computed 1 - cumprod(betas): subtract first, then "
             "multiply, torch.cumprod(1 - betas, dim=0)"),
            (torch.cat([expected.new_ones(1), expected[:-1]]), "off by one: your alpha_bar starts "
             "at 1 (the product up to t - 1, which leaves out step t itself). alpha_bar_1 = "
             "1 - beta_1; use torch.cumprod(1 - betas, dim=0) without shifting"),
            (torch.cumprod(alpha.flip(0), 0).flip(0), "your product runs from step t to T: "
             "alpha_bar_t multiplies the steps 1..t, torch.cumprod(1 - betas, dim=0) (no flip)"),
        ]
        verdict = diagnose("alpha_bar(betas)", t, expected, mistakes)
        if verdict is not None:
            return verdict
    return right("`alpha_bar` returns the running product prod_{s<=t} (1 - beta_s) on every "
                 "test schedule.")


# --- 2. q_sample: the forward process in closed form ---------------------------------------

def _q_inputs() -> list[tuple[Tensor, Tensor, Tensor]]:
    """(x0 (B, D), alpha_bar_t (B,), noise (B, D)): B != D first, then a square batch B == D
    (where forgetting [:, None] broadcasts silently along the wrong axis)."""
    g = torch.Generator().manual_seed(0)
    return [(torch.randn(4, 3, generator=g), torch.tensor([0.9, 0.7, 0.2, 0.05]),
             torch.randn(4, 3, generator=g)),
            (torch.randn(3, 3, generator=g), torch.tensor([0.95, 0.4, 0.1]),
             torch.randn(3, 3, generator=g))]


_BROADCAST = ("alpha_bar_t has shape (B,) and x0 has shape (B, D): `alpha_bar_t * x0` lines "
              "alpha_bar_t up with the last dimension (the D features), not with the examples. "
              "Write ab = alpha_bar_t[:, None] (shape (B, 1)) so each example gets its own "
              "coefficient")


def check_q_sample(fn: Callable | None) -> Feedback:
    """Check fn(x0 (B, D), alpha_bar_t (B,), noise (B, D)) -> x_t (B, D), the closed form
    x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) noise."""
    start = missing_function("q_sample", fn, "q_sample(x0, alpha_bar_t, noise)")
    if start is not None:
        return start
    for i, (x0, ab, noise) in enumerate(_q_inputs()):
        shapes = f"x0 {tuple(x0.shape)}, alpha_bar_t {tuple(ab.shape)}, noise {tuple(noise.shape)}"
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            try:
                got = fn(x0.clone(), ab.clone(), noise.clone())
                again = fn(x0.clone(), ab.clone(), noise.clone()) if i == 0 else None
            except RuntimeError as err:
                if "size" in str(err) and "match" in str(err):
                    return wrong(f"`q_sample` raised RuntimeError: {err} (for {shapes}). "
                                 f"{_BROADCAST}")
                return wrong(f"`q_sample` raised RuntimeError: {err} (for {shapes})")
            except Exception as err:  # the learner's code failed: say how, on which input
                return wrong(f"`q_sample` raised {type(err).__name__}: {err} (for {shapes})")
        t = as_tensor("q_sample", got)
        if isinstance(t, Feedback):
            return t
        x0, ab, noise = x0.double(), ab.double(), noise.double()
        a = ab[:, None]
        expected = a.sqrt() * x0 + (1 - a).sqrt() * noise
        if again is not None:
            t2 = as_tensor("q_sample", again)
            if not isinstance(t2, Feedback) and t.shape == t2.shape and not same(t, t2):
                return wrong("the result changes from call to call with the same inputs: use the "
                             "`noise` passed in rather than drawing new noise (torch.randn_like)")
        mistakes = []
        if x0.shape[0] == x0.shape[1]:  # a square batch: a missing [:, None] does not raise
            row = ab[None, :]  # alpha_bar_t lined up with the features instead of the examples
            mistakes.append((row.sqrt() * x0 + (1 - row).sqrt() * noise, _BROADCAST))
        mistakes += [
            (a * x0 + (1 - a) * noise, "you forgot the square roots: alpha_bar_t and "
             "1 - alpha_bar_t are the *variances* kept and added; the coefficients are "
             "sqrt(alpha_bar_t) for x0 and sqrt(1 - alpha_bar_t) for the noise"),
            ((1 - a).sqrt() * x0 + a.sqrt() * noise, "you swapped the two coefficients: x0 is "
             "scaled by sqrt(alpha_bar_t) (close to 1 at the start) and the noise by "
             "sqrt(1 - alpha_bar_t)"),
            (a.sqrt() * x0 + (1 - a) * noise, "the noise is scaled by 1 - alpha_bar_t, its "
             "variance: scale it by the standard deviation sqrt(1 - alpha_bar_t)"),
            (a * x0 + (1 - a).sqrt() * noise, "x0 is scaled by alpha_bar_t: scale it by "
             "sqrt(alpha_bar_t), so that the signal and noise variances add up to 1"),
            (a.sqrt() * x0, "there is no noise in x_t: add sqrt(1 - alpha_bar_t) * noise"),
            (a.sqrt() * x0 - (1 - a).sqrt() * noise, "you subtracted the noise: x_t = "
             "sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) noise (a plus; the denoiser learns "
             "to predict exactly this `noise`)"),
            (a.sqrt() * x0 + noise, "the noise is not scaled: multiply it by "
             "sqrt(1 - alpha_bar_t)"),
            (x0 + (1 - a).sqrt() * noise, "x0 is not scaled: multiply it by sqrt(alpha_bar_t), "
             "so the signal fades as noise is added"),
        ]
        verdict = diagnose("q_sample(x0, alpha_bar_t, noise)", t, expected, mistakes,
                           f"for {shapes}")
        if verdict is not None:
            return verdict
    return right("`q_sample` gives x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) noise, "
                 "one coefficient per example.")


# --- 3. the mean of one DDPM reverse step ---------------------------------------------------

def _reverse_inputs() -> list[tuple[Tensor, Tensor, float, float]]:
    """(x_t (B, D), eps (B, D), beta_t, alpha_bar_t): two middle steps where all the typical
    mistakes differ, then the first step (alpha_bar_t = alpha_t, where some coincide)."""
    g = torch.Generator().manual_seed(1)
    return [(torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g), 0.1, 0.4),
            (torch.randn(2, 5, generator=g), torch.randn(2, 5, generator=g), 0.02, 0.05),
            (torch.randn(3, 2, generator=g), torch.randn(3, 2, generator=g), 0.05, 0.95)]


def reverse_mean_reference(x_t: Tensor, eps: Tensor, beta_t: float, alpha_bar_t: float) -> Tensor:
    """mu = (x_t - beta_t / sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_t) (Ho et al. 2020, eq. 11)."""
    return (x_t - beta_t / math.sqrt(1 - alpha_bar_t) * eps) / math.sqrt(1 - beta_t)


def check_reverse_mean(fn: Callable | None) -> Feedback:
    """Check fn(x_t (B, D), eps (B, D), beta_t, alpha_bar_t) -> mu (B, D), the mean of
    p(x_{t-1} | x_t) given the predicted noise eps."""
    start = missing_function("reverse_mean", fn, "reverse_mean(x_t, eps, beta_t, alpha_bar_t)")
    if start is not None:
        return start
    for x, eps, beta, ab in _reverse_inputs():
        where = f"for beta_t = {beta}, alpha_bar_t = {ab}"
        try:
            got = fn(x.clone(), eps.clone(), beta, ab)
        except Exception as err:  # the learner's code failed: say how, on which input
            hint = ""
            if isinstance(err, TypeError) and "must be Tensor" in str(err):
                hint = (" beta_t and alpha_bar_t are Python floats: take their square roots "
                        "with math.sqrt(...) or ** 0.5, not torch.sqrt")
            return wrong(f"`reverse_mean` raised {type(err).__name__}: {err} ({where}).{hint}")
        t = as_tensor("reverse_mean", got)
        if isinstance(t, Feedback):
            return t
        x, eps = x.double(), eps.double()
        alpha, coef = 1 - beta, beta / math.sqrt(1 - ab)
        expected = reverse_mean_reference(x, eps, beta, ab)
        mistakes = [
            ((x - math.sqrt(1 - ab) * eps) / math.sqrt(ab), "that is the estimate of the clean "
             "x_0, (x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t), not the mean of "
             "x_{t-1}: one step back is (x_t - beta_t / sqrt(1 - alpha_bar_t) eps) / "
             "sqrt(alpha_t)"),
            ((x - coef * eps) / math.sqrt(ab), "you divided by sqrt(alpha_bar_t): that undoes "
             "all t steps at once (the scale of the x_0 estimate). One step back divides by "
             "sqrt(alpha_t) = sqrt(1 - beta_t)"),
            ((x - math.sqrt(beta) * eps) / math.sqrt(alpha), "the noise is scaled by "
             "sqrt(beta_t) (the step's own noise level): the mean removes "
             "beta_t / sqrt(1 - alpha_bar_t) * eps"),
            ((x - math.sqrt(1 - ab) * eps) / math.sqrt(alpha), "the noise is scaled by "
             "sqrt(1 - alpha_bar_t), all the noise in x_t: one step removes only "
             "beta_t / sqrt(1 - alpha_bar_t) * eps"),
            ((x - beta / (1 - ab) * eps) / math.sqrt(alpha), "the noise coefficient is "
             "beta_t / sqrt(1 - alpha_bar_t), with a square root in the denominator; you "
             "divided by 1 - alpha_bar_t"),
            ((x + coef * eps) / math.sqrt(alpha), "you added the predicted noise: subtract it, "
             "x_t - beta_t / sqrt(1 - alpha_bar_t) * eps"),
            (x - coef * eps, "you forgot the 1 / sqrt(alpha_t): divide x_t - beta_t / "
             "sqrt(1 - alpha_bar_t) * eps by sqrt(alpha_t) = sqrt(1 - beta_t)"),
            ((x - coef * eps) * math.sqrt(alpha), "you multiplied by sqrt(alpha_t): divide by it "
             "instead (going back in time undoes the shrinking by sqrt(alpha_t))"),
            ((x - coef * eps) / alpha, "you divided by alpha_t: divide by its square root, "
             "sqrt(alpha_t) = sqrt(1 - beta_t)"),
            ((x - coef * eps) / math.sqrt(beta), "you divided by sqrt(beta_t): divide by "
             "sqrt(alpha_t) = sqrt(1 - beta_t)"),
        ]
        verdict = diagnose("reverse_mean(x_t, eps, beta_t, alpha_bar_t)", t, expected, mistakes,
                           where)
        if verdict is not None:
            return verdict
    return right("`reverse_mean` gives (x_t - beta_t / sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_t) "
                 "at every test step.")


# --- 4. one whole step of ancestral sampling ------------------------------------------------

def _ddpm_step_cases() -> tuple[Tensor, Tensor, list[tuple[int, Tensor, Tensor, Tensor]]]:
    """A short schedule (T = 8, large betas, so every typical mistake moves the answer) and
    (t, x_t (B, D), eps_hat (B, D), z (B, D)) at code indices t: a middle step, t = 1 (the
    second-to-last, which still adds noise), t = 0 (the last) and t = T - 1 (the first)."""
    betas = torch.linspace(0.05, 0.4, 8, dtype=torch.float64)
    g = torch.Generator().manual_seed(2)
    cases = [(t, *(torch.randn(3, 4, generator=g, dtype=torch.float64) for _ in range(3)))
             for t in (4, 1, 0, 7)]
    return betas, torch.cumprod(1 - betas, 0), cases


def ddpm_step_reference(x_t: Tensor, eps_hat: Tensor, t: int, betas: Tensor,
                        alpha_bar: Tensor, z: Tensor) -> Tensor:
    """x_{t-1} = mu + sigma_t z at the code's index t in [0, T) (Ho et al. 2020, alg. 2):
    mu = (x_t - beta_t / sqrt(1 - alpha_bar_t) eps_hat) / sqrt(alpha_t), sigma_t^2 the
    posterior's variance (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) beta_t; no noise at t = 0."""
    beta, ab = betas[t], alpha_bar[t]
    mean = (x_t - beta / (1 - ab).sqrt() * eps_hat) / (1 - beta).sqrt()
    if t == 0:
        return mean
    return mean + ((1 - alpha_bar[t - 1]) / (1 - ab) * beta).sqrt() * z


_TILDE = ("sigma_t = sqrt(beta tilde_t), beta tilde_t = (1 - alpha_bar[t - 1]) / "
          "(1 - alpha_bar[t]) * betas[t]")


def _ddpm_step_mistakes(x: Tensor, eps: Tensor, t: int, betas: Tensor, alpha_bar: Tensor,
                        z: Tensor, got: Tensor) -> list[tuple[Tensor, str]]:
    """(candidate, message) for the typical mistakes of one reverse step at index t."""
    T = len(betas)
    beta, ab = betas[t], alpha_bar[t]
    alpha, coef = 1 - beta, beta / (1 - ab).sqrt()
    ab_prev = alpha_bar[t - 1] if t > 0 else ab.new_tensor(1.0)
    mean = (x - coef * eps) / alpha.sqrt()
    var = (1 - ab_prev) / (1 - ab) * beta
    noise = var.sqrt() * z
    expected = mean + noise
    found: list[tuple[Tensor, str]] = []
    if t == 0:
        wrapped = alpha_bar[-1]  # what alpha_bar[t - 1] reads at t = 0
        var_w = (1 - wrapped) / (1 - ab) * beta
        mean_w = (wrapped.sqrt() * beta * (x - (1 - ab).sqrt() * eps) / ab.sqrt()
                  + alpha.sqrt() * (1 - wrapped) * x) / (1 - ab)  # mu tilde with it
        wrap = ("alpha_bar[t - 1] here is alpha_bar[-1], the LAST entry of the schedule "
                "(Python wraps negative indices). Before the first step nothing is destroyed, "
                "so alpha_bar_{t-1} = 1 there; simplest: at t == 0 return the mean, no noise")
        found += [(mean + var_w.sqrt() * z, wrap), (mean_w + var_w.sqrt() * z, wrap),
                  (mean_w, wrap)]
        r = got - mean  # noise added at the last step: got = mean + c z for some c != 0
        c = float((r * z).sum() / (z * z).sum()) if got.shape == mean.shape else 0.0
        found.append((mean + c * z, f"you added noise at the last step (here {c:.3g} * z, "
                      f"at t = 0): x_0 is the mean itself, with no sigma_t z. Only the steps "
                      f"t > 0 draw noise"))
    else:
        found.append((mean, f"you added no noise at t = {t}: every step but the last "
                      f"(t = 0 in code, where steps are indices 0..T-1) returns mean + "
                      f"sigma_t z"))
        shifted = ddpm_step_reference(x, eps, t - 1, betas, alpha_bar, z)
        found.append((shifted, "off by one: you took the step of index t - 1 (betas[t - 1], "
                      "alpha_bar[t - 1]). In code the steps are indices 0..T-1 and step t "
                      "reads betas[t] and alpha_bar[t]; alpha_bar[t - 1] appears only in "
                      "beta tilde_t"))
        found.append(((x - beta / (1 - ab_prev).sqrt() * eps) / alpha.sqrt() + noise,
                      "off by one in the mean: its noise coefficient is beta_t / "
                      "sqrt(1 - alpha_bar_t) with alpha_bar[t], not alpha_bar[t - 1]"))
        found.append((mean + betas[t - 1].sqrt() * z, "you used alpha_t where alpha_bar_t "
                      f"belongs in beta tilde_t, which then collapses to beta_{{t-1}}: "
                      f"{_TILDE}, with the running products alpha_bar"))
    if t + 1 < T:
        found.append((ddpm_step_reference(x, eps, t + 1, betas, alpha_bar, z), "off by one: "
                      "you took the step of index t + 1. Step t reads betas[t] and "
                      "alpha_bar[t]"))
        found.append((mean + ((1 - ab) / (1 - alpha_bar[t + 1]) * beta).sqrt() * z,
                      f"off by one in beta tilde_t (alpha_bar[t] and alpha_bar[t + 1]): "
                      f"{_TILDE}"))
    found += [
        (mean + beta.sqrt() * z, f"your sigma_t is sqrt(beta_t): alpha_bar[t] where "
         f"alpha_bar[t - 1] belongs in beta tilde_t (off by one), or Ho et al.'s other choice "
         f"sigma_t^2 = beta_t. This step uses the posterior's variance: {_TILDE}"),
        (mean + var * z, "you scaled z by the variance beta tilde_t: z needs the standard "
         "deviation sigma_t = sqrt(beta tilde_t) (variance vs standard deviation)"),
        (mean + beta * z, f"you scaled z by beta_t, a variance (variance vs standard "
         f"deviation); the noise of this step is {_TILDE}"),
        ((x + coef * eps) / alpha.sqrt() + noise, "wrong sign on the noise term: the mean "
         "subtracts the predicted noise, (x_t - beta_t / sqrt(1 - alpha_bar_t) eps_hat) / "
         "sqrt(alpha_t)"),
        (mean - noise, "you subtracted sigma_t z: add it. (z and -z have the same "
         "distribution, but the check passes z and expects mean + sigma_t z)"),
        ((x - beta.sqrt() * eps) / alpha.sqrt() + noise, "you used alpha_t where alpha_bar_t "
         "belongs: the noise coefficient is beta_t / sqrt(1 - alpha_bar_t) (all the noise "
         "in x_t), not beta_t / sqrt(1 - alpha_t) = sqrt(beta_t)"),
        ((x - coef * eps) / ab.sqrt() + noise, "you divided by sqrt(alpha_bar_t): that "
         "undoes all t steps at once. One step back divides by sqrt(alpha_t) = "
         "sqrt(1 - betas[t])"),
        ((x - (1 - ab).sqrt() * eps) / ab.sqrt() + noise, "that is x0_hat (+ noise), the "
         "estimate of the clean point: the step's mean is (x_t - beta_t / "
         "sqrt(1 - alpha_bar_t) eps_hat) / sqrt(alpha_t)"),
        (x - coef * eps + noise, "you forgot to divide by sqrt(alpha_t) = sqrt(1 - betas[t])"),
    ]
    return [(c, m) for c, m in found if c.shape == expected.shape]


def check_ddpm_step(fn: Callable | None) -> Feedback:
    """Check fn(x_t (B, D), eps_hat (B, D), t, betas (T,), alpha_bar (T,), z (B, D)) ->
    x_{t-1} (B, D): one step of ancestral sampling at the code's index t in [0, T)."""
    call = "my_ddpm_step(x_t, eps_hat, t, betas, alpha_bar, z)"
    start = missing_function("my_ddpm_step", fn, call)
    if start is not None:
        return start
    betas, alpha_bar, cases = _ddpm_step_cases()
    T = len(betas)
    for i, (t, x, eps, z) in enumerate(cases):
        where = f"at t = {t} (T = {T})"
        results = []
        for seed in ((0, 1) if i == 0 else (0,)):
            with torch.random.fork_rng(devices=[]):  # the learner's global RNG stays put
                torch.manual_seed(seed)
                try:
                    got = fn(x.clone(), eps.clone(), t, betas.clone(), alpha_bar.clone(),
                             z.clone())
                except IndexError as err:
                    hint = (" At t = T - 1, the first reverse step, an index t + 1 is out of "
                            "range: off by one? Step t reads betas[t] and alpha_bar[t]"
                            if t == T - 1 else "")
                    return wrong(f"`my_ddpm_step` raised IndexError at t = {t}: {err}.{hint}")
                except Exception as err:  # the learner's code failed: say how, where
                    return wrong(f"`my_ddpm_step` raised {type(err).__name__} at t = {t}: "
                                 f"{err}")
            got = as_tensor("my_ddpm_step", got, returns="x_{t-1}")
            if isinstance(got, Feedback):
                return got
            results.append(got)
        got = results[0]
        if len(results) > 1 and got.shape == results[1].shape and not same(got, results[1]):
            return wrong("the result changes from call to call with the same inputs: use the "
                         "z passed in rather than drawing new noise (torch.randn_like)")
        expected = ddpm_step_reference(x, eps, t, betas, alpha_bar, z)
        verdict = diagnose(call, got, expected,
                           _ddpm_step_mistakes(x, eps, t, betas, alpha_bar, z, got), where)
        if verdict is not None:
            return verdict
    return right("`my_ddpm_step` gives mean + sigma_t z with sigma_t^2 = beta tilde_t at every "
                 "step, and the mean alone at the last step t = 0.")
