"""The import graph of our packages: no cycle, no import running up a floor, no oversized module.

Every module of the six packages is parsed with ast (imports at module level and inside
functions alike); the graph is printed when an assertion fails.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("foundation", "shebao", "pipelines", "expectations", "certificates", "dashboards")
ALLOWED = {
    "shebao": {"pipelines", "dashboards", "certificates", "expectations", "foundation"},
    "pipelines": {"expectations", "foundation"},
    "dashboards": {"certificates", "foundation"},
    "certificates": {"foundation"},
    "expectations": {"foundation"},
    "foundation": set(),
}
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The longest module of ours that `name` (a dotted import target) refers to."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in MODULES:
            return candidate
        parts.pop()
    return None


def _imports(module: str, path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    targets: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            # `from package import submodule` imports the submodule; `from module import name` the module
            for alias in node.names:
                full = f"{prefix}.{alias.name}"
                targets.add(full if full in MODULES else prefix)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__" and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                targets.add(arg.value)
            elif isinstance(arg, ast.JoinedStr) and arg.values and isinstance(arg.values[0], ast.Constant):
                targets.add(str(arg.values[0].value).rstrip("."))
    edges = {_resolve(t) for t in targets if t.split(".")[0] in PACKAGES}
    edges.discard(None)
    edges.discard(module)
    return {e for e in edges if e is not None}


def module_graph() -> dict[str, set[str]]:
    return {m: _imports(m, p) for m, p in MODULES.items()}


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {p: set() for p in PACKAGES}
    for src, dsts in graph.items():
        for dst in dsts:
            a, b = src.split(".")[0], dst.split(".")[0]
            if a != b:
                out[a].add(b)
    return out


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path (first node repeated at the end), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def _show(graph: dict[str, set[str]]) -> str:
    return "\n".join(f"  {src} -> {', '.join(sorted(dsts)) or '-'}" for src, dsts in sorted(graph.items()))


GRAPH = module_graph()


def test_the_graph_sees_every_package_and_known_edges():
    """The parser finds real imports (a broken parser would make every other assertion vacuous)."""
    assert {m.split(".")[0] for m in MODULES} == set(PACKAGES)
    assert "foundation.paths" in GRAPH["foundation.serving"]
    assert "pipelines.run" in GRAPH["shebao.cli"] or any(m.startswith("pipelines") for m in GRAPH["shebao.cli"])
    assert "foundation.serving" in GRAPH["certificates.data"]


def test_no_module_cycle():
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or []) + "\n" + _show(GRAPH)


def test_no_package_cycle():
    packages = package_graph(GRAPH)
    cycle = find_cycle(packages)
    assert cycle is None, "package cycle: " + " -> ".join(cycle or []) + "\n" + _show(packages)


def test_imports_only_go_down_the_floors():
    packages = package_graph(GRAPH)
    wrong = sorted(
        f"{src} -> {dst}"
        for src, dsts in GRAPH.items()
        for dst in dsts
        if src.split(".")[0] != dst.split(".")[0] and dst.split(".")[0] not in ALLOWED[src.split(".")[0]]
    )
    assert not wrong, "imports against the floor order:\n  " + "\n  ".join(wrong) + "\n" + _show(packages)


def test_no_module_over_400_lines():
    sizes = {str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines()) for p in MODULES.values()}
    over = {name: n for name, n in sizes.items() if n > MAX_LINES}
    assert over == {}, f"modules over {MAX_LINES} lines: {over}"


def test_no_product_module_imports_tests_or_benchmarks():
    """Test support lives under tests/; the product never reaches for it."""
    wrong = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            wrong += [f"{module} -> {n}" for n in names if n.split(".")[0] in ("tests", "benchmarks")]
    assert not wrong, wrong


def test_cycle_finder_and_floor_check_catch_a_planted_fault():
    """Negative: a graph with a loop and a back edge is caught."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    planted = {"foundation.paths": {"shebao.cli"}, "shebao.cli": set()}
    assert package_graph(planted)["foundation"] == {"shebao"}
    assert "shebao" not in ALLOWED["foundation"]
