"""The package declares what it imports: `pip install genai_lib` alone gives working modules."""

import ast
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]


def top_level_imports(code: str) -> list[str]:
    """The top-level module of every absolute import in `code` (also inside functions)."""
    names = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            names += [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module.split(".")[0])
    return names


def imported_modules() -> dict[str, str]:
    """Top-level modules genai_lib imports -> the first file doing so."""
    found = {}
    for path in sorted((ROOT / "genai_lib").rglob("*.py")):
        for name in top_level_imports(path.read_text()):
            found.setdefault(name, path.relative_to(ROOT).as_posix())
    return found


def _names(requirements: list[str]) -> set[str]:
    """Distribution names of requirement strings, lower case, '_' as '-'."""
    return {re.split(r"[\s;\[=<>!~]", r.strip(), maxsplit=1)[0].lower().replace("_", "-")
            for r in requirements}


def declared(extra: str | None = None) -> set[str]:
    """Distribution names in pyproject.toml's dependencies (and an optional extra's)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = list(project["dependencies"])
    if extra is not None:
        deps += project["optional-dependencies"][extra]
    return _names(deps)


def with_requirements(names: set[str]) -> set[str]:
    """`names` and everything they require, transitively (from the installed metadata)."""
    todo, seen = list(names), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            reqs = requires(name) or []
        except PackageNotFoundError:
            continue
        todo += _names([r for r in reqs if "extra ==" not in r])
    return seen


def notebook_imports() -> dict[str, str]:
    """Top-level modules the chapters import -> the first notebook doing so."""
    found = {}
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                code = "\n".join(l for l in cell.source.splitlines()
                                 if not l.lstrip().startswith(("%", "!")))  # magics
                for name in top_level_imports(code):
                    found.setdefault(name, path.name)
    return found


def test_every_third_party_import_is_declared():
    dists = packages_distributions()
    missing = []
    for module, where in imported_modules().items():
        if module in sys.stdlib_module_names or module in ("genai_lib", "__future__"):
            continue
        names = {d.lower().replace("_", "-") for d in dists.get(module, [module])}
        if not names & declared():
            missing.append(f"{module} (imported in {where}; distribution {sorted(names)})")
    assert not missing, "add to pyproject.toml's dependencies: " + ", ".join(missing)


def test_every_chapter_import_comes_with_genai_lib_book():
    # a notebook's set-up cell installs genai_lib[book] (Colab has none of the extras)
    dists = packages_distributions()
    provided = with_requirements(declared("book"))
    missing = []
    for module, where in notebook_imports().items():
        if module in sys.stdlib_module_names or module == "genai_lib":
            continue
        names = {d.lower().replace("_", "-") for d in dists.get(module, [module])}
        if not names & provided:
            missing.append(f"{module} (imported in {where}; distribution {sorted(names)})")
    assert not missing, "add to pyproject.toml's book extra: " + ", ".join(missing)
    assert {"statsmodels", "imblearn", "myst_nb"} <= set(notebook_imports())


def test_the_check_sees_lazy_imports():
    # imports inside functions count: music21 is only imported inside genai_lib.music
    assert "music21" in imported_modules() and "sklearn" in imported_modules()


def _run(cmd: list, **kw) -> subprocess.CompletedProcess:
    out = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    assert out.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{out.stdout}\n{out.stderr}"
    return out


def test_installed_alone_imports_every_module(tmp_path):
    """pip-install the package's wheel into its own venv (what a Colab install cell does) and
    import every module there, away from the repository.

    The venv is created once per pyproject.toml + constraints.txt (in _build/package-alone),
    so a changed dependency list always gets a fresh one; each run installs the current
    wheel into it. The packages come from pip's cache, /opt/wheels or the registries: this
    test alone may reach the package registries, so its pip runs without the offline guard.
    """
    deps = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()
                          + (ROOT / "constraints.txt").read_bytes()).hexdigest()[:12]
    home = ROOT / "_build" / "package-alone"
    venv = home / deps
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    src = tmp_path / "src"  # a copy: building in place would leave build/ in the repository
    shutil.copytree(ROOT / "genai_lib", src / "genai_lib",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", src)
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
          "-w", tmp_path, src], env=env)
    wheel = next(tmp_path.glob("genai_lib-*.whl"))
    if not python.exists():  # built beside, then renamed: an interrupted build is not reused
        shutil.rmtree(home, ignore_errors=True)
        fresh = home / f"{deps}.tmp"
        _run([sys.executable, "-m", "venv", fresh])
        _run([fresh / "bin" / "python", "-m", "pip", "install", "-q", "--no-compile", "-c",
              ROOT / "constraints.txt", wheel], env=env)
        fresh.rename(venv)
    _run([python, "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", wheel],
         env=env)
    code = ("import importlib, pkgutil, genai_lib\n"
            "names = [m.name for m in pkgutil.walk_packages(genai_lib.__path__, 'genai_lib.')]\n"
            "for name in names:\n"
            "    importlib.import_module(name)\n"
            "print(genai_lib.__file__, len(names))\n")
    out = _run([python, "-c", code], cwd=tmp_path, env=env)  # away from the repository
    where, count = out.stdout.split()
    assert Path(where).is_relative_to(venv), where
    # every file but genai_lib/__init__.py is a module (or subpackage) of its own
    assert int(count) == len(list((ROOT / "genai_lib").rglob("*.py"))) - 1, out.stdout
