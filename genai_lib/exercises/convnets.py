"""Checkers for the convolutional networks of chapter 6 (MNIST): the output side of a
convolution and of a transposed convolution, and a three-layer discriminator written as an
`nn.Sequential`.

Each checker compares the learner's answer with the typical wrong answers on the same inputs
and names the one it matches; only then does it compare with the reference, so a wrong answer
is never accepted and a recognised one is named for what it is."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import torch
from torch import nn

from genai_lib.exercises import (Feedback, compare, missing_function, right,
                                 string_instead_of_number, wrong)

SIGNATURE = "my_out_side(side, kernel, stride, padding, output_padding=0, transposed=False)"

# (side, kernel, stride, padding, output_padding): the book's layers first, then sides that
# do not divide evenly (floor), stride 1, a kernel other than 4 and an output padding.
CONV_CASES = [(28, 4, 2, 1, 0), (14, 4, 2, 1, 0), (7, 3, 2, 1, 0), (28, 3, 2, 0, 0),
              (5, 3, 1, 0, 0), (28, 5, 1, 2, 0), (9, 4, 3, 1, 0)]
TRANSPOSED_CASES = [(7, 4, 2, 1, 0), (14, 4, 2, 1, 0), (7, 3, 2, 1, 1), (3, 3, 1, 0, 0),
                    (4, 4, 1, 0, 0), (5, 5, 3, 2, 0), (6, 3, 2, 1, 1)]


def out_side(side: int, kernel: int, stride: int, padding: int, output_padding: int = 0,
             transposed: bool = False) -> int:
    """Reference: the side of a square map after nn.Conv2d or nn.ConvTranspose2d
    (dilation 1). Convolution: floor((in + 2 padding - kernel) / stride) + 1; transposed:
    (in - 1) stride - 2 padding + kernel + output_padding (the PyTorch documentation)."""
    if transposed:
        return (side - 1) * stride - 2 * padding + kernel + output_padding
    return (side + 2 * padding - kernel) // stride + 1


# Typical mistakes, (formula, message); each is a function of (n, k, s, p, op).
_CONV_MISTAKES = [
    (lambda n, k, s, p, op: (n - 1) * s - 2 * p + k + op,
     "uses the transposed convolution's formula for an ordinary convolution "
     "(transposed=False): a strided convolution shrinks the map, "
     "floor((in + 2·padding − kernel) / stride) + 1"),
    (lambda n, k, s, p, op: (n + p - k) // s + 1,
     "counts the padding once: it is added on both sides of the map, 2·padding"),
    (lambda n, k, s, p, op: (n - k) // s + 1,
     "ignores the padding: add 2·padding (one on each side) to the input side"),
    (lambda n, k, s, p, op: (n + 2 * p - k) // s,
     "forgets the + 1: the filter's first position counts too (a 3-wide filter on a "
     "3-wide map fits once, (3 − 3) / 1 + 1 = 1)"),
    (lambda n, k, s, p, op: -((n + 2 * p - k) // -s) + 1,
     "rounds up: a filter that does not fit at the last stride is dropped, so the division "
     "rounds down (floor, //)"),
    (lambda n, k, s, p, op: (n + 2 * p - k + 1) // s,
     "divides (in + 2·padding − kernel + 1) by the stride: add the 1 after the division"),
]
_TRANSPOSED_MISTAKES = [
    (lambda n, k, s, p, op: (n + 2 * p - k) // s + 1,
     "uses the convolution's formula for the transposed case (transposed=True): a transposed "
     "convolution grows the map, (in − 1)·stride − 2·padding + kernel + output_padding"),
    (lambda n, k, s, p, op: n * s - 2 * p + k + op,
     "forgets the − 1: the last input pixel's filter starts at (in − 1)·stride, "
     "not at in·stride"),
    (lambda n, k, s, p, op: (n - 1) * s - p + k + op,
     "counts the padding once: a transposed convolution crops padding pixels from both "
     "sides, − 2·padding"),
    (lambda n, k, s, p, op: (n - 1) * s + 2 * p + k + op,
     "adds the padding: in a transposed convolution `padding` crops the output, so it is "
     "subtracted, − 2·padding"),
    (lambda n, k, s, p, op: (n - 1) * s - 2 * p + k,
     "ignores output_padding: it adds that many pixels to one side of the output"),
    (lambda n, k, s, p, op: n * s,
     "multiplies the side by the stride: that holds for kernel 4, padding 1 (the book's "
     "layers), not in general; use (in − 1)·stride − 2·padding + kernel + output_padding"),
    (lambda n, k, s, p, op: (n - 1) * s - 2 * p + k + op + 1,
     "adds 1 to the transposed formula: (in − 1)·stride − 2·padding + kernel + "
     "output_padding has no + 1 (that belongs to the ordinary convolution)"),
]


def _call_side(fn: Callable, case: tuple, transposed: bool) -> float | Feedback:
    """fn on one case as a number, or a failing Feedback that says how it failed."""
    n, k, s, p, op = case
    call = (f"my_out_side({n}, {k}, {s}, {p}, output_padding={op}, "
            f"transposed={transposed})")
    try:
        got = fn(n, k, s, p, output_padding=op, transposed=transposed)
    except TypeError as err:
        return wrong(f"`{call}` raised TypeError: {err}. The signature is {SIGNATURE}.")
    except Exception as err:  # the learner's code failed: say how, on which input
        return wrong(f"`{call}` raised {type(err).__name__}: {err}")
    if got is None:
        return wrong(f"`{call}` returned None: did you forget to `return` the side?")
    text = string_instead_of_number(f"`{call}`", got, verb="returned")
    if text is not None:
        return text
    if isinstance(got, torch.Tensor) and got.numel() == 1:
        got = got.item()
    try:
        return float(got)
    except (TypeError, ValueError):
        return wrong(f"`{call}` should return a whole number, got {type(got).__name__}")


def _named(got: list[float], cases: list[tuple], mistakes: list, transposed: bool
           ) -> Feedback | None:
    """A failing Feedback for the first mistake that matches `got` on every case and differs
    from the reference on at least one; None if none matches."""
    want = [out_side(*c, transposed=transposed) for c in cases]
    for formula, message in mistakes:
        expect = [formula(*c) for c in cases]
        if expect != want and all(math.isclose(g, e) for g, e in zip(got, expect)):
            return wrong(f"`my_out_side` {message}.")
    return None


def check_out_side(fn: Callable | None) -> Feedback:
    """Check a learner's my_out_side(side, kernel, stride, padding, output_padding=0,
    transposed=False) on convolutions and transposed convolutions, against PyTorch's sizes."""
    missing = missing_function("my_out_side", fn, SIGNATURE)
    if missing is not None:
        return missing
    for transposed, cases, mistakes in ((False, CONV_CASES, _CONV_MISTAKES),
                                        (True, TRANSPOSED_CASES, _TRANSPOSED_MISTAKES)):
        got = []
        for case in cases:
            value = _call_side(fn, case, transposed)
            if isinstance(value, Feedback):
                return value
            got.append(value)
        fractions = [(c, g) for c, g in zip(cases, got) if not math.isclose(g, round(g))]
        if not transposed and fractions:
            (n, k, s, p, _), g = fractions[0]
            return wrong(f"`my_out_side({n}, {k}, {s}, {p})` returned {g:g}, not a whole "
                         f"number: the integer division is missing. A filter that does not "
                         f"fit at the last stride is dropped, so divide with // (floor).")
        named = _named(got, cases, mistakes, transposed)
        if named is not None:
            return named
        for case, g in zip(cases, got):
            verdict = compare(f"my_out_side{case[:4] + (f'output_padding={case[4]}',)}"
                              f"{' transposed' if transposed else ''}", g,
                              out_side(*case, transposed=transposed))
            if not verdict.ok:
                return wrong(f"{verdict.message} ({'transposed ' if transposed else ''}"
                             f"convolution: side {case[0]}, kernel {case[1]}, stride "
                             f"{case[2]}, padding {case[3]}, output_padding {case[4]})")
    return right(f"`my_out_side` gives PyTorch's size on all {len(CONV_CASES)} convolutions "
                 f"and {len(TRANSPOSED_CASES)} transposed convolutions (28 → 14 → 7 and back).")


