"""How many training steps per second do the book's GANs and VAEs take, on CPU and on CUDA?

Each model is built at the sizes its chapter uses (chapter 5b's digit GANs, chapter 6's GAN
and VAE) and trained with its step function (`genai_lib.gan.gan_step`,
`genai_lib.vae.vae_step`) on in-memory batches of the 8x8 digits, the way `train.fit`
calls it. The models are interleaved round-robin and each keeps its best of several runs.
Run: `python benchmarks/bench_generative.py`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from genai_lib import data, gan, runtime
from genai_lib.train import Batch, StepFn
from genai_lib.vae import VAE, VAEConfig, vae_step


@dataclass
class Case:
    """One model to time: a name, its batch size and a builder of its step function."""

    name: str
    batch_size: int
    build: Callable[[torch.device], StepFn]
    condition: str = ""  # "labels": batches (x, y); "onehot": batches (x, one_hot(y)); "": (x,)


def digit_gan(latent_dim: int, hidden: int, lr: float, n_classes: int = 0,
              dropout: float = 0.0) -> Callable[[torch.device], StepFn]:
    """Builder of a digits GAN's step function (non-saturating loss, Adam with beta1 = 0.5)."""
    def build(device: torch.device) -> StepFn:
        torch.manual_seed(0)
        g = gan.Generator(latent_dim, 64, hidden, n_classes=n_classes, output="sigmoid").to(device)
        d = gan.Discriminator(64, hidden, n_classes=n_classes, dropout=dropout).to(device)
        opt_g = torch.optim.Adam(g.parameters(), lr=lr, betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(d.parameters(), lr=lr, betas=(0.5, 0.999))
        return gan.gan_step(gan.GAN(g, d), opt_g, opt_d, "ns")
    return build


def digit_vae(latent_dim: int, hidden: int, cond_dim: int = 0) -> Callable[[torch.device], StepFn]:
    """Builder of a digits VAE's step function (Bernoulli decoder, Adam lr 1e-3)."""
    def build(device: torch.device) -> StepFn:
        torch.manual_seed(0)
        model = VAE(VAEConfig(data_dim=64, latent_dim=latent_dim, hidden=hidden,
                              cond_dim=cond_dim)).to(device)
        return vae_step(model, torch.optim.Adam(model.parameters(), lr=1e-3))
    return build


CASES = [
    Case("GAN, digits (ch. 5b: latent 16, hidden 128, D dropout 0.3)", 32,
         digit_gan(16, 128, 1e-3, dropout=0.3)),
    Case("conditional GAN, digits (ch. 5b: + 10 classes)", 32,
         digit_gan(16, 128, 1e-3, n_classes=10, dropout=0.3), condition="labels"),
    Case("GAN, digits (ch. 6: latent 8, hidden 256)", 64, digit_gan(8, 256, 2e-4)),
    Case("VAE, digits (ch. 6: 2-D code, hidden 256)", 64, digit_vae(2, 256)),
    Case("conditional VAE, digits (ch. 6: + one-hot label)", 64, digit_vae(2, 256, cond_dim=10),
         condition="onehot"),
]


def batches(case: Case, x: torch.Tensor, y: torch.Tensor, steps: int,
            device: torch.device) -> list[Batch]:
    """`steps` shuffled batches for `case`, already on `device` (as `fit` keeps in-memory data)."""
    gen = torch.Generator().manual_seed(0)
    out: list[Batch] = []
    while len(out) < steps:
        order = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x) - case.batch_size + 1, case.batch_size):
            idx = order[i:i + case.batch_size]
            if case.condition == "labels":
                out.append((x[idx], y[idx]))
            elif case.condition == "onehot":
                out.append((x[idx], F.one_hot(y[idx], 10).float()))
            else:
                out.append((x[idx],))
    return [tuple(t.to(device) for t in b) for b in out[:steps]]


def timed(step: StepFn, work: list[Batch], device: torch.device) -> float:
    """Seconds to run `step` on every batch of `work` (waiting for the GPU at the end)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for batch in work:
        step(batch)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def benchmark(device: torch.device, steps: int, repeats: int) -> dict[str, float]:
    """Best-of-`repeats` seconds for `steps` steps of every case on `device`, interleaved."""
    split = data.digits()
    x, y = split.x_train, split.y_train
    runs = []
    for case in CASES:
        step, work = case.build(device), batches(case, x, y, steps, device)
        timed(step, work[: max(1, steps // 4)], device)  # warm-up: allocator, kernels, Adam state
        runs.append((case.name, step, work))
    best = {name: math.inf for name, _, _ in runs}
    for _ in range(repeats):  # round-robin: a busy phase of the machine hits every model alike
        for name, step, work in runs:
            best[name] = min(best[name], timed(step, work, device))
    return best


def main(cpu_steps: int = 100, cuda_steps: int = 300, repeats: int = 7,
         threads: int | None = None) -> dict[str, dict[str, float]]:
    """Print the Markdown table; returns steps per second per device and model."""
    n_threads = runtime.cpu_threads(threads)
    n_train = len(data.digits().x_train)
    devices = [(torch.device("cpu"), cpu_steps)]
    if torch.cuda.is_available():
        devices.append((torch.device("cuda"), cuda_steps))
    results = {str(dev): {name: steps / sec for name, sec in benchmark(dev, steps, repeats).items()}
               for dev, steps in devices}
    gpu = (f"; GPU: {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "")
    print("### GAN and VAE training steps per second\n")
    print(f"One training step is one call of the model's step function, as `train.fit` makes "
          f"it: for a GAN (`gan.gan_step`, non-saturating loss) one discriminator and one "
          f"generator update with Adam, for a VAE (`vae.vae_step`) one ELBO gradient step; "
          f"sizes and batch sizes are those of the chapters, data the {n_train:,} training "
          f"digits already on the device. The models are interleaved and each keeps its best "
          f"of {repeats} runs of {cpu_steps} (CPU) or {cuda_steps} (CUDA) steps, after a "
          f"warm-up; torch uses {n_threads} CPU thread(s) (`runtime.cpu_threads()`); "
          f"torch {torch.__version__}{gpu}. Seconds per epoch: {n_train:,} digits, "
          f"batches as `fit` makes them.\n")
    print("| model | batch | CPU steps/s | CPU s/epoch | CUDA steps/s | CUDA s/epoch |")
    print("|---|---:|---:|---:|---:|---:|")
    for case in CASES:
        per_epoch = math.ceil(n_train / case.batch_size)  # fit keeps the last, smaller batch
        cells = []
        for dev in ("cpu", "cuda"):
            rate = results.get(dev, {}).get(case.name)
            cells += (["no GPU here", "-"] if rate is None
                      else [f"{rate:,.0f}", f"{per_epoch / rate:.2f}"])
        print(f"| {case.name} | {case.batch_size} | " + " | ".join(cells) + " |")
    return results


if __name__ == "__main__":
    main()
