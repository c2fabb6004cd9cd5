"""Test settings: quick profile, no progress bars, headless plots, and no network.

Network: pytest-socket (`--allow-hosts` in pyproject) blocks non-loopback connections in
this process; `tests/offline/sitecustomize.py`, put on PYTHONPATH here, does the same in
every process the tests start (notebook kernels, torchrun workers).
"""

import os
from pathlib import Path

# One BLAS thread too (set before NumPy loads; notebook kernels inherit it): the matrices are
# small, and on a busy 2-core machine a 64-D Fréchet distance took 70x longer with two.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

OFFLINE = str(Path(__file__).parent / "tests" / "offline")

os.environ.setdefault("GENAI_PROFILE", "quick")
os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
# One CPU thread, as runtime.setup() gives every notebook: the models are tiny, and more
# threads only stall on a busy machine.
os.environ.setdefault("GENAI_THREADS", "1")
torch.set_num_threads(int(os.environ["GENAI_THREADS"]))
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (OFFLINE, os.environ.get("PYTHONPATH", "")) if p)
