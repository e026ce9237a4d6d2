"""The package's shape, read from the source: which layer may import which, no import circles, no
gradio below ui/, and the size limits of the style guide. A new module joins a layer by its folder.

Layers (each may import the ones before it, never one after):
    gan_core top level (config, models, data, latent, messages, images, io)
    gan_core.runs       a run folder's files
    gan_core.training   and gan_core.hub, side by side: neither imports the other
    gan_core.demo       what the Space computes
    ui, app.py, train.py, tools/, benchmarks/
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RANK = {"top": 0, "runs": 1, "training": 2, "hub": 2, "demo": 3, "ui": 4}
SIDE_BY_SIDE = {("training", "hub"), ("hub", "training")}


def layer(module: str) -> str | None:
    """The layer of a dotted module name inside this project, None for anything else."""
    parts = module.split(".")
    if parts[0] == "ui":
        return "ui"
    if parts[0] != "gan_core":
        return None
    return parts[1] if len(parts) > 2 and parts[1] in RANK else "top"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[str, bool]]:
    """(module imported, at module level?) for each import of the file; TYPE_CHECKING blocks skipped."""
    tree = ast.parse(path.read_text())
    found = []

    def visit(node, top: bool):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.Import):
                found.extend((alias.name, top) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module:
                found.append((child.module, top))
            inside = top and not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            visit(child, inside)

    visit(tree, True)
    return found


PACKAGE_FILES = sorted([*(ROOT / "gan_core").rglob("*.py"), *(ROOT / "ui").rglob("*.py")])


@pytest.mark.parametrize("path", PACKAGE_FILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_each_module_imports_only_its_own_layer_or_the_ones_below(path):
    here = layer(module_name(path))
    for imported, _ in imports(path):
        if here != "ui":
            assert not imported.startswith(("gradio", "ui")), f"{imported}: gan_core imports no gradio, no ui"
        there = layer(imported)
        if there is None or there == here:
            continue
        assert (here, there) not in SIDE_BY_SIDE and RANK[there] < RANK[here], (
            f"{module_name(path)} ({here}) imports {imported} ({there})"
        )


def test_no_import_circles_among_module_level_imports():
    graph = {}
    for path in PACKAGE_FILES:
        name = module_name(path)
        ours = {imported for imported, top in imports(path) if top and layer(imported) is not None}
        graph[name] = ours - {name}
    state: dict[str, int] = {}  # 1: on the path being walked, 2: done

    def walk(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                raise AssertionError("import circle: " + " -> ".join([*path, node, target]))
            if target in graph and state.get(target) != 2:
                walk(target, [*path, node])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            walk(node, [])


@pytest.mark.parametrize("path", PACKAGE_FILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_no_module_is_over_300_lines(path):
    assert len(path.read_text().splitlines()) <= 300


def test_the_entry_points_stay_thin():
    assert len((ROOT / "app.py").read_text().splitlines()) <= 150


@pytest.mark.parametrize("path", PACKAGE_FILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_module_imports(path):
    """Each module's imports resolve (a moved module leaves no import of its old name behind)."""
    importlib.import_module(module_name(path))
