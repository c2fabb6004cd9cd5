"""Checkers for chapter 5 (GANs): the optimal discriminator, the non-saturating generator
loss, and the Jensen-Shannon divergence the minimax game minimises.

Each checker first compares the learner's answer with the typical wrong answers, computed on
the same inputs, and names the mistake it matches; only then does it compare with the
reference (so a wrong answer is never accepted, and a recognised one is never called "off by
a constant factor")."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from genai_lib.exercises import Feedback, check_function, missing_function, right, wrong


def _densities(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two positive density values arrays (n,), not normalised (densities, not probabilities)."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.05, 2.0, n), rng.uniform(0.05, 2.0, n)


def _typical_mistake(got, expected, mistakes, rtol: float = 1e-4) -> Feedback | None:
    """A failing Feedback for the first typical mistake (candidate, message) that `got` matches,
    counting only candidates that differ from the right answer; None if it matches none."""
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    for candidate, message in mistakes:
        candidate = np.asarray(candidate, dtype=float)
        if candidate.shape != expected.shape or not np.all(np.isfinite(candidate)):
            continue
        distinct = not np.allclose(candidate, expected, rtol=1e-3, atol=1e-6)
        if distinct and got.shape == candidate.shape and np.allclose(got, candidate, rtol=rtol,
                                                                      atol=1e-8):
            return wrong(message)
    return None


def optimal_discriminator(p_data: np.ndarray, p_g: np.ndarray) -> np.ndarray:
    """Reference: D*(x) = p_data(x) / (p_data(x) + p_g(x)) (Goodfellow et al. 2014, Prop. 1)."""
    return np.asarray(p_data) / (np.asarray(p_data) + np.asarray(p_g))


def check_optimal_discriminator(fn: Callable | None) -> Feedback:
    """Check a learner's d_star(p_data, p_g) -> D*(x) on arrays of density values (N,)."""
    missing = missing_function("d_star", fn, "d_star(p_data, p_g)")
    if missing is not None:
        return missing
    p, q = _densities(6, 1)
    try:
        got = np.asarray(fn(p.copy(), q.copy()), dtype=float)
    except Exception as err:  # say how the learner's code failed
        return wrong(f"`d_star` raised {type(err).__name__}: {err}")
    expected = optimal_discriminator(p, q)
    mistakes = [
        (q / (p + q), "`d_star` returns p_g / (p_data + p_g): that is the probability of "
                      "*fake*. D outputs the probability that x is real, so p_data goes on top."),
        (p / q, "`d_star` returns the density ratio p_data / p_g, not a probability (it can "
                "exceed 1): divide by the sum p_data + p_g instead."),
        (q / p, "`d_star` returns the ratio p_g / p_data: D* is a probability, "
                "p_data / (p_data + p_g)."),
        (np.full_like(p, 0.5), "`d_star` returns 1/2 everywhere: that is D* only at the "
                               "equilibrium p_g = p_data; in general it depends on both densities."),
        (np.log(expected), "`d_star` returns log D*: the value function takes the log of D, "
                           "but D* itself is the probability p_data / (p_data + p_g)."),
    ]
    verdict = _typical_mistake(got, expected, mistakes)
    if verdict is not None:
        return verdict
    inputs = [(p, q), _densities(5, 2), (np.array([1.0, 0.0, 2.0]), np.array([1.0, 3.0, 0.5]))]
    return check_function("d_star", fn, optimal_discriminator, inputs)


def ns_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Reference: the non-saturating generator loss -mean(log sigmoid(logits)). (B,) -> ()."""
    return -F.logsigmoid(fake_logits).mean()


def check_ns_generator_loss(fn: Callable | None) -> Feedback:
    """Check a learner's ns_loss(fake_logits (B,)) -> scalar tensor, incl. large |logits|."""
    missing = missing_function("ns_loss", fn, "ns_loss(fake_logits)")
    if missing is not None:
        return missing
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
    g = float(got.detach())
    if not np.isfinite(g) or np.isclose(g, float(-torch.log(logits.clamp(1e-12)).mean()),
                                        rtol=1e-4):
        return wrong("`ns_loss`: the inputs are logits, not probabilities: use "
                     "F.logsigmoid(logits), which is log D and stays finite for large |logits|.")
    expected = float(ns_generator_loss(logits))
    mistakes = [
        (F.logsigmoid(-logits).mean(),
         "`ns_loss` returns the saturating minimax loss log(1 - D(G(z))): the generator should "
         "instead minimise -log D(G(z))."),
        (F.logsigmoid(logits).mean(),
         "`ns_loss` has the wrong sign: it returns mean log D(G(z)); the loss to *minimise* is "
         "its negative."),
        (-F.logsigmoid(-logits).mean(),
         "`ns_loss` returns -log(1 - D(G(z))), the binary cross-entropy with label 0 (fake) for "
         "the fakes: that is the discriminator's loss. The generator wants the fakes called "
         "real: label 1, -log D(G(z))."),
        (-F.logsigmoid(logits).sum(),
         "`ns_loss` sums over the batch: take the mean, so the loss does not grow with B."),
        (1 - torch.sigmoid(logits).mean(),
         "`ns_loss` returns 1 - D(G(z)) without the log: the loss is -log D(G(z))."),
    ]
    verdict = _typical_mistake(g, expected, [(float(c), m) for c, m in mistakes])
    if verdict is not None:
        return verdict
    extreme = torch.tensor([-200.0, 200.0])
    try:
        big = fn(extreme.clone())
        big = float(big.detach()) if isinstance(big, torch.Tensor) else float(big)
    except Exception as err:
        return wrong(f"`ns_loss` raised {type(err).__name__}: {err} on logits {extreme.tolist()}")
    if not np.isfinite(big):
        return wrong("`ns_loss` becomes inf/NaN for logits like -200: log(sigmoid(x)) "
                     "underflows; use F.logsigmoid(x) instead of torch.log(torch.sigmoid(x)).")
    want = float(ns_generator_loss(extreme))
    if np.isclose(g, expected, rtol=1e-4) and not np.isclose(big, want, rtol=1e-4):
        return wrong(f"`ns_loss` is right for moderate logits but gives {big:.4g} instead of "
                     f"{want:.4g} for logits [-200, 200]: an epsilon or a clamp inside the log "
                     f"(or F.binary_cross_entropy on probabilities, which clamps the log at "
                     f"-100) caps the loss. Use F.logsigmoid(logits).")
    return check_function("ns_loss", lambda t: fn(torch.as_tensor(t, dtype=torch.float32)),
                          lambda t: ns_generator_loss(torch.as_tensor(t, dtype=torch.float32)),
                          [logits.numpy(), extreme.numpy(), np.array([0.3, -1.2])], rtol=1e-4)


