"""Callbacks: what `train.fit` calls after each epoch, as cb(epoch, logs, model).

Callbacks see the model in eval mode (dropout off, batch-norm frozen). A callback may add
entries to `logs` (they join the history), and returning True stops training; its optional
`finish(model)` method runs when training ends. `evaluate` adds metrics measured on held-out
data; `EarlyStopping` stops when such a metric has not improved for a while and puts the best
weights back. (`gan.Snapshots`, which records a GAN's samples as it trains, is one too.)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from genai_lib import checks

Callback = Callable[[int, dict[str, float], nn.Module], Any]


def after_epoch(callbacks: Sequence[Callback], epoch: int, logs: dict[str, float],
                model: nn.Module) -> bool:
    """Call every callback on the model in eval mode; True if one of them says stop."""
    model.eval()
    # a list, not a generator: every callback runs even when an earlier one says stop
    return any([bool(cb(epoch, logs, model)) for cb in callbacks])


def at_end(callbacks: Sequence[Callback], model: nn.Module) -> None:
    """Call each callback's optional `finish(model)` (EarlyStopping puts the best weights back)."""
    for cb in callbacks:
        finish = getattr(cb, "finish", None)
        if callable(finish):
            finish(model)


class EarlyStopping:
    """Callback: stop when `monitor` has not improved for `patience` epochs; keeps the best weights.

    With restore_best=True (default), `fit` puts the best weights back when training ends.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, mode: str = "min",
                 restore_best: bool = True) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.patience = checks.positive_int("patience", patience)
        self.monitor, self.mode = monitor, mode
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
    """Callback that adds fn(model)'s metrics (in eval mode, no grad) to each epoch's logs."""

    def callback(epoch: int, logs: dict[str, float], model: nn.Module) -> None:
        with torch.no_grad():
            logs.update(fn(model))

    return callback
