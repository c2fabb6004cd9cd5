"""Checkers for chapter 4, deep learning with PyTorch: parameter counts, module shapes,
gradient flow through a deep net, and a trained digit classifier's accuracy."""

from __future__ import annotations

import torch
from torch import nn

from genai_lib.exercises import Feedback, right, wrong
from genai_lib.models import count_parameters, layer_grad_norms

COUNT_SIZES = [64, 128, 64, 10]  # the MLP whose parameters exercise 1 counts


def expected_parameter_count(sizes: list[int] = COUNT_SIZES) -> int:
    """Weights + biases of a fully connected net with layer widths `sizes`."""
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def check_parameter_count(answer, sizes: list[int] = COUNT_SIZES) -> Feedback:
    """Is `answer` the number of parameters of MLP(sizes)? Diagnoses the usual slips."""
    if answer is None:
        return wrong("`answer` is None: write the number of parameters as an integer.")
    try:
        got = int(answer)
    except (TypeError, ValueError):
        return wrong(f"`answer` should be an integer, got {type(answer).__name__}")
    expected = expected_parameter_count(sizes)
    pairs = list(zip(sizes[:-1], sizes[1:]))
    if got == expected:
        return right(f"{expected:,} parameters: sum over layers of n_in * n_out weights "
                     f"+ n_out biases.")
    if got == sum(a * b for a, b in pairs):
        return wrong(f"{got:,} counts only the weights: every unit also has a bias "
                     f"({sum(b for _, b in pairs)} more).")
    if got == sum(a * b + a for a, b in pairs):
        return wrong(f"{got:,}: you added one bias per *input*; biases belong to the output "
                     f"units of each layer (n_out of them).")
    if got == sum(b for _, b in pairs) or got == sum(sizes):
        return wrong(f"{got:,} counts units (neurons), not parameters: a layer from n_in to "
                     f"n_out units has n_in * n_out weights.")
    for i, (a, b) in enumerate(pairs):
        if got == expected - (a * b + b):
            return wrong(f"{got:,}: you left out layer {i + 1} ({a} -> {b}, {a * b + b:,} "
                         f"parameters).")
    return wrong(f"{got:,} is not right (off by {got - expected:+,}); count n_in * n_out + n_out "
                 f"for each of the {len(pairs)} layers of {sizes}.")


def _device(model: nn.Module) -> torch.device:
    """Where the model's weights are (CPU for a model without any)."""
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def _call(model, x: torch.Tensor):
    """model(x) on the model's device, or the exception it raised."""
    try:
        with torch.no_grad():
            return model(x.to(_device(model)))
    except Exception as err:  # the learner's module failed: report how
        return err


def check_digit_module(model, max_params: int = 2000) -> Feedback:
    """Is `model` an nn.Module mapping (B, 1, 8, 8) images to (B, 10) scores with <= max_params?"""
    if model is None:
        return wrong("`model` is None: create an instance of your module, e.g. `TinyCNN()`.")
    if isinstance(model, type):
        return wrong("you passed the class; pass an instance: `TinyCNN()`, not `TinyCNN`.")
    if not isinstance(model, nn.Module):
        return wrong(f"`model` should be a torch.nn.Module, got {type(model).__name__}")
    n = count_parameters(model)
    if n == 0:
        return wrong("the module has no trainable parameters: use nn.Conv2d / nn.Linear layers "
                     "assigned as attributes in __init__.")
    model.eval()
    for batch in (1, 7):
        out = _call(model, torch.rand(batch, 1, 8, 8))
        if isinstance(out, Exception):
            return wrong(f"calling the module on a (B={batch}, 1, 8, 8) batch raised "
                         f"{type(out).__name__}: {out}")
        if not isinstance(out, torch.Tensor):
            return wrong(f"forward should return a tensor, got {type(out).__name__}")
        if tuple(out.shape) != (batch, 10):
            hint = (" (flatten before the last Linear layer: x.flatten(1))"
                    if out.dim() > 2 else "")
            return wrong(f"on a (B={batch}, 1, 8, 8) batch the output has shape "
                         f"{tuple(out.shape)}, expected ({batch}, 10){hint}")
    if n > max_params:
        return wrong(f"the module has {n:,} parameters, more than the budget of {max_params:,}: "
                     f"use fewer channels or a smaller hidden layer.")
    x = torch.rand(4, 1, 8, 8)
    model.train()
    model(x.to(_device(model))).sum().backward()
    dead = [name for name, p in model.named_parameters() if p.requires_grad and p.grad is None]
    model.zero_grad(set_to_none=True)
    model.eval()
    if dead:
        return wrong(f"these parameters get no gradient (not used in forward?): {dead}")
    return right(f"(B, 1, 8, 8) -> (B, 10) with {n:,} parameters (budget {max_params:,}).")


def check_gradient_flow(model, depth: int = 20, ratio: float = 0.01, seed: int = 0) -> Feedback:
    """Does a (64 -> 10) net with >= `depth` Linear layers pass gradient back to its first layer?

    Pass: the first layer's weight-gradient norm is at least `ratio` times the largest one,
    on a fixed batch of digits.
    """
    from genai_lib import data

    if not isinstance(model, nn.Module):
        return wrong(f"`model` should be a torch.nn.Module, got {type(model).__name__}")
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if len(linears) < depth:
        return wrong(f"the model has {len(linears)} Linear layers; the task asks for at least "
                     f"{depth}. Making it shallower is not the fix.")
    acts = [m for m in model.modules() if isinstance(m, (nn.Sigmoid,))]
    if len(acts) < depth - 1:
        return wrong(f"keep the sigmoid activations ({len(acts)} found, need {depth - 1}): the "
                     f"point is to make gradients flow *through* them.")
    split = data.digits()
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(split.x_train), generator=g)[:256]
    out = _call(model, split.x_train[idx])
    if isinstance(out, Exception) or getattr(out, "shape", None) != (256, 10):
        return wrong("the model must map a (B, 64) batch of digits to (B, 10) scores; got "
                     f"{out if isinstance(out, Exception) else getattr(out, 'shape', out)}")
    dev = _device(model)
    norms = layer_grad_norms(model, split.x_train[idx].to(dev), split.y_train[idx].to(dev))
    first, top = norms[0], max(norms)
    if not all(torch.isfinite(torch.tensor(norms))):
        return wrong("some gradient norms are inf or NaN: the weights are too large.")
    if first < ratio * top:
        return wrong(f"the first layer's gradient norm is {first:.2e}, only {first / top:.1e} of "
                     f"the largest ({top:.2e}); it must be at least {ratio}. Try normalisation "
                     f"or residual connections.")
    return right(f"first-layer gradient norm {first:.2e} is {first / top:.2f} of the largest: "
                 f"the gradient reaches the bottom of all {len(linears)} layers.")


def check_accuracy(model, threshold: float = 0.95) -> Feedback:
    """Does `model` classify scikit-learn's held-out digit images (B, 1, 8, 8) with >= threshold?"""
    from genai_lib import data
    from genai_lib.train import accuracy

    verdict = check_digit_module(model, max_params=10 ** 9)
    if not verdict:
        return verdict
    split = data.digits(images=True)
    acc = accuracy(model, split.x_test, split.y_test)
    if acc < threshold:
        hint = " (about chance: was it trained at all?)" if acc < 0.2 else ""
        return wrong(f"test accuracy {acc:.3f} is below {threshold}{hint}; train longer or "
                     f"with a different learning rate.")
    return right(f"test accuracy {acc:.3f} >= {threshold}.")
