"""The package has no import cycles, and every module imports in a fresh interpreter.

The import graph is read from the source with ``ast``: every import counts, also those inside
functions and under ``TYPE_CHECKING`` (a cycle hidden in a function is still two modules that need
each other). Importing ``a.b.c`` runs the ``__init__`` of ``a.b`` too, so that is an edge as well,
except towards the importing module's own packages, which are already being imported.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT

PACKAGE = ROOT / "vidwatch"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def imported_names(path: Path, name: str, known: set[str]) -> set[str]:
    """Modules of the package that ``path`` (module ``name``) imports, wherever the import statement is."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                targets.append(candidate if candidate in known else base)
    edges: set[str] = set()
    own = {name, *ancestors(name)}
    for target in targets:
        while target and target not in known:  # `import vidwatch.x.y` where y is a name, not a module
            target = target.rpartition(".")[0]
        if target:
            edges |= {m for m in (target, *ancestors(target)) if m in known and m not in own}
    return edges


def import_graph() -> dict[str, set[str]]:
    modules = package_modules()
    known = set(modules)
    return {name: imported_names(path, name, known) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_package_import_graph_has_no_cycle() -> None:
    graph = import_graph()
    assert "vidwatch.cli" in graph and "vidwatch.pipeline" in graph["vidwatch.cli"]  # the graph is read
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle_through_a_function_level_import(tmp_path: Path) -> None:
    """The check itself: two modules that import each other, one of them only inside a function."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.b import helper\n")
    (pkg / "b.py").write_text("def helper():\n    from pkg import a\n    return a\n")
    modules = {"pkg": pkg / "__init__.py", "pkg.a": pkg / "a.py", "pkg.b": pkg / "b.py"}
    graph = {n: imported_names(p, n, set(modules)) for n, p in modules.items()}
    assert graph["pkg.a"] == {"pkg.b"} and graph["pkg.b"] == {"pkg.a"}
    assert find_cycle(graph) in (["pkg.a", "pkg.b", "pkg.a"], ["pkg.b", "pkg.a", "pkg.b"])


def test_every_module_imports_in_a_fresh_interpreter() -> None:
    """Each module imports on its own; only a missing optional extra (a third-party package) may stop one."""
    names = sorted(package_modules())
    script = (
        "import importlib, sys\n"
        "for name in sys.argv[1:]:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ModuleNotFoundError as exc:\n"
        "        if (exc.name or '').split('.')[0] == 'vidwatch':\n"
        "            print(f'{name}: {exc!r}')\n"
        "    except Exception as exc:\n"
        "        print(f'{name}: {exc!r}')\n"
    )
    names = [n for n in names if n not in ("vidwatch.__main__",)]  # running it would run the command line
    result = subprocess.run([sys.executable, "-c", script, *names], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "", result.stdout


def test_no_output_reads_the_config() -> None:
    """Sinks read the gate's records and their own settings, never the config's thresholds."""
    graph = import_graph()
    readers = sorted(name for name, imports in graph.items()
                     if name.startswith("vidwatch.sinks") and "vidwatch.config" in imports)
    assert readers == []


DECLARED = {"cv2", "numpy", "yaml", "av", "tqdm"}
"""What the core may import besides the standard library: pyproject.toml's dependencies."""
OPTIONAL = {
    "matplotlib": {"vidwatch.plot"},  # the plot extra, imported where a plot is drawn
}
"""Third-party modules allowed only in certain modules (optional extras, imported where needed)."""
EXTRA_PACKAGES = ("vidwatch.serve", "vidwatch.distributed")
"""The optional extras' own packages: they may import their extra's libraries."""


def test_the_core_imports_only_the_standard_library_and_declared_dependencies() -> None:
    """A module that imports something pyproject.toml does not declare works on a developer's machine
    and fails on a fresh install (it happened once with scipy)."""
    undeclared = []
    for name, path in package_modules().items():
        if name.startswith(EXTRA_PACKAGES):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                tops = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                tops = [node.module.split(".")[0]]
            else:
                continue
            for top in tops:
                if top == "vidwatch" or top in sys.stdlib_module_names or top in DECLARED:
                    continue
                if name in OPTIONAL.get(top, ()):
                    continue
                undeclared.append(f"{name}: {top}")
    assert undeclared == [], f"imports not declared in pyproject.toml's dependencies: {undeclared}"
