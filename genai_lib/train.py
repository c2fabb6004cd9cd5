"""The one training loop, `fit`, used by every chapter from chapter 4 on.

A *step* does the work of one batch (forward, loss, backward, optimiser step) and returns its
metrics. A `Step` also carries the optimisers it updates, by name, so that `fit` can save and
restore their state. Supervised learning uses `supervised_step`; GANs, VAEs, diffusion and
autoregressive models bring their own steps. `fit` does everything around it: device
placement, batching, progress, history, callbacks (`genai_lib.callbacks`), checkpoints and
NaN stops.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Union

import torch
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from genai_lib import checkpoint as ckpt
from genai_lib import checks, distributed, runtime
from genai_lib.callbacks import Callback, after_epoch, at_end

Batch = tuple[Tensor, ...]
StepFn = Callable[[Batch], dict[str, Tensor]]
Data = Union[Tensor, Sequence[Tensor], DataLoader]
History = dict[str, list[float]]
Optimizers = dict[str, torch.optim.Optimizer]
NAN_CHECK_EVERY = 32  # steps between NaN checks (each one waits for the device)
PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


class Step:
    """A step function together with the optimisers it updates, by name.

    Step(fn, {"model": optimizer}) is called like fn: batch -> {metric: scalar tensor}.
    `fit` reads `optimizers` to write their state into checkpoints and to restore it on
    resume, pairing them by name.
    """

    def __init__(self, fn: StepFn, optimizers: Mapping[str, torch.optim.Optimizer]) -> None:
        if not callable(fn):
            raise TypeError(f"fn must be a step function (batch -> {{name: loss}}), "
                            f"got {type(fn).__name__}")
        if not isinstance(optimizers, Mapping):
            raise TypeError(f"optimizers must be a dict {{name: optimiser}} such as "
                            f"{{'model': opt}}, got {type(optimizers).__name__}")
        for name, opt in optimizers.items():
            if not isinstance(name, str) or not isinstance(opt, torch.optim.Optimizer):
                raise TypeError(f"optimizers must map names (str) to torch optimisers, "
                                f"got {name!r}: {type(opt).__name__}")
        self.fn, self.optimizers = fn, dict(optimizers)

    def __call__(self, batch: Batch) -> dict[str, Tensor]:
        return self.fn(batch)

    def __repr__(self) -> str:
        name = getattr(self.fn, "__qualname__", type(self.fn).__name__)
        return f"Step({name}, optimizers={_describe(self.optimizers)})"


def scheduled(step: Step, schedule: torch.optim.lr_scheduler.LRScheduler) -> Step:
    """`step` followed by one step of a learning-rate `schedule` (over one of its optimisers)."""
    if not any(schedule.optimizer is opt for opt in step.optimizers.values()):
        raise ValueError("the schedule must drive one of the step's optimisers")

    def fn(batch: Batch) -> dict[str, Tensor]:
        logs = step(batch)
        schedule.step()
        return logs

    return Step(fn, step.optimizers)


def ema_of(net: nn.Module, decay: float | None) -> AveragedModel | None:
    """An exponential moving average of net's weights (and buffers), or None for None."""
    if decay is None:
        return None
    if not 0.0 < decay < 1.0:
        raise ValueError(f"ema_decay must be between 0 and 1 (e.g. 0.999), got {decay!r}")
    return AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def averaged_step(model: nn.Module, optimizer: torch.optim.Optimizer, net: nn.Module,
                  name: str, loss_fn: Callable[[Tensor, Tensor | None], Tensor]) -> Step:
    """A regression step of a model with `scale` and `ema` (diffusion, flow matching):
    batches x (B, D) on the data's own scale [, labels (B,)]; loss_fn(model.scale(x), labels)
    -> scalar; one update of `net` (the optimiser's, called `name`), then of its average."""

    def step(batch: Batch) -> dict[str, Tensor]:
        x, labels = model.scale(batch[0]), (batch[1] if len(batch) > 1 else None)
        value = loss_fn(x, labels)
        optimizer.zero_grad(set_to_none=True)
        value.backward()
        optimizer.step()
        if model.ema is not None:
            model.ema.update_parameters(net)
        return {"loss": value.detach()}

    return Step(step, {name: optimizer})