def _kl(a: np.ndarray, b: np.ndarray) -> float:
    """KL(a || b) in nats for discrete a, b (K,), with 0 log 0 = 0 (inf where b = 0 < a)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    with np.errstate(divide="ignore"):
        return float(np.sum(np.where(a > 0, a * np.log(np.where(a > 0, a, 1) / b), 0.0)))


def js_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Reference: JSD(p, q) = KL(p|m)/2 + KL(q|m)/2, m = (p+q)/2, in nats, for discrete p, q (K,)."""
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    m = (p + q) / 2
    return 0.5 * _kl(p, m) + 0.5 * _kl(q, m)


def check_js_divergence(fn: Callable | None) -> Feedback:
    """Check a learner's js(p, q) for discrete distributions (K,), including zero entries."""
    missing = missing_function("js", fn, "js(p, q)")
    if missing is not None:
        return missing
    p, q = np.array([0.5, 0.3, 0.2]), np.array([0.1, 0.1, 0.8])
    try:
        got = float(fn(p.copy(), q.copy()))
    except Exception as err:
        return wrong(f"`js` raised {type(err).__name__}: {err}")
    expected = js_divergence(p, q)
    m = (p + q) / 2
    mistakes = [
        (_kl(p, q), "`js` returns KL(p||q), the Kullback-Leibler divergence of p from q: the "
                    "JSD compares *both* p and q with their average m = (p + q)/2."),
        (_kl(q, p), "`js` returns KL(q||p): the JSD compares both p and q with their average "
                    "m = (p + q)/2, not with each other."),
        (0.5 * (_kl(p, q) + _kl(q, p)), "`js` returns the average of KL(p||q) and KL(q||p): "
                                        "the JSD compares both with their average m = (p + q)/2."),
        (_kl(p, m), "`js` returns only KL(p||m): add the second term, KL(q||m), and halve both."),
        (0.5 * _kl(p, m), "`js` returns only (1/2) KL(p||m): the second term, (1/2) KL(q||m), "
                          "is missing."),
        (2 * expected, "`js` is off by a factor 2: the JSD averages the two KL terms (1/2 each), "
                       "it does not add them."),
        (expected / np.log(2), "`js` returns bits (log base 2); the GAN identity "
                               "V = -log 4 + 2 JSD uses natural logarithms (nats)."),
        (np.sqrt(expected), "`js` returns the square root of the JSD, the Jensen-Shannon "
                            "*distance* (what scipy.spatial.distance.jensenshannon returns): "
                            "the divergence is its square."),
        (expected - np.log(2), "`js` is off by log 2: m is the average (p + q)/2, not the sum "
                               "p + q."),
        (0.5 * _kl(m, p) + 0.5 * _kl(m, q), "`js` has the KL arguments reversed: "
                                            "KL(p||m) + KL(q||m), not KL(m||p) + KL(m||q)."),
    ]
    verdict = _typical_mistake(got, expected, mistakes)
    if verdict is not None:
        return verdict
    inputs = [(p, q), (np.array([0.25] * 4), np.array([0.25] * 4)),
              (np.array([1.0, 0.0]), np.array([0.0, 1.0])),
              (np.array([0.7, 0.3, 0.0]), np.array([0.2, 0.2, 0.6]))]
    verdict = check_function("js", fn, js_divergence, inputs, rtol=1e-5, atol=1e-9)
    if not verdict.ok and "NaN" in verdict.message:
        return wrong("`js` gives NaN for distributions with zeros: the convention is "
                     "0 * log 0 = 0, so skip the entries where p (or q) is 0. " + verdict.message)
    if verdict.ok:
        return right("`js` is right, zeros included; for disjoint supports it reaches its "
                     "maximum, log 2.")
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
