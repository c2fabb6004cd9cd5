"""The convnets checkers (chapter 6, MNIST) accept the reference solutions and name each
typical mistake."""

import pytest
import torch
from torch import nn

from genai_lib import convnets
from genai_lib.exercises import convnets as ex


# ---------------------------------------------------------------- the output side
def test_out_side_matches_pytorch():
    """The reference formula gives the sides PyTorch's layers produce, on every case."""
    for transposed, cases in ((False, ex.CONV_CASES), (True, ex.TRANSPOSED_CASES)):
        for n, k, s, p, op in cases:
            layer = (nn.ConvTranspose2d(1, 1, k, s, p, output_padding=op) if transposed
                     else nn.Conv2d(1, 1, k, s, p))
            side = layer(torch.zeros(1, 1, n, n)).shape[-1]
            assert ex.out_side(n, k, s, p, op, transposed) == side, (n, k, s, p, op)


def solution(side, kernel, stride, padding, output_padding=0, transposed=False):
    if transposed:
        return (side - 1) * stride - 2 * padding + kernel + output_padding
    return (side + 2 * padding - kernel) // stride + 1


def test_out_side_accepts_solutions():
    assert ex.check_out_side(solution)
    assert ex.check_out_side(ex.out_side)
    # floats that are whole numbers, and a floor written with math.floor, are fine
    import math
    assert ex.check_out_side(
        lambda n, k, s, p, output_padding=0, transposed=False:
        float(solution(n, k, s, p, output_padding, transposed)))
    assert ex.check_out_side(
        lambda n, k, s, p, output_padding=0, transposed=False:
        (n - 1) * s - 2 * p + k + output_padding if transposed
        else math.floor((n + 2 * p - k) / s) + 1)


def _side(conv=None, transposed_fn=None):
    """A learner's function: the solution with one branch replaced."""
    def fn(n, k, s, p, output_padding=0, transposed=False):
        if transposed and transposed_fn is not None:
            return transposed_fn(n, k, s, p, output_padding)
        if not transposed and conv is not None:
            return conv(n, k, s, p, output_padding)
        return solution(n, k, s, p, output_padding, transposed)
    return fn


