"""The seed sweep: run notebooks under several global seeds and report every claim that fails.

Every qualitative claim of the book is asserted in a hidden cell of its notebook. Such a claim
must hold on any machine, and another CPU changes the order of float sums, which changes a
training run about as much as another seed does. So this runs the notebooks (nbval, the same
executor as `make test`) once for each seed in `--seeds` with `GENAI_SEED` set, and lists each
cell that fails under some seed, with its error's last line.

    python tools/claims.py --seeds 0 1 2                       # every notebook, quick profile
    python tools/claims.py chapters/04_deep_learning.ipynb --profile full --seeds 0 1

`make claims` runs the first line. Exit status 1 if any claim failed under any seed.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


ANSI = re.compile(r"\x1b\[[0-9;]*m|#x1B\[[0-9;]*m")


def summary(text: str) -> str:
    """The failing line of a cell's traceback ('---->' in IPython's) and its error's first
    line, e.g. 'assert a < b, t  ->  AssertionError: (0.91, 0.90)'."""
    lines = [ln.strip() for ln in ANSI.sub("", text).splitlines() if ln.strip()]
    marked = [ln.split("---->", 1)[1].strip() for ln in lines if ln.startswith("---->")]
    code = re.sub(r"^\d+\s+", "", marked[-1]) if marked else ""
    errors = [ln for ln in lines if re.match(r"^\w*(Error|Exception)\b", ln)]
    error = errors[-1] if errors else (lines[-1] if lines else "(no message)")
    return (f"{code}  ->  {error}" if code else error)[:300]


def run_seed(seed: int, profile: str, notebooks: list[str], jobs: str,
             report: Path) -> tuple[dict[str, str], int, float]:
    """Run the notebooks under one seed; returns ({cell id: error}, cells run, seconds)."""
    env = dict(os.environ, GENAI_SEED=str(seed), GENAI_PROFILE=profile, RERUN_NOTEBOOKS="1")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", jobs, "--dist", "loadfile",
                    "-p", "no:randomly", f"--junitxml={report}", *notebooks],
                   cwd=ROOT, env=env, stdout=subprocess.DEVNULL, check=False)
    seconds = time.perf_counter() - start
    if not report.exists():
        raise RuntimeError(f"pytest wrote no report for seed {seed}: run it by hand to see why")
    failures: dict[str, str] = {}
    cells = 0
    for case in ET.parse(report).iter("testcase"):
        cells += 1
        for bad in list(case.findall("failure")) + list(case.findall("error")):
            failures[f"{case.get('classname')}::{case.get('name')}"] = summary(
                (bad.get("message") or "") + "\n" + (bad.text or ""))
    return failures, cells, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", default=["chapters"],
                        help="notebooks or folders (default: chapters)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--profile", choices=("quick", "full"), default="quick")
    parser.add_argument("--jobs", default="auto", help="pytest-xdist processes")
    args = parser.parse_args(argv)
    if len(set(args.seeds)) < 2:
        parser.error("a sweep needs at least two different --seeds")
    out = ROOT / "_build" / "claims"
    out.mkdir(parents=True, exist_ok=True)
    failed: dict[str, dict[int, str]] = {}
    for seed in args.seeds:
        report = out / f"{args.profile}-seed{seed}.xml"
        report.unlink(missing_ok=True)
        failures, cells, seconds = run_seed(seed, args.profile, args.notebooks, args.jobs,
                                            report)
        print(f"seed {seed}: {cells} cells, {len(failures)} failed, {seconds:.0f} s", flush=True)
        for cell, message in failures.items():
            failed.setdefault(cell, {})[seed] = message
    if not failed:
        print(f"every claim held under seeds {args.seeds} ({args.profile} profile)")
        return 0
    print(f"\n{len(failed)} cells failed under some seed ({args.profile} profile):")
    for cell, by_seed in sorted(failed.items()):
        print(f"- {cell}: seeds {sorted(by_seed)}")
        for seed, message in sorted(by_seed.items()):
            print(f"    seed {seed}: {message}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
