"""Checkpoints: written atomically, loaded safely (`weights_only=True`), versioned.

`save`/`load` read and write any payload; `save_model`/`load_model` the weights alone;
`save_training`/`resume_training` everything `train.fit` needs to continue a run exactly.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from genai_lib.files import atomic_write

FORMAT_VERSION = 2  # 2: a training checkpoint stores its optimiser states by name


def rng_state() -> dict[str, Any]:
    """The state of Python's, NumPy's and torch's random generators, as safe-to-load types."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore generators saved by `rng_state`."""
    random.setstate(state["python"])
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save(path: str | os.PathLike, payload: dict[str, Any]) -> Path:
    """Write `payload` to `path` atomically (`files.atomic_write`), creating its folder."""
    if not isinstance(payload, dict):
        raise TypeError(f"payload must be a dict such as {{'model': model.state_dict()}}, "
                        f"got {type(payload).__name__}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    versioned = {"format_version": FORMAT_VERSION, **payload}
    return atomic_write(path, lambda f: torch.save(versioned, f))


def load(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by `save`, refusing pickled code (`weights_only=True`)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no checkpoint at {str(path)!r}: check the path, or train first to write one"
        )
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # truncated file, foreign pickle, code objects ...
        raise ValueError(
            f"{str(path)!r} is not a readable genai_lib checkpoint ({type(err).__name__}: "
            f"{str(err).splitlines()[0][:200]}); delete it and train again"
        ) from err
    version = payload.get("format_version") if isinstance(payload, dict) else None
    if version != FORMAT_VERSION:
        raise ValueError(
            f"{str(path)!r} has checkpoint format {version!r}, this genai_lib reads format "
            f"{FORMAT_VERSION}; re-create the checkpoint with this version"
        )
    return payload


def save_training(path: str | os.PathLike, model: nn.Module,
                  optimizers: dict[str, torch.optim.Optimizer], epochs_done: int,
                  history: dict[str, list[float]], generator: torch.Generator) -> Path:
    """Write everything `resume_training` needs to continue exactly: weights, optimiser states
    by name, history, epochs done and the random states (the shuffle order's too)."""
    return save(path, {
        "model": model.state_dict(),
        "optimizers": {name: opt.state_dict() for name, opt in optimizers.items()},
        "epoch": epochs_done, "history": history, "shuffle_rng": generator.get_state(),
        "rng": rng_state()})


def resume_training(path: str | os.PathLike, model: nn.Module,
                    optimizers: dict[str, torch.optim.Optimizer],
                    generator: torch.Generator) -> tuple[dict[str, list[float]], int]:
    """Load a checkpoint written by `save_training` into the model, the optimisers (paired by
    name) and the random generators; returns (history so far, epochs done)."""
    # on the CPU: RNG states must stay CPU tensors; load_state_dict copies to the model's device
    state = load(path, map_location="cpu")
    saved = state["optimizers"]
    missing, extra = sorted(set(optimizers) - set(saved)), sorted(set(saved) - set(optimizers))
    if missing or extra:
        raise ValueError(
            f"{str(path)!r} holds the optimiser states {sorted(saved)}, but this step's "
            f"optimisers are {sorted(optimizers)} (not in the checkpoint: {missing}; not in "
            f"the step: {extra}); resume with the step that wrote it, or pass resume=False "
            f"to start afresh")
    model.load_state_dict(state["model"])
    for name, opt in optimizers.items():
        opt.load_state_dict(saved[name])
    generator.set_state(state["shuffle_rng"])
    set_rng_state(state["rng"])
    return state["history"], state["epoch"]


def save_model(path: str | os.PathLike, model: nn.Module) -> Path:
    """Save only a model's weights (atomic)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return save(path, {"model": model.state_dict()})


def load_model(path: str | os.PathLike, model: nn.Module) -> nn.Module:
    """Load weights saved by `save_model` or `fit` into `model` (in place); returns it."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    payload = load(path)
    if "model" not in payload:
        raise KeyError(f"{str(path)!r} holds no model weights (expected a 'model' entry, found "
                       f"{sorted(k for k in payload if k != 'format_version')}); was it written "
                       f"by save_model or fit?")
    state = payload["model"]
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise ValueError(
            f"the weights in {str(path)!r} do not fit this model (different sizes or "
            f"layers?): {str(err).splitlines()[0]}"
        ) from err
    return model