# ---------------------------------------------------------------- a deeper discriminator
CHANNELS = (32, 64, 128)   # the three convolutions' output channels
SLOPE = 0.2                # LeakyReLU's negative slope (Radford et al. 2016)


def deeper_discriminator() -> nn.Sequential:
    """Reference: flat images (B, 784) -> logits (B,) through three strided convolutions,
    28 -> 14 -> 7 -> 4, each followed by LeakyReLU(0.2), then one linear layer."""
    c1, c2, c3 = CHANNELS
    return nn.Sequential(
        nn.Unflatten(1, (1, 28, 28)),
        nn.Conv2d(1, c1, 4, stride=2, padding=1), nn.LeakyReLU(SLOPE),    # 14
        nn.Conv2d(c1, c2, 4, stride=2, padding=1), nn.LeakyReLU(SLOPE),   # 7
        nn.Conv2d(c2, c3, 3, stride=2, padding=1), nn.LeakyReLU(SLOPE),   # 4
        nn.Flatten(), nn.Linear(c3 * 4 * 4, 1), nn.Flatten(0))


_RESHAPES = (nn.Flatten, nn.Unflatten, nn.Identity)


def _leaves(model: nn.Module) -> list[nn.Module]:
    """The model's innermost modules in the order they were registered, a module used
    twice (one LeakyReLU object at every layer) counted each time."""
    return [m for _, m in model.named_modules(remove_duplicate=False)
            if not list(m.children())]


