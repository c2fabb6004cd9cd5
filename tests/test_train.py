"""Unit tests of genai_lib.train (fit, Step, predict, accuracy) and genai_lib.checkpoint."""

import os

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset
from tqdm import tqdm as std_tqdm

from genai_lib import checkpoint as ckpt
from genai_lib import train
from genai_lib.callbacks import EarlyStopping, evaluate
from genai_lib.train import Step, accuracy, batches, fit, predict


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


class TwoNets(nn.Module):
    """Two parts trained by two optimisers, as a GAN's generator and discriminator."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(2, 3), nn.Sequential(nn.Dropout(0.3), nn.Linear(2, 3))


def two_part_step(model: TwoNets, opts: dict, order=("a", "b")) -> Step:
    """A Step updating model.a with opts['a'] and model.b with opts['b'] (dict in `order`)."""

    def step(batch):
        x, y = batch
        logs = {}
        for name in ("a", "b"):
            loss = F.cross_entropy(getattr(model, name)(x), y)
            opts[name].zero_grad()
            loss.backward()
            opts[name].step()
            logs[f"loss_{name}"] = loss.detach()
        return logs

    return Step(step, {name: opts[name] for name in order})


def _run_two(epochs: int, path=None, resume: bool = False, order=("a", "b")) -> TwoNets:
    torch.manual_seed(2)
    model = TwoNets()
    opts = {"a": torch.optim.Adam(model.a.parameters(), lr=0.01),
            "b": torch.optim.SGD(model.b.parameters(), lr=0.1, momentum=0.9)}
    fit(model, blobs(), two_part_step(model, opts, order), epochs=epochs, batch_size=16,
        checkpoint=path, resume=resume, quiet=True, device="cpu")
    return model


def test_a_steps_optimisers_are_checkpointed_by_name(tmp_path):
    path = tmp_path / "two.pt"
    model = _run_two(2, path)
    state = ckpt.load(path)
    assert sorted(state["optimizers"]) == ["a", "b"]
    assert state["optimizers"]["b"]["param_groups"][0]["momentum"] == 0.9  # SGD's, not Adam's
    assert "exp_avg" in state["optimizers"]["a"]["state"][0]  # Adam's moments
    assert torch.equal(state["model"]["a.weight"], model.a.weight.detach())


def test_resume_pairs_optimisers_by_name_not_position(tmp_path):
    full = _run_two(4)
    path = tmp_path / "two.pt"
    _run_two(2, path, order=("a", "b"))
    resumed = _run_two(4, path, resume=True, order=("b", "a"))  # the dict in the other order
    for p, q in zip(full.parameters(), resumed.parameters()):
        assert torch.equal(p, q)


def test_resume_with_other_optimiser_names_says_which(tmp_path):
    path = tmp_path / "c.pt"
    _run(1, path)  # the default step: one optimiser, "model"
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    step = Step(lambda b: {"loss": torch.tensor(0.0)}, {"generator": opt, "discriminator": opt})
    before = model[0].weight.detach().clone()
    with pytest.raises(ValueError, match=r"optimiser states \['model'\].*"
                       r"not in the checkpoint: \['discriminator', 'generator'\]; "
                       r"not in the step: \['model'\].*resume=False"):
        fit(model, blobs(), step, epochs=2, checkpoint=path, resume=True, quiet=True)
    assert torch.equal(model[0].weight, before)  # refused before loading anything


def test_plain_step_with_a_checkpoint_needs_its_optimiser(tmp_path):
    model = nn.Linear(2, 3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    def step(batch):
        loss = F.cross_entropy(model(batch[0]), batch[1])
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {"loss": loss.detach()}

    with pytest.raises(ValueError, match=r"pass it as optimizer=opt, or wrap .* train\.Step"):
        fit(model, blobs(), step, checkpoint=tmp_path / "p.pt", quiet=True)
    fit(model, blobs(), step, optimizer=opt, checkpoint=tmp_path / "p.pt", quiet=True)
    assert list(ckpt.load(tmp_path / "p.pt")["optimizers"]) == ["model"]
    with pytest.raises(TypeError, match=r"takes one optimiser; for several, wrap .*train\.Step"):
        fit(model, blobs(), step, optimizer=[opt, opt], quiet=True)


def test_a_step_and_a_different_optimizer_argument_are_refused():
    model = TwoNets()
    opts = {name: torch.optim.Adam(getattr(model, name).parameters()) for name in ("a", "b")}
    step = two_part_step(model, opts)
    other = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"carries its optimisers \('a': Adam, 'b': Adam\), "
                       r"but optimizer= gives others \(SGD\); leave out optimizer="):
        fit(model, blobs(), step, optimizer=other, quiet=True)
    # the same optimisers again, in any order, are fine (the step's are used)
    fit(model, blobs(), step, optimizer=[opts["b"], opts["a"]], quiet=True)


def test_step_wraps_a_function_and_checks_its_optimisers():
    opt = torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1)
    step = Step(lambda b: {"loss": b[0].sum()}, {"model": opt})
    assert step((torch.ones(2),))["loss"] == 2.0 and step.optimizers == {"model": opt}
    assert "optimizers='model': SGD" in repr(step)
    with pytest.raises(TypeError, match="step function"):
        Step("not a function", {"model": opt})
    with pytest.raises(TypeError, match=r"dict \{name: optimiser\}"):
        Step(lambda b: {}, [opt])
    with pytest.raises(TypeError, match="names .* to torch optimisers"):
        Step(lambda b: {}, {"model": "adam"})


def test_library_steps_carry_their_optimisers():
    from genai_lib import autoregressive, diffusion, gan, vae

    g, d = gan.Generator(2, 2, 8), gan.Discriminator(2, 8)
    og, od = torch.optim.Adam(g.parameters()), torch.optim.Adam(d.parameters())
    model = gan.GAN(g, d)
    assert gan.gan_step(model, og, od).optimizers == {"generator": og, "discriminator": od}
    assert gan.discriminator_step(model, od).optimizers == {"discriminator": od}
    assert gan.generator_step(model, og).optimizers == {"generator": og}
    model = vae.VAE(vae.VAEConfig(data_dim=4, latent_dim=2, hidden=8))
    opt = torch.optim.Adam(model.parameters())
    assert vae.vae_step(model, opt).optimizers == {"model": opt}
    net = nn.Linear(2, 2)
    sgd = torch.optim.SGD(net.parameters(), lr=0.1)
    assert train.supervised_step(net, sgd, F.mse_loss).optimizers == {"model": sgd}
    assert autoregressive.sequence_step(net, sgd).optimizers == {"model": sgd}
    ddpm = diffusion.Diffusion(diffusion.Denoiser(2, 8, 1), 10)
    adam = torch.optim.Adam(ddpm.denoiser.parameters())
    assert diffusion.diffusion_step(ddpm, adam).optimizers == {"denoiser": adam}


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
