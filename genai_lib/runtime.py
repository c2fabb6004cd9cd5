"""Runtime: device choice, seeding, the run profile and the cache folder.

This is the only module with global state (the profile and device come from
environment variables so the same notebook runs unchanged everywhere).
"""

from __future__ import annotations

import os
import platform
import random
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch

from genai_lib.checks import positive_int

PROFILES = ("quick", "full")
DEVICES = ("cpu", "cuda", "mps")
T = TypeVar("T")


def _available(name: str) -> bool:
    """True if the torch backend `name` ('cpu', 'cuda', 'mps') can be used here."""
    if name == "cpu":
        return True
    if name == "cuda":
        return torch.cuda.is_available()
    if name == "mps":
        return bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    return False


def device(name: str | None = None) -> torch.device:
    """The device to compute on: `name`, else $GENAI_DEVICE, else CUDA -> MPS -> CPU."""
    choice = name if name is not None else os.environ.get("GENAI_DEVICE", "").strip()
    if not choice:
        return torch.device(next(d for d in ("cuda", "mps", "cpu") if _available(d)))
    kind = choice.split(":")[0].lower()
    if kind not in DEVICES:
        raise ValueError(
            f"unknown device {choice!r}: expected one of {', '.join(DEVICES)} "
            f"(e.g. GENAI_DEVICE=cpu), or leave it unset to pick automatically"
        )
    if not _available(kind):
        usable = [d for d in DEVICES if _available(d)]
        raise RuntimeError(
            f"device {choice!r} is not available on this machine; usable here: "
            f"{', '.join(usable)}. Unset GENAI_DEVICE or set it to one of those."
        )
    return torch.device(choice.lower())


def global_seed() -> int:
    """The run's global seed from $GENAI_SEED (default 0), added to every training seed.

    `GENAI_SEED=1` re-runs a whole notebook with other initial weights, dropout masks and
    batch orders (`seed_everything`, `train.fit`), while the data splits and evaluation draws
    stay put: a claim that holds only at one seed shows up (`make claims`).
    """
    value = os.environ.get("GENAI_SEED", "0").strip() or "0"
    try:
        return positive_int("GENAI_SEED", int(value), low=0)
    except ValueError:
        raise ValueError(f"GENAI_SEED must be a non-negative integer, got {value!r} "
                         f"(e.g. GENAI_SEED=1), or leave it unset for 0") from None


def training_seed(seed: int) -> int:
    """The seed training uses for `seed`: seed + global_seed() ($GENAI_SEED)."""
    return positive_int("seed", seed, low=0) + global_seed()


def seed_everything(seed: int) -> int:
    """Seed Python's `random`, NumPy and torch (CPU and CUDA) with training_seed(seed), i.e.
    seed + $GENAI_SEED; returns the seed used."""
    seed = training_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return seed


def generator(seed: int | None) -> torch.Generator | None:
    """A CPU random generator seeded with `seed` (an int), or None (the global one) for None.

    The samplers draw through it: a seed gives the same samples on every device, and leaves
    the global random state untouched."""
    if seed is None:
        return None
    return torch.Generator().manual_seed(positive_int("seed", seed, low=0))


def randn(shape: tuple[int, ...], gen: torch.Generator | None,
          device: torch.device | str | None = None) -> torch.Tensor:
    """Standard normal noise of `shape` from `gen` (drawn on the CPU) or the global generator."""
    if gen is None:
        return torch.randn(shape, device=device)
    return torch.randn(shape, generator=gen).to(device or "cpu")


def deterministic(enabled: bool = True) -> None:
    """Ask torch for deterministic algorithms (slower; errors where none exists)."""
    torch.use_deterministic_algorithms(enabled, warn_only=False)
    torch.backends.cudnn.benchmark = not enabled
    if enabled:  # cuBLAS needs this to be deterministic on CUDA >= 10.2
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def profile() -> str:
    """The run profile from $GENAI_PROFILE: 'quick' (tests, CI) or 'full' (the book, default)."""
    value = os.environ.get("GENAI_PROFILE", "full").strip().lower() or "full"
    if value not in PROFILES:
        raise ValueError(
            f"GENAI_PROFILE={value!r} is not a profile: expected 'quick' or 'full'"
        )
    return value


def pick(quick: T, full: T) -> T:
    """The value for the current profile: `quick` in the quick profile, else `full`."""
    return quick if profile() == "quick" else full


def cache_dir(create: bool = True) -> Path:
    """Folder for cached datasets and checkpoints: $GENAI_CACHE or ~/.cache/genai_lib;
    created unless create=False (a clear error if it cannot be)."""
    value = os.environ.get("GENAI_CACHE", "").strip()
    path = Path(value).expanduser() if value else Path.home() / ".cache" / "genai_lib"
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as err:  # a file in the way, a read-only disk, no permission
            raise OSError(err.errno, f"the cache folder {str(path)!r} cannot be created "
                          f"({err.strerror or err}): set GENAI_CACHE to a folder you can "
                          f"write, e.g. GENAI_CACHE=/tmp/genai_cache") from err
    return path


def cpu_threads(threads: int | None = None) -> int:
    """Set torch's CPU threads: `threads`, else $GENAI_THREADS, else 1; returns the number.

    The book's models are small: on them, extra threads cost more in synchronisation than
    they save (measured: a digits-CNN step took 2.2 ms on 1 thread, 21 ms on 2, on 2 cores).
    """
    if threads is not None:
        n = positive_int("threads", threads)
    else:
        text = os.environ.get("GENAI_THREADS", "1").strip() or "1"
        try:
            n = positive_int("GENAI_THREADS", int(text))
        except ValueError:
            raise ValueError(f"GENAI_THREADS must be a positive integer (CPU threads, e.g. "
                             f"GENAI_THREADS=1), got {text!r}; or leave it unset for 1") from None
    # GENAI_MAX_THREADS: set by the tests when notebooks run side by side (pytest-xdist);
    # two processes of two threads each on two cores wait on each other (measured: 9x slower)
    n = min(n, int(os.environ.get("GENAI_MAX_THREADS", n)))
    torch.set_num_threads(n)
    return n


def setup(seed: int = 0, style: bool = True, threads: int | None = None) -> torch.device:
    """Seed everything, set CPU threads, apply the plot style, print two short lines (the run's
    settings, then the library versions); returns the device."""
    dev = device()
    seed = seed_everything(seed)
    n_threads = cpu_threads(threads)
    if style:
        from genai_lib.plot import use_style

        use_style()
    print(
        f"device={dev.type} | profile={profile()} | seed={seed} | threads={n_threads}\n"
        f"python {platform.python_version()} | numpy {np.__version__} | "
        f"torch {torch.__version__}"
    )
    return dev