def _shape_diagnosis(model: nn.Module, reference: nn.Module) -> Feedback | None:
    """Name the first layer whose parameter shape differs from the reference's."""
    mine = [(n, tuple(p.shape)) for n, p in model.named_parameters()]
    ref = [(n, tuple(p.shape)) for n, p in reference.named_parameters()]
    count, want = sum(p.numel() for p in model.parameters()), sum(
        p.numel() for p in reference.parameters())
    for (name, shape), (_, shape_ref) in zip(mine, ref):
        if shape != shape_ref:
            hint = ""
            if len(shape_ref) == 4 and len(shape) == 4 and shape[2:] != shape_ref[2:]:
                hint = (f": a {shape[2]}×{shape[3]} kernel where this layer uses "
                        f"{shape_ref[2]}×{shape_ref[3]}")
            elif len(shape_ref) == 4 and len(shape) == 4:
                hint = (f": {shape[1]} → {shape[0]} channels where this layer maps "
                        f"{shape_ref[1]} → {shape_ref[0]}")
            elif len(shape_ref) == 2 and len(shape) == 2 and shape[1] != shape_ref[1]:
                hint = (f": the linear layer takes {shape[1]} inputs, but the third "
                        f"convolution gives a 128 × 4 × 4 map, {shape_ref[1]} numbers "
                        f"(use my_out_side(7, 3, 2, 1) for its side)")
            return wrong(f"`my_discriminator` has {count:,} parameters, the reference "
                         f"{want:,}; the parameter `{name}` has shape {shape}, expected "
                         f"{shape_ref}{hint}.")
    if count != want or len(mine) != len(ref):
        return wrong(f"`my_discriminator` has {count:,} parameters in {len(mine)} tensors, "
                     f"the reference {want:,} in {len(ref)}: three convolutions (weights and "
                     f"biases) and one linear layer, nothing else.")
    return None


