"""Chapter 5's step exercise: `check_d_step` accepts the discriminator's step written in the
usual correct ways and names each typical mistake, written here as a learner would."""

import pytest
import torch
import torch.nn.functional as F

from genai_lib.exercises import gans as ex


def d_loss(real_logits, fake_logits):
    return -(F.logsigmoid(real_logits).mean() + F.logsigmoid(-fake_logits).mean())


def no_grad_step(G, D, opt_g, opt_d, x, z):
    with torch.no_grad():
        fake = G(z)
    loss = d_loss(D(x), D(fake))
    opt_d.zero_grad()
    loss.backward()
    opt_d.step()
    return loss


def detach_step(G, D, opt_g, opt_d, x, z):
    fake = G(z).detach()
    loss = d_loss(D(x), D(fake))
    D.zero_grad(set_to_none=False)
    loss.backward()
    opt_d.step()
    return loss.item()


def bce_step(G, D, opt_g, opt_d, x, z):
    """One call of D on real and fake together, binary cross-entropy with labels 1 and 0."""
    with torch.no_grad():
        fake = G(z)
    logits = D(torch.cat([x, fake]))
    labels = torch.cat([torch.ones(len(x)), torch.zeros(len(fake))])
    loss = 2 * F.binary_cross_entropy_with_logits(logits, labels)  # the mean of each half, summed
    opt_d.zero_grad()
    loss.backward()
    opt_d.step()
    return loss


@pytest.mark.parametrize("fn", [ex.reference_d_step, no_grad_step, detach_step, bce_step],
                         ids=lambda f: f.__name__)
def test_right_steps_pass(fn):
    verdict = ex.check_d_step(fn)
    assert verdict, verdict.message
    assert "is right" in verdict.message


def step_with(loss_fn=d_loss, detach=True, zero=True, step="d", noise=False, zero_after=False,
              returns=True, freeze=False):
    """A discriminator step with the mistakes switched on by the arguments."""

    def fn(G, D, opt_g, opt_d, x, z):
        if noise:
            z = torch.randn(len(x), G.latent_dim)
        if freeze:
            G.requires_grad_(False)
        fake = G(z).detach() if detach else G(z)
        loss = loss_fn(D(x), D(fake))
        if zero == "g":
            opt_g.zero_grad()
        elif zero:
            opt_d.zero_grad()
        loss.backward()
        if zero_after:
            opt_d.zero_grad()
        if step in ("d", "both"):
            opt_d.step()
        if step in ("g", "both"):
            opt_g.step()
        return loss if returns else None

    return fn


def all_under_no_grad(G, D, opt_g, opt_d, x, z):
    with torch.no_grad():
        loss = d_loss(D(x), D(G(z)))
    opt_d.zero_grad()
    loss.backward()
    opt_d.step()
    return loss


MISTAKES = {  # name: (learner's step, words the message must contain)
    "no detach": (step_with(detach=False), ["into G", "torch.no_grad()", ".detach()"]),
    "no detach, no zero_grad": (step_with(detach=False, zero=False),
                                ["into G", "zero_grad"]),
    "no zero_grad": (step_with(zero=False), ["opt_d.zero_grad()", "adds"]),
    "zero_grad of opt_g": (step_with(zero="g"), ["opt_d.zero_grad()", "clears G's"]),
    "zero_grad after backward": (step_with(zero_after=True), ["did not change", "before"]),
    "steps opt_g": (step_with(step="g"), ["wrong optimiser", "opt_g.step()"]),
    "steps both": (step_with(step="both"), ["G's parameters changed", "only opt_d"]),
    "wrong sign": (step_with(lambda r, f: -d_loss(r, f)), ["wrong sign"]),
    "swapped labels": (step_with(lambda r, f: d_loss(-r, -f)), ["swaps the labels"]),
    "bce labels swapped": (
        step_with(lambda r, f: F.binary_cross_entropy_with_logits(r, torch.zeros_like(r))
                  + F.binary_cross_entropy_with_logits(f, torch.ones_like(f))),
        ["swaps the labels"]),
    "generator's ns loss": (step_with(lambda r, f: -F.logsigmoid(f).mean()),
                            ["generator's loss", "*real*"]),
    "generator's minimax loss": (step_with(lambda r, f: torch.log(1 - torch.sigmoid(f)).mean()),
                                 ["generator's minimax loss"]),
    "real term only": (step_with(lambda r, f: -F.logsigmoid(r).mean()), ["only the real term"]),
    "fake term only": (step_with(lambda r, f: -F.logsigmoid(-f).mean()), ["only the fake term"]),
    "sum": (step_with(lambda r, f: -(F.logsigmoid(r).sum() + F.logsigmoid(-f).sum())),
            ["sums", "mean"]),
    "no log": (step_with(lambda r, f: -(torch.sigmoid(r) + 1 - torch.sigmoid(f)).mean()),
               ["without the log"]),
    "own noise": (step_with(noise=True), ["own noise", "z passed in"]),
    "freezes G": (step_with(freeze=True), ["requires_grad=False"]),
    "returns None": (step_with(returns=False), ["returns None", "return d_loss"]),
    "returns the wrong loss": (lambda *a: (ex.reference_d_step(*a), 0.0)[1], ["returns 0"]),
    "everything under no_grad": (all_under_no_grad, ["no graph", "torch.no_grad()"]),
    "other loss": (step_with(lambda r, f: d_loss(r, f) + 0.1 * r.pow(2).mean()),
                   ["not one step", "expected"]),
}


@pytest.mark.parametrize("name", list(MISTAKES))
def test_mistakes_are_named(name):
    fn, words = MISTAKES[name]
    verdict = ex.check_d_step(fn)
    assert not verdict, (name, verdict)
    assert verdict.message.startswith("`my_d_step`"), verdict.message
    for word in words:
        assert word in verdict.message, (name, word, verdict.message)


def test_the_library_step_is_refused():
    from genai_lib import gan

    def library(G, D, opt_g, opt_d, x, z):
        return gan.discriminator_step(gan.GAN(G, D), opt_d)((x,))["d_loss"]

    verdict = ex.check_d_step(library)
    assert not verdict and "discriminator_step" in verdict.message, verdict
    assert "write it yourself" in verdict.message


def test_missing_and_failing_functions():
    assert "is None" in ex.check_d_step(None).message
    assert "should be a function" in ex.check_d_step(3).message
    assert "raised ZeroDivisionError" in ex.check_d_step(lambda *a: 1 / 0).message


def test_every_typical_mistake_differs_from_the_right_step():
    right = ex._run_d_step(ex.reference_d_step)["d"]
    for mistake, message in ex._D_STEP_MISTAKES:
        assert not ex._same_update(ex._run_d_step(mistake)["d"], right), message


def test_the_check_leaves_the_global_random_state_alone():
    state = torch.get_rng_state()
    ex.check_d_step(step_with(noise=True))
    ex.check_d_step(no_grad_step)
    assert torch.equal(state, torch.get_rng_state())
