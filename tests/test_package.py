"""The package declares what it imports: `pip install genai_lib` alone gives working modules."""

import ast
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_modules() -> dict[str, str]:
    """Top-level modules genai_lib imports (also inside functions) -> the first file doing so."""
    found = {}
    for path in sorted((ROOT / "genai_lib").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], path.relative_to(ROOT).as_posix())
    return found


def declared() -> set[str]:
    """Distribution names in pyproject.toml's dependencies, lower case."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return {d.split(";")[0].split("[")[0].split("=")[0].split(">")[0].strip().lower()
            for d in deps}


def test_every_third_party_import_is_declared():
    dists = packages_distributions()
    missing = []
    for module, where in imported_modules().items():
        if module in sys.stdlib_module_names or module in ("genai_lib", "__future__"):
            continue
        names = {d.lower() for d in dists.get(module, [module])}
        if not names & declared():
            missing.append(f"{module} (imported in {where}; distribution {sorted(names)})")
    assert not missing, "add to pyproject.toml's dependencies: " + ", ".join(missing)


def test_the_check_sees_lazy_imports():
    # imports inside functions count: music21 is only imported inside genai_lib.music
    assert "music21" in imported_modules() and "sklearn" in imported_modules()
