"""Data parallelism with PyTorch's own engine: `torchrun` + DistributedDataParallel.

A script launched as `torchrun --nproc_per_node=N script.py` calls `init()` once; `fit`
then notices the process group and shards each global batch across the processes,
lets DDP average the gradients, and prints and writes checkpoints on rank 0 only.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch import nn

from genai_lib import runtime


def is_distributed() -> bool:
    """True inside a process group (launched by torchrun and `init()` called)."""
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    """This process's rank (0 when not distributed)."""
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    """Number of processes (1 when not distributed)."""
    return dist.get_world_size() if is_distributed() else 1


def backend_for(device: torch.device) -> str:
    """The collective backend for a device: NCCL for CUDA, Gloo for CPU."""
    return "nccl" if device.type == "cuda" else "gloo"


def init() -> torch.device:
    """Join the process group torchrun describes (RANK, WORLD_SIZE, ...); returns this rank's device."""
    missing = [v for v in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR") if v not in os.environ]
    if missing:
        raise RuntimeError(f"distributed.init() needs the variables torchrun sets ({', '.join(missing)} "
                           f"missing): launch with `torchrun --nproc_per_node=2 your_script.py`")
    dev = runtime.device()
    if dev.type == "cuda":
        dev = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(dev)
    if not is_distributed():
        dist.init_process_group(backend=backend_for(dev))
    return dev


def wrap(model: nn.Module, device: torch.device) -> nn.Module:
    """`model` on `device`, wrapped in DistributedDataParallel when in a process group."""
    model.to(device)
    if not is_distributed():
        return model
    ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


def unwrap(model: nn.Module) -> nn.Module:
    """The plain module inside a DDP wrapper (for saving and evaluation)."""
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def shutdown() -> None:
    """Leave the process group (call at the end of a torchrun script)."""
    if is_distributed():
        dist.barrier()
        dist.destroy_process_group()
