"""The book's structure: every notebook is in the table of contents and stored without outputs."""

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
