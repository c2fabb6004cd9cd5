"""Checkers for the flows chapter: one affine coupling layer with its log-determinant
(RealNVP, Dinh et al. 2017), the flow-matching pair of a point on the straight path and its
velocity target (Lipman et al. 2023) and an Euler sampler that follows a velocity field back
from noise to data.

Notation (as in `genai_lib.flows` and `genai_lib.flow_matching`): a coupling layer keeps the
coordinates where mask == 1 and maps the others to y = x * exp(s) + b, with s and b zero where
mask == 1, so log |det dy/dx| = sum of s over the free coordinates. Time t runs as in the
diffusion chapter, from 0 (data x_0) to 1 (noise eps ~ N(0, I)); the path is
x_t = (1 - t) x_0 + t eps, its velocity eps - x_0, and a sampler goes backwards, from t = 1
to t = 0, x <- x - h v(x, t).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from genai_lib.exercises import Feedback, as_tensor, diagnose, missing_function, right, wrong

Rows = list[tuple[Tensor, str]]  # (candidate result, message naming the mistake and the fix)


def _pair(name: str, got: object, names: tuple[str, str]) -> tuple[Tensor, Tensor] | Feedback:
    """A learner's two results `names` as float64 tensors, or a failing Feedback: None, one
    tensor alone, or a tuple of another length where the pair (first, second) belongs."""
    pair = f"({names[0]}, {names[1]})"
    if got is None:
        return wrong(f"`{name}` returned None: did you forget to `return {names[0]}, "
                     f"{names[1]}`?")
    if not isinstance(got, (tuple, list)):
        shape = f" of shape {tuple(got.shape)}" if hasattr(got, "shape") else ""
        return wrong(f"`{name}` returned one {type(got).__name__}{shape}: return the pair "
                     f"{pair}, e.g. `return {names[0]}, {names[1]}`")
    if len(got) != 2:
        return wrong(f"`{name}` returned {len(got)} values: return exactly two, the pair {pair}")
    first = as_tensor(name, got[0], returns=names[0])
    if isinstance(first, Feedback):
        return first
    second = as_tensor(name, got[1], returns=names[1])
    if isinstance(second, Feedback):
        return second
    return first, second


# --- 1. an affine coupling layer and its log-determinant ----------------------------------

def _coupling_inputs() -> list[tuple[Tensor, Tensor, Tensor, Tensor]]:
    """(x (B, D), mask (D,), s (B, D), b (B, D)): B != D, then a square batch B == D (where a
    log-determinant summed over the batch has the right shape (B,)), then float32 inputs."""
    g = torch.Generator().manual_seed(0)
    cases = []
    for (batch, dim), mask, dtype in [((4, 3), [1, 0, 0], torch.float64),
                                      ((5, 5), [0, 1, 0, 1, 1], torch.float64),
                                      ((3, 6), [1, 1, 1, 0, 0, 0], torch.float32)]:
        x, s, b = (torch.randn(batch, dim, generator=g, dtype=torch.float64) for _ in range(3))
        cases.append((x.to(dtype), torch.tensor(mask, dtype=dtype), (0.5 * s).to(dtype),
                      b.to(dtype)))
    return cases


def _coupling_y_mistakes(x: Tensor, mask: Tensor, s: Tensor, b: Tensor) -> Rows:
    """(candidate y, message) for the typical mistakes in the transformed coordinates."""
    free = 1 - mask
    sm, bm = s * free, b * free
    y = x * sm.exp() + bm
    return [
        (x * s.exp() + b, "the mask is ignored in y: the coordinates where mask == 1 must pass "
         "unchanged, so zero s and b there first, s = s * (1 - mask), b = b * (1 - mask), "
         "then y = x * exp(s) + b"),
        (x * (s * mask).exp() + b * mask, "the mask is inverted: you transformed the "
         "coordinates where mask == 1 and kept the others. mask == 1 marks the coordinates "
         "that pass unchanged; multiply s and b by (1 - mask)"),
        (x * sm.exp() + b, "the shift b is not masked: the coordinates where mask == 1 moved "
         "by b. Zero it there too, b = b * (1 - mask)"),
        (x * s.exp() + bm, "the scale s is not masked: the coordinates where mask == 1 were "
         "scaled by exp(s). Zero it there too, s = s * (1 - mask)"),
        (x * sm + bm, "there is no exp: the scale is exp(s), always positive (so the layer "
         "stays invertible and log |det| = sum of s): y = x * exp(s) + b"),
        (x * s + b, "there is no exp and no mask: y = x * exp(s) + b with s and b first "
         "multiplied by (1 - mask)"),
        ((x + bm) * sm.exp(), "the shift is inside the scale, (x + b) * exp(s): the layer "
         "scales first, then shifts, y = x * exp(s) + b"),
        ((x - bm) * (-sm).exp(), "that is the inverse direction, (x - b) * exp(-s), which "
         "maps y back to x: the layer itself is y = x * exp(s) + b"),
        (x * (-sm).exp() + bm, "the scale has the wrong sign, exp(-s): y = x * exp(s) + b"),
        (x * sm.exp(), "the shift is missing: y = x * exp(s) + b, with b * (1 - mask)"),
        (y * free, "the coordinates where mask == 1 came out as 0: they must pass unchanged, "
         "y = x there (with s and b zeroed, x * exp(0) + 0 = x)"),
    ]


def _coupling_logdet_mistakes(mask: Tensor, s: Tensor) -> Rows:
    """(candidate log-determinant, message) for the typical mistakes in it."""
    free = 1 - mask
    sm = s * free
    batch = ("you summed over the batch too: the log-determinant is one number per example, "
             "shape (B,); sum the masked s over the coordinates only, s.sum(1) (dim=1)")
    exp = ("you summed exp(s): the determinant is the product of the scales exp(s), so its "
           "log is the sum of s itself, logdet = (s * (1 - mask)).sum(1)")
    return [
        (s.sum(1), "the log-determinant sums s over all D coordinates: the ones where "
         "mask == 1 pass unchanged and add nothing. Sum the masked s, "
         "(s * (1 - mask)).sum(1)"),
        ((s * mask).sum(1), "the mask is inverted in the log-determinant: sum s over the "
         "coordinates where mask == 0 (the transformed ones), (s * (1 - mask)).sum(1)"),
        (sm.exp().sum(1), exp), ((s.exp() * free).sum(1), exp), (s.exp().sum(1), exp),
        (sm.sum(1).exp(), "that is |det| itself, exp(sum of s): return its log, the sum of "
         "the masked s, (s * (1 - mask)).sum(1)"),
        (sm.mean(1), "you averaged s (mean): the log of a product of scales is their sum, "
         "(s * (1 - mask)).sum(1)"),
        (sm.sum(1) / free.sum(), "you averaged s over the free coordinates: the log of a "
         "product of scales is their sum, (s * (1 - mask)).sum(1)"),
        (-sm.sum(1), "the log-determinant has the wrong sign: -sum(s) is the inverse's. "
         "y = x * exp(s) stretches by exp(s), so log |det| = +(s * (1 - mask)).sum(1)"),
        (sm, "the log-determinant is not summed: it has shape (B, D), one s per coordinate. "
         "Sum over the coordinates, (s * (1 - mask)).sum(1), shape (B,)"),
        (sm.sum(1, keepdim=True), "the log-determinant has shape (B, 1): drop keepdim=True, "
         "(s * (1 - mask)).sum(1) has shape (B,)"),
        (sm.sum(0), batch), (sm.sum(), batch), (s.sum(0), batch), (s.sum(), batch),
    ]


def check_coupling(fn: Callable | None) -> Feedback:
    """Check fn(x (B, D), mask (D,), s (B, D), b (B, D)) -> (y (B, D), logdet (B,)), one affine
    coupling layer: s, b zeroed where mask == 1, y = x * exp(s) + b, logdet = s.sum(1)."""
    start = missing_function("coupling", fn, "coupling(x, mask, s, b)")
    if start is not None:
        return start
    for x, mask, s, b in _coupling_inputs():
        where = f"for x of shape {tuple(x.shape)}, mask {mask.int().tolist()}"
        try:
            got = fn(x.clone(), mask.clone(), s.clone(), b.clone())
        except Exception as err:  # the learner's code failed: say how, on which input
            return wrong(f"`coupling` raised {type(err).__name__}: {err} ({where})")
        pair = _pair("coupling", got, ("y", "logdet"))
        if isinstance(pair, Feedback):
            return wrong(f"{where}: {pair.message}")
        y, logdet = pair
        batch, dim = x.shape
        if y.shape == (batch,) and logdet.shape == (batch, dim):
            return wrong(f"{where}: you returned (logdet, y): return the pair in the order "
                         f"(y, logdet)")
        x, mask, s, b = x.double(), mask.double(), s.double(), b.double()
        sm = s * (1 - mask)
        verdict = diagnose("y", y, x * sm.exp() + b * (1 - mask),
                           _coupling_y_mistakes(x, mask, s, b), where)
        if verdict is not None:
            return verdict
        verdict = diagnose("logdet", logdet, sm.sum(1), _coupling_logdet_mistakes(mask, s),
                           where)
        if verdict is not None:
            return verdict
    return right("`coupling` keeps the coordinates where mask == 1, maps the others to "
                 "x * exp(s) + b and returns log |det| = the sum of the masked s, one per "
                 "example.")


# --- 2. flow matching: a point on the path and its velocity target -------------------------

def _fm_inputs() -> list[tuple[Tensor, Tensor, Tensor]]:
    """(x0 (B, D) data, eps (B, D) noise, t (B,)): B != D first, then a square batch B == D
    (where a missing [:, None] broadcasts silently along the wrong axis), then float32."""
    g = torch.Generator().manual_seed(1)
    cases = []
    for (batch, dim), t, dtype in [((4, 3), [0.1, 0.7, 0.35, 0.9], torch.float64),
                                   ((3, 3), [0.2, 0.65, 0.85], torch.float64),
                                   ((2, 5), [0.3, 0.8], torch.float32)]:
        x0, eps = (torch.randn(batch, dim, generator=g, dtype=torch.float64) for _ in range(2))
        cases.append(((x0 + 2).to(dtype), eps.to(dtype), torch.tensor(t, dtype=dtype)))
    return cases


_COLUMN = ("t has shape (B,) and x0, eps have shape (B, D): `t * eps` lines t up with the last "
           "dimension (the D features), not with the examples. Write t = t[:, None] (shape "
           "(B, 1)) so each example gets its own time")


def _fm_x_t_mistakes(x0: Tensor, eps: Tensor, t: Tensor) -> Rows:
    """(candidate x_t, message) for the typical mistakes on the straight path."""
    c = t[:, None]
    diffusion = ("that is a diffusion path (variance-preserving, the coefficients' squares add "
                 "up to 1), not the straight line: flow matching moves along "
                 "x_t = (1 - t) x0 + t eps")
    found: Rows = []
    if x0.shape[0] == x0.shape[1]:  # a square batch: a missing [:, None] does not raise
        row = t[None, :]
        found.append(((1 - row) * x0 + row * eps, _COLUMN))
    return found + [
        (c * x0 + (1 - c) * eps, "the ends are swapped: in this chapter t = 0 is the data x0 "
         "and t = 1 the noise eps (chapter 7's direction; Lipman et al. run time the other "
         "way), so x_t = (1 - t) x0 + t eps"),
        ((1 - c).sqrt() * x0 + c.sqrt() * eps, diffusion),
        (torch.cos(math.pi / 2 * c) * x0 + torch.sin(math.pi / 2 * c) * eps, diffusion),
        (c * eps, "the data are missing from x_t: x_t = (1 - t) x0 + t eps"),
        (x0 + c * eps, "the data are not scaled down: x_t = (1 - t) x0 + t eps (or "
         "x0 + t (eps - x0)), so that x_1 is the noise alone"),
    ]


def _fm_target_mistakes(x0: Tensor, eps: Tensor, t: Tensor) -> Rows:
    """(candidate target, message) for the typical mistakes in the velocity target."""
    c = t[:, None]
    found: Rows = []
    if x0.shape[0] == x0.shape[1]:  # a square batch: t * (eps - x0) does not raise
        found.append((t[None, :] * (eps - x0), "the target is scaled by t, and along the wrong "
                      "axis: the velocity of the straight line is the same at every time, "
                      "eps - x0"))
    return found + [
        (x0 - eps, "the target has the wrong sign: the path runs from the data x0 (t = 0) to "
         "the noise eps (t = 1), so its velocity d x_t / dt is eps - x0"),
        (eps, "the target is the noise eps (chapter 7's epsilon-prediction): flow matching "
         "regresses the velocity of the path, d x_t / dt = eps - x0"),
        (x0, "the target is the data x0 (x0-prediction): flow matching regresses the velocity "
         "of the path, d x_t / dt = eps - x0"),
        (c * (eps - x0), "the target is scaled by t (x_t - x0 is the way covered so far): the "
         "velocity of the straight line is the same at every time, eps - x0"),
        ((1 - c) * (eps - x0), "the target is scaled by 1 - t (eps - x_t is the way left): "
         "the velocity of the straight line is the same at every time, eps - x0"),
        ((1 - c) * x0 + c * eps, "the target is x_t itself: the network learns the velocity "
         "d x_t / dt = eps - x0"),
    ]


def check_fm_target(fn: Callable | None) -> Feedback:
    """Check fn(x0 (B, D), eps (B, D), t (B,)) -> (x_t (B, D), target (B, D)): the point
    (1 - t) x0 + t eps on the straight path from data to noise and its velocity eps - x0."""
    start = missing_function("fm_pair", fn, "fm_pair(x0, eps, t)")
    if start is not None:
        return start
    for x0, eps, t in _fm_inputs():
        where = f"for x0, eps of shape {tuple(x0.shape)}, t of shape {tuple(t.shape)}"
        try:
            got = fn(x0.clone(), eps.clone(), t.clone())
        except RuntimeError as err:
            hint = f" {_COLUMN}" if "size" in str(err) and "match" in str(err) else ""
            return wrong(f"`fm_pair` raised RuntimeError: {err} ({where}).{hint}")
        except Exception as err:  # the learner's code failed: say how, on which input
            return wrong(f"`fm_pair` raised {type(err).__name__}: {err} ({where})")
        pair = _pair("fm_pair", got, ("x_t", "target"))
        if isinstance(pair, Feedback):
            return wrong(f"{where}: {pair.message}")
        x_t, target = pair
        x0, eps, t = x0.double(), eps.double(), t.double()
        c = t[:, None]
        want_x_t, want_target = (1 - c) * x0 + c * eps, eps - x0
        if (x_t.shape == target.shape == want_x_t.shape and torch.allclose(x_t, want_target)
                and torch.allclose(target, want_x_t)):
            return wrong(f"{where}: you returned (target, x_t): return the pair in the order "
                         f"(x_t, target)")
        verdict = diagnose("x_t", x_t, want_x_t, _fm_x_t_mistakes(x0, eps, t), where)
        if verdict is not None:
            return verdict
        verdict = diagnose("target", target, want_target, _fm_target_mistakes(x0, eps, t),
                           where)
        if verdict is not None:
            return verdict
    return right("`fm_pair` gives x_t = (1 - t) x0 + t eps, one time per example, and the "
                 "velocity target eps - x0.")


# --- 3. an Euler sampler, backwards in time ------------------------------------------------

Field = Callable[[Tensor, Tensor], Tensor]


def _affine_field(x: Tensor, t: Tensor) -> Tensor:
    """v(x, t) = t x + 1: depends on both x and t, so every wrong time or step shows."""
    return t.to(x)[:, None] * x + 1


def _wave_field(x: Tensor, t: Tensor) -> Tensor:
    """v(x, t) = sin(3 t) c - x / 2 for a fixed vector c (the field of one coordinate each)."""
    c = torch.linspace(-1.0, 2.0, x.shape[1], dtype=torch.float64).to(x)
    return torch.sin(3 * t.to(x))[:, None] * c - x / 2


_MU, _SIGMA = 1.5, 0.5


def _gaussian_field(x: Tensor, t: Tensor) -> Tensor:
    """The exact flow-matching field for data N(mu, sigma^2 I) and noise N(0, I):
    v = -mu + (t - (1 - t) sigma^2) / ((1 - t)^2 sigma^2 + t^2) (x - (1 - t) mu); followed
    back from t = 1 it carries the noise eps to mu + sigma eps at t = 0."""
    c = t.to(x)[:, None]
    var = (1 - c) ** 2 * _SIGMA ** 2 + c ** 2
    return -_MU + (c - (1 - c) * _SIGMA ** 2) / var * (x - (1 - c) * _MU)


_FIELDS: list[tuple[str, Field]] = [
    ("v(x, t) = t x + 1", _affine_field),
    ("v(x, t) = sin(3t) c - x / 2", _wave_field),
    ("the exact field for Gaussian data", _gaussian_field),
]


def _euler_cases() -> list[tuple[str, Field, Tensor, int]]:
    """(field's name, field, x1 (B, D), steps): 3 steps first (where every typical mistake
    differs), then 8 and 1, each on the three fields, with a square and a float32 batch."""
    g = torch.Generator().manual_seed(2)
    shapes = [((4, 3), torch.float64), ((3, 3), torch.float64), ((5, 2), torch.float32)]
    cases = []
    for steps in (3, 8, 1):
        for (name, field), (shape, dtype) in zip(_FIELDS, shapes):
            x1 = torch.randn(*shape, generator=g, dtype=torch.float64).to(dtype)
            cases.append((name, field, x1, steps))
    return cases


def _integrate(field: Field, x: Tensor, times: list[float], h: float,
               sign: float = -1.0) -> Tensor:
    """x <- x + sign h v(x, t) for t in `times` (float64), one Euler step each; the default
    sign -1 goes backwards in time."""
    for t in times:
        x = x + sign * h * field(x, torch.full((len(x),), float(t), dtype=x.dtype))
    return x


def _two_stage(field: Field, x: Tensor, steps: int, heun: bool) -> Tensor:
    """Heun's method (heun) or the midpoint method, `steps` steps of h = 1 / steps from t = 1
    back to t = 0."""
    h = 1.0 / steps
    for i in range(steps):
        t = torch.full((len(x),), 1 - i * h, dtype=x.dtype)
        v = field(x, t)
        if heun:
            v = (v + field(x - h * v, t - h)) / 2
        else:
            v = field(x - h / 2 * v, t - h / 2)
        x = x - h * v
    return x


def _euler_mistakes(field: Field, x1: Tensor, steps: int) -> Rows:
    """(candidate final x, message) for the typical mistakes of an Euler sampler."""
    n, h = steps, 1.0 / steps
    start = [1 - i * h for i in range(n)]
    forwards = ("your time runs forwards, from t = 0 up: in this chapter t = 1 is the noise "
                "you start from and t = 0 the data (chapter 7's direction), so go down, "
                "t = 1 - i h for i = 0, ..., steps - 1, with x <- x - h v(x, t)")
    linspace = ("your last step starts at t = 0 (times from torch.linspace(1, 0, steps), or "
                "h = 1 / (steps - 1)): linspace(1, 0, steps) has only steps - 1 gaps. Take "
                "steps equal steps of h = 1 / steps, evaluating v at the start of each, "
                "t = 1 - i h for i = 0, ..., steps - 1 (the last at t = h)")
    found = [
        (_integrate(field, x1, [1 - (i + 1) * h for i in range(n)], h), "you evaluated the "
         "velocity at the end of each step, t = 1 - (i + 1) h: Euler uses the start of the "
         "step, t = 1 - i h for i = 0, ..., steps - 1 (the first velocity is v(x1, 1))"),
        (_integrate(field, x1, [i * h for i in range(n)], h, 1.0), forwards),
        (_integrate(field, x1, [i * h for i in range(n)], h), forwards),
        (_integrate(field, x1, [(i + 1) * h for i in range(n)], h), forwards),
        (_integrate(field, x1, start, h, 1.0), "you added h v: the velocity points from the "
         "data to the noise (eps - x0), so going back to the data moves against it, "
         "x <- x - h v(x, t)"),
        (_integrate(field, x1, start, 1.0), "the step size h is missing: x <- x - h v(x, t) "
         "with h = 1 / steps"),
        (_integrate(field, x1, [n - i for i in range(n)], h), "you passed a step count as the "
         "time: the time of step i is t = 1 - i h = 1 - i / steps, in (0, 1]"),
        (_integrate(field, x1, [float(i) for i in range(n)], h), "you passed the step index "
         "i as the time: the time of step i is t = 1 - i h = 1 - i / steps, in (0, 1]"),
        (_integrate(field, x1, [1 - i * h for i in range(n + 1)], h), "you took steps + 1 "
         "steps (past t = 0): loop `for i in range(steps)`, t = 1 - i h"),
        (_integrate(field, x1, [1 - i * h for i in range(1, n)], h), "you took steps - 1 "
         "steps and skipped the first, at t = 1: loop `for i in range(steps)`, t = 1 - i h"),
        (_two_stage(field, x1, n, heun=True), "that is Heun's method (an Euler guess, then the "
         "average of the velocities at both ends of the step): a correct, more accurate "
         "sampler, but not the one asked for. Take plain Euler steps, x <- x - h v(x, t), one "
         "velocity call per step"),
        (_two_stage(field, x1, n, heun=False), "that is the midpoint method (the velocity "
         "half a step ahead): a correct, more accurate sampler, but not the one asked for. "
         "Take plain Euler steps, x <- x - h v(x, t) at the start of each step"),
        (x1 - field(x1, torch.ones(len(x1), dtype=x1.dtype)), "you called the velocity once, "
         "at x1 and t = 1, and took one step of size 1: evaluate it again at every step, "
         "at the current x and t = 1 - i h"),
    ]
    if n > 1:
        found += [(_integrate(field, x1, [1 - i / (n - 1) for i in range(n)], 1 / (n - 1)),
                   linspace),
                  (_integrate(field, x1, [1 - i / (n - 1) for i in range(n)], h), linspace),
                  (_integrate(field, x1, [1 - i * h for i in range(n - 1)], h), "you took "
                   "steps - 1 steps and stopped short of t = 0: loop `for i in range(steps)`, "
                   "t = 1 - i h")]
    found.append((x1, "x never changes: assign the step, x = x - h * v(x, t), inside the loop "
                  "(and take `steps` steps)"))
    return found


class _BadTime(Exception):
    """Raised by the checker's velocity field when the learner passes a time of the wrong form."""


