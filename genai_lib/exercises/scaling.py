"""Checkers for the "Scaling up" appendix: planning a data-parallel run, averaging the
gradients of equal shards, and loading a dataset file only when its checksum matches."""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from genai_lib import data
from genai_lib.exercises import Feedback, compare, right, string_instead_of_number, wrong

PLAN_KEYS = ("per_rank_batch", "steps_per_epoch", "rows_dropped")


def shard_plan(n: int, global_batch: int, world: int) -> dict[str, int]:
    """The reference plan of `train.batches` under DDP: rows per rank, steps, rows left out.

    Under DDP `fit` uses whole global batches only, so every process gets an equal share.
    """
    steps = n // global_batch
    return {"per_rank_batch": global_batch // world, "steps_per_epoch": steps,
            "rows_dropped": n - steps * global_batch}


def check_shard_plan(answer: dict | None, n: int = 50_000, global_batch: int = 256,
                     world: int = 4) -> Feedback:
    """Check a dict {per_rank_batch, steps_per_epoch, rows_dropped} for n rows on `world` ranks."""
    if answer is None:
        return wrong("`plan` is None: fill in a dict with the keys " + ", ".join(PLAN_KEYS))
    if not isinstance(answer, dict):
        return wrong(f"`plan` should be a dict with keys {PLAN_KEYS}, got {type(answer).__name__}")
    missing = [k for k in PLAN_KEYS if k not in answer]
    if missing:
        return wrong(f"`plan` is missing the key(s) {missing}; it has {sorted(answer)}")
    exp = shard_plan(n, global_batch, world)
    got = {k: answer[k] for k in PLAN_KEYS}
    for key in PLAN_KEYS:
        if got[key] is None:
            return wrong(f"`plan['{key}']` is None: fill in a whole number")
        text = string_instead_of_number(f"`plan['{key}']`", got[key], kind="a whole number")
        if text is not None:
            return text
    if got["per_rank_batch"] != exp["per_rank_batch"]:
        if got["per_rank_batch"] == global_batch:
            return wrong(f"per_rank_batch = {global_batch} is the global batch: each of the "
                         f"{world} processes gets only its share of it")
        if got["per_rank_batch"] == global_batch * world:
            return wrong("per_rank_batch: you multiplied by the world size; the global batch is "
                         "split across the processes, so divide")
        return wrong(f"per_rank_batch is not right: expected {exp['per_rank_batch']}, "
                     f"your answer = {got['per_rank_batch']}")
    if got["steps_per_epoch"] != exp["steps_per_epoch"]:
        if got["steps_per_epoch"] == math.ceil(n / global_batch):
            return wrong(f"steps_per_epoch = {got['steps_per_epoch']} counts the last, partial "
                         f"batch: under DDP `fit` takes whole global batches only, so that every "
                         f"process gets an equal share (round down)")
        if got["steps_per_epoch"] in (math.ceil(n / exp["per_rank_batch"]),
                                      n // exp["per_rank_batch"]):
            return wrong("steps_per_epoch: you divided the data by the per-rank batch; all "
                         "processes take a step together on one global batch, so divide by "
                         "the global batch")
        if got["steps_per_epoch"] in (math.ceil(n / global_batch / world), n // global_batch // world):
            return wrong("steps_per_epoch: you divided by the world size too; every process "
                         "takes every step (each on its own shard of the same global batch)")
        return wrong(f"steps_per_epoch is not right: expected {exp['steps_per_epoch']}, "
                     f"your answer = {got['steps_per_epoch']}")
    if got["rows_dropped"] != exp["rows_dropped"]:
        if got["rows_dropped"] == exp["rows_dropped"] // world:
            return wrong(f"rows_dropped = {got['rows_dropped']} is one process's share; count "
                         f"all the rows of the incomplete last batch")
        if got["rows_dropped"] == 0:
            return wrong(f"rows_dropped: {n} is not a multiple of {global_batch}, so some rows "
                         f"do not fill a whole global batch")
        return wrong(f"rows_dropped is not right: expected {exp['rows_dropped']}, "
                     f"your answer = {got['rows_dropped']}")
    return right(f"{n} rows in global batches of {global_batch} on {world} processes: "
                 f"{exp['per_rank_batch']} rows per process per step, {exp['steps_per_epoch']} "
                 f"steps per epoch, and {exp['rows_dropped']} rows left out of this epoch "
                 f"(a different {exp['rows_dropped']} each epoch, since the order is reshuffled).")


def _mse_gradient(x: Tensor, y: Tensor, w: Tensor) -> Tensor:
    """Gradient of mean((x @ w - y)^2) with respect to w. x: (N, D), y: (N,), w: (D,) -> (D,)."""
    w = w.detach().clone().requires_grad_()
    ((x @ w - y) ** 2).mean().backward()
    return w.grad


def _gradient_inputs() -> list[tuple[Tensor, Tensor, Tensor, int]]:
    """Test cases (x, y, w, world) with N divisible by world: 2, 3 and 4 shards."""
    g = torch.Generator().manual_seed(0)
    cases = []
    for n, d, world in ((8, 3, 2), (12, 2, 3), (16, 4, 4)):
        x = torch.randn(n, d, generator=g, dtype=torch.float64)
        cases.append((x, torch.randn(n, generator=g, dtype=torch.float64),
                      torch.randn(d, generator=g, dtype=torch.float64), world))
    return cases


# Ways of cutting a tensor into shards: any of them applied to `x` that gives fewer rows
# counts as sharding it.
_SPLITS = {"__getitem__", "chunk", "split", "tensor_split", "unbind", "narrow", "index_select",
           "view", "reshape", "unflatten", "split_with_sizes", "take", "gather", "masked_select"}
# Operations that give the same rows back (a copy, another dtype or device): followed too.
_SAME_ROWS = {"clone", "detach", "to", "double", "float", "contiguous", "cpu", "type",
              "requires_grad_", "as_tensor", "tensor"}
# Operations that read only x's shape, type or device, not its values: not a use of the rows.
_METADATA = {"__get__", "__len__", "size", "dim", "numel", "is_floating_point", "is_complex",
             "element_size", "stride", "is_contiguous", "__repr__", "__format__", "__str__"}


def _tensors(args, kwargs) -> list:
    """The arguments of a torch call, one level into lists and tuples (torch.cat([a, b]))."""
    out = []
    for a in (*args, *(kwargs or {}).values()):
        out.extend(a if isinstance(a, (list, tuple)) else [a])
    return out


def _split_logger():
    """A torch function mode that records whether a tensor (or a copy of it) was cut into
    pieces: `with _split_logger()(x) as log: ...` then `log.split`; and `log.whole`, the first
    operation that computed with all of its rows at once (e.g. 'matmul'), or None."""
    from torch.overrides import TorchFunctionMode

    class SplitLog(TorchFunctionMode):
        def __init__(self, x: Tensor):
            super().__init__()
            self.tracked, self.split, self.rows = [x], False, len(x)
            self.whole: str | None = None

        def __torch_function__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            name = getattr(func, "__name__", "")
            if args and any(args[0] is t for t in self.tracked):
                pieces = [out] if isinstance(out, Tensor) else list(out) if isinstance(
                    out, (tuple, list)) else []
                fewer = any(isinstance(p, Tensor) and p.ndim and p.shape[0] < self.rows
                            for p in pieces)
                if name in _SPLITS and fewer:
                    self.split = True
                elif (name in _SAME_ROWS or name in _SPLITS) and isinstance(out, Tensor):
                    self.tracked.append(out)   # a copy, or all the rows (x[0::1], x[:])
                    return out
                elif name == "__get__" and isinstance(out, Tensor):
                    self.tracked.append(out)   # the same values seen another way: x.T, x.data
                    return out
            reads = not (name in _SPLITS or name in _SAME_ROWS or name in _METADATA
                         or name.startswith("new_") or name.endswith("_like"))
            if (reads and self.whole is None
                    and any(a is t for a in _tensors(args, kwargs) for t in self.tracked)):
                self.whole = name or str(func)
            return out

    return SplitLog


def check_sharded_gradient(fn: Callable | None) -> Feedback:
    """Check fn(x, y, w, world) -> (D,): the average of the shards' gradients of the MSE loss,
    computed shard by shard (a full-batch gradient gives the same numbers but skips the
    sharding the exercise simulates: detected by watching whether `x` is ever cut)."""
    if fn is None:
        return wrong("`sharded_gradient` is None: define a function "
                     "sharded_gradient(x, y, w, world).")
    if not callable(fn):
        return wrong(f"`sharded_gradient` should be a function, got {type(fn).__name__}")
    split_log = _split_logger()
    never_split, whole = [], None
    for x, y, w, world in _gradient_inputs():
        x_in = x.clone()
        try:
            with split_log(x_in) as log:
                got = fn(x_in, y.clone(), w.clone(), world)
        except Exception as err:  # the learner's code failed: say how, on which input
            return wrong(f"`sharded_gradient` raised {type(err).__name__}: {err} "
                         f"(x of shape {tuple(x.shape)}, world={world})")
        if isinstance(got, Tensor):
            got = got.detach()
        exp = _mse_gradient(x, y, w)
        verdict = compare("sharded_gradient(x, y, w, world)", got, exp, rtol=1e-6, atol=1e-9)
        if not verdict.ok:
            g = np.asarray(got, dtype=float) if got is not None else None
            if (g is not None and g.shape == tuple(exp.shape)
                    and np.allclose(g, world * exp.numpy())):
                return wrong(f"with world={world} your gradient is {world} times too large: "
                             f"all-reduce sums the shards' gradients, DDP then divides by the "
                             f"number of processes (average, not sum)")
            return wrong(f"with x of shape {tuple(x.shape)} and world={world}: "
                         f"{verdict.message}")
        if not log.split:
            never_split.append(world)
        elif log.whole is not None and whole is None:
            whole = (world, log.whole)
    if never_split:
        return wrong(f"the numbers are right, but `sharded_gradient` never cuts `x` into "
                     f"shards (world = {never_split}): it computes the full-batch gradient "
                     f"directly. Simulate the {never_split[0]} processes: give rank r the "
                     f"rows x[r::world], y[r::world], take that shard's gradient on its own "
                     f"replica of w, then average the gradients")
    if whole is not None:
        return wrong(f"the numbers are right, and `sharded_gradient` cuts `x` into shards, but "
                     f"it never uses them: `{whole[1]}` runs on all the rows of `x` at once "
                     f"(world = {whole[0]}), so the gradient is the full-batch one. Compute "
                     f"each shard's gradient from its own rows x[r::world], y[r::world] on its "
                     f"own replica of w, then average those {whole[0]} gradients")
    return right("`sharded_gradient` equals the full-batch gradient on every test input: "
                 "averaging equal shards loses nothing.")


def check_verified_load(fn: Callable | None) -> Feedback:
    """Check fn(path, sha) -> array: reads an intact IDX file, ValueError on a bad checksum."""
    if fn is None:
        return wrong("`load_verified` is None: define a function load_verified(path, sha).")
    if not callable(fn):
        return wrong(f"`load_verified` should be a function, got {type(fn).__name__}")
    labels = np.array([3, 1, 4, 1, 5, 9, 2, 6], dtype=np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        good = Path(tmp) / "labels-idx1-ubyte.gz"
        sha = data.write_idx(good, labels)
        try:
            got = fn(good, sha)
        except Exception as err:
            return wrong(f"`load_verified` raised {type(err).__name__} on an intact file with the "
                         f"right checksum: {err}")
        if got is None:
            return wrong("`load_verified` returned None for an intact file: return the array "
                         "read from it")
        verdict = compare("load_verified(path, sha)", got, labels)
        if not verdict.ok:
            return wrong(f"on an intact file of labels {labels.tolist()}: {verdict.message}")
        bad = Path(tmp) / "corrupt-idx1-ubyte.gz"
        blob = bytearray(good.read_bytes())
        blob[-9] ^= 0xFF  # one flipped byte inside the gzip stream's data
        bad.write_bytes(bytes(blob))
        try:
            fn(bad, sha)
        except ValueError as err:
            if "sha" not in str(err).lower() and "checksum" not in str(err).lower():
                return wrong(f"a corrupt file raised ValueError, but not from the checksum test "
                             f"({err}); compare the file's SHA-256 with `sha` before reading it")
        except Exception as err:
            return wrong(f"a corrupt file raised {type(err).__name__} ({err}); check the SHA-256 "
                         f"first and raise ValueError naming the checksum")
        else:
            return wrong("a corrupt file (one flipped byte) was loaded without complaint: compare "
                         "its SHA-256 with `sha` and raise ValueError when they differ")
    return right("`load_verified` reads an intact file and refuses a corrupt one with ValueError.")
