"""Mixed precision and torch.compile as options of fit (GPU features; bf16 also runs on CPU)."""

import pytest
import torch
from torch.nn import functional as F

from genai_lib import runtime
from genai_lib.models import MLP
from genai_lib.train import fit

CUDA = torch.cuda.is_available()
NO_CUDA = "needs a CUDA GPU (none on this machine); the code path is the same as on CPU"


def _train(precision="fp32", compile=False, device="cpu", epochs=3):
    runtime.seed_everything(0)
    x = torch.randn(256, 8)
    y = (x[:, 0] > 0).long()
    model = MLP([8, 32, 2])
    history = fit(model, (x, y), loss_fn=F.cross_entropy, epochs=epochs, batch_size=64, lr=1e-2,
                  precision=precision, compile=compile, device=device, quiet=True)
    return model, history


def test_bf16_autocast_trains_on_cpu():
    _, fp32 = _train("fp32")
    model, bf16 = _train("bf16")
    assert bf16["loss"][-1] < bf16["loss"][0]            # it learns
    assert abs(bf16["loss"][-1] - fp32["loss"][-1]) < 0.05  # and close to full precision
    assert next(model.parameters()).dtype == torch.float32  # weights stay fp32 (master copy)


def test_unknown_precision_is_clear_error():
    with pytest.raises(ValueError, match=r"precision must be one of \['fp32', 'bf16', 'fp16'\], got 'fp8'"):
        _train("fp8")


def test_precision_with_own_step_is_refused():
    model = MLP([2, 2])
    with pytest.raises(ValueError, match="default step only"):
        fit(model, (torch.zeros(4, 2),), step=lambda b: {"loss": torch.zeros(())},
            precision="bf16", quiet=True)


@pytest.mark.skipif(not CUDA, reason=NO_CUDA)
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_on_cuda(precision):
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    _, history = _train(precision, device="cuda")
    assert history["loss"][-1] < history["loss"][0]


@pytest.mark.skipif(not CUDA, reason=NO_CUDA)
def test_compile_on_cuda_matches_eager():
    _, eager = _train(device="cuda")
    _, compiled = _train(compile=True, device="cuda")
    assert abs(eager["loss"][-1] - compiled["loss"][-1]) < 1e-3
