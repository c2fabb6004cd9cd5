"""Checkers for chapter 5 (GANs): the optimal discriminator, the non-saturating generator
loss, and the Jensen-Shannon divergence the minimax game minimises."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from genai_lib.exercises import Feedback, check_function, right, wrong

_RNG = np.random.default_rng(0)


def _densities(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two positive density values arrays (n,), not normalised (densities, not probabilities)."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.05, 2.0, n), rng.uniform(0.05, 2.0, n)


def optimal_discriminator(p_data: np.ndarray, p_g: np.ndarray) -> np.ndarray:
    """Reference: D*(x) = p_data(x) / (p_data(x) + p_g(x)) (Goodfellow et al. 2014, Prop. 1)."""
    return np.asarray(p_data) / (np.asarray(p_data) + np.asarray(p_g))


def check_optimal_discriminator(fn: Callable | None) -> Feedback:
    """Check a learner's d_star(p_data, p_g) -> D*(x) on arrays of density values (N,)."""
    if fn is None:
        return wrong("`d_star` is None: define a function d_star(p_data, p_g) and pass it in.")
    p, q = _densities(6, 1)
    try:
        got = np.asarray(fn(p, q), dtype=float)
    except Exception as err:  # say how the learner's code failed
        return wrong(f"`d_star` raised {type(err).__name__}: {err}")
    expected = optimal_discriminator(p, q)
    if got.shape == expected.shape and np.allclose(got, 1 - expected):
        return wrong("you computed p_g / (p_data + p_g): that is the probability of *fake*. "
                     "D outputs the probability that x is real, so p_data goes on top.")
    if got.shape == expected.shape and np.allclose(got, p / q):
        return wrong("p_data / p_g is the density ratio, not a probability (it can exceed 1): "
                     "divide by the sum p_data + p_g instead.")
    inputs = [(p, q), _densities(5, 2), (np.array([1.0, 0.0, 2.0]), np.array([1.0, 3.0, 0.5]))]
    return check_function("d_star", fn, optimal_discriminator, inputs)


def ns_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Reference: the non-saturating generator loss -mean(log sigmoid(logits)). (B,) -> ()."""
    return -F.logsigmoid(fake_logits).mean()


def check_ns_generator_loss(fn: Callable | None) -> Feedback:
    """Check a learner's ns_loss(fake_logits (B,)) -> scalar tensor, incl. large |logits|."""
    if fn is None:
        return wrong("`ns_loss` is None: define a function ns_loss(fake_logits) and pass it in.")
    logits = torch.tensor([-3.0, -0.5, 0.0, 1.0, 4.0])
    try:
        got = fn(logits.clone())
    except Exception as err:
        return wrong(f"`ns_loss` raised {type(err).__name__}: {err}")
    if not isinstance(got, torch.Tensor):
        return wrong(f"`ns_loss` should return a torch tensor (so it can be back-propagated), "
                     f"got {type(got).__name__}")
    if got.dim() != 0:
        return wrong(f"`ns_loss` should return a scalar (the mean over the batch), got shape "
                     f"{tuple(got.shape)}")
    g = float(got)
    if np.isclose(g, float(F.logsigmoid(-logits).mean()), rtol=1e-4):
        return wrong("that is the saturating minimax loss log(1 - D(G(z))): the generator should "
                     "instead minimise -log D(G(z)).")
    if np.isclose(g, float(F.logsigmoid(logits).mean()), rtol=1e-4):
        return wrong("wrong sign: you return mean log D(G(z)); the loss to *minimise* is its negative.")
    if np.isclose(g, float(-F.logsigmoid(logits).sum()), rtol=1e-4):
        return wrong("you summed over the batch: take the mean, so the loss does not grow with B.")
    if np.isclose(g, float(-torch.log(logits.clamp(1e-12)).mean()), rtol=1e-4) or not np.isfinite(g):
        return wrong("the inputs are logits, not probabilities: use F.logsigmoid(logits), "
                     "which is log D and stays finite for large |logits|.")
    extreme = torch.tensor([-200.0, 200.0])
    try:
        big = float(fn(extreme))
    except Exception as err:
        return wrong(f"`ns_loss` raised {type(err).__name__}: {err} on logits {extreme.tolist()}")
    if not np.isfinite(big):
        return wrong("your loss becomes inf/NaN for logits like -200: log(sigmoid(x)) underflows; "
                     "use F.logsigmoid(x) instead of torch.log(torch.sigmoid(x)).")
    return check_function("ns_loss", lambda t: fn(torch.as_tensor(t, dtype=torch.float32)),
                          lambda t: ns_generator_loss(torch.as_tensor(t, dtype=torch.float32)),
                          [logits.numpy(), extreme.numpy(), np.array([0.3, -1.2])], rtol=1e-4)


