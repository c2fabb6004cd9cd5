import random

import numpy as np
import pytest
import torch

from genai_lib import runtime


def test_device_default_is_usable(monkeypatch):
    monkeypatch.delenv("GENAI_DEVICE", raising=False)
    dev = runtime.device()
    assert dev.type in runtime.DEVICES
    torch.zeros(1, device=dev)  # really usable


def test_device_override_cpu(monkeypatch):
    monkeypatch.setenv("GENAI_DEVICE", "cpu")
    assert runtime.device() == torch.device("cpu")


def test_device_unknown_name_is_clear_error(monkeypatch):
    monkeypatch.setenv("GENAI_DEVICE", "tpu")
    with pytest.raises(ValueError, match=r"unknown device 'tpu'.*cpu, cuda, mps"):
        runtime.device()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_device_unavailable_is_clear_error():
    with pytest.raises(RuntimeError, match=r"'cuda' is not available.*usable here: cpu"):
        runtime.device("cuda")


def test_seed_everything_reproduces_all_generators():
    def draw():
        return random.random(), np.random.rand(), torch.rand(1).item()

    runtime.seed_everything(123)
    first = draw()
    runtime.seed_everything(123)
    assert draw() == first
    runtime.seed_everything(124)
    assert draw() != first


@pytest.mark.parametrize("bad", [-1, 1.5, "0", True])
def test_seed_rejects_bad_values(bad):
    with pytest.raises(ValueError, match="non-negative integer"):
        runtime.seed_everything(bad)


def test_profile_default_and_override(monkeypatch):
    monkeypatch.delenv("GENAI_PROFILE", raising=False)
    assert runtime.profile() == "full"
    assert runtime.pick(quick=1, full=2) == 2
    monkeypatch.setenv("GENAI_PROFILE", "QUICK")
    assert runtime.profile() == "quick"
    assert runtime.pick(quick=1, full=2) == 1


def test_profile_bad_value_is_clear_error(monkeypatch):
    monkeypatch.setenv("GENAI_PROFILE", "fast")
    with pytest.raises(ValueError, match=r"'fast' is not a profile.*'quick' or 'full'"):
        runtime.profile()


def test_setup_prints_two_short_lines(capsys, monkeypatch):
    monkeypatch.setenv("GENAI_DEVICE", "cpu")
    dev = runtime.setup(seed=7, style=False)
    out = capsys.readouterr().out.strip().splitlines()
    assert dev == torch.device("cpu")
    assert len(out) == 2 and all(len(line) <= 77 for line in out)  # fits the book's column
    assert "device=cpu" in out[0] and "seed=7" in out[0] and "torch" in out[1]


def test_cache_dir_honours_env(tmp_path, monkeypatch):
    monkeypatch.setenv("GENAI_CACHE", str(tmp_path / "c"))
    assert runtime.cache_dir() == tmp_path / "c"
    assert (tmp_path / "c").is_dir()


def test_import_is_silent():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", "import genai_lib, genai_lib.runtime, "
                          "genai_lib.train, genai_lib.plot, genai_lib.data, genai_lib.metrics; "
                          "import matplotlib as m; print(m.rcParams['axes.grid'])"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"  # no global plot style on import, no prints


def test_cpu_threads_default_env_and_errors(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.delenv("GENAI_THREADS", raising=False)
        monkeypatch.delenv("GENAI_MAX_THREADS", raising=False)  # set under pytest-xdist
        assert runtime.cpu_threads() == 1 and torch.get_num_threads() == 1
        monkeypatch.setenv("GENAI_THREADS", "2")
        assert runtime.cpu_threads() == 2 and torch.get_num_threads() == 2
        assert runtime.cpu_threads(1) == 1
        monkeypatch.setenv("GENAI_MAX_THREADS", "1")  # notebooks side by side: the cap wins
        assert runtime.cpu_threads(2) == 1 and torch.get_num_threads() == 1
        monkeypatch.setenv("GENAI_THREADS", "many")
        with pytest.raises(ValueError, match="GENAI_THREADS.*positive integer.*'many'"):
            runtime.cpu_threads()
    finally:
        torch.set_num_threads(before)


def test_global_seed_is_added_to_every_training_seed(monkeypatch):
    monkeypatch.delenv("GENAI_SEED", raising=False)
    assert runtime.global_seed() == 0 and runtime.training_seed(5) == 5
    runtime.seed_everything(3)
    a = torch.rand(2)
    monkeypatch.setenv("GENAI_SEED", "2")
    assert runtime.training_seed(5) == 7
    assert runtime.seed_everything(1) == 3  # the seed used: 1 + GENAI_SEED
    assert torch.equal(torch.rand(2), a)  # seed 1 under GENAI_SEED=2 is seed 3


def test_setup_prints_the_seed_it_used(monkeypatch, capsys):
    monkeypatch.setenv("GENAI_SEED", "4")
    runtime.setup(seed=0, style=False)
    assert "seed=4" in capsys.readouterr().out


@pytest.mark.parametrize("bad", ["-1", "one", "1.5"])
def test_bad_global_seed_is_clear_error(monkeypatch, bad):
    monkeypatch.setenv("GENAI_SEED", bad)
    with pytest.raises(ValueError, match=r"GENAI_SEED must be a non-negative integer.*GENAI_SEED=1"):
        runtime.global_seed()
