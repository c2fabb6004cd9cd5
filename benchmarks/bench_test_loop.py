"""The test loop against its targets: `make test` from a fresh clone, then again.

A fresh clone of this repository's HEAD (committed work only) gets an empty .venv, so the
first run installs the packages from the pip cache, executes every notebook once (nbval,
quick profile; the quick book build reuses those executions) and checks the book in
Chromium; the second run re-executes only what changed (nothing). Also printed: the quick
profile's notebook times from the first run's execution cache. Prints a Markdown table.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))
import notebook_cache  # noqa: E402

TARGETS = {"first": 300.0, "second": 180.0, "quick profile": 90.0}  # seconds


def make_test(clone: Path) -> float:
    """Seconds for `make test` in `clone` (fails loudly if the tests fail)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GENAI_", "VIRTUAL_ENV"))}
    start = time.perf_counter()
    out = subprocess.run(["make", "test"], cwd=clone, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if out.returncode:
        sys.exit(f"make test failed in {clone}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return seconds


def quick_profile_seconds(clone: Path) -> dict[str, float]:
    """Each notebook's cell time in the quick profile, from the clone's execution cache."""
    from jupyter_cache import get_cache

    cache = get_cache(str(notebook_cache.cache_dir(clone / "_build" / "quick")))
    return {Path(r.uri).stem: float(r.data.get("execution_seconds") or 0.0)
            for r in cache.list_cache_records()}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "book"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        first = make_test(clone)
        second = make_test(clone)
        notebooks = quick_profile_seconds(clone)
    quick = sum(notebooks.values())
    rows = [("`make test`, fresh clone (install included)", first, TARGETS["first"]),
            ("`make test`, second run", second, TARGETS["second"]),
            ("quick profile, all notebooks (sum of cell times)", quick,
             TARGETS["quick profile"])]
    print(f"{os.cpu_count()} CPU threads; `make test` uses them all (pytest-xdist)\n")
    print("| what | measured (s) | target (s) | met |\n|---|---:|---:|---|")
    for name, value, target in rows:
        print(f"| {name} | {value:.0f} | {target:.0f} | {'yes' if value <= target else 'no'} |")
    print("\n| notebook (quick profile) | seconds |\n|---|---:|")
    for name, seconds in sorted(notebooks.items(), key=lambda kv: -kv[1]):
        print(f"| {name} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
