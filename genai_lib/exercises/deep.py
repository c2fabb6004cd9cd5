"""Checkers for chapter 4, deep learning with PyTorch: parameter counts, module shapes,
gradient flow through a deep net, and a trained digit classifier's accuracy."""

from __future__ import annotations

import copy
import math

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from genai_lib.exercises import Feedback, as_number, right, string_instead_of_number, wrong
from genai_lib.models import count_parameters

COUNT_SIZES = [64, 128, 64, 10]  # the MLP whose parameters exercise 1 counts


def expected_parameter_count(sizes: list[int] = COUNT_SIZES) -> int:
    """Weights + biases of a fully connected net with layer widths `sizes`."""
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def check_parameter_count(answer, sizes: list[int] = COUNT_SIZES) -> Feedback:
    """Is `answer` the number of parameters of MLP(sizes)? Diagnoses the usual slips."""
    if isinstance(answer, bool):
        return wrong(f"`answer` should be an integer, got the bool {answer}")
    text = string_instead_of_number("`answer`", answer, kind="an integer")
    if text is not None:
        return text
    value = as_number("answer", answer, "write the number of parameters as an integer.",
                      "an integer")
    if isinstance(value, Feedback):
        return value
    if not math.isfinite(value) or value != round(value):
        return wrong(f"`answer` = {value:g} is not a whole number: a parameter count is an "
                     f"integer (sum of n_in * n_out + n_out over the layers).")
    got = int(round(value))
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
    if got == sum(a * b + a + b for a, b in pairs):
        return wrong(f"{got:,}: you gave every layer biases for its inputs *and* its outputs; "
                     f"a layer has n_out biases only.")
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


class _Calls(TorchFunctionMode):
    """Records the outputs of torch functions whose name is in `names` (e.g. 'conv2d',
    'sigmoid'), however they were called: nn.Conv2d, F.conv2d, torch.sigmoid, x.sigmoid().
    With keep_all=True, `tensors` also keeps every floating-point tensor computed, in order."""

    def __init__(self, *names: str, keep_all: bool = False) -> None:
        super().__init__()
        self.names = set(names)
        self.outputs: dict[str, list] = {name: [] for name in names}
        self.keep_all, self.tensors = keep_all, []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        name = getattr(func, "__name__", "")
        if name in self.names:
            self.outputs[name].append(out)
        if self.keep_all and isinstance(out, torch.Tensor) and out.is_floating_point():
            self.tensors.append(out)
        return out


def _hand_sigmoids(tensors: list[torch.Tensor], known: list[torch.Tensor],
                   look_back: int = 8) -> list[torch.Tensor]:
    """The tensors that are the sigmoid of a tensor computed shortly before them (among the
    last `look_back` of the same shape) without being a `known` sigmoid output: a sigmoid
    written by hand, 1 / (1 + torch.exp(-z)), (1 + torch.tanh(z / 2)) / 2, torch.special.expit."""
    seen = {id(t) for t in known}
    found = []
    for i, out in enumerate(tensors):
        if id(out) in seen or out.numel() == 0 or not out.requires_grad:
            continue
        values = out.detach()
        if values.min() < 0 or values.max() > 1:
            continue
        earlier = [t for t in tensors[:i] if t.shape == out.shape][-look_back:]
        with torch.no_grad():
            if any(torch.allclose(values, torch.sigmoid(z.detach()), rtol=1e-4, atol=1e-6)
                   for z in earlier):
                found.append(out)
                seen.add(id(out))
    return found


