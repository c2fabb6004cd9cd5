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

from genai_lib.exercises import (Feedback, check_function, missing_function, right,
                                 string_instead_of_number, wrong)


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
        raw = fn(p.copy(), q.copy())
        text = string_instead_of_number("`js`", raw, verb="returned")
        if text is not None:
            return text
        got = float(raw)
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
    and `measure`, the name of the quality number that exposes it ("recall"): the exercise
    asks for it, so None (not answered yet) fails even when the rows are right."""
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
    if measure is None:
        return wrong(f"the rows are right ({len(m)} copies of the 10 digits), but `measure` is "
                     f"None: answer the question too, which of 'mmd', 'frechet', 'precision' "
                     f"or 'recall' reveals the collapse?")
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


# ------------------------------------------------ the discriminator's step, written out

D_STEP_SIGNATURE = "my_d_step(G, D, opt_g, opt_d, x, z)"
_NOISE_SEED = 1234  # the global seed set before each call: recognises noise drawn inside


def reference_d_step(G, D, opt_g, opt_d, x, z):
    """Reference: one discriminator update on real x (B, D) and noise z (B, L); returns D's
    loss -[mean log D(x) + mean log(1 - D(G(z)))] (Goodfellow et al. 2014, eq. 1). G(z) is
    made without a graph, so D's loss cannot reach G; opt_g is not touched."""
    with torch.no_grad():
        fake = G(z)
    d_loss = -(F.logsigmoid(D(x)).mean() + F.logsigmoid(-D(fake)).mean())
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    return d_loss


def _d_step_with(loss_fn: Callable, zero_grad: bool = True, own_noise: bool = False) -> Callable:
    """A discriminator step like the reference but with another loss (real_logits,
    fake_logits) -> scalar, without zero_grad, or with noise drawn inside: a typical mistake."""

    def step(G, D, opt_g, opt_d, x, z):
        if own_noise:
            z = torch.randn(z.shape)
        with torch.no_grad():
            fake = G(z)
        d_loss = loss_fn(D(x), D(fake))
        if zero_grad:
            opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        return d_loss

    return step


def _d_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return -(F.logsigmoid(real).mean() + F.logsigmoid(-fake).mean())


# (step with the mistake, what the checker says), tried in this order
_D_STEP_MISTAKES = [
    (_d_step_with(_d_loss, zero_grad=False),
     "D's old gradients are never cleared: call opt_d.zero_grad() before d_loss.backward(). "
     "backward() *adds* to .grad, so D stepped with this batch's gradient plus the one a "
     "previous step left there (the checker leaves one, as a training loop does)."),
    (_d_step_with(lambda r, f: -F.logsigmoid(f).mean()),
     "it uses the generator's loss -log D(G(z)): that trains D to call the fakes *real*. "
     "D's loss has two terms, -[log D(x) + log(1 - D(G(z)))]."),
    (_d_step_with(lambda r, f: F.logsigmoid(-f).mean()),
     "it uses the generator's minimax loss log(1 - D(G(z))): that trains D to call the fakes "
     "*real*. D's loss has two terms, -[log D(x) + log(1 - D(G(z)))]."),
    (_d_step_with(lambda r, f: -_d_loss(r, f)),
     "the loss has the wrong sign: it is V(D, G) = log D(x) + log(1 - D(G(z))), which D "
     "*maximises*; the optimiser minimises, so hand it -V."),
    (_d_step_with(lambda r, f: _d_loss(-r, -f)),
     "it swaps the labels: it trains D to call real data fake and the fakes real. The real x "
     "get label 1 (log D(x)), the fakes label 0 (log(1 - D(G(z))))."),
    (_d_step_with(lambda r, f: -F.logsigmoid(r).mean()),
     "it keeps only the real term -log D(x): add the fake term -log(1 - D(G(z))), "
     "= -logsigmoid(-logits), or D never learns what a fake looks like."),
    (_d_step_with(lambda r, f: -F.logsigmoid(-f).mean()),
     "it keeps only the fake term -log(1 - D(G(z))): add the real term -log D(x)."),
    (_d_step_with(lambda r, f: -(F.logsigmoid(r).sum() + F.logsigmoid(-f).sum())),
     "it sums over the batch: take the mean of each term, so the step does not grow with B."),
    (_d_step_with(lambda r, f: -(torch.sigmoid(r).mean() + (1 - torch.sigmoid(f)).mean())),
     "it uses D(x) and 1 - D(G(z)) without the log: the loss is "
     "-[log D(x) + log(1 - D(G(z)))], with log D = F.logsigmoid(logits)."),
    (_d_step_with(_d_loss, own_noise=True),
     "it draws its own noise: make the fakes from the z passed in (the checker fixes z so "
     "that it can compare your update with the expected one)."),
]


def _d_step_setup():
    """Small fixed networks G (2 -> 2) and D, SGD optimisers, a real batch x (8, 2) and
    noise z (8, 2). G's and D's .grad hold leftovers, as after a training loop's last step;
    D's output bias is 1, so its logits are not near 0 and a swapped label shows."""
    from genai_lib import gan  # here: the chapter's other checkers need no networks

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        G, D = gan.Generator(2, 2, 16), gan.Discriminator(2, 16)
        with torch.no_grad():
            [m for m in D.modules() if isinstance(m, torch.nn.Linear)][-1].bias.fill_(1.0)
        for p in [*G.parameters(), *D.parameters()]:
            p.grad = 0.5 * torch.randn_like(p)
        x, z = torch.randn(8, 2) + 2.0, torch.randn(8, 2)
    opt_g = torch.optim.SGD(G.parameters(), lr=0.1)
    opt_d = torch.optim.SGD(D.parameters(), lr=0.1)
    return G, D, opt_g, opt_d, x, z


