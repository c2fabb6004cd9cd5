"""Checkpoints: written atomically, loaded safely (`weights_only=True`), versioned.

`save`/`load` read and write any payload; `save_model`/`load_model` the weights alone;
`save_training`/`resume_training` everything `train.fit` needs to continue a run exactly.
"""

from __future__ import annotations

import os
import pickle
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
        why = unreadable(err, path)
        raise Unreadable(f"{str(path)!r} is not a readable genai_lib checkpoint ({why}); "
                         f"delete it and train again", why) from err
    version = payload.get("format_version") if isinstance(payload, dict) else None
    if version != FORMAT_VERSION:
        why = f"checkpoint format {version!r}, this genai_lib reads format {FORMAT_VERSION}"
        raise Unreadable(f"{str(path)!r} has {why}; re-create the checkpoint with this version",
                         why)
    return payload


class Unreadable(ValueError):
    """A file `load` cannot read as a checkpoint; `reason` says why in a few words."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def unreadable(err: BaseException, path: Path) -> str:
    """Why torch.load could not read `path`, in a few words (never torch's advice to load
    with weights_only=False: that would run whatever code the file holds)."""
    try:
        size = path.stat().st_size
    except OSError:
        size = None
    if size == 0:
        return "the file is empty (0 bytes)"
    if isinstance(err, pickle.UnpicklingError) and "weights only" in str(err).lower():
        return ("it holds objects other than tensors, numbers and plain containers, or is "
                "not a torch file at all; loading such objects could run code, so they are "
                "refused")
    lines = [line for line in str(err).splitlines()
             if line.strip() and "weights_only" not in line]
    detail = lines[0][:200] if lines else "no further detail"
    if isinstance(err, (EOFError, RuntimeError)) or "zip" in detail.lower():
        return f"truncated or not a torch file: {type(err).__name__}: {detail}"
    return f"{type(err).__name__}: {detail}"


def state_mismatch(state: object, model: nn.Module) -> list[str]:
    """How a state dict differs from `model`'s: missing and unexpected entries, other
    shapes (at most a few of each, in words); [] when it fits."""
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        return [f"the weights are not a dict of tensors ({type(state).__name__})"]
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    extra = [k for k in state if k not in own]
    shapes = [f"{k} {tuple(state[k].shape)} instead of {tuple(v.shape)}"
              for k, v in own.items() if k in state and state[k].shape != v.shape]
    out = []
    for what, items in (("missing", missing), ("not in this model", extra),
                        ("other shapes", shapes)):
        if items:
            more = f" and {len(items) - 3} more" if len(items) > 3 else ""
            out.append(f"{what}: {', '.join(items[:3])}{more}")
    return out


def non_finite(state: dict[str, torch.Tensor]) -> list[str]:
    """The names of the floating tensors of a state dict that hold NaN or inf."""
    return [k for k, v in state.items()
            if isinstance(v, torch.Tensor) and v.is_floating_point()
            and not bool(torch.isfinite(v).all())]


def check_rng_state(state: object) -> None:
    """A clear ValueError unless `state` can be restored by `set_rng_state` (the generators
    are left as they were)."""
    before = rng_state()
    try:
        set_rng_state(state)
    except Exception as err:
        raise ValueError(f"the random state is damaged ({type(err).__name__}: "
                         f"{(str(err).splitlines() or [''])[0][:120]})") from err
    finally:
        set_rng_state(before)


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
    fix = ("resume with the model and step that wrote it, or pass resume=False to start "
           "afresh (the checkpoint is then overwritten)")
    keys = ("model", "optimizers", "epoch", "history", "shuffle_rng", "rng")
    absent = [k for k in keys if k not in state]
    if absent:
        raise ValueError(
            f"{str(path)!r} is not a training checkpoint (no {', '.join(absent)}; it holds "
            f"{sorted(k for k in state if k != 'format_version')}: written by save_model?); "
            f"{fix}")
    saved = state["optimizers"]
    missing, extra = sorted(set(optimizers) - set(saved)), sorted(set(saved) - set(optimizers))
    if missing or extra:
        raise ValueError(
            f"{str(path)!r} holds the optimiser states {sorted(saved)}, but this step's "
            f"optimisers are {sorted(optimizers)} (not in the checkpoint: {missing}; not in "
            f"the step: {extra}); resume with the step that wrote it, or pass resume=False "
            f"to start afresh")
    differences = state_mismatch(state["model"], model)
    if differences:
        raise ValueError(f"{str(path)!r} holds the weights of another model ("
                         f"{'; '.join(differences)}); {fix}")
    for name, opt in optimizers.items():
        problem = _optimizer_mismatch(saved[name], opt)
        if problem:
            raise ValueError(f"{str(path)!r}: the optimiser {name!r} was another one when the "
                             f"checkpoint was written ({problem}); {fix}")
    model.load_state_dict(state["model"])
    for name, opt in optimizers.items():
        opt.load_state_dict(saved[name])
    generator.set_state(state["shuffle_rng"])
    set_rng_state(state["rng"])
    return state["history"], state["epoch"]


def _optimizer_mismatch(saved: object, opt: torch.optim.Optimizer) -> str:
    """How a saved optimiser state differs from `opt` (its kind or its parameters), or ''."""
    groups = saved.get("param_groups") if isinstance(saved, dict) else None
    if not isinstance(groups, list) or "state" not in saved:
        return "its state is not an optimiser's state dict"
    if len(groups) != len(opt.param_groups):
        return f"{len(groups)} parameter groups, now {len(opt.param_groups)}"
    for old, new in zip(groups, opt.param_groups):
        settings_old, settings_new = set(old) - {"params"}, set(new) - {"params"}
        if settings_old != settings_new:
            kind = type(opt).__name__
            saved_only = sorted(settings_old - settings_new)
            if saved_only:
                return (f"the saved one has the settings {', '.join(saved_only[:4])}, "
                        f"which this {kind} has not")
            return (f"this {kind} has the settings "
                    f"{', '.join(sorted(settings_new - settings_old)[:4])}, which the saved "
                    f"one has not")
        if len(old["params"]) != len(new["params"]):
            return (f"it updated {len(old['params'])} tensors, this {type(opt).__name__} "
                    f"updates {len(new['params'])}")
    return ""


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
    differences = state_mismatch(state, model)
    if differences:
        raise ValueError(f"the weights in {str(path)!r} do not fit this model (different sizes "
                         f"or layers?): {'; '.join(differences)}")
    model.load_state_dict(state)
    return model
