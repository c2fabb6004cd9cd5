"""`make bench`: run every benchmark and time every notebook per profile; writes RESULTS.md.

Each benchmark script prints a Markdown table; notebooks are executed with nbclient in a
fresh kernel per run, in the quick and in the full profile (GENAI_BENCH_PROFILES to change).
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import torch
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def time_notebook(path: Path, profile: str) -> float:
    """Seconds to execute one notebook top to bottom in `profile` (fresh kernel)."""
    os.environ["GENAI_PROFILE"] = profile
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=1800, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - start


def machine() -> str:
    """One line naming the machine the numbers were measured on."""
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU threads, {gpu}; "
            f"torch {torch.__version__}, Python {platform.python_version()}")


def main() -> None:
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    lines = ["# Benchmark results", "", f"Measured by `make bench` on {machine()}, "
             f"{time.strftime('%Y-%m-%d')}.", ""]
    for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        print(f"running {script.name} ...", flush=True)
        out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                             cwd=ROOT, check=True).stdout
        lines += [f"## {script.stem}", "", out.strip(), ""]
    profiles = os.environ.get("GENAI_BENCH_PROFILES", "quick,full").split(",")
    notebooks = sorted((ROOT / "chapters").glob("*.ipynb"))
    rows, totals = [], {p: 0.0 for p in profiles}
    for nb in notebooks:
        times = []
        for p in profiles:
            print(f"executing {nb.name} ({p}) ...", flush=True)
            t = time_notebook(nb, p)
            totals[p] += t
            times.append(f"{t:.1f}")
        rows.append(f"| {nb.stem} | " + " | ".join(times) + " |")
    lines += ["## Notebook execution time (seconds)", "",
              "| notebook | " + " | ".join(profiles) + " |",
              "|---|" + "---:|" * len(profiles), *rows,
              "| **total** | " + " | ".join(f"**{totals[p]:.1f}**" for p in profiles) + " |", ""]
    (ROOT / "benchmarks" / "RESULTS.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
