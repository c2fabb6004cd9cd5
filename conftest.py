"""Test settings: quick profile, no progress bars, headless plots, and no network.

Network: pytest-socket (`--allow-hosts` in pyproject) blocks non-loopback connections in
this process; `tests/offline/sitecustomize.py`, put on PYTHONPATH here, does the same in
every process the tests start (notebook kernels, torchrun workers).
"""

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

# One BLAS thread too (set before NumPy loads; notebook kernels inherit it): the matrices are
# small, and on a busy 2-core machine a 64-D Fréchet distance took 70x longer with two.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import matplotlib  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

OFFLINE = str(Path(__file__).parent / "tests" / "offline")

os.environ.setdefault("GENAI_PROFILE", "quick")
os.environ.setdefault("TQDM_DISABLE", "1")
# Headless plots in this process only: notebook kernels must keep their inline backend, or
# the executed notebooks (which the book shows, see below) would hold no figures.
matplotlib.use("Agg")
# One CPU thread, as runtime.setup() gives every notebook: the models are tiny, and more
# threads only stall on a busy machine.
os.environ.setdefault("GENAI_THREADS", "1")
torch.set_num_threads(int(os.environ["GENAI_THREADS"]))
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (OFFLINE, os.environ.get("PYTHONPATH", "")) if p)
# Trained recipes (genai_lib.recipes.train_recipe) are kept for this session only, in one
# folder that the xdist workers and their notebook kernels share (they inherit it).
if "GENAI_CACHE" not in os.environ:
    os.environ["GENAI_CACHE"] = tempfile.mkdtemp(prefix="genai-test-cache-")
    _OWN_CACHE = os.environ["GENAI_CACHE"]
else:
    _OWN_CACHE = None


# --- One execution per notebook (see _ext/notebook_cache.py) --------------------------------
# nbval runs each chapter cell by cell; when every cell of a notebook passed, the executed
# notebook goes into the execution cache of the book build of this profile, which then
# executes nothing again. A notebook whose code and key are unchanged since its last
# passing run is not collected again (RERUN_NOTEBOOKS=1 runs them all).
ROOT = Path(__file__).parent
sys.path.insert(0, str(ROOT / "_ext"))
import notebook_cache  # noqa: E402

from genai_lib import runtime  # noqa: E402

BOOK_OUTPUT = ROOT / "_build" / "quick" if os.environ["GENAI_PROFILE"] == "quick" else ROOT
SEED = runtime.global_seed()
if SEED:  # another global seed (make claims, CI's second run): its own cache, no book's
    BOOK_OUTPUT = ROOT / "_build" / f"seed-{SEED}-{os.environ['GENAI_PROFILE']}"
CACHE = notebook_cache.cache_dir(BOOK_OUTPUT)
RERUN = os.environ.get("RERUN_NOTEBOOKS", "").strip().lower() in ("1", "true", "yes")
_reused: list[str] = []  # the cached notebooks the arguments name (the controller's list)
_failed: set[str] = set()


def _reusable(path: Path) -> bool:
    """A chapter notebook whose execution under the current key is in the cache."""
    return (path.suffix == ".ipynb" and path.parent == ROOT / "chapters" and not RERUN
            and notebook_cache.is_cached(path, CACHE))


def pytest_configure(config) -> None:
    if hasattr(config, "workerinput"):  # an xdist worker: the controller did this
        return
    workers = config.getoption("numprocesses", None)
    if isinstance(workers, int) and workers > 1:  # notebooks run side by side: share the cores
        os.environ["GENAI_MAX_THREADS"] = str(max(1, (os.cpu_count() or 1) // workers))
    notebook_cache.reset_if_stale(CACHE)
    args = [Path(a.split("::")[0]).resolve() for a in config.args]
    _reused.extend(p.name for p in sorted((ROOT / "chapters").glob("*.ipynb"))
                   if _reusable(p) and any(p == a or a in p.parents for a in args))


def pytest_ignore_collect(collection_path: Path, config):
    return True if _reusable(collection_path) else None


# reuses the recipes the chapters before it trained (train_recipe's saved models): run last
RUN_LAST = ("09b_which_generator.ipynb",)


def pytest_collection_modifyitems(items) -> None:
    """The notebooks first (the longest items), RUN_LAST after them, then the unit tests."""
    def rank(item) -> int:
        if item.path.suffix != ".ipynb":
            return 2
        return 1 if item.path.name in RUN_LAST else 0

    items.sort(key=rank)  # a stable sort: each group keeps its order


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    if not hasattr(item, "cell_num"):  # not a notebook cell
        return (yield)
    start = time.perf_counter()
    try:
        return (yield)
    finally:  # nbval's cell items keep their outputs in test_outputs
        run = item.parent.__dict__.setdefault("_genai_run", {"cells": {}, "seconds": 0.0})
        run["seconds"] += time.perf_counter() - start
        if getattr(item, "test_outputs", None) is not None:
            run["cells"][item.cell_num] = item.test_outputs


def pytest_runtest_logreport(report) -> None:
    if report.failed:  # a notebook with a failing cell is never cached
        _failed.add(report.nodeid.split("::")[0])


def pytest_runtest_teardown(item, nextitem) -> None:
    run = item.parent.__dict__.get("_genai_run")
    if run is None or (nextitem is not None and nextitem.parent is item.parent):
        return
    nb = item.parent.nb
    cells = [c for c in nb.cells if c.cell_type == "code"]
    if (item.nodeid.split("::")[0] in _failed or item.parent.timed_out
            or len(run["cells"]) != len(cells)):
        return
    for n, cell in enumerate(cells, start=1):  # consecutive counts: jupyter-cache checks them
        cell.outputs = run["cells"][n - 1]
        cell.execution_count = n
        for out in cell.outputs:
            if out.output_type == "execute_result":
                out.execution_count = n
    notebook_cache.store(nb, item.parent.path, CACHE, run["seconds"])


def pytest_terminal_summary(terminalreporter) -> None:
    if _reused:
        terminalreporter.write_line(
            f"{len(_reused)} notebooks unchanged since their last passing run (same code, "
            f"genai_lib, requirements and profile) were not executed again: "
            f"{', '.join(_reused)}. RERUN_NOTEBOOKS=1 runs them all.")


def pytest_unconfigure(config) -> None:
    if _OWN_CACHE is not None:  # only the process that made the session's cache removes it
        shutil.rmtree(_OWN_CACHE, ignore_errors=True)
