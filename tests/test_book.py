"""The book's structure: every notebook is in the table of contents and stored without outputs."""

import ast
import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        for chapter in part["chapters"]:
            files.append(chapter["file"])
            files += [s["file"] for s in chapter.get("sections", [])]
    return files


def test_every_toc_entry_exists():
    for f in toc_files():
        matches = [p for p in (ROOT / (f + ext) for ext in (".md", ".ipynb")) if p.exists()]
        assert matches, f"_toc.yml lists {f!r} but there is no {f}.md or {f}.ipynb"


def test_every_notebook_is_in_the_toc():
    listed = set(toc_files())
    for nb in sorted((ROOT / "chapters").rglob("*.ipynb")):
        if ".ipynb_checkpoints" in nb.parts:
            continue
        rel = nb.relative_to(ROOT).with_suffix("").as_posix()
        assert rel in listed, f"{rel}.ipynb is not listed in _toc.yml"


def test_notebooks_are_stored_without_outputs():
    for nb in sorted((ROOT / "chapters").rglob("*.ipynb")):
        cells = json.loads(nb.read_text())["cells"]
        dirty = [i for i, c in enumerate(cells)
                 if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))]
        assert not dirty, f"{nb.name} is stored with outputs in cells {dirty}; clear them"


def test_notebooks_start_with_setup_cell():
    for nb in sorted((ROOT / "chapters").rglob("*.ipynb")):
        code = [c for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code"]
        first = "".join(code[0]["source"]) if code else ""
        assert "runtime.setup(" in first, f"{nb.name}: first code cell must call runtime.setup()"


def test_requirements_are_pinned():
    lines = [l.strip() for l in (ROOT / "requirements.txt").read_text().splitlines()]
    reqs = [l for l in lines if l and not l.startswith(("#", "-"))]
    assert "torch==2.13.0" in reqs
    loose = [r for r in reqs if "==" not in r]
    assert not loose, f"unpinned requirements: {loose}"


def code_cells(nb: Path) -> list[dict]:
    """The code cells of a notebook."""
    return [c for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code"]


NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb"))


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_solutions_hide_code_and_output(nb):
    """A solution cell (it asserts or hides a check_ verdict) is `hide-cell`: with
    `hide-input` its output, the answer, would show under the exercise before a click."""
    for c in code_cells(nb):
        src, tags = "".join(c["source"]), c.get("metadata", {}).get("tags", [])
        solution = re.search(r"^assert check_", src, re.M)
        if solution or ("hide-input" in tags and re.search(r"\bcheck_\w+\(", src)):
            assert "hide-cell" in tags or "remove-cell" in tags, (
                f"{nb.name}: solution cell {src[:40]!r} is tagged {tags}: use hide-cell")


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_fits_the_column(nb):
    """Code lines are at most 77 characters: wider scrolls sideways in the book at 1280 px."""
    wide = [line for c in code_cells(nb) for line in "".join(c["source"]).splitlines()
            if len(line) > 77]
    assert not wide, f"{nb.name}: {len(wide)} code lines over 77 characters, e.g. {wide[0]!r}"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_figures_have_at_most_two_panels_per_row(nb):
    """plt.subplots(rows, cols) with cols <= 2: wider rows shrink below readable size."""
    for c in code_cells(nb):
        src = "".join(c["source"])
        for m in re.finditer(r"subplots\(\s*(\d+)\s*,\s*(\d+)|ncols\s*=\s*(\d+)", src):
            cols = int(m.group(2) or m.group(3))
            assert cols <= 2, f"{nb.name}: {m.group(0)!r} puts {cols} panels in a row"


SIZES_HEADER = "# Profile-dependent sizes, in one place (quick: the tests; full: the book)."
FULL_GUARD = re.compile(r'^\s*if runtime\.profile\(\) == "full":')


def sizes_problems(notebook: dict) -> list[str]:
    """Where a notebook (its JSON as a dict) sets profile-dependent values wrongly; [] if right.

    Every `runtime.pick(...)` and `runtime.profile()` value sits in one code cell, among the
    first three (set-up, imports, sizes), whose first line is SIZES_HEADER; there each is
    assigned to an UPPER_CASE name with a comment. Elsewhere only the guard
    `if runtime.profile() == "full":` (a claim checked in the full run) may appear.
    """
    code = ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]
    marked = [i for i, src in enumerate(code) if src.split("\n", 1)[0] == SIZES_HEADER]
    problems = []
    if len(marked) > 1:
        problems.append(f"{len(marked)} code cells start with the sizes header; merge them")
    uses_pick = any("runtime.pick(" in src for src in code)
    if uses_pick and not marked:
        problems.append(f"runtime.pick is used but no code cell starts with {SIZES_HEADER!r}")
    if marked and marked[0] > 2:
        problems.append(f"the sizes cell is code cell {marked[0] + 1}: put it right after "
                        "the set-up and imports cells")
    for i, src in enumerate(code):
        if i in marked:
            continue
        for line in src.splitlines():
            if "runtime.pick(" in line or ("runtime.profile()" in line
                                           and not FULL_GUARD.match(line)):
                problems.append(f"code cell {i + 1} sets a profile-dependent value outside "
                                f"the sizes cell: {line.strip()!r}; name it there")
    for i in marked[:1]:
        lines = code[i].splitlines()
        for node in ast.parse(code[i]).body:
            if not (isinstance(node, ast.Assign) and "runtime.pick(" in ast.unparse(node.value)):
                continue
            names = [ast.unparse(t) for t in node.targets]
            if not all(re.fullmatch(r"[A-Z][A-Z0-9_]*", n) for n in names):
                problems.append(f"sizes cell: {', '.join(names)} should be UPPER_CASE")
            span = lines[max(node.lineno - 2, 1): node.end_lineno]  # line above, its own
            if not any("#" in line for line in span):
                problems.append(f"sizes cell: {', '.join(names)} needs a short comment")
    return problems


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_profile_sizes_live_in_one_marked_cell(nb):
    """A reader finds every quick/full difference of a chapter in one cell near its top."""
    problems = sizes_problems(json.loads(nb.read_text()))
    assert not problems, f"{nb.name}: " + "; ".join(problems)


def test_sizes_check_catches_strays():
    def notebook(*sources: str) -> dict:
        return {"cells": [{"cell_type": "code", "source": s} for s in sources]}

    setup, imports = "device = runtime.setup(seed=0)", "import torch"
    sizes = SIZES_HEADER + "\nEPOCHS = runtime.pick(quick=1, full=2)  # training epochs"
    guard = 'if runtime.profile() == "full":\n    assert loss < 1'
    assert sizes_problems(notebook(setup, imports, sizes, "fit(epochs=EPOCHS)", guard)) == []
    assert sizes_problems(notebook(setup, imports)) == []  # no profile-dependent value
    cases = {  # the notebook's later cells (or whole), and the problem the check names
        "outside the sizes cell: 'n = runtime.pick(quick=1, full=2)'":
            notebook(setup, imports, sizes, "n = runtime.pick(quick=1, full=2)"),
        "outside the sizes cell: 'fit(epochs=runtime.pick(quick=1, full=2))'":
            notebook(setup, imports, sizes, "fit(epochs=runtime.pick(quick=1, full=2))"),
        "outside the sizes cell: \"n = 5 if runtime.profile() == 'quick' else 9\"":
            notebook(setup, imports, sizes, "n = 5 if runtime.profile() == 'quick' else 9"),
        "no code cell starts with":
            notebook(setup, "n = runtime.pick(quick=1, full=2)"),
        "2 code cells start with the sizes header":
            notebook(setup, sizes, sizes),
        "put it right after the set-up and imports cells":
            notebook(setup, imports, "x = 1", sizes),
        "epochs should be UPPER_CASE":
            notebook(setup, imports, sizes.replace("EPOCHS", "epochs")),
        "EPOCHS needs a short comment":
            notebook(setup, imports, sizes.split("  #")[0]),
    }
    for problem, nb in cases.items():
        found = sizes_problems(nb)
        assert any(problem in p for p in found), (problem, found)