def _watched(field: Field, batch: int, dim: int) -> Field:
    """The field as the learner sees it: it checks that t is a tensor (B,), one time per row."""
    example = "e.g. torch.full((len(x),), 1 - i * h)"

    def velocity(x: Tensor, t: Tensor) -> Tensor:
        if not isinstance(t, torch.Tensor):
            raise _BadTime(f"the velocity was called with t = {t!r}, a {type(t).__name__}: t "
                           f"must be a tensor of shape (B,) = ({batch},), one time per row, "
                           f"{example}")
        if tuple(t.shape) != (batch,):
            hint = (" (did you swap the arguments? the call is velocity(x, t))"
                    if tuple(t.shape) == (batch, dim) else "")
            raise _BadTime(f"the velocity was called with t of shape {tuple(t.shape)}: t must "
                           f"be a tensor of shape (B,) = ({batch},), one time per row, "
                           f"{example}{hint}")
        return field(x, t)

    return velocity


def check_euler_sampler(fn: Callable | None) -> Feedback:
    """Check fn(velocity, x1 (B, D), steps) -> x (B, D) at t = 0: `steps` Euler steps of
    h = 1 / steps back from t = 1, x <- x - h velocity(x, t) with t = 1 - i h (a tensor (B,))
    at the start of step i."""
    call = "euler_sample(velocity, x1, steps)"
    start = missing_function("euler_sample", fn, call)
    if start is not None:
        return start
    for name, field, x1, steps in _euler_cases():
        where = f"for {name}, x1 of shape {tuple(x1.shape)}, steps = {steps}"
        try:
            got = fn(_watched(field, *x1.shape), x1.clone(), steps)
        except _BadTime as err:
            return wrong(f"{where}: {err}")
        except Exception as err:  # the learner's code failed: say how, on which input
            return wrong(f"`euler_sample` raised {type(err).__name__}: {err} ({where})")
        x1 = x1.double()
        expected = _integrate(field, x1, [1 - i / steps for i in range(steps)], 1.0 / steps)
        path = (list(got) if isinstance(got, (list, tuple)) else
                list(got) if isinstance(got, torch.Tensor) and got.dim() == 3 else None)
        if path is not None:
            return wrong(f"{where}: you returned the whole path ({len(path)} states): return "
                         f"only the final x (path[-1]), shape (B, D)")
        x0 = as_tensor("euler_sample", got, returns="the final x")
        if isinstance(x0, Feedback):
            return x0
        verdict = diagnose(call, x0, expected, _euler_mistakes(field, x1, steps), where)
        if verdict is not None:
            return verdict
    return right("`euler_sample` takes `steps` Euler steps of h = 1 / steps back from t = 1 "
                 "to t = 0, with the velocity at the start of each step, on every test field.")
