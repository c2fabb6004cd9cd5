"""How fast is chapter 3's NumPy backpropagation compared with the same network in torch?

One training step (forward, backward, SGD update) of the digits MLP 64 -> 64 -> 10 (ReLU,
softmax cross-entropy, batch 32, lr 0.1: the sizes of chapter 3), and of a wider 64 -> 256
-> 256 -> 10 net on batches of 256, in float64 on both sides (the NumPy code computes in
float64), on the CPU. NumPy: `genai_lib.scratch.backprop.
loss_and_grads` plus the update `W <- W - lr dW`; torch: `nn.Sequential` + `F.cross_entropy`
+ `loss.backward()` + `torch.optim.SGD`. Both run the same batches, interleaved, best of
several repeats. Run: `python benchmarks/bench_scratch.py`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch
from threadpoolctl import threadpool_limits
from torch import nn
from torch.nn import functional as F

from genai_lib import data, runtime
from genai_lib.scratch.backprop import loss_and_grads
from genai_lib.scratch.layers import init_mlp

# (layer widths, batch size, steps per timed run): chapter 3's digits MLP, then a wider,
# deeper net on bigger batches (where the per-call overhead of torch matters less)
CONFIGS = [([64, 64, 10], 32, 300), ([64, 256, 256, 10], 256, 40)]
LR = 0.1


def numpy_trainer(sizes: list[int], x: np.ndarray, y: np.ndarray,
                  order: np.ndarray) -> Callable[[], np.ndarray]:
    """A function running SGD steps over the batches `order` (S, B) with NumPy backprop;
    it returns the trained last-layer weights (n_in, K)."""
    def run() -> np.ndarray:
        params = init_mlp(sizes, seed=0)
        for idx in order:
            _, grads = loss_and_grads(params, x[idx], y[idx])
            params = [(W - LR * dW, b - LR * db) for (W, b), (dW, db) in zip(params, grads)]
        return params[-1][0]
    return run


def torch_trainer(sizes: list[int], x: torch.Tensor, y: torch.Tensor,
                  order: torch.Tensor) -> Callable[[], np.ndarray]:
    """The same SGD steps with a torch float64 MLP (same initial weights as the NumPy one);
    it returns the trained last-layer weights (n_in, K)."""
    init = init_mlp(sizes, seed=0)

    def run() -> np.ndarray:
        layers: list[nn.Module] = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(n_in, n_out), nn.ReLU()]
        model = nn.Sequential(*layers[:-1]).double()  # no ReLU after the logits
        with torch.no_grad():  # nn.Linear stores W as (out, in): transpose the NumPy (in, out)
            for layer, (W, b) in zip(model[::2], init):
                layer.weight.copy_(torch.from_numpy(W.T))
                layer.bias.copy_(torch.from_numpy(b))
        opt = torch.optim.SGD(model.parameters(), lr=LR)
        for idx in order:
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return model[-1].weight.detach().numpy().T
    return run


def seconds(fn: Callable[[], object]) -> float:
    """Wall-clock seconds of one call of fn."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def benchmark(sizes: list[int], batch: int, steps: int, repeats: int,
              n_threads: int) -> dict[str, float]:
    """Best-of-`repeats` seconds for `steps` SGD steps, NumPy and torch interleaved per round."""
    split = data.digits()
    x_np = split.x_train.numpy().astype(np.float64)
    y_np = split.y_train.numpy().astype(np.int64)
    rng = np.random.default_rng(0)
    order = np.stack([rng.choice(len(x_np), batch, replace=False) for _ in range(steps)])
    ways = {"NumPy": numpy_trainer(sizes, x_np, y_np, order),
            "torch": torch_trainer(sizes, torch.from_numpy(x_np), torch.from_numpy(y_np),
                                   torch.from_numpy(order))}
    best = {name: float("inf") for name in ways}
    # NumPy's BLAS gets as many threads as torch, so neither side has more cores.
    with threadpool_limits(limits=n_threads):
        # Warm-up (first calls pay for lazy initialisation), and a check that both sides
        # compute the same training run: same weights at the end, up to rounding.
        trained = [fn() for fn in ways.values()]
        if not np.allclose(*trained, rtol=1e-6, atol=1e-8):
            raise RuntimeError(f"NumPy and torch training disagree for sizes {sizes}")
        for _ in range(repeats):  # round-robin: a busy phase of the machine hits both
            for name, fn in ways.items():
                best[name] = min(best[name], seconds(fn))
    return best


def main(repeats: int = 12, threads: int | None = None) -> list[float]:
    """Print the Markdown table; returns, per configuration, NumPy time / torch time per step."""
    n_threads = runtime.cpu_threads(threads)
    results = [(sizes, batch, steps, benchmark(sizes, batch, steps, repeats, n_threads))
               for sizes, batch, steps in CONFIGS]
    print("### NumPy-from-scratch backprop vs torch (CPU)\n")
    print(f"One training step (forward, backward, SGD update, ReLU MLP, softmax cross-entropy) "
          f"in float64 on both sides: NumPy is `genai_lib.scratch.backprop.loss_and_grads` plus "
          f"`W - lr * dW`, torch is `nn.Linear` layers, autograd and `optim.SGD`, from the same "
          f"initial weights on the same digit batches (checked: both end with the same weights). The two are interleaved "
          f"and each keeps its best of {repeats} runs, after a warm-up run; torch and NumPy's "
          f"BLAS both use {n_threads} CPU thread(s) (`runtime.cpu_threads()`); "
          f"torch {torch.__version__}, NumPy {np.__version__}. The first row is chapter 3's "
          f"network.\n")
    print("| layer widths | batch | steps per run | NumPy steps/s | torch steps/s | NumPy time / torch time "
          "| target (within 3x) |")
    print("|---|---:|---:|---:|---:|---:|---|")
    ratios = []
    for sizes, batch, steps, best in results:
        ratio = best["NumPy"] / best["torch"]
        ratios.append(ratio)
        print(f"| {'-'.join(map(str, sizes))} | {batch} | {steps} | {steps / best['NumPy']:,.0f} | "
              f"{steps / best['torch']:,.0f} | {ratio:.2f}x | {'met' if ratio <= 3 else 'not met'} |")
    return ratios


if __name__ == "__main__":
    main()
