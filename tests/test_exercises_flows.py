"""genai_lib.exercises.flows: reference answers pass, typical mistakes fail with the right
message."""

import math

import numpy as np
import pytest
import torch

from genai_lib import flow_matching, flows
from genai_lib.exercises.flows import check_coupling, check_euler_sampler, check_fm_target


def _raises(*args):
    """A learner's function that fails."""
    raise ZeroDivisionError("division by zero")


# --- coupling ---------------------------------------------------------------------------------

def coupling(x: torch.Tensor, mask: torch.Tensor, s: torch.Tensor,
             b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Reference solution: mask s and b, then y = x * exp(s) + b and logdet = sum of s."""
    s, b = s * (1 - mask), b * (1 - mask)
    return x * torch.exp(s) + b, s.sum(1)


def coupling_where(x, mask, s, b):
    """A right variant with torch.where: the passed coordinates copied, logdet over the rest."""
    keep = mask.bool()
    y = torch.where(keep, x, x * torch.exp(s) + b)
    return y, torch.where(keep, torch.zeros_like(s), s).sum(dim=1)


def coupling_index(x, mask, s, b):
    """A right variant that indexes the free coordinates and returns a list."""
    free = mask == 0
    y = x.clone()
    y[:, free] = x[:, free] * s[:, free].exp() + b[:, free]
    return [y, s[:, free].sum(-1)]


def coupling_numpy(x, mask, s, b):
    """A right variant in NumPy."""
    x, m, s, b = (a.numpy() for a in (x, mask, s, b))
    s, b = s * (1 - m), b * (1 - m)
    return x * np.exp(s) + b, s.sum(axis=1)


def test_coupling_accepts_right_answers():
    for fn in (coupling, coupling_where, coupling_index, coupling_numpy):
        verdict = check_coupling(fn)
        assert verdict, verdict.message


def test_coupling_reference_is_the_library_layer():
    """The reference, with the layer's own s and t, gives flows.AffineCoupling's forward."""
    torch.manual_seed(0)
    layer = flows.AffineCoupling(torch.tensor([1.0, 0.0, 1.0, 0.0]), hidden=8)
    torch.nn.init.normal_(layer.net[-1].weight)  # away from the identity it starts as
    x = torch.randn(5, 4)
    with torch.no_grad():
        raw_s, t = layer.net(x * layer.mask).chunk(2, dim=1)
        y, logdet = coupling(x, layer.mask, layer.scale * torch.tanh(raw_s), t)
        y_lib, logdet_lib = layer(x)
    assert torch.allclose(y, y_lib) and torch.allclose(logdet, logdet_lib)


def _masked(s, b, mask):
    """s and b zeroed where mask == 1."""
    return s * (1 - mask), b * (1 - mask)


def _y_with(y_of):
    """A coupling whose y is y_of(x, mask, s, b), with the right logdet."""
    return lambda x, m, s, b: (y_of(x, m, s, b), coupling(x, m, s, b)[1])


def _logdet_with(logdet_of):
    """A coupling with the right y and the logdet logdet_of(mask, s)."""
    return lambda x, m, s, b: (coupling(x, m, s, b)[0], logdet_of(m, s))


@pytest.mark.parametrize("fn, phrase", [
    (_y_with(lambda x, m, s, b: x * s.exp() + b), "the mask is ignored in y"),
    (_y_with(lambda x, m, s, b: x * (s * m).exp() + b * m), "the mask is inverted"),
    (_y_with(lambda x, m, s, b: x * (s * (1 - m)).exp() + b), "the shift b is not masked"),
    (_y_with(lambda x, m, s, b: x * s.exp() + b * (1 - m)), "the scale s is not masked"),
    (_y_with(lambda x, m, s, b: x * s * (1 - m) + b * (1 - m)), "there is no exp"),
    (_y_with(lambda x, m, s, b: x * s + b), "there is no exp and no mask"),
    (_y_with(lambda x, m, s, b: (x + b * (1 - m)) * (s * (1 - m)).exp()),
     "the shift is inside the scale"),
    (_y_with(lambda x, m, s, b: (x - b * (1 - m)) * (-s * (1 - m)).exp()),
     "the inverse direction"),
    (_y_with(lambda x, m, s, b: x * (-s * (1 - m)).exp() + b * (1 - m)), "wrong sign, exp(-s)"),
    (_y_with(lambda x, m, s, b: x * (s * (1 - m)).exp()), "the shift is missing"),
    (_y_with(lambda x, m, s, b: coupling(x, m, s, b)[0] * (1 - m)), "came out as 0"),
    (_logdet_with(lambda m, s: s.sum(1)), "sums s over all D coordinates"),
    (_logdet_with(lambda m, s: (s * m).sum(1)), "the mask is inverted in the log-determinant"),
    (_logdet_with(lambda m, s: (s * (1 - m)).exp().sum(1)), "you summed exp(s)"),
    (_logdet_with(lambda m, s: (s.exp() * (1 - m)).sum(1)), "you summed exp(s)"),
    (_logdet_with(lambda m, s: (s * (1 - m)).sum(1).exp()), "|det| itself"),
    (_logdet_with(lambda m, s: (s * (1 - m)).mean(1)), "you averaged s (mean)"),
    (_logdet_with(lambda m, s: (s * (1 - m)).sum(1) / (1 - m).sum()),
     "averaged s over the free coordinates"),
    (_logdet_with(lambda m, s: -(s * (1 - m)).sum(1)), "the wrong sign"),
    (_logdet_with(lambda m, s: s * (1 - m)), "is not summed"),
    (_logdet_with(lambda m, s: (s * (1 - m)).sum(1, keepdim=True)), "drop keepdim=True"),
    (_logdet_with(lambda m, s: (s * (1 - m)).sum()), "summed over the batch"),
    (_logdet_with(lambda m, s: (s * (1 - m)).sum(0)), "summed over the batch"),  # B == D
    (_logdet_with(lambda m, s: (s * (1 - m)).sum(1) + 0.01), "is not right at index"),
    (lambda x, m, s, b: coupling(x, m, s, b)[0], "return the pair (y, logdet)"),
    (lambda x, m, s, b: coupling(x, m, s, b)[::-1], "in the order (y, logdet)"),
    (lambda x, m, s, b: (*coupling(x, m, s, b), s), "returned 3 values"),
    (lambda x, m, s, b: (coupling(x, m, s, b)[0], None), "forget to `return` logdet"),
    (lambda x, m, s, b: None, "forget to `return y, logdet`"),
    (lambda x, m, s, b: (x[:, m == 0] * s.exp() + b, s.sum(1)), "raised RuntimeError"),
    (_raises, "raised ZeroDivisionError"),
])
def test_coupling_mistakes(fn, phrase):
    verdict = check_coupling(fn)
    assert not verdict
    assert phrase in verdict.message, verdict.message


def _sum_over_batch_on_square(x, m, s, b):
    """Sums over the batch, which only has the right shape (B,) when B == D."""
    y, logdet = coupling(x, m, s, b)
    return y, (s * (1 - m)).sum(0) if x.shape[0] == x.shape[1] else logdet


def test_coupling_catches_a_wrong_axis_of_the_right_shape():
    verdict = check_coupling(_sum_over_batch_on_square)
    assert not verdict
    assert "(5, 5)" in verdict.message and "summed over the batch" in verdict.message


def test_coupling_no_function():
    assert not check_coupling(None)
    assert "is None: define a function coupling(x, mask, s, b)" in check_coupling(None).message
    assert "should be a function" in check_coupling(torch.zeros(3)).message


# --- fm_pair ----------------------------------------------------------------------------------

def fm_pair(x0: torch.Tensor, eps: torch.Tensor,
            t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Reference solution (the chapter's): the point on the line from data to noise at t."""
    c = t[:, None]
    return (1 - c) * x0 + c * eps, eps - x0


def test_fm_target_accepts_right_answers():
    variants = [
        fm_pair,
        lambda x0, eps, t: (x0 + t.view(-1, 1) * (eps - x0), -(x0 - eps)),
        lambda x0, eps, t: (torch.lerp(x0, eps, t.unsqueeze(1)), eps - x0),
        lambda x0, eps, t: [flow_matching.path(x0, eps, t), eps - x0],  # the library's path
        lambda x0, eps, t: tuple(a.numpy() for a in fm_pair(x0, eps, t)),
    ]
    for fn in variants:
        verdict = check_fm_target(fn)
        assert verdict, verdict.message


def _silent_broadcast(x0, eps, t):
    """Simulates a learner whose missing [:, None] only shows on a square batch (B == D)."""
    if x0.shape[0] != x0.shape[1]:
        return fm_pair(x0, eps, t)
    return (1 - t) * x0 + t * eps, eps - x0


def _x_t_with(x_t_of):
    """An fm_pair whose x_t is x_t_of(x0, eps, c) with c = t[:, None], the right target."""
    return lambda x0, eps, t: (x_t_of(x0, eps, t[:, None]), eps - x0)


def _target_with(target_of):
    """An fm_pair with the right x_t and the target target_of(x0, eps, c), c = t[:, None]."""
    return lambda x0, eps, t: (fm_pair(x0, eps, t)[0], target_of(x0, eps, t[:, None]))


@pytest.mark.parametrize("fn, phrase", [
    (lambda x0, eps, t: ((1 - t) * x0 + t * eps, eps - x0), "t = t[:, None]"),  # raises
    (_silent_broadcast, "t = t[:, None]"),
    (_x_t_with(lambda x0, eps, c: c * x0 + (1 - c) * eps), "the ends are swapped"),
    (_x_t_with(lambda x0, eps, c: (1 - c).sqrt() * x0 + c.sqrt() * eps),
     "that is a diffusion path"),
    (_x_t_with(lambda x0, eps, c: torch.cos(math.pi / 2 * c) * x0
               + torch.sin(math.pi / 2 * c) * eps), "that is a diffusion path"),
    (_x_t_with(lambda x0, eps, c: c * eps), "the data are missing from x_t"),
    (_x_t_with(lambda x0, eps, c: x0 + c * eps), "the data are not scaled down"),
    (_target_with(lambda x0, eps, c: x0 - eps), "the target has the wrong sign"),
    (_target_with(lambda x0, eps, c: eps + 0 * c), "the target is the noise eps"),
    (_target_with(lambda x0, eps, c: x0 + 0 * c), "the target is the data x0"),
    (_target_with(lambda x0, eps, c: c * (eps - x0)), "scaled by t"),
    (_target_with(lambda x0, eps, c: (1 - c) * (eps - x0)), "scaled by 1 - t"),
    (_target_with(lambda x0, eps, c: (1 - c) * x0 + c * eps), "the target is x_t itself"),
    (_target_with(lambda x0, eps, c: (eps - x0).sum(1)), "has shape"),
    (_target_with(lambda x0, eps, c: eps - x0 + 0.01), "is not right at index"),
    (lambda x0, eps, t: fm_pair(x0, eps, t)[::-1], "in the order (x_t, target)"),
    (lambda x0, eps, t: fm_pair(x0, eps, t)[1], "return the pair (x_t, target)"),
    (lambda x0, eps, t: (fm_pair(x0, eps, t)[0], None), "forget to `return` target"),
    (lambda x0, eps, t: None, "forget to `return x_t, target`"),
    (_raises, "raised ZeroDivisionError"),
])
def test_fm_target_mistakes(fn, phrase):
    verdict = check_fm_target(fn)
    assert not verdict
    assert phrase in verdict.message, verdict.message


def test_fm_target_catches_the_silent_broadcast_on_a_square_batch():
    verdict = check_fm_target(_silent_broadcast)
    assert "(3, 3)" in verdict.message and "[:, None]" in verdict.message


def _target_silent_broadcast(x0, eps, t):
    """A target scaled by t without [:, None]: raises unless B == D."""
    x_t = fm_pair(x0, eps, t)[0]
    return x_t, (t * (eps - x0) if x0.shape[0] == x0.shape[1] else eps - x0)


def test_fm_target_catches_a_target_scaled_along_the_wrong_axis():
    verdict = check_fm_target(_target_silent_broadcast)
    assert not verdict
    assert "(3, 3)" in verdict.message and "along the wrong axis" in verdict.message


def test_fm_target_no_function():
    assert not check_fm_target(None)
    assert "is None: define a function fm_pair(x0, eps, t)" in check_fm_target(None).message
    assert "should be a function" in check_fm_target("eps - x0").message


# --- euler_sample -----------------------------------------------------------------------------

def euler_sample(velocity, x1: torch.Tensor, steps: int) -> torch.Tensor:
    """Reference solution (the chapter's): steps Euler steps back from t = 1 to t = 0."""
    x, h = x1, 1.0 / steps
    for i in range(steps):
        t = torch.full((len(x),), 1 - i * h, dtype=x.dtype)
        x = x - h * velocity(x, t)
    return x


def euler_linspace(velocity, x1, steps):
    """A right variant: the times from linspace(1, 0, steps + 1), all but the last."""
    x = x1.clone()
    times = torch.linspace(1, 0, steps + 1)
    for t0, t1 in zip(times[:-1], times[1:]):
        x += (t1 - t0) * velocity(x, t0.repeat(len(x)))
    return x


def euler_while(velocity, x1, steps):
    """A right variant: a float time counted down, torch.ones * t."""
    x, t, h = x1, 1.0, 1 / steps
    for _ in range(steps):
        x = x - velocity(x, torch.ones(x.shape[0]) * t) * h
        t -= h
    return x


def test_euler_sampler_accepts_right_answers():
    for fn in (euler_sample, euler_linspace, euler_while):
        verdict = check_euler_sampler(fn)
        assert verdict, verdict.message


def test_euler_reference_is_the_library_sampler():
    """The reference with the library's velocity network gives flow_matching.sample."""
    from genai_lib.diffusion import Denoiser
    torch.manual_seed(0)
    model = flow_matching.FlowMatching(Denoiser(2, hidden=8, blocks=1), ema_decay=None)
    x1 = torch.randn(5, 2, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        x = euler_sample(lambda x, t: flow_matching.velocity(model.net, x, t), x1, 4)
        library = flow_matching.sample(model, 5, seed=3, steps=4)
    assert torch.allclose(model.unscale(x), library, atol=1e-6), (x - library).abs().max()


def test_the_gaussian_field_carries_noise_to_the_data():
    """Many Euler steps back on the exact field for N(1.5, 0.5^2) data give 1.5 + 0.5 eps."""
    from genai_lib.exercises.flows import _gaussian_field
    eps = torch.randn(6, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(euler_sample(_gaussian_field, eps, 2000), 1.5 + 0.5 * eps, atol=1e-3)


def _euler(velocity, x1, times, h, sign=-1.0):
    """x <- x + sign h v(x, t) over the given float times (sign -1: backwards)."""
    x = x1
    for t in times:
        x = x + sign * h * velocity(x, torch.full((len(x),), float(t)))
    return x


def _heun(velocity, x1, steps):
    """Heun's method backwards: correct, but not what the exercise asks for."""
    x, h = x1, 1.0 / steps
    for i in range(steps):
        t = torch.full((len(x),), 1 - i * h)
        v = velocity(x, t)
        x = x - h * (v + velocity(x - h * v, t - h)) / 2
    return x


def _midpoint(velocity, x1, steps):
    """The midpoint method backwards."""
    x, h = x1, 1.0 / steps
    for i in range(steps):
        t = torch.full((len(x),), 1 - i * h)
        x = x - h * velocity(x - h / 2 * velocity(x, t), t - h / 2)
    return x


def _float_time(velocity, x1, steps):
    """Passes t as a Python float."""
    x = x1
    for i in range(steps):
        x = x - velocity(x, 1 - i / steps) / steps
    return x


def _whole_path(velocity, x1, steps):
    """Returns the list of all states."""
    path = [x1]
    for i in range(steps):
        t = torch.full((len(x1),), 1 - i / steps)
        path.append(path[-1] - velocity(path[-1], t) / steps)
    return path


def _down(n):
    """The right times 1 - i / n, i = 0..n-1."""
    return [1 - i / n for i in range(n)]


@pytest.mark.parametrize("fn, phrase", [
    (lambda v, x1, n: _euler(v, x1, [1 - (i + 1) / n for i in range(n)], 1 / n),
     "at the end of each step"),
    (lambda v, x1, n: _euler(v, x1, torch.linspace(1, 0, n), 1 / (n - 1) if n > 1 else 1.0),
     "your last step starts at t = 0"),
    (lambda v, x1, n: _euler(v, x1, torch.linspace(1, 0, n), 1 / n),
     "your last step starts at t = 0"),
    (lambda v, x1, n: _euler(v, x1, [i / n for i in range(n)], 1 / n, 1.0),
     "your time runs forwards"),
    (lambda v, x1, n: _euler(v, x1, [i / n for i in range(n)], 1 / n),
     "your time runs forwards"),
    (lambda v, x1, n: _euler(v, x1, _down(n), 1 / n, 1.0), "you added h v"),
    (lambda v, x1, n: _euler(v, x1, _down(n), 1.0), "step size h is missing"),
    (lambda v, x1, n: _euler(v, x1, range(n), 1 / n), "the step index i as the time"),
    (lambda v, x1, n: _euler(v, x1, range(n, 0, -1), 1 / n), "a step count as the time"),
    (lambda v, x1, n: _euler(v, x1, _down(n) + [0.0], 1 / n), "steps + 1 steps"),
    (lambda v, x1, n: _euler(v, x1, _down(n)[:-1], 1 / n), "steps - 1 steps and stopped short"),
    (lambda v, x1, n: _euler(v, x1, _down(n)[1:], 1 / n), "steps - 1 steps and skipped the first"),
    (_heun, "that is Heun's method"),
    (_midpoint, "that is the midpoint method"),
    (lambda v, x1, n: x1 - v(x1, torch.ones(len(x1))), "called the velocity once"),
    (lambda v, x1, n: x1 * 1, "x never changes"),
    (_float_time, "t must be a tensor of shape (B,)"),
    (lambda v, x1, n: x1 - v(x1, torch.tensor(1.0)), "t must be a tensor of shape (B,)"),
    (lambda v, x1, n: x1 - v(x1, torch.ones(len(x1), 1)), "t of shape (4, 1)"),
    (lambda v, x1, n: x1 - v(torch.ones(len(x1)), x1), "swap the arguments"),
    (_whole_path, "you returned the whole path (4 states)"),
    (lambda v, x1, n: torch.stack(_whole_path(v, x1, n)), "you returned the whole path"),
    (lambda v, x1, n: euler_sample(v, x1, n).sum(1), "has shape"),
    (lambda v, x1, n: euler_sample(v, x1, n) + 0.01, "is not right at index"),
    (lambda v, x1, n: None, "forget to `return` the final x"),
    (_raises, "raised ZeroDivisionError"),
])
def test_euler_sampler_mistakes(fn, phrase):
    verdict = check_euler_sampler(fn)
    assert not verdict
    assert phrase in verdict.message, verdict.message


def test_euler_sampler_no_function():
    assert not check_euler_sampler(None)
    assert ("is None: define a function euler_sample(velocity, x1, steps)"
            in check_euler_sampler(None).message)
    assert "should be a function" in check_euler_sampler(8).message


def test_messages_render():
    assert repr(check_coupling(coupling)).startswith("✓")
    assert check_fm_target(None)._repr_markdown_().startswith("✗")
