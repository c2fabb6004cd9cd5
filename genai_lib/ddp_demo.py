"""The data-parallel example of the "Scaling up" appendix. Launch it with

    torchrun --standalone --nproc_per_node=2 -m genai_lib.ddp_demo OUT_DIR

optionally followed by EPOCHS and BATCH_SIZE (defaults 3 and 64).
Every process trains the same digits MLP through `fit` on its share of
each batch; rank 0 prints the history and writes the checkpoint and the
final weights to OUT_DIR.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch
from torch.nn import functional as F

from genai_lib import checkpoint, data, distributed, runtime
from genai_lib.models import MLP
from genai_lib.train import History, fit


def train_digits(
    epochs: int = 3,
    batch_size: int = 64,
    n: int = 1280,
    checkpoint_path: str | Path | None = None,
    device: str | None = None,
) -> tuple[MLP, History]:
    """Train a 64-128-10 MLP on the first n training digits with SGD;
    the same seed on every rank."""
    runtime.seed_everything(0)
    split = data.digits()
    model = MLP([64, 128, 10])
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    history = fit(
        model,
        (split.x_train[:n], split.y_train[:n]),
        loss_fn=F.cross_entropy,
        optimizer=opt,
        epochs=epochs,
        batch_size=batch_size,
        seed=0,
        quiet=True,
        checkpoint=checkpoint_path,
        device=device,
    )
    return model, history


def main(out: str, epochs: str = "3", batch_size: str = "64") -> None:
    """Entry point for torchrun: train, then rank 0 reports and saves
    to `out`."""
    dev = distributed.init()
    out_dir = Path(out)
    start = time.perf_counter()
    model, history = train_digits(
        int(epochs),
        int(batch_size),
        checkpoint_path=out_dir / "ddp_checkpoint.pt",
        device=str(dev),
    )
    seconds = time.perf_counter() - start
    if distributed.rank() == 0:
        checkpoint.save_model(out_dir / "ddp_final.pt", model)
        print(
            f"world size {distributed.world_size()}, backend "
            f"{distributed.backend_for(dev)}, device {dev.type}"
        )
        for epoch, loss in enumerate(history["loss"], 1):
            print(f"epoch {epoch}: mean training loss {loss:.4f}")
        print(f"training took {seconds:.2f} s")
    distributed.shutdown()


if __name__ == "__main__":
    main(*sys.argv[1:])
