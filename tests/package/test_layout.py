"""The package's layout: no import circles, small modules, no type checks on estimators."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "jointeffects"


def _module_name(path: Path) -> str:
    parts = ("jointeffects", *path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, ast.Module]:
    return {_module_name(p): ast.parse(p.read_text()) for p in sorted(SRC.rglob("*.py"))}


def _imports(name: str, tree: ast.Module, known: set[str]) -> set[str]:
    """The package's modules that ``name`` imports anywhere (also inside functions), except
    for type checking only."""
    guarded = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for n in ast.walk(node)
    }
    out = set()
    for node in ast.walk(tree):
        if id(node) in guarded:
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        out |= {t for t in targets if t in known and t != name}
    return out


def _graph() -> dict[str, set[str]]:
    trees = _modules()
    known = set(trees)
    graph = {name: _imports(name, tree, known) for name, tree in trees.items()}
    # importing a module runs its package's __init__ first
    for name in list(graph):
        parts = name.split(".")
        parents = {".".join(parts[:i]) for i in range(2, len(parts))}
        graph[name] |= parents - {name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_checker_finds_a_circle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_module_imports_itself_through_others():
    graph = _graph()
    # a package's __init__ re-exporting its own modules is not a circle of concepts
    for name in graph:
        graph[name] = {m for m in graph[name] if not m.startswith(name + ".")}
    assert _cycle(graph) is None


def test_estimate_layers_import_downwards_only():
    """regimes < learners < estimators < uncertainty < modelfile (the single modules beside
    them, such as diagnostics and curves, sit where their imports put them)."""
    order = ["regimes", "learners", "estimators", "uncertainty", "modelfile"]
    graph = _graph()
    for name, targets in graph.items():
        parts = name.split(".")
        if len(parts) < 4 or parts[1] != "estimate" or parts[2] not in order:
            continue
        rank = order.index(parts[2])
        for target in targets:
            t = target.split(".")
            if len(t) >= 3 and t[1] == "estimate" and t[2] in order:
                assert t[2] in order[: rank + 1], f"{name} imports {target}"


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: p.name)
def test_modules_stay_small(path):
    assert len(path.read_text().splitlines()) <= 420, path


ESTIMATOR_CLASSES = {
    "JointEffectEstimator",
    "StructuredEstimator",
    "AdditiveProjection",
    "GaussianNoiseJointEstimator",
    "JointTopline",
    "PooledBaseline",
    "ObservationalBaseline",
}


def test_no_isinstance_on_concrete_estimators_outside_the_estimators():
    found = []
    for name, tree in _modules().items():
        if name.startswith("jointeffects.estimate.estimators"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "isinstance":
                used = {n.id for n in ast.walk(node.args[1]) if isinstance(n, ast.Name)}
                found += [f"{name}: {c}" for c in used & ESTIMATOR_CLASSES]
    assert found == []