def check_deeper_discriminator(model: nn.Module | None) -> Feedback:
    """Check a learner's three-convolution discriminator: flat (B, 784) -> logits (B,),
    LeakyReLU(0.2), no sigmoid or batch norm, the reference's parameter shapes, and the
    reference's logits when given the reference's weights."""
    if model is None:
        return wrong("`my_discriminator` is None: build it as nn.Sequential(...) and pass it "
                     "in.")
    if not isinstance(model, nn.Module):
        return wrong(f"`my_discriminator` should be a torch module (an nn.Sequential), got "
                     f"{type(model).__name__}")
    leaves = _leaves(model)
    kinds = [type(m) for m in leaves]
    if nn.Sigmoid in kinds:
        return wrong("`my_discriminator` ends in a sigmoid: return the logit (any real "
                     "number). The losses apply the sigmoid themselves, as "
                     "F.logsigmoid(logit), which stays finite where log(sigmoid) underflows.")
    if any(issubclass(k, nn.modules.batchnorm._BatchNorm) for k in kinds):
        return wrong("`my_discriminator` has a batch norm layer: the book's discriminator "
                     "has none, so each image's logit depends on that image alone, not on "
                     "the rest of its batch.")
    if nn.ReLU in kinds and nn.LeakyReLU not in kinds:
        return wrong("`my_discriminator` uses ReLU: DCGAN's discriminator uses "
                     "LeakyReLU(0.2), so negative inputs still pass a gradient back to the "
                     "generator.")
    slopes = sorted({m.negative_slope for m in leaves if isinstance(m, nn.LeakyReLU)})
    if slopes and slopes != [SLOPE]:
        default = " (0.01 is nn.LeakyReLU()'s default)" if 0.01 in slopes else ""
        return wrong(f"`my_discriminator`'s LeakyReLU has negative slope "
                     f"{', '.join(f'{s:g}' for s in slopes)}{default}: DCGAN uses "
                     f"nn.LeakyReLU(0.2).")
    last = next((m for m in reversed(leaves) if not isinstance(m, _RESHAPES)), None)
    if last is not None and not isinstance(last, nn.Linear):
        return wrong(f"`my_discriminator` ends with {type(last).__name__} after the linear "
                     f"layer: the logit must be free to take any real value, so the linear "
                     f"layer comes last.")
    n_act = sum(isinstance(m, nn.LeakyReLU) for m in leaves)
    if n_act != len(CHANNELS):
        return wrong(f"`my_discriminator` has {n_act} LeakyReLU layer(s): put one after each "
                     f"of the three convolutions (and none after the linear layer).")
    reference = deeper_discriminator()
    named = _shape_diagnosis(model, reference)
    if named is not None:
        return named
    convs = [m for m in leaves if isinstance(m, nn.Conv2d)]
    ref_convs = [m for m in _leaves(reference) if isinstance(m, nn.Conv2d)]
    for i, (mine, ref) in enumerate(zip(convs, ref_convs)):
        if (mine.stride, mine.padding) != (ref.stride, ref.padding):
            return wrong(f"`my_discriminator`'s convolution {i + 1} has stride "
                         f"{mine.stride[0]} and padding {mine.padding[0]}; the map sides "
                         f"28 → 14 → 7 → 4 need stride {ref.stride[0]} and padding "
                         f"{ref.padding[0]} (check with my_out_side).")
    model = copy.deepcopy(model)  # the learner's own weights stay as they are
    with torch.no_grad():  # the reference's weights, in the learner's layers
        for mine, ref in zip(model.parameters(), reference.parameters()):
            mine.copy_(ref)
    model.eval()
    x = torch.rand(5, 784, generator=torch.Generator().manual_seed(0))
    try:
        got = model(x)
    except Exception as err:
        try:
            model(x.reshape(5, 1, 28, 28))
            return wrong("`my_discriminator` works on images (B, 1, 28, 28) but not on flat "
                         "ones (B, 784): start with nn.Unflatten(1, (1, 28, 28)), since the "
                         "book's data and samplers are flat.")
        except Exception:
            pass
        return wrong(f"`my_discriminator` raised {type(err).__name__}: {err} on flat images "
                     f"of shape (5, 784)")
    if not isinstance(got, torch.Tensor):
        return wrong(f"`my_discriminator` should return a tensor of logits, got "
                     f"{type(got).__name__}")
    if tuple(got.shape) == (5, 1):
        return wrong("`my_discriminator` returns shape (B, 1): the losses take one logit per "
                     "image, shape (B,); end with nn.Flatten(0).")
    if tuple(got.shape) != (5,):
        return wrong(f"`my_discriminator` returns shape {tuple(got.shape)} for 5 images: "
                     f"expected one logit per image, (5,).")
    with torch.no_grad():
        want = reference(x)
    if torch.allclose(got, want, rtol=1e-4, atol=1e-5):
        return right("`my_discriminator` maps (B, 784) to (B,) logits, 28 → 14 → 7 → 4, "
                     "with the reference's 109,281 parameters and, given its weights, "
                     "its logits.")
    if torch.allclose(got, torch.sigmoid(want), rtol=1e-4, atol=1e-5):
        return wrong("`my_discriminator` applies a sigmoid to its output: return the logit "
                     "(any real number); the losses take logits.")
    return wrong("`my_discriminator` has the right layers' shapes, but given the reference's "
                 "weights it gives other logits: check the order (convolution, then "
                 "LeakyReLU, three times; Flatten; Linear) and that every convolution has "
                 "stride 2 and padding 1.")
