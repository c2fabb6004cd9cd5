"""Test settings: quick profile, no progress bars, headless plots, and no network.

Network: pytest-socket (`--allow-hosts` in pyproject) blocks non-loopback connections in
this process; `tests/offline/sitecustomize.py`, put on PYTHONPATH here, does the same in
every process the tests start (notebook kernels, torchrun workers).
"""

import os
from pathlib import Path

OFFLINE = str(Path(__file__).parent / "tests" / "offline")

os.environ.setdefault("GENAI_PROFILE", "quick")
os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (OFFLINE, os.environ.get("PYTHONPATH", "")) if p)