OUT_SIDE_MISTAKES = {
    # convolution branch
    "transposed convolution's formula for an ordinary": _side(
        conv=lambda n, k, s, p, op: (n - 1) * s - 2 * p + k + op),
    "counts the padding once: it is added on both sides": _side(
        conv=lambda n, k, s, p, op: (n + p - k) // s + 1),
    "ignores the padding": _side(conv=lambda n, k, s, p, op: (n - k) // s + 1),
    "forgets the + 1": _side(conv=lambda n, k, s, p, op: (n + 2 * p - k) // s),
    "integer division is missing": _side(conv=lambda n, k, s, p, op: (n + 2 * p - k) / s + 1),
    "rounds up": _side(conv=lambda n, k, s, p, op: -((n + 2 * p - k) // -s) + 1),
    "add the 1 after the division": _side(conv=lambda n, k, s, p, op: (n + 2 * p - k + 1) // s),
    # transposed branch
    "convolution's formula for the transposed case": _side(
        transposed_fn=lambda n, k, s, p, op: (n + 2 * p - k) // s + 1),
    "forgets the − 1": _side(transposed_fn=lambda n, k, s, p, op: n * s - 2 * p + k + op),
    "crops padding pixels from both sides": _side(
        transposed_fn=lambda n, k, s, p, op: (n - 1) * s - p + k + op),
    "adds the padding": _side(transposed_fn=lambda n, k, s, p, op: (n - 1) * s + 2 * p + k + op),
    "ignores output_padding": _side(transposed_fn=lambda n, k, s, p, op: (n - 1) * s - 2 * p + k),
    "multiplies the side by the stride": _side(transposed_fn=lambda n, k, s, p, op: n * s),
    "has no + 1": _side(transposed_fn=lambda n, k, s, p, op: (n - 1) * s - 2 * p + k + op + 1),
    # the same formula for both cases, whatever the flag says
    "transposed convolution's formula for an ordinary convolution": (
        lambda n, k, s, p, output_padding=0, transposed=False:
        (n - 1) * s - 2 * p + k + output_padding),
}


@pytest.mark.parametrize("phrase", list(OUT_SIDE_MISTAKES))
def test_out_side_names_mistakes(phrase):
    verdict = ex.check_out_side(OUT_SIDE_MISTAKES[phrase])
    assert not verdict and phrase in verdict.message, (phrase, verdict)
    assert "`my_out_side" in verdict.message


def test_out_side_other_failures():
    assert "None" in ex.check_out_side(None).message
    assert "should be a function" in ex.check_out_side(3).message
    no_return = ex.check_out_side(lambda n, k, s, p, output_padding=0, transposed=False: None)
    assert not no_return and "forget to `return`" in no_return.message
    short = ex.check_out_side(lambda n, k, s, p: n)  # no output_padding / transposed
    assert not short and "signature" in short.message
    raises = ex.check_out_side(
        lambda n, k, s, p, output_padding=0, transposed=False: 1 / 0)
    assert not raises and "ZeroDivisionError" in raises.message
    text = ex.check_out_side(
        lambda n, k, s, p, output_padding=0, transposed=False: "14")
    assert not text and "without quotes" in text.message
    # an unrecognised wrong answer is still refused, with the case that fails
    other = ex.check_out_side(_side(transposed_fn=lambda n, k, s, p, op: 2 * n + k - 4))
    assert not other and "transposed convolution" in other.message


# ---------------------------------------------------------------- the deeper discriminator
def deeper(*, unflatten=True, act=lambda: nn.LeakyReLU(0.2), kernel3=3, padding3=1,
           stride3=2, linear_in=2048, end=(nn.Flatten(0),), extra=(), bn=False):
    """The reference discriminator with one thing changed (a learner's typical mistake)."""
    layers = [nn.Unflatten(1, (1, 28, 28))] if unflatten else []
    layers += [nn.Conv2d(1, 32, 4, 2, 1), act(), nn.Conv2d(32, 64, 4, 2, 1)]
    layers += [nn.BatchNorm2d(64)] if bn else []
    layers += [act(), nn.Conv2d(64, 128, kernel3, stride3, padding3), act(),
               nn.Flatten(), nn.Linear(linear_in, 1), *extra, *end]
    return nn.Sequential(*layers)


def test_deeper_discriminator_accepts_solutions():
    assert ex.check_deeper_discriminator(ex.deeper_discriminator())
    assert ex.check_deeper_discriminator(deeper())
    shared = nn.LeakyReLU(0.2)  # one activation object used three times
    model = nn.Sequential(nn.Unflatten(1, (1, 28, 28)), nn.Conv2d(1, 32, 4, 2, 1), shared,
                          nn.Conv2d(32, 64, 4, 2, 1), shared, nn.Conv2d(64, 128, 3, 2, 1),
                          shared, nn.Flatten(), nn.Linear(2048, 1), nn.Flatten(0))
    assert ex.check_deeper_discriminator(model)
    # the checker does not change the learner's weights
    before = [p.clone() for p in model.parameters()]
    ex.check_deeper_discriminator(model)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    # the reference has the parameter count the message states
    assert sum(p.numel() for p in ex.deeper_discriminator().parameters()) == 109_281


class Squeezed(nn.Module):
    """A hand-written module that applies a sigmoid in forward (no nn.Sigmoid module)."""

    def __init__(self):
        super().__init__()
        self.net = deeper()

    def forward(self, x):
        return torch.sigmoid(self.net(x))


DISCRIMINATOR_MISTAKES = {
    "ends in a sigmoid": lambda: deeper(extra=(nn.Sigmoid(),)),
    "applies a sigmoid to its output": Squeezed,
    "batch norm": lambda: deeper(bn=True),
    "uses ReLU": lambda: deeper(act=nn.ReLU),
    "0.01 is nn.LeakyReLU()'s default": lambda: deeper(act=nn.LeakyReLU),
    "negative slope 0.1": lambda: deeper(act=lambda: nn.LeakyReLU(0.1)),
    "ends with LeakyReLU after the linear layer":
        lambda: deeper(extra=(nn.LeakyReLU(0.2),)),
    "2 LeakyReLU": lambda: nn.Sequential(*[m for i, m in enumerate(deeper()) if i != 6]),
    "not on flat ones": lambda: deeper(unflatten=False),
    "shape (B, 1)": lambda: deeper(end=()),
    # the side of the third map: 3 (kernel 4, as the others) instead of 4
    "a 4×4 kernel where this layer uses 3×3": lambda: deeper(kernel3=4, linear_in=1152),
    "128 × 4 × 4 map": lambda: deeper(linear_in=128 * 3 * 3),
    "padding 0": lambda: deeper(padding3=0),
    "stride 1": lambda: deeper(stride3=1),
    "None": lambda: None,
    "should be a torch module": lambda: "nn.Sequential",
}


@pytest.mark.parametrize("phrase", list(DISCRIMINATOR_MISTAKES))
def test_deeper_discriminator_names_mistakes(phrase):
    verdict = ex.check_deeper_discriminator(DISCRIMINATOR_MISTAKES[phrase]())
    assert not verdict and phrase in verdict.message, (phrase, verdict)
    assert "`my_discriminator" in verdict.message


def test_deeper_discriminator_other_mistakes():
    # channels in another order: a shape mismatch named with the parameter
    swapped = nn.Sequential(nn.Unflatten(1, (1, 28, 28)), nn.Conv2d(1, 64, 4, 2, 1),
                            nn.LeakyReLU(0.2), nn.Conv2d(64, 32, 4, 2, 1), nn.LeakyReLU(0.2),
                            nn.Conv2d(32, 128, 3, 2, 1), nn.LeakyReLU(0.2), nn.Flatten(),
                            nn.Linear(2048, 1), nn.Flatten(0))
    verdict = ex.check_deeper_discriminator(swapped)
    assert not verdict and "channels" in verdict.message
    # the book's two-layer discriminator (the library's) is not the three-layer one
    verdict = ex.check_deeper_discriminator(convnets.ConvDiscriminator(32))
    assert not verdict and "LeakyReLU" in verdict.message
    # a bias left out: fewer parameters
    no_bias = deeper()
    no_bias[-2] = nn.Linear(2048, 1, bias=False)
    verdict = ex.check_deeper_discriminator(no_bias)
    assert not verdict and "parameters" in verdict.message
    # activation and convolution swapped: the right shapes, other logits
    order = deeper()
    order[1], order[2] = order[2], order[1]
    verdict = ex.check_deeper_discriminator(order)
    assert not verdict and "order" in verdict.message


def test_out_side_refuses_strings():
    as_text = ex.check_out_side(
        lambda n, k, s, p, output_padding=0, transposed=False:
        str(solution(n, k, s, p, output_padding, transposed)))
    assert not as_text and "without quotes" in as_text.message
