"""Unit tests of genai_lib.train (fit, callbacks, predict, accuracy) and genai_lib.checkpoint."""

import os

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset
from tqdm import tqdm as std_tqdm

from genai_lib import checkpoint as ckpt
from genai_lib import train
from genai_lib.train import EarlyStopping, accuracy, batches, evaluate, fit, predict


def blobs(n: int = 120, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Three separable 2-D Gaussian blobs: x (n, 2) float32, y (n,) int64."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    centers = torch.tensor([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    return centers[y] + 0.5 * torch.randn(n, 2, generator=g), y


def recorder(model: nn.Module, seen: list):
    """A step function that records the batch rows it sees and returns their mean as 'loss'."""

    def step(batch):
        (x,) = batch
        seen.append(x[:, 0].long().tolist())
        return {"loss": x.mean(), "size": torch.tensor(float(len(x)))}

    return step


def test_batches_cover_every_example_once_per_epoch():
    x = torch.arange(10.0)[:, None]
    model = nn.Linear(1, 1)
    seen: list = []
    fit(model, x, recorder(model, seen), epochs=3, batch_size=3, quiet=True)
    assert [len(b) for b in seen] == [3, 3, 3, 1] * 3
    epochs = [sum(seen[i * 4:(i + 1) * 4], []) for i in range(3)]
    for rows in epochs:
        assert sorted(rows) == list(range(10))
    assert epochs[0] != epochs[1]  # shuffled differently each epoch
    plain = list(batches((x,), 4, None, shuffle=False))
    assert [b[0][:, 0].tolist() for b in plain] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_fit_learns_and_history_has_per_epoch_means():
    x, y = blobs()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    history = fit(model, (x, y), loss_fn=F.cross_entropy, epochs=15, batch_size=16, lr=0.02,
                  quiet=True)
    assert list(history) == ["loss"] and len(history["loss"]) == 15
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert accuracy(model, x, y) > 0.95
    assert not model.training  # fit leaves the model in eval mode
    # the logged value is the mean of the per-step values
    seen: list = []
    h = fit(nn.Linear(1, 1), torch.arange(10.0)[:, None], recorder(None, seen), epochs=1,
            batch_size=4, shuffle=False, quiet=True)
    assert h["loss"] == [pytest.approx((1.5 + 5.5 + 8.5) / 3)]
    assert h["size"] == [pytest.approx(10 / 3)]


def test_fit_with_a_dataloader():
    x, y = blobs()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True)
    history = fit(model, loader, loss_fn=F.cross_entropy, epochs=10, lr=0.02, quiet=True)
    assert len(history["loss"]) == 10 and history["loss"][-1] < history["loss"][0]
    assert accuracy(model, x, y) > 0.9


def test_callbacks_run_every_epoch_add_logs_and_stop():
    calls = []

    def log(epoch, logs, model):
        calls.append(epoch)
        logs["double"] = 2 * logs["loss"]

    def stop_at_2(epoch, logs, model):
        return epoch == 2

    after = []
    h = fit(nn.Linear(1, 1), torch.ones(8, 1), recorder(None, []), epochs=10, batch_size=4,
            callbacks=[stop_at_2, log, lambda e, logs, m: after.append(e)], quiet=True)
    assert calls == [0, 1, 2] and after == [0, 1, 2]  # a later callback still runs on the stop epoch
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


def test_checkpoint_is_written_atomically_and_loads_weights_only(tmp_path, monkeypatch):
    path = tmp_path / "run" / "model.pt"
    model = nn.Linear(2, 3)
    fit(model, blobs(), loss_fn=F.cross_entropy, epochs=2, checkpoint=path, quiet=True)
    assert sorted(os.listdir(path.parent)) == ["model.pt"]  # no temp file left behind
    state = torch.load(path, weights_only=True)
    assert state["epoch"] == 2 and len(state["history"]["loss"]) == 2
    assert torch.equal(state["model"]["weight"], model.weight.detach())
    # a crash while writing leaves the old file intact and no temp file
    old = path.read_bytes()

    def broken_save(obj, f):
        f.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        ckpt.save(path, {"model": model.state_dict()})
    assert path.read_bytes() == old and sorted(os.listdir(path.parent)) == ["model.pt"]


def test_save_and_load_model_roundtrip_and_errors(tmp_path):
    a, b = nn.Linear(3, 2), nn.Linear(3, 2)
    ckpt.save_model(tmp_path / "w.pt", a)
    assert torch.equal(ckpt.load_model(tmp_path / "w.pt", b).weight, a.weight)
    with pytest.raises(ValueError, match="do not fit"):
        ckpt.load_model(tmp_path / "w.pt", nn.Linear(4, 2))
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        ckpt.load(tmp_path / "missing.pt")
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable"):
        ckpt.load(tmp_path / "bad.pt")
    torch.save({"format_version": 99}, tmp_path / "new.pt")
    with pytest.raises(ValueError, match="format 99"):
        ckpt.load(tmp_path / "new.pt")


def _run(epochs: int, path=None, resume: bool = False) -> nn.Module:
    """Seeded dropout MLP trained with shuffling (and Adam state) on blobs."""
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 3))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    fit(model, blobs(), loss_fn=F.cross_entropy, optimizer=opt, epochs=epochs, batch_size=16,
        checkpoint=path, resume=resume, quiet=True, device="cpu")
    return model


