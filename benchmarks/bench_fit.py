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


def benchmark(epochs: int = 20, batch_size: int = 64, repeats: int = 15) -> dict[str, float]:
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


def main(epochs: int = 20, batch_sizes: tuple[int, ...] = (64, 256), repeats: int = 15,
         threads: int | None = 1) -> dict[int, dict[str, float]]:
    """Run the benchmark for each batch size and print its table; returns, per batch size,
    the speed ratios fit / hand loop and fit / DataLoader loop.

    Every batch size trains for the same number of steps (that of `epochs` epochs at the
    first batch size). threads: torch CPU threads (1: a tiny model gains nothing from more,
    and on a busy machine extra threads only wait for each other); None keeps the default.
    """
    if threads is not None:
        torch.set_num_threads(threads)
    n = len(data.digits().x_train)
    steps = epochs * -(-n // batch_sizes[0])
    print(f"digits MLP {SIZES}, Adam, {n} training examples, {steps} steps per run, best of "
          f"{repeats} | torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
          f"{platform.machine()}, device cpu")
    results = {}
    for batch_size in batch_sizes:
        per_epoch = -(-n // batch_size)
        best = benchmark(max(1, round(steps / per_epoch)), batch_size, repeats)
        print(f"\nbatch size {batch_size} ({max(1, round(steps / per_epoch)) * per_epoch} steps)")
        print(table(best, max(1, round(steps / per_epoch)) * per_epoch))
        results[batch_size] = {
            "fit / hand loop": best["hand loop (tensors)"] / best["fit"],
            "fit / DataLoader loop": best["hand loop (DataLoader)"] / best["fit"]}
        for name, value in results[batch_size].items():
            print(f"{name} speed: {value:.2f}x")
    return results


if __name__ == "__main__":
    main()
