"""Input checks shared by every module: clear errors that name the argument, what was
expected, what was given and the fix -- instead of a traceback from deep inside torch.

Torch: `tensor` (a tensor on a module's device, of its dtype), `rows` (a (B, dim) tensor),
`labels` (integer class labels (n,)), `device_of`, and `eval_mode` / `train_mode`.
Sample sets for the distances of `metrics`: `samples` (N, D), N >= 2, as float64 torch.
NumPy: `vector` (N,), `matrix` (N, D).
Training data: `finite` (no NaN or inf, or an error naming the rows and columns).
Plain numbers: `positive_int` (an integer in [low, high], or a clear error), `count` (>= 0)
and `is_positive_int` (the same test as a bool, e.g. for every item of a list).
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from torch import Tensor, nn


def is_positive_int(value: object, low: int = 1, high: int | None = None) -> bool:
    """Whether `value` is an integer (Python or NumPy; bools are not) in [low, high]."""
    return (not isinstance(value, bool) and isinstance(value, numbers.Integral)
            and low <= value and (high is None or value <= high))


def positive_int(name: str, value: object, low: int = 1, high: int | None = None) -> int:
    """`value` as an int, or a clear error unless it is an integer in [low, high] (no bools)."""
    if not is_positive_int(value, low, high):
        wanted = (f"an integer between {low} and {high}" if high is not None else
                  "a positive integer" if low == 1 else
                  "a non-negative integer" if low == 0 else f"an integer >= {low}")
        raise ValueError(f"{name} must be {wanted}, got {value!r}")
    return int(value)


def count(name: str, n: object) -> int:
    """A number of items: `n` as an int, or a clear error unless it is an integer >= 0."""
    return positive_int(name, n, low=0)


def device_of(module: nn.Module) -> torch.device:
    """The device of a module's weights (cpu when it has none)."""
    param = next(module.parameters(), None)
    return torch.device("cpu") if param is None else param.device


@contextmanager
def eval_mode(module: nn.Module) -> Iterator[nn.Module]:
    """`with eval_mode(model):` runs the block in eval mode and restores the training flag after."""
    with train_mode(module, False):
        yield module


@contextmanager
def train_mode(module: nn.Module, training: bool = True) -> Iterator[nn.Module]:
    """`with train_mode(model, training):` sets the mode for the block, restores it after."""
    was_training = module.training
    module.train(training)
    try:
        yield module
    finally:
        module.train(was_training)


def tensor(name: str, x: object, module: nn.Module, shape: str, dtype: bool = True) -> None:
    """Clear errors for a tensor `x` fed to `module`: a torch tensor on the module's device
    and, with dtype=True, of its weights' floating dtype. `shape` (e.g. "(B, 64)") goes into
    the message."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch tensor of shape {shape}, got {type(x).__name__} "
                        f"(convert with torch.as_tensor({name}, dtype=torch.float32))")
    param = next(module.parameters(), None)
    if param is None:
        return
    if x.device != param.device:
        raise ValueError(f"{name} is on device {x.device} but the model's weights are on "
                         f"{param.device}: move one of them, e.g. {name}.to({str(param.device)!r})")
    if dtype and x.dtype != param.dtype:
        raise TypeError(f"{name} must have dtype {param.dtype} like the model's weights, got "
                        f"{x.dtype} (convert with {name}.to({param.dtype}))")


def rows(name: str, x: object, dim: int, module: nn.Module, dtype: bool = True) -> None:
    """`tensor`, and a clear error unless x has shape (B, dim)."""
    tensor(name, x, module, f"(B, {dim})", dtype)
    if x.dim() != 2 or x.shape[1] != dim:
        raise ValueError(f"{name} must have shape (B, {dim}), got {tuple(x.shape)}"
                         + (f" (flatten images first: {name}.flatten(1))" if x.dim() > 2 else ""))


def labels(name: str, y: object, n: int, n_classes: int) -> Tensor:
    """Class labels y: an integer tensor of shape (n,) with values in [0, n_classes); returns it."""
    if not isinstance(y, Tensor):
        raise TypeError(f"{name} must be a torch tensor of integer classes, shape ({n},), "
                        f"got {type(y).__name__}")
    if y.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) to match the batch, got {tuple(y.shape)}")
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer class labels (torch.long), got {y.dtype} "
                        f"(convert them with .long())")
    if n and (int(y.min()) < 0 or int(y.max()) >= n_classes):
        raise ValueError(f"{name} must be class labels in [0, {n_classes - 1}] "
                         f"({n_classes} classes), got values in [{int(y.min())}, {int(y.max())}]")
    return y


def samples(name: str, a: object) -> Tensor:
    """A sample set as a finite float64 CPU tensor (N, D), N >= 2, from an array or tensor."""
    t = torch.as_tensor(a).detach().cpu().to(torch.float64)
    if t.dim() != 2:
        raise ValueError(f"{name} must have shape (N, D) (flatten images first), "
                         f"got {tuple(t.shape)}")
    if len(t) < 2:
        raise ValueError(f"{name} needs at least 2 samples, got {len(t)}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} contains NaN or inf values")
    return t


def _numpy(a: object) -> np.ndarray:
    """A float64 NumPy array from an array, list or tensor (on any device)."""
    return np.asarray(a.detach().cpu() if hasattr(a, "detach") else a, dtype=np.float64)


def vector(name: str, a: object) -> np.ndarray:
    """A finite float64 vector (N,), N >= 1, from an array, list or tensor ((N, 1), (1, N) too)."""
    out = _numpy(a)
    if out.ndim == 2 and 1 in out.shape:
        out = out.ravel()
    if out.ndim != 1 or len(out) == 0:
        raise ValueError(f"{name} must be a non-empty vector (N,), got shape {out.shape}")
    if not np.isfinite(out).all():
        raise ValueError(f"{name} contains NaN or inf values: drop or impute those rows first")
    return out


def matrix(name: str, a: object, min_rows: int = 1) -> np.ndarray:
    """A finite float64 matrix (N, D), N >= min_rows, from an array, list or tensor."""
    out = _numpy(a)
    if out.ndim != 2 or len(out) < min_rows:
        raise ValueError(f"{name} must have shape (N, D) with N >= {min_rows}, got {out.shape}")
    if not np.isfinite(out).all():
        raise ValueError(f"{name} has NaN or inf values: drop or impute them first")
    return out


def finite(name: str, t: Tensor, shown: int = 5, context: str = "") -> None:
    """A clear error naming the first rows and columns of a data tensor t (N, ...) that hold
    NaN or inf: checked before training, so that bad data is not reported as divergence.
    context: where the tensor comes from, e.g. " (batch 3 of the DataLoader)"."""
    if not t.is_floating_point() and not t.is_complex():
        return
    bad = ~torch.isfinite(t)
    if not bool(bad.any()):
        return
    flat = bad.reshape(len(t), -1)
    rows = flat.any(1).nonzero().flatten().tolist()
    cols = flat.any(0).nonzero().flatten().tolist()
    where = "columns" if t.dim() == 2 else f"columns of {name}.flatten(1)"

    def first(items: list[int]) -> str:
        more = f", ... ({len(items)} in all)" if len(items) > shown else ""
        return ", ".join(map(str, items[:shown])) + more

    raise ValueError(
        f"{name}{context} holds {int(bad.sum())} NaN or inf values, in rows {first(rows)} "
        f"and {where} {first(cols)}: training on them would only end in a 'diverged' loss. Drop those rows "
        f"(keep = torch.isfinite({name}).flatten(1).all(1), then index every tensor with keep) "
        f"or replace the values (e.g. torch.nan_to_num, or a column's mean) before fit")
