"""How much does `genai_lib.train.fit` cost compared with plain PyTorch?

The same digits MLP, the same data and the same number of optimiser steps, trained three
ways in one run: `fit`, a hand-written loop over in-memory tensors (shuffled index
slicing, the same thing `fit` does), and a hand-written loop over a torch `DataLoader`
of a `TensorDataset` (what most tutorials write). Each is repeated and the best time is
kept (the least disturbed by other processes). Run: `python benchmarks/bench_fit.py`.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from genai_lib import data, runtime
from genai_lib.models import MLP
from genai_lib.train import fit

SIZES = [64, 64, 10]  # the digits MLP of chapter 4


def make_model(seed: int = 0) -> tuple[nn.Module, torch.optim.Optimizer]:
    """A fresh digits MLP (64 -> 64 -> 10) and its Adam optimiser, seeded."""
    torch.manual_seed(seed)
    model = MLP(SIZES)
    return model, torch.optim.Adam(model.parameters(), lr=1e-3)


def run_fit(x: torch.Tensor, y: torch.Tensor, epochs: int, batch_size: int) -> None:
    """Train with genai_lib.train.fit (quiet: no progress bar)."""
    model, opt = make_model()
    fit(model, (x, y), loss_fn=F.cross_entropy, optimizer=opt, epochs=epochs,
        batch_size=batch_size, device="cpu", quiet=True)


def run_hand_loop(x: torch.Tensor, y: torch.Tensor, epochs: int, batch_size: int) -> None:
    """Train with a plain loop over in-memory tensors (shuffled index slicing)."""
    model, opt = make_model()
    generator = torch.Generator().manual_seed(0)
    n = len(x)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        for i in range(0, n, batch_size):
            idx = order[i:i + batch_size]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()


def run_dataloader_loop(x: torch.Tensor, y: torch.Tensor, epochs: int, batch_size: int) -> None:
    """Train with a plain loop over DataLoader(TensorDataset(x, y), shuffle=True)."""
    model, opt = make_model()
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(0))
    model.train()
    for _ in range(epochs):
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()


def best_time(fn: Callable[[], None]) -> float:
    """Wall-clock seconds of one call of fn."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def benchmark(epochs: int = 20, batch_size: int = 64, repeats: int = 5) -> dict[str, float]:
    """Best-of-`repeats` seconds for each way of training; the ways are interleaved per round."""
    split = data.digits()
    x, y = split.x_train, split.y_train
    ways = {"fit": run_fit, "hand loop (tensors)": run_hand_loop,
            "hand loop (DataLoader)": run_dataloader_loop}
    for fn in ways.values():  # warm-up: first calls pay for lazy initialisation
        fn(x, y, 1, batch_size)
    best = {name: float("inf") for name in ways}
    for _ in range(repeats):  # round-robin, so slow phases of a busy machine hit all alike
        for name, fn in ways.items():
            best[name] = min(best[name], best_time(lambda: fn(x, y, epochs, batch_size)))
    return best


def table(best: dict[str, float], steps: int) -> str:
    """A Markdown table: time, steps per second and speed relative to fit."""
    rows = ["| way | best time (s) | steps/s | fit speed / this speed |",
            "|---|---:|---:|---:|"]
    for name, seconds in best.items():
        rows.append(f"| {name} | {seconds:.3f} | {steps / seconds:,.0f} | "
                    f"{seconds / best['fit']:.2f}x |")
    return "\n".join(rows)


def main(epochs: int = 20, batch_size: int = 64, repeats: int = 5) -> dict[str, float]:
    """Run the benchmark and print the table; returns the ratios fit/hand and fit/DataLoader."""
    n = len(data.digits().x_train)
    steps = epochs * -(-n // batch_size)
    print(f"digits MLP {SIZES}, {n} training examples, batch {batch_size}, {epochs} epochs "
          f"= {steps} steps, best of {repeats} | torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {platform.processor() or platform.machine()}, "
          f"device cpu (GENAI_DEVICE ignored: {runtime.device().type} available)")
    best = benchmark(epochs, batch_size, repeats)
    print(table(best, steps))
    ratios = {"fit / hand loop": best["hand loop (tensors)"] / best["fit"],
              "fit / DataLoader loop": best["hand loop (DataLoader)"] / best["fit"]}
    for name, value in ratios.items():
        print(f"{name} speed: {value:.2f}x")
    return ratios


if __name__ == "__main__":
    main()
