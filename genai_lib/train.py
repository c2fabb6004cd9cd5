"""The one training loop, `fit`, used by every chapter from chapter 4 on.

A *step function* does the work of one batch (forward, loss, backward, optimiser
step) and returns its metrics. Supervised learning uses `supervised_step`; GANs
and VAEs plug in their own step functions. `fit` does everything around it:
device placement, batching, progress, history, callbacks, checkpoints, NaN stops.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Union

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from genai_lib import checkpoint as ckpt
from genai_lib import distributed, runtime

Batch = tuple[Tensor, ...]
StepFn = Callable[[Batch], dict[str, Tensor]]
Data = Union[Tensor, Sequence[Tensor], DataLoader]
History = dict[str, list[float]]
Callback = Callable[[int, dict[str, float], nn.Module], Any]
NAN_CHECK_EVERY = 32  # steps between NaN checks (each one waits for the device)
PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def supervised_step(model: nn.Module, optimizer: torch.optim.Optimizer,
                    loss_fn: Callable[[Tensor, Tensor], Tensor],
                    precision: str = "fp32") -> StepFn:
    """A step function for (inputs, targets) batches: loss_fn(model(x), y), backward, step.

    precision "bf16"/"fp16" runs the forward pass under autocast (mixed precision); fp16
    also scales the loss so small gradients do not underflow (torch.amp.GradScaler).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {list(PRECISIONS)}, got {precision!r}")
    dtype = PRECISIONS[precision]
    param = next(model.parameters(), None)
    device_type = param.device.type if param is not None else "cpu"
    scaler = torch.amp.GradScaler(device_type, enabled=precision == "fp16")

    def step(batch: Batch) -> dict[str, Tensor]:
        x, y = batch
        loss = loss_fn(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return {"loss": loss.detach()}

    def mixed_step(batch: Batch) -> dict[str, Tensor]:
        x, y = batch
        with torch.autocast(device_type, dtype=dtype):
            loss = loss_fn(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        return {"loss": loss.detach().float()}

    # full precision skips the autocast and scaler calls: a few microseconds a step, measured
    return step if dtype is None else mixed_step


def _check_tensors(data: Data, batch_size: int) -> tuple[Tensor, ...]:
    """Validate in-memory data: tensors of equal, non-zero length. Returns a tuple."""
    tensors = (data,) if isinstance(data, Tensor) else tuple(data)
    if not tensors or not all(isinstance(t, Tensor) for t in tensors):
        kinds = [type(t).__name__ for t in tensors]
        raise TypeError(
            f"data must be a tensor, a tuple of tensors or a DataLoader, got {kinds or data!r}; "
            f"convert arrays with torch.as_tensor(x, dtype=torch.float32)"
        )
    sizes = [len(t) if t.dim() else 0 for t in tensors]
    if len(set(sizes)) != 1:
        raise ValueError(f"data tensors must have the same length (first dim), got {sizes}")
    if sizes[0] == 0:
        raise ValueError("data is empty (0 examples): nothing to train on")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    return tensors


def _check_dtype(model: nn.Module, x: Tensor) -> None:
    """Inputs must be floating point with the model's dtype (a classic learner error)."""
    param = next(model.parameters(), None)
    if param is not None and x.is_floating_point() and x.dtype != param.dtype:
        raise TypeError(
            f"inputs have dtype {x.dtype} but the model's weights are {param.dtype}; "
            f"convert with x.to({param.dtype}) (NumPy arrays are float64 by default)"
        )


def _check_class_labels(model: nn.Module, x: Tensor, y: Tensor) -> None:
    """Integer targets must be class indices below the model's output width (one probe row)."""
    if y.is_floating_point() or y.dim() != 1:
        return
    was_training = model.training
    model.eval()  # batch-norm cannot take one row in training mode, and must not learn from it
    with torch.no_grad():
        out = model(x[:1])
    model.train(was_training)
    if out.dim() == 2 and (int(y.min()) < 0 or int(y.max()) >= out.shape[1]):
        raise ValueError(f"targets y must be class labels in [0, {out.shape[1] - 1}] (the model "
                         f"has {out.shape[1]} outputs), got values in [{int(y.min())}, {int(y.max())}]")


def batches(tensors: tuple[Tensor, ...], batch_size: int, generator: torch.Generator | None,
            shuffle: bool = True, rank: int = 0, world: int = 1) -> Iterable[Batch]:
    """Yield minibatches of in-memory tensors by shuffled index slicing: (N, ...) -> (B, ...).

    With world > 1 (data parallel), each global batch of `batch_size` is split and this
    process gets every world-th row from `rank` on: (B, ...) -> (B / world, ...); a last,
    incomplete global batch is dropped (as DistributedSampler's drop_last).
    """
    n = len(tensors[0])
    # data parallel: only whole global batches, so every process gets an equal, non-empty shard
    last = n - batch_size + 1 if world > 1 else n
    if shuffle:  # every process draws the same order from the same seeded generator
        order = torch.randperm(n, generator=generator).to(tensors[0].device)
        for i in range(0, last, batch_size):
            idx = order[i:i + batch_size]
            if world > 1:  # (skipping the no-op slice keeps one process as fast as a bare loop)
                idx = idx[rank::world]
            yield tuple([t[idx] for t in tensors])  # a list comprehension: faster than a generator
    else:
        for i in range(0, last, batch_size):
            yield tuple(t[i + rank:i + batch_size:world] for t in tensors)


def _to(batch: Any, dev: torch.device) -> Batch:
    """Move a DataLoader batch (tensor or sequence of tensors) to `dev`."""
    batch = (batch,) if isinstance(batch, Tensor) else tuple(batch)
    return tuple(t.to(dev, non_blocking=True) for t in batch)


def fit(model: nn.Module, data: Data, step: StepFn | None = None, *, epochs: int = 1,
        batch_size: int = 64, optimizer: torch.optim.Optimizer | Sequence[torch.optim.Optimizer]
        | None = None, loss_fn: Callable[[Tensor, Tensor], Tensor] | None = None,
        lr: float = 1e-3, device: torch.device | str | None = None, shuffle: bool = True,
        callbacks: Sequence[Callback] = (), checkpoint: str | os.PathLike | None = None,
        resume: bool = False, quiet: bool = False, max_steps: int | None = None,
        seed: int = 0, precision: str = "fp32", compile: bool = False) -> History:
    """Train `model` on `data` for `epochs`; returns the per-epoch history {metric: [value, ...]}.

    data: a tensor, a tuple of tensors (N, ...) kept in memory, or a DataLoader.
    step: a step function (batch -> {name: scalar tensor}); default: `supervised_step`
    with `loss_fn` and `optimizer` (Adam(lr) if None). With your own `step`, pass its
    optimiser(s) as `optimizer` so checkpoints carry their state.
    Callbacks are called as cb(epoch, logs, model) after each epoch; they may add entries
    to `logs`; returning True stops training; a callback's optional `finish(model)` method
    runs when training ends. A non-finite loss raises FloatingPointError naming the epoch
    and step (checked every NAN_CHECK_EVERY steps and at the end of each epoch).
    With `checkpoint`, the state is written atomically after every epoch, and
    `resume=True` continues from it.
    precision ("fp32", "bf16", "fp16") and compile (torch.compile) apply to the default step.
    Under torchrun (after `distributed.init()`), each global batch is split across the
    processes, DDP averages the gradients of the default step, and only rank 0 shows
    progress and writes checkpoints. A DataLoader then needs a DistributedSampler.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
    dev = runtime.device(str(device)) if device is not None else runtime.device()
    rank, world = distributed.rank(), distributed.world_size()
    if world > 1 and dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    if world > 1 and not isinstance(data, DataLoader) and batch_size % world:
        raise ValueError(f"batch_size {batch_size} is the global batch and must be divisible by "
                         f"the {world} processes, so each gets an equal share")
    model.to(dev)
    if isinstance(data, DataLoader):
        tensors = None
    else:
        tensors = tuple(t.to(dev) for t in _check_tensors(data, batch_size))
        _check_dtype(model, tensors[0])
    if step is None:
        if loss_fn is None:
            raise ValueError("fit needs either a step function or a loss_fn "
                             "(e.g. loss_fn=torch.nn.functional.cross_entropy)")
        if not callable(loss_fn):
            raise TypeError(f"loss_fn must be a function (prediction, target) -> loss, e.g. "
                            f"torch.nn.functional.cross_entropy, got {loss_fn!r}")
        if tensors is not None and len(tensors) == 2:
            _check_class_labels(model, *tensors)
        if optimizer is None:
            optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError("with the default step, optimizer must be one torch optimiser")
        forward = distributed.wrap(model, dev)  # DDP averages gradients across processes
        forward = torch.compile(forward) if compile else forward
        step = supervised_step(forward, optimizer, loss_fn, precision)
    elif precision != "fp32" or compile:
        raise ValueError("precision and compile apply to the default step only; in your own "
                         "step function use torch.autocast / torch.compile directly")
    optimizers = ([] if optimizer is None else
                  [optimizer] if isinstance(optimizer, torch.optim.Optimizer) else list(optimizer))

    generator = torch.Generator().manual_seed(seed)  # the shuffle order, saved in checkpoints
    history: History = {}
    start = 0
    if resume and checkpoint is not None and os.path.exists(checkpoint):
        # on the CPU: RNG states must stay CPU tensors; load_state_dict copies to the model's device
        state = ckpt.load(checkpoint, map_location="cpu")
        model.load_state_dict(state["model"])
        if len(state["optimizers"]) != len(optimizers):
            raise ValueError(f"checkpoint has {len(state['optimizers'])} optimiser states, "
                             f"fit was given {len(optimizers)}")
        for opt, opt_state in zip(optimizers, state["optimizers"]):
            opt.load_state_dict(opt_state)
        generator.set_state(state["shuffle_rng"])
        ckpt.set_rng_state(state["rng"])
        history, start = state["history"], state["epoch"]

    total = 0
    # TQDM_DISABLE=1 (tests, book builds) must win over quiet=False; tqdm.auto's notebook bar
    # ignores that variable, so read it here
    hide = (quiet or rank != 0
            or os.environ.get("TQDM_DISABLE", "").strip().lower() in ("1", "true", "yes"))
    bar = tqdm(range(start, epochs), initial=start, total=epochs, disable=hide, leave=True,
               dynamic_ncols=True, desc=type(model).__name__)
    training = False  # switching modes walks every module: do it only when needed
    for epoch in bar:
        if not training:
            model.train()
            training = True
        # Metrics stay tensors until the epoch ends and the NaN check runs every
        # NAN_CHECK_EVERY steps: a float() per step would force a GPU sync every step.
        values: dict[str, list[Tensor]] = {}
        count = checked = 0
        source = (batches(tensors, batch_size, generator, shuffle, rank, world)
                  if tensors is not None
                  else (_to(b, dev) for b in data))
        for batch in source:
            metrics = step(batch)
            for name, value in metrics.items():
                if not isinstance(value, Tensor):
                    value = torch.tensor(float(value))
                values.setdefault(name, []).append(value.detach() if value.requires_grad else value)
            count += 1
            total += 1
            if count - checked >= NAN_CHECK_EVERY:
                _check_finite(values, epoch, checked)
                checked = count
            if max_steps is not None and total >= max_steps:
                break
        logs = _mean_logs(values)
        if not all(math.isfinite(v) for v in logs.values()):  # a NaN/inf step spoils the mean
            _check_finite(values, epoch, checked)
        stop = False
        if callbacks:  # callbacks see the model in eval mode (dropout off, batch-norm frozen)
            model.eval()
            training = False
            # a list, not a generator: every callback runs even when an earlier one says stop
            stop = any([bool(cb(epoch, logs, model)) for cb in callbacks])
        for name, value in logs.items():
            history.setdefault(name, []).append(value)
        if not hide:
            bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items()}, refresh=False)
        if checkpoint is not None and rank == 0:
            ckpt.save(checkpoint, {
                "model": model.state_dict(), "optimizers": [o.state_dict() for o in optimizers],
                "epoch": epoch + 1, "history": history, "shuffle_rng": generator.get_state(),
                "rng": ckpt.rng_state()})
        if stop or (max_steps is not None and total >= max_steps):
            break
    bar.close()
    for cb in callbacks:  # e.g. EarlyStopping puts the best weights back
        finish = getattr(cb, "finish", None)
        if callable(finish):
            finish(model)
    model.eval()
    return history


def _mean_logs(values: dict[str, list[Tensor]]) -> dict[str, float]:
    """Each metric's mean over the epoch's steps (and over all processes under DDP)."""
    if not values:
        return {}
    means = torch.stack([torch.stack(v).float().mean() for v in values.values()])
    if distributed.world_size() > 1:
        torch.distributed.all_reduce(means)  # the same history on every rank
        means /= distributed.world_size()
    return dict(zip(values, means.tolist()))


def _check_finite(values: dict[str, list[Tensor]], epoch: int, start: int) -> None:
    """Raise FloatingPointError at the first non-finite loss in steps start+1, ... of `epoch`."""
    name = "loss" if "loss" in values else next(iter(values), None)
    if name is None or len(values[name]) <= start:
        return
    chunk = torch.stack(values[name][start:]).float().reshape(len(values[name]) - start, -1)
    finite = torch.isfinite(chunk).all(dim=1)
    if not bool(finite.all()):
        i = int((~finite).nonzero()[0])
        raise FloatingPointError(
            f"{name} became {float(chunk[i].sum())} at epoch {epoch + 1}, step {start + i + 1}: "
            f"training diverged. Try a smaller learning rate (lr), normalised inputs, "
            f"or gradient clipping."
        )


class EarlyStopping:
    """Callback: stop when `monitor` has not improved for `patience` epochs; keeps the best weights.

    With restore_best=True (default), `fit` puts the best weights back when training ends.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, mode: str = "min",
                 restore_best: bool = True) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"patience must be a positive integer, got {patience!r}")
        self.monitor, self.patience, self.mode = monitor, patience, mode
        self.restore_best = restore_best
        self.best, self.best_epoch, self.best_state = math.inf, -1, None

    def __call__(self, epoch: int, logs: dict[str, float], model: nn.Module) -> bool:
        if self.monitor not in logs:
            raise KeyError(f"EarlyStopping monitors {self.monitor!r}, but the logs only have "
                           f"{sorted(logs)}; add an evaluation callback before it")
        value = logs[self.monitor] * (1 if self.mode == "min" else -1)
        if value < self.best:
            self.best, self.best_epoch = value, epoch
            self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        return epoch - self.best_epoch >= self.patience

    def restore(self, model: nn.Module) -> nn.Module:
        """Load the best weights seen into `model`."""
        if self.best_state is not None:
            model.load_state_dict(self.best_state)
        return model

    def finish(self, model: nn.Module) -> None:
        """Called by `fit` when training ends: restore the best weights if restore_best."""
        if self.restore_best:
            self.restore(model)


def evaluate(fn: Callable[[nn.Module], dict[str, float]]) -> Callback:
    """Callback that adds fn(model)'s metrics (computed in eval mode, no grad) to each epoch's logs."""

    def callback(epoch: int, logs: dict[str, float], model: nn.Module) -> None:
        with torch.no_grad():
            logs.update(fn(model))

    return callback


@torch.no_grad()
def predict(model: nn.Module, x: Tensor, batch_size: int = 1024) -> Tensor:
    """model(x) in eval mode, in batches, on the model's device: (N, ...) -> (N, ...)."""
    param = next(model.parameters(), None)
    dev = param.device if param is not None else x.device
    was_training = model.training
    model.eval()
    out = torch.cat([model(x[i:i + batch_size].to(dev)) for i in range(0, len(x), batch_size)])
    model.train(was_training)
    return out


def accuracy(model: nn.Module, x: Tensor, y: Tensor) -> float:
    """Share of rows where argmax of model(x) equals y. x: (N, ...), y: (N,)."""
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} rows but y has {len(y)}")
    pred = predict(model, x).argmax(dim=1).cpu()
    return float((pred == y.cpu()).float().mean())