def check_digit_module(model, max_params: int = 2000, name: str | None = None) -> Feedback:
    """Is `model` a convolutional nn.Module mapping (B, 1, 8, 8) images to (B, 10) scores,
    with at most `max_params` parameters? The learner's model is not modified."""
    if model is None:
        return wrong("`model` is None: create an instance of your module, e.g. `TinyCNN()`.")
    if isinstance(model, type):
        return wrong(f"you passed the class; pass an instance: `{model.__name__}()`, "
                     f"not `{model.__name__}`.")
    if not isinstance(model, nn.Module):
        return wrong(f"`model` should be a torch.nn.Module, got {type(model).__name__}")
    name = name or type(model).__name__
    n = count_parameters(model)
    if n == 0:
        return wrong(f"`{name}` has no trainable parameters: use nn.Conv2d / nn.Linear "
                     f"layers assigned as attributes in __init__.")
    model = copy.deepcopy(model)  # the checks below must not touch the learner's model
    model.eval()
    gen = torch.Generator().manual_seed(0)
    outs = {}
    for batch in (1, 7):
        x = torch.rand(batch, 1, 8, 8, generator=gen)
        with _Calls("conv2d") as calls:
            out = _call(model, x)
        if isinstance(out, Exception):
            return wrong(f"calling `{name}` on a (B={batch}, 1, 8, 8) batch raised "
                         f"{type(out).__name__}: {out}")
        if not isinstance(out, torch.Tensor):
            return wrong(f"forward should return a tensor, got {type(out).__name__}")
        if tuple(out.shape) != (batch, 10):
            hint = (" (flatten before the last Linear layer: x.flatten(1))"
                    if out.dim() > 2 else "")
            return wrong(f"on a (B={batch}, 1, 8, 8) batch `{name}` returns shape "
                         f"{tuple(out.shape)}, expected ({batch}, 10){hint}")
        if not calls.outputs["conv2d"]:
            return wrong(f"`{name}` never applies a convolution: a network of nn.Linear "
                         f"layers on the flattened pixels is an MLP, not a CNN. Use at "
                         f"least one nn.Conv2d in forward.")
        outs[batch] = (x, out.detach().cpu().float())
    x, out = outs[7]
    if not torch.isfinite(out).all():
        return wrong(f"`{name}` returns NaN or inf scores.")
    if torch.allclose(out.sum(1), torch.ones(7), atol=1e-4) and (out >= 0).all():
        return wrong(f"`{name}` returns probabilities (every row sums to 1): return the raw "
                     f"scores (logits); F.cross_entropy applies the softmax itself.")
    if torch.allclose(out, out[:1].expand_as(out), atol=1e-6):
        return wrong(f"`{name}` gives the same scores to every image: the output must "
                     f"depend on the input x.")
    alone = _call(model, x[3:4])
    if not torch.allclose(alone.cpu().float(), out[3:4], rtol=1e-4, atol=1e-5):
        return wrong(f"`{name}` gives an image different scores alone and in a batch: it "
                     f"mixes the examples of a batch (flatten with x.flatten(1), which keeps "
                     f"dimension 0, not x.view(-1, ...) with the wrong sizes or a transpose).")
    if n > max_params:
        return wrong(f"`{name}` has {n:,} parameters, more than the budget of "
                     f"{max_params:,}: use fewer channels or a smaller hidden layer.")
    model.train()
    model(x.to(_device(model))).sum().backward()
    dead = [k for k, p in model.named_parameters() if p.requires_grad and p.grad is None]
    if dead:
        return wrong(f"these parameters of `{name}` get no gradient (not used in forward?): "
                     f"{dead}")
    return right(f"`{name}`: (B, 1, 8, 8) -> (B, 10) scores, with convolution, "
                 f"{n:,} parameters (budget {max_params:,}).")


