"""Unit tests of genai_lib.callbacks: what fit calls after each epoch (evaluate, EarlyStopping)."""

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from genai_lib.callbacks import EarlyStopping, evaluate
from genai_lib.train import fit


def blobs(n: int = 120) -> tuple[torch.Tensor, torch.Tensor]:
    """Three separable 2-D blobs: x (n, 2) float32, y (n,) int64."""
    g = torch.Generator().manual_seed(0)
    y = torch.arange(n) % 3
    centers = torch.tensor([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    return centers[y] + 0.5 * torch.randn(n, 2, generator=g), y


def mean_step(batch):
    """A step function without learning: the batch mean as 'loss'."""
    return {"loss": batch[0].mean()}


def test_callbacks_run_every_epoch_add_logs_and_stop():
    calls = []

    def log(epoch, logs, model):
        calls.append(epoch)
        logs["double"] = 2 * logs["loss"]

    def stop_at_2(epoch, logs, model):
        return epoch == 2

    after = []
    h = fit(nn.Linear(1, 1), torch.ones(8, 1), mean_step, epochs=10, batch_size=4,
            callbacks=[stop_at_2, log, lambda e, logs, m: after.append(e)], quiet=True)
    assert calls == [0, 1, 2] and after == [0, 1, 2]  # a later callback runs on the stop epoch
    assert h["double"] == [pytest.approx(2.0)] * 3


def test_evaluate_runs_in_eval_mode_without_grad():
    seen = []

    def metrics(model):
        seen.append((model.training, torch.is_grad_enabled()))
        return {"val": 1.0}

    model = nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.5))
    h = fit(model, blobs(), loss_fn=F.cross_entropy, epochs=2, callbacks=[evaluate(metrics)],
            quiet=True)
    assert seen == [(False, False)] * 2 and h["val"] == [1.0, 1.0]


def test_early_stopping_stops_and_restores_best_weights():
    val = iter([3.0, 1.0, 2.0, 2.5, 0.5, 0.1])
    snapshots = []
    stopper = EarlyStopping("val_loss", patience=2)
    model = nn.Linear(2, 3)
    h = fit(model, blobs(), loss_fn=F.cross_entropy, epochs=6, lr=0.05, quiet=True,
            callbacks=[evaluate(lambda m: {"val_loss": next(val)}), stopper,
                       lambda e, logs, m: snapshots.append(m.weight.detach().clone())])
    assert h["val_loss"] == [3.0, 1.0, 2.0, 2.5]  # no improvement for 2 epochs after epoch 1
    assert stopper.best_epoch == 1
    assert torch.equal(model.weight, snapshots[1])  # the best weights are back
    assert not torch.equal(snapshots[1], snapshots[3])
    with pytest.raises(KeyError, match="val_loss"):
        EarlyStopping()(0, {"loss": 1.0}, model)
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="up")
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=0)


def test_early_stopping_max_mode_without_restore():
    stopper = EarlyStopping("acc", patience=1, mode="max", restore_best=False)
    model = nn.Linear(1, 1)
    assert not stopper(0, {"acc": 0.5}, model)
    assert stopper(1, {"acc": 0.4}, model)
    before = model.weight.detach().clone()
    with torch.no_grad():
        model.weight.add_(1.0)
    stopper.finish(model)
    assert torch.equal(model.weight, before + 1.0)  # restore_best=False leaves them alone
    assert torch.equal(stopper.restore(model).weight, before)