def test_resume_gives_exactly_the_uninterrupted_weights(tmp_path):
    full = _run(5)
    path = tmp_path / "ckpt.pt"
    _run(2, path)                      # interrupted after 2 of 5 epochs ...
    torch.manual_seed(123)             # ... other work moves the global RNG meanwhile
    torch.rand(7)
    resumed = _run(5, path, resume=True)
    for p, q in zip(full.parameters(), resumed.parameters()):
        assert torch.equal(p, q)
    assert torch.load(path, weights_only=True)["epoch"] == 5
    # without resume=True the checkpoint is ignored: a fresh start differs after 1 epoch
    fresh = _run(1, path)
    assert not torch.equal(fresh[0].weight, full[0].weight)


def test_resume_rejects_wrong_number_of_optimizers(tmp_path):
    path = tmp_path / "c.pt"
    _run(1, path)
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 3))
    opts = [torch.optim.SGD(model.parameters(), lr=0.1)] * 2
    with pytest.raises(ValueError, match="optimiser states"):
        fit(model, blobs(), lambda b: {"loss": torch.tensor(0.0)}, optimizer=opts, epochs=2,
            checkpoint=path, resume=True, quiet=True)


@pytest.mark.parametrize("bad_step,epoch", [(3, 1), (35, 1), (40, 1), (50, 2)])
def test_nan_loss_stops_with_epoch_and_step(bad_step, epoch):
    calls = [0]

    def step(batch):
        calls[0] += 1
        return {"loss": torch.tensor(float("nan") if calls[0] == bad_step else 1.0)}

    # 400 examples / batch 10 = 40 steps per epoch: NaN checks happen in the middle too
    with pytest.raises(FloatingPointError, match=rf"epoch {epoch}, step {(bad_step - 1) % 40 + 1}"):
        fit(nn.Linear(1, 1), torch.ones(400, 1), step, epochs=3, batch_size=10, quiet=True)
    assert calls[0] <= (bad_step // train.NAN_CHECK_EVERY + 1) * train.NAN_CHECK_EVERY + 40


def test_diverging_training_raises_floating_point_error():
    x, y = blobs()
    model = nn.Linear(2, 3)
    with pytest.raises(FloatingPointError, match="learning rate"):
        fit(model, (x * 1e30, y), loss_fn=F.cross_entropy, epochs=3, lr=1e30, quiet=True)


def test_clear_errors_for_bad_input():
    x, y = blobs()
    model = nn.Linear(2, 3)
    with pytest.raises(ValueError, match="same length"):
        fit(model, (x, y[:-1]), loss_fn=F.cross_entropy, quiet=True)
    with pytest.raises(TypeError, match="float64"):
        fit(model, (x.double(), y), loss_fn=F.cross_entropy, quiet=True)
    with pytest.raises(ValueError, match="empty"):
        fit(model, (x[:0], y[:0]), loss_fn=F.cross_entropy, quiet=True)
    for bs in (0, -1, 2.5):
        with pytest.raises(ValueError, match="batch_size"):
            fit(model, (x, y), loss_fn=F.cross_entropy, batch_size=bs, quiet=True)
    with pytest.raises(ValueError, match="loss_fn"):
        fit(model, (x, y), quiet=True)
    with pytest.raises(ValueError, match="epochs"):
        fit(model, (x, y), loss_fn=F.cross_entropy, epochs=-1, quiet=True)
    with pytest.raises(TypeError, match="tensor"):
        fit(model, (x.numpy(), y), loss_fn=F.cross_entropy, quiet=True)
    with pytest.raises(TypeError, match="one torch optimiser"):
        fit(model, (x, y), loss_fn=F.cross_entropy, optimizer=[torch.optim.SGD(
            model.parameters(), lr=0.1)], quiet=True)
    with pytest.raises(ValueError, match="rows"):
        accuracy(model, x, y[:3])


def test_max_steps_stops_across_epochs():
    seen: list = []
    h = fit(nn.Linear(1, 1), torch.ones(40, 1), recorder(None, seen), epochs=10, batch_size=10,
            max_steps=6, quiet=True)
    assert len(seen) == 6 and len(h["loss"]) == 2  # 4 steps in epoch 1, 2 in epoch 2


def test_progress_bar_is_shown_when_not_quiet(capsys, monkeypatch):
    monkeypatch.setattr(train, "tqdm", std_tqdm)  # the terminal bar, writing to stderr
    monkeypatch.setenv("TQDM_DISABLE", "0")
    fit(nn.Linear(1, 1), torch.ones(8, 1), recorder(None, []), epochs=3, batch_size=4,
        quiet=False)
    err = capsys.readouterr().err
    assert "Linear" in err and "3/3" in err and "loss=" in err
    monkeypatch.setenv("TQDM_DISABLE", "1")  # the variable hides it even with quiet=False
    fit(nn.Linear(1, 1), torch.ones(8, 1), recorder(None, []), epochs=3, batch_size=4,
        quiet=False)
    assert "Linear" not in capsys.readouterr().err


def test_predict_batches_and_restores_mode():
    model = nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.5))
    model.train()
    x = torch.randn(50, 2)
    out = predict(model, x, batch_size=7)
    assert out.shape == (50, 3) and model.training
    assert torch.allclose(out, model[0](x).detach())


def test_rng_state_roundtrip():
    import random

    import numpy as np

    state = ckpt.rng_state()
    a = (random.random(), np.random.rand(), torch.rand(1))
    ckpt.set_rng_state(state)
    b = (random.random(), np.random.rand(), torch.rand(1))
    assert a[0] == b[0] and a[1] == b[1] and torch.equal(a[2], b[2])