def check_gradient_flow(model, depth: int = 20, ratio: float = 1e-3,
                        seed: int = 0) -> Feedback:
    """Does a (64 -> 10) net with >= `depth` Linear layers and a sigmoid after each hidden
    one pass gradient back to its first layer?

    Pass: on a fixed batch of 256 digits, the weight gradient of the first Linear layer
    the input goes through has a norm at least `ratio` times the largest layer's. A plain
    sigmoid stack of that depth reaches about 1e-16; a residual one about 1e-2.
    """
    from genai_lib import data

    if not isinstance(model, nn.Module):
        return wrong(f"`model` should be a torch.nn.Module, got {type(model).__name__}")
    model = copy.deepcopy(model)  # batch norm's running statistics must not change
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if len(linears) < depth:
        return wrong(f"`model` has {len(linears)} nn.Linear layers; the task asks for at "
                     f"least {depth}. Making it shallower is not the fix.")
    split = data.digits()
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(split.x_train), generator=g)[:256]
    dev = _device(model)
    x, y = split.x_train[idx].to(dev), split.y_train[idx].to(dev)
    order: list[nn.Linear] = []
    hooks = [m.register_forward_hook(lambda mod, i, o: order.append(mod)) for m in linears]
    model.train()
    try:
        with _Calls("sigmoid", keep_all=True) as calls:
            out = model(x)
    except Exception as err:  # the learner's module failed: report how
        return wrong(f"calling `model` on a (B, 64) batch of digits raised "
                     f"{type(err).__name__}: {err}")
    finally:
        for h in hooks:
            h.remove()
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (256, 10):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        return wrong(f"`model` must map a (B, 64) batch of digits to (B, 10) scores; "
                     f"got {shape}")
    used = list(dict.fromkeys(order))  # the Linear layers in the order the input meets them
    if len(used) < depth:
        return wrong(f"only {len(used)} of the {len(linears)} nn.Linear layers are used in "
                     f"forward; the task asks for at least {depth} in the computation.")
    loss = nn.functional.cross_entropy(out, y)
    sig = [s for s in calls.outputs["sigmoid"] if isinstance(s, torch.Tensor)
           and s.requires_grad]
    sig += _hand_sigmoids(calls.tensors, sig)  # written by hand: a sigmoid all the same
    grads = torch.autograd.grad(loss, [m.weight for m in used] + sig, allow_unused=True)
    weight_grads, sig_grads = grads[:len(used)], grads[len(used):]
    n_sig = sum(gr is not None for gr in sig_grads)
    if n_sig < depth - 1:
        return wrong(f"keep a sigmoid after each hidden layer ({n_sig} sigmoids on the path "
                     f"to the output, need {depth - 1}): the point is to make gradients "
                     f"flow *through* them.")
    norms = [float(gr.norm()) if gr is not None else 0.0 for gr in weight_grads]
    if not all(math.isfinite(v) for v in norms):
        return wrong("some gradient norms are inf or NaN: the weights are too large.")
    first, top = norms[0], max(norms)
    if top == 0:
        return wrong("every layer's gradient is zero: the output does not depend on the "
                     "weights.")
    if first < ratio * top:
        layer_norm = any(isinstance(m, nn.LayerNorm) for m in model.modules())
        hint = ("Layer normalisation alone does not fix it: add residual connections."
                if layer_norm else "Try residual connections or batch normalisation.")
        return wrong(f"the first layer's gradient norm is {first:.2e}, only "
                     f"{first / top:.1e} of the largest ({top:.2e}); it must be at least "
                     f"{ratio:g}. {hint}")
    dead = [i + 1 for i, v in enumerate(norms) if v < ratio * top]
    if dead:
        return wrong(f"the first layer gets a gradient, but Linear layers {dead} (in the "
                     f"order the input meets them) get almost none (below {ratio:g} of the "
                     f"largest): the gradient must reach every layer, not skip the stack.")
    return right(f"first-layer gradient norm {first:.2e} is {first / top:.2g} of the "
                 f"largest: the gradient reaches the bottom of all {len(used)} layers.")


# A model trained on the training images alone scores below them on the held-out ones: the
# reference CNN, 12-40 epochs, 3 seeds: train 0.996-1.000, test 0.973-0.982. Trained on the test
# images instead: test 1.000, train 0.955-0.968. A test score above the training score by more
# than chance allows (about 2.3 standard errors) is the sign of a test set used in training.
LEAK_MARGIN = 0.025


def _test_set_leak(test_acc: float, train_acc: float, n_test: int) -> str | None:
    """The message naming a model that saw the test images in training, or None."""
    if test_acc - train_acc > LEAK_MARGIN:
        return (f"test accuracy {test_acc:.3f} but only {train_acc:.3f} on the training "
                f"images: a model scores best on the data it was trained on, so it was "
                f"trained on the test set. Train on split.x_train, split.y_train only; the "
                f"test images are for the final score")
    if test_acc == 1.0:
        return (f"test accuracy 1.000, every one of the {n_test} held-out images right: a "
                f"CNN of this size trained on the training images makes a few mistakes there "
                f"(about 0.97-0.98), a model that was trained on the test images makes none. "
                f"Train on split.x_train, split.y_train only (not on x_test or on all the "
                f"data)")
    return None


def check_accuracy(model, threshold: float = 0.95, max_params: int = 2000) -> Feedback:
    """Does the convolutional `model` (at most `max_params` parameters) classify
    scikit-learn's held-out digit images (B, 1, 8, 8) with accuracy >= threshold?"""
    from genai_lib import data
    from genai_lib.train import accuracy

    verdict = check_digit_module(model, max_params=max_params)
    if not verdict:
        return verdict
    split = data.digits(images=True)
    acc = accuracy(copy.deepcopy(model), split.x_test, split.y_test)
    train_acc = accuracy(copy.deepcopy(model), split.x_train, split.y_train)
    leaked = _test_set_leak(acc, train_acc, len(split.y_test))
    if leaked is not None:
        return wrong(leaked)
    if acc < threshold:
        hint = " (about chance: was it trained at all?)" if acc < 0.2 else ""
        return wrong(f"test accuracy {acc:.3f} is below {threshold}{hint}; train longer or "
                     f"with a different learning rate.")
    return right(f"test accuracy {acc:.3f} >= {threshold}.")