def supervised_step(model: nn.Module, optimizer: torch.optim.Optimizer,
                    loss_fn: Callable[[Tensor, Tensor], Tensor],
                    precision: str = "fp32") -> Step:
    """A step for (inputs, targets) batches: loss_fn(model(x), y), backward, optimiser step.

    precision "bf16"/"fp16" runs the forward pass under autocast (mixed precision); fp16
    also scales the loss so small gradients do not underflow (torch.amp.GradScaler).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {list(PRECISIONS)}, got {precision!r}")
    dtype = PRECISIONS[precision]
    device_type = checks.device_of(model).type
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
    return Step(step if dtype is None else mixed_step, {"model": optimizer})


# ---------------------------------------------------------------- the loop

def fit(model: nn.Module, data: Data, step: Step | StepFn | None = None, *, epochs: int = 1,
        batch_size: int = 64, optimizer: torch.optim.Optimizer | Sequence[torch.optim.Optimizer]
        | None = None, loss_fn: Callable[[Tensor, Tensor], Tensor] | None = None,
        lr: float = 1e-3, device: torch.device | str | None = None, shuffle: bool = True,
        callbacks: Sequence[Callback] = (), checkpoint: str | os.PathLike | None = None,
        resume: bool = False, quiet: bool = False, max_steps: int | None = None,
        seed: int = 0, precision: str = "fp32", compile: bool = False) -> History:
    """Train `model` on `data` for `epochs`; returns the per-epoch history {metric: [value, ...]}.

    data: a tensor, a tuple of tensors (N, ...) kept in memory, or a DataLoader.
    step: a `Step` (or a plain function batch -> {name: scalar tensor}); default:
    `supervised_step` with `loss_fn` and `optimizer` (Adam(lr) if None). A Step brings its
    own optimisers; with a plain function and `checkpoint`, pass its one optimiser as
    `optimizer` (several: wrap it as Step(fn, {name: optimiser})) so checkpoints carry it.
    Callbacks (`genai_lib.callbacks`) are called as cb(epoch, logs, model) after each epoch.
    Data holding NaN or inf is refused before the first step (a ValueError naming the rows
    and columns; a DataLoader's batches as they come); then a non-finite loss raises
    FloatingPointError naming the epoch and step (checked every NAN_CHECK_EVERY steps and at
    the end of each epoch).
    With `checkpoint`, the state is written atomically after every epoch, and
    `resume=True` continues from it.
    precision ("fp32", "bf16", "fp16") and compile (torch.compile) apply to the default step.
    Under torchrun (after `distributed.init()`), each global batch is split across the
    processes, DDP averages the gradients of the default step, and only rank 0 shows
    progress and writes checkpoints. A DataLoader then needs a DistributedSampler.
    """
    checks.positive_int("epochs", epochs, low=0)
    checks.positive_int("batch_size", batch_size)
    dev = _device(device, data, batch_size)
    model.to(dev)
    tensors = _place_data(data, model, dev)
    if step is None:
        step = _default_step(model, tensors, dev, optimizer, loss_fn, lr, precision, compile)
    elif precision != "fp32" or compile:
        raise ValueError("precision and compile apply to the default step only; in your own "
                         "step function use torch.autocast / torch.compile directly")
    optimizers = _optimizers_of(step, optimizer, checkpoint)
    generator = torch.Generator().manual_seed(runtime.training_seed(seed))  # the shuffle order
    # (saved in checkpoints); with $GENAI_SEED added, as every training seed
    history: History = {}
    start = 0
    if resume and checkpoint is not None and os.path.exists(checkpoint):
        history, start = ckpt.resume_training(checkpoint, model, optimizers, generator)

    bar = _progress_bar(type(model).__name__, start, epochs, quiet)
    fn = step.fn if isinstance(step, Step) else step  # one call less per batch
    total = 0  # steps so far, for max_steps
    for epoch in bar:
        if epoch == start or callbacks:  # switching modes walks every module: only when needed
            model.train()
        source = _epoch_batches(data, tensors, batch_size, generator, shuffle, dev)
        logs, n_steps = train_epoch(fn, source, epoch,
                                    math.inf if max_steps is None else max_steps - total)
        total += n_steps
        stop = after_epoch(callbacks, epoch, logs, model) if callbacks else False
        for name, value in logs.items():
            history.setdefault(name, []).append(value)
        if not bar.disable:
            bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items()}, refresh=False)
        if checkpoint is not None and distributed.rank() == 0:
            ckpt.save_training(checkpoint, model, optimizers, epoch + 1, history, generator)
        if stop or (max_steps is not None and total >= max_steps):
            break
    bar.close()
    at_end(callbacks, model)
    model.eval()
    return history


def train_epoch(step: StepFn, source: Iterable[Batch], epoch: int,
                max_steps: float = math.inf) -> tuple[dict[str, float], int]:
    """Run `step` on every batch of `source` (at most max_steps); returns (mean metrics, steps).

    Metrics stay tensors until the epoch ends and the NaN check runs every NAN_CHECK_EVERY
    steps: a float() per step would force a GPU sync every step.
    """
    values: dict[str, list[Tensor]] = {}
    count = checked = 0
    for batch in source:
        metrics = step(batch)
        for name, value in metrics.items():
            if not isinstance(value, Tensor):
                value = torch.tensor(float(value))
            values.setdefault(name, []).append(value.detach() if value.requires_grad else value)
        count += 1
        if count - checked >= NAN_CHECK_EVERY:
            _check_finite(values, epoch, checked)
            checked = count
        if count >= max_steps:
            break
    logs = _mean_logs(values)
    if not all(math.isfinite(v) for v in logs.values()):  # a NaN/inf step spoils the mean
        _check_finite(values, epoch, checked)
    return logs, count


# ---------------------------------------------------------------- before the first epoch

def _device(device: torch.device | str | None, data: Data, batch_size: int) -> torch.device:
    """Where to train: `device` or the best available; under DDP this process's GPU."""
    dev = runtime.device(str(device)) if device is not None else runtime.device()
    world = distributed.world_size()
    if world > 1 and dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    if world > 1 and not isinstance(data, DataLoader) and batch_size % world:
        raise ValueError(f"batch_size {batch_size} is the global batch and must be divisible by "
                         f"the {world} processes, so each gets an equal share")
    return dev


def _place_data(data: Data, model: nn.Module, dev: torch.device) -> tuple[Tensor, ...] | None:
    """In-memory data checked and moved to `dev` once; None for a DataLoader (moved per batch)."""
    if isinstance(data, DataLoader):
        return None
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
    tensors = tuple(t.to(dev) for t in tensors)
    if tensors[0].is_floating_point():  # (integer inputs are tokens or class indices)
        checks.tensor("x", tensors[0], model, "(N, ...)")
    for i, t in enumerate(tensors):  # NaN/inf data: named here, not reported as divergence
        checks.finite(("x", "y")[i] if i < 2 else f"data[{i}]", t)
    return tensors


def _default_step(model: nn.Module, tensors: tuple[Tensor, ...] | None, dev: torch.device,
                  optimizer: Any, loss_fn: Callable[[Tensor, Tensor], Tensor] | None,
                  lr: float, precision: str, compile: bool) -> Step:
    """`supervised_step` with loss_fn and optimizer (Adam(lr) if None), DDP-wrapped if needed."""
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
    return supervised_step(forward, optimizer, loss_fn, precision)


def _check_class_labels(model: nn.Module, x: Tensor, y: Tensor) -> None:
    """Integer targets must be class indices below the model's output width (one probe row)."""
    if y.is_floating_point() or y.dim() != 1:
        return
    # eval mode: batch-norm cannot take one row in training mode, and must not learn from it
    with checks.eval_mode(model), torch.no_grad():
        out = model(x[:1])
    if out.dim() == 2:
        checks.labels("targets y", y, len(y), out.shape[1])


def _optimizers_of(step: Step | StepFn, optimizer: Any,
                   checkpoint: str | os.PathLike | None) -> Optimizers:
    """The optimisers a checkpoint saves, by name: a Step's own, or a plain step's `optimizer`."""
    if isinstance(step, Step):
        given = ([] if optimizer is None else [optimizer]
                 if isinstance(optimizer, torch.optim.Optimizer) else list(optimizer))
        if given and {id(o) for o in given} != {id(o) for o in step.optimizers.values()}:
            raise ValueError(
                f"the step carries its optimisers ({_describe(step.optimizers)}), but "
                f"optimizer= gives others ({', '.join(type(o).__name__ for o in given)}); leave "
                f"out optimizer=: fit saves and restores the step's optimisers itself")
        return step.optimizers
    if isinstance(optimizer, torch.optim.Optimizer):
        return {"model": optimizer}
    if optimizer is not None:
        raise TypeError("with your own step function, optimizer= takes one optimiser; for "
                        "several, wrap the function as train.Step(step, {'generator': opt_g, "
                        "'discriminator': opt_d}) and leave out optimizer=")
    if checkpoint is not None:
        raise ValueError("checkpoint= saves the optimiser's state too, but fit cannot see the "
                         "optimiser inside your step function: pass it as optimizer=opt, or "
                         "wrap the function as train.Step(step, {'model': opt})")
    return {}


def _describe(optimizers: Optimizers) -> str:
    """'generator': Adam, 'discriminator': Adam."""
    return ", ".join(f"{name!r}: {type(opt).__name__}" for name, opt in optimizers.items())


def _progress_bar(name: str, start: int, epochs: int, quiet: bool) -> tqdm:
    """A bar over the epochs left; hidden when quiet, off rank 0, or with TQDM_DISABLE=1."""
    # TQDM_DISABLE=1 (tests, book builds) must win over quiet=False; tqdm.auto's notebook bar
    # ignores that variable, so read it here
    hide = (quiet or distributed.rank() != 0
            or os.environ.get("TQDM_DISABLE", "").strip().lower() in ("1", "true", "yes"))
    return tqdm(range(start, epochs), initial=start, total=epochs, disable=hide, leave=True,
                dynamic_ncols=True, desc=name)


# ---------------------------------------------------------------- batches and metrics

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


def _epoch_batches(data: Data, tensors: tuple[Tensor, ...] | None, batch_size: int,
                   generator: torch.Generator, shuffle: bool, dev: torch.device) -> Iterable[Batch]:
    """One epoch's batches: this process's share of the in-memory tensors, or the DataLoader's
    batches moved to `dev`."""
    if tensors is None:
        return (_to(b, dev, i) for i, b in enumerate(data))
    return batches(tensors, batch_size, generator, shuffle, distributed.rank(),
                   distributed.world_size())


def _to(batch: Any, dev: torch.device, index: int = 0) -> Batch:
    """Move a DataLoader batch (tensor or sequence of tensors) to `dev`; one on the CPU is
    checked for NaN/inf first (no device sync), so that bad data is not reported as
    divergence."""
    batch = (batch,) if isinstance(batch, Tensor) else tuple(batch)
    for i, t in enumerate(batch):
        if isinstance(t, Tensor) and t.device.type == "cpu" and t.dim():
            checks.finite(("x", "y")[i] if i < 2 else f"data[{i}]", t,
                          context=f" (batch {index} of the DataLoader)")
    return tuple(t.to(dev, non_blocking=True) for t in batch)


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


# ---------------------------------------------------------------- after training

@torch.no_grad()
def predict(model: nn.Module, x: Tensor, batch_size: int = 1024) -> Tensor:
    """model(x) in eval mode, in batches, on the model's device: (N, ...) -> (N, ...)."""
    dev = checks.device_of(model)
    with checks.eval_mode(model):
        return torch.cat([model(x[i:i + batch_size].to(dev)) for i in range(0, len(x), batch_size)])


def accuracy(model: nn.Module, x: Tensor, y: Tensor) -> float:
    """Share of rows where argmax of model(x) equals y. x: (N, ...), y: (N,)."""
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} rows but y has {len(y)}")
    pred = predict(model, x).argmax(dim=1).cpu()
    return float((pred == y.cpu()).float().mean())