def _flat(net: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in net.parameters()]).clone()


def _run_d_step(fn: Callable) -> dict:
    """Run a d-step on a fresh set-up: what it returned, how G's and D's parameters moved,
    whether D's loss reached G's parameters, G's gradients afterwards."""
    G, D, opt_g, opt_d, x, z = _d_step_setup()
    g0, d0 = _flat(G), _flat(D)
    reached: list[bool] = []
    hooks = [p.register_hook(lambda g: reached.append(True)) for p in G.parameters()]
    try:
        with torch.random.fork_rng(devices=[]):  # the learner's global RNG stays put
            torch.manual_seed(_NOISE_SEED)
            out = fn(G, D, opt_g, opt_d, x.clone(), z.clone())
    finally:
        for h in hooks:
            h.remove()
    return {"out": out, "g": _flat(G) - g0, "d": _flat(D) - d0, "reached": bool(reached),
            "frozen": not all(p.requires_grad for p in G.parameters()),
            "g_cleared": all(p.grad is None or not p.grad.any() for p in G.parameters())}


def _same_update(a: torch.Tensor, b: torch.Tensor) -> bool:
    return torch.allclose(a, b, rtol=1e-4, atol=1e-5 * float(b.abs().max()) + 1e-12)


def check_d_step(fn: Callable | None) -> Feedback:
    """Check a learner's my_d_step(G, D, opt_g, opt_d, x, z) -> D's loss: one discriminator
    update on real x and fakes G(z). Names the typical mistakes: D's loss reaching G (no
    detach / no_grad), no zero_grad, stepping opt_g, a wrong sign or swapped labels, the
    generator's loss, one term only, a sum, noise drawn inside."""
    from genai_lib.exercises import library_used  # (the module's imports are shared)

    missing = missing_function("my_d_step", fn, D_STEP_SIGNATURE)
    if missing is not None:
        return missing
    used = library_used("my_d_step", fn, "no_grad, the loss, zero_grad, backward, step",
                        names={"discriminator_step", "gan_step"})
    if used is not None:
        return used
    try:
        got = _run_d_step(fn)
    except Exception as err:  # say how the learner's code failed
        if "does not require grad" in str(err):
            return wrong(f"`my_d_step` raised {type(err).__name__}: {err}. D's loss has no "
                         f"graph: put only the fake G(z) under torch.no_grad(), and compute "
                         f"D(x), D(fake) and the loss outside it.")
        return wrong(f"`my_d_step` raised {type(err).__name__}: {err}")
    want = _run_d_step(reference_d_step)
    problems = []
    g_moved, d_moved = bool(got["g"].any()), bool(got["d"].any())
    if g_moved and not d_moved:
        problems.append("it steps the wrong optimiser: G's parameters changed and D's did "
                        "not. The discriminator's step calls opt_d.step(), never opt_g.step().")
    elif g_moved:
        problems.append("G's parameters changed: the discriminator's step must step only "
                        "opt_d (opt_g.step() moves G with whatever gradients G holds).")
    if got["reached"]:
        problems.append("D's loss sent gradients into G's parameters: make the fake under "
                        "`with torch.no_grad():` or use G(z).detach(). D's loss must not train "
                        "G (its gradient there points the wrong way for G), and the backward "
                        "pass through G is wasted work.")
    if got["frozen"]:
        problems.append("it leaves G's parameters with requires_grad=False, so G's own step "
                        "cannot train it: use torch.no_grad() or .detach() instead.")
    if not d_moved and not g_moved:
        problems.append("D's parameters did not change: call opt_d.step() after "
                        "d_loss.backward(), and zero the gradients before backward(), not "
                        "between backward() and step().")
    elif d_moved and not _same_update(got["d"], want["d"]):
        for mistake, message in _D_STEP_MISTAKES:
            candidate = _run_d_step(mistake)["d"]
            if not _same_update(candidate, want["d"]) and _same_update(got["d"], candidate):
                if mistake is _D_STEP_MISTAKES[0][0] and got["g_cleared"]:
                    message += " (opt_g.zero_grad() clears G's gradients, not D's.)"
                problems.append(message)
                break
        else:
            i = int((got["d"] - want["d"]).abs().argmax())
            problems.append(f"D's update is not one step on -[log D(x) + log(1 - D(G(z)))] "
                            f"with the given z: parameter {i} moved by {float(got['d'][i]):.4g}, "
                            f"expected {float(want['d'][i]):.4g}.")
    if problems:
        return wrong("`my_d_step`: " + " Also: ".join(problems))
    out = got["out"]
    if out is None:
        return wrong("`my_d_step` updates D correctly but returns None: return d_loss.")
    try:
        value = float(out.detach()) if isinstance(out, torch.Tensor) else float(out)
    except (TypeError, ValueError, RuntimeError):
        return wrong(f"`my_d_step` should return D's loss, a scalar, got {type(out).__name__}")
    expected = float(want["out"].detach())
    if not np.isclose(value, expected, rtol=1e-4):
        return wrong(f"`my_d_step` updates D correctly but returns {value:.6g}; D's loss "
                     f"before the step is {expected:.6g}: return d_loss.")
    return right("`my_d_step` is right: the fake carries no graph into G, D's old gradients "
                 "are cleared, and only opt_d steps, on -[log D(x) + log(1 - D(G(z)))].")