def js_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Reference: JSD(p, q) = KL(p|m)/2 + KL(q|m)/2, m = (p+q)/2, in nats, for discrete p, q (K,)."""
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    m = (p + q) / 2
    kl = lambda a, b: float(np.sum(np.where(a > 0, a * np.log(np.where(a > 0, a, 1) / b), 0.0)))  # noqa: E731
    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def check_js_divergence(fn: Callable | None) -> Feedback:
    """Check a learner's js(p, q) for discrete distributions (K,), including zero entries."""
    if fn is None:
        return wrong("`js` is None: define a function js(p, q) and pass it in.")
    p, q = np.array([0.5, 0.3, 0.2]), np.array([0.1, 0.1, 0.8])
    try:
        got = float(fn(p, q))
    except Exception as err:
        return wrong(f"`js` raised {type(err).__name__}: {err}")
    expected = js_divergence(p, q)
    if np.isclose(got, expected / np.log(2), rtol=1e-4):
        return wrong("your value is in bits (log base 2); the GAN identity V = -log 4 + 2 JSD uses "
                     "natural logarithms (nats).")
    if np.isclose(got, 2 * expected, rtol=1e-4):
        return wrong("off by a factor 2: JSD averages the two KL terms (1/2 each), it does not add them.")
    inputs = [(p, q), (np.array([0.25] * 4), np.array([0.25] * 4)),
              (np.array([1.0, 0.0]), np.array([0.0, 1.0])), (np.array([0.7, 0.3, 0.0]), np.array([0.2, 0.2, 0.6]))]
    verdict = check_function("js", fn, js_divergence, inputs, rtol=1e-5, atol=1e-9)
    if not verdict.ok and "NaN" in verdict.message:
        return wrong("NaN for distributions with zeros: the convention is 0 * log 0 = 0, "
                     "so skip the entries where p (or q) is 0. " + verdict.message)
    if verdict.ok:
        return right("`js` is right, zeros included; for disjoint supports it reaches its maximum, log 2.")
    return verdict


def check_memorised(memorised, x_train, n: int | None = None, measure: str | None = None) -> Feedback:
    """A memorising "generator": (n, D) copies of x_train[:10] only, each equally often;
    `measure` (optional) names the quality number that exposes it ("recall")."""
    if memorised is None:
        return wrong("`memorised` is None: build it from `x_train[:10]`, e.g. with `repeat_interleave`")
    try:
        m = torch.as_tensor(memorised, dtype=torch.float32).cpu()
        ref = torch.as_tensor(x_train, dtype=torch.float32).cpu()[:10]
    except (TypeError, ValueError, RuntimeError):
        return wrong(f"`memorised` should be a tensor of images, got {type(memorised).__name__}")
    if m.dim() != 2 or m.shape[1] != ref.shape[1] or (n is not None and len(m) != n):
        want = f"({n if n is not None else 'N'}, {ref.shape[1]})"
        return wrong(f"`memorised` has shape {tuple(m.shape)}, expected {want}: one flattened "
                     f"image per row, as many rows as the GAN's samples")
    d = torch.cdist(m, ref, compute_mode="donot_use_mm_for_euclid_dist")  # (n, 10): distance of each row to each memorised digit
    if d.min(dim=1).values.max() > 1e-5:
        return wrong("some rows are not copies of `x_train[:10]`: the generator may only repeat "
                     "those ten training digits (no noise, no other digits)")
    counts = torch.bincount(d.argmin(dim=1), minlength=10)
    if (counts == 0).any():
        return wrong(f"only {int((counts > 0).sum())} of the 10 digits appear: use all of x_train[:10]")
    if counts.min() < counts.float().mean() / 2:
        return wrong(f"the 10 digits appear {counts.tolist()} times: repeat each about equally often")
    if measure is not None:
        name = str(measure).strip().lower()
        if name == "precision":
            return wrong("precision stays high: every memorised sample is a real digit, so it "
                         "lies inside the real data's neighbourhoods. Which number measures coverage?")
        if name in ("mmd", "frechet", "fréchet", "frechet distance"):
            return wrong(f"{measure} does grow, but it mixes quality and coverage; the number "
                         f"that isolates the missing coverage is another one")
        if name != "recall":
            return wrong(f"`measure` should be one of 'mmd', 'frechet', 'precision', 'recall', "
                         f"got {measure!r}")
    return right(f"{len(m)} rows, each one of the 10 memorised digits {int(counts.min())}-"
                 f"{int(counts.max())} times" + ("; and recall is the number that exposes it."
                                                if measure is not None else "."))
