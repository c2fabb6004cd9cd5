"""Data parallelism: fit under torchrun (2 processes, Gloo on CPU) matches one process."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from genai_lib import checkpoint, distributed
from genai_lib.ddp_demo import train_digits
from genai_lib.models import MLP
from genai_lib.train import batches

TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    env = {**os.environ, "GENAI_DEVICE": "cpu", "OMP_NUM_THREADS": "1"}
    result = subprocess.run([*TORCHRUN, "-m", "genai_lib.ddp_demo", str(out), "3", "64"],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return out, result.stdout


def test_two_processes_match_one(ddp_run):
    out, stdout = ddp_run
    assert "world size 2, backend gloo" in stdout
    assert stdout.count("epoch") == 3  # only rank 0 printed
    ddp = checkpoint.load_model(out / "ddp_final.pt", MLP([64, 128, 10]))
    single, _ = train_digits(epochs=3, batch_size=64, device="cpu")
    for (name, a), b in zip(ddp.state_dict().items(), single.state_dict().values()):
        # same global batch and seed: equal up to float summation order
        assert torch.allclose(a, b, atol=1e-5, rtol=1e-4), name


def test_checkpoint_written_under_ddp_loads_in_one_process(ddp_run):
    out, _ = ddp_run
    state = checkpoint.load(out / "ddp_checkpoint.pt")
    assert state["epoch"] == 3 and len(state["history"]["loss"]) == 3
    model = checkpoint.load_model(out / "ddp_checkpoint.pt", MLP([64, 128, 10]))
    assert model(torch.zeros(1, 64)).shape == (1, 10)


def test_batches_are_split_across_ranks():
    x = torch.arange(8.0)
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    full = [b[0] for b in batches((x,), 4, g())]
    parts = [[b[0] for b in batches((x,), 4, g(), rank=r, world=2)] for r in (0, 1)]
    for whole, a, b in zip(full, *parts):
        assert len(a) == len(b) == 2
        assert sorted((a.tolist() + b.tolist())) == sorted(whole.tolist())


def test_not_distributed_by_default():
    assert not distributed.is_distributed()
    assert distributed.rank() == 0 and distributed.world_size() == 1
    assert distributed.backend_for(torch.device("cpu")) == "gloo"
    assert distributed.backend_for(torch.device("cuda")) == "nccl"


def test_init_outside_torchrun_is_clear_error(monkeypatch):
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(RuntimeError, match="torchrun --nproc_per_node"):
        distributed.init()


def test_incomplete_last_global_batch_is_dropped_under_ddp():
    x = torch.arange(10.0)
    shards = [[b[0] for b in batches((x,), 4, torch.Generator().manual_seed(0), rank=r, world=2)]
              for r in (0, 1)]
    assert [len(b) for b in shards[0]] == [2, 2] == [len(b) for b in shards[1]]  # 10 -> 2 batches of 4
