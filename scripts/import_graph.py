"""Print who imports whom among the project's top-level packages, and any import cycle.

    python scripts/import_graph.py            # the package graph, then cycles (exit 1 if any)
    python scripts/import_graph.py --modules  # also check module-level cycles inside packages

Reads the source with `ast` (nothing is imported or run). Every import counts, wherever it sits:
at the top of a module, inside a function (a lazy import hides a cycle, it does not remove it) or
under `if TYPE_CHECKING:`. Between packages, so does a string that names a module or something
in one ("wow_credits.api.router", "core.security.ContentSecurityPolicyMiddleware", "reports.urls"):
that is how settings and urls import. Model labels ("customers.Customer") and task names name a
package, not a module, and are not read. The product packages are the directories at the root with an `__init__.py`, except the test,
benchmark and script folders, which may import anything.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_PRODUCT = {"tests", "bench", "scripts"}
DOTTED = re.compile(r"[a-z_][a-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+")


def product_packages(root: Path) -> list[str]:
    return sorted(
        p.name
        for p in root.iterdir()
        if p.is_dir() and (p / "__init__.py").exists() and p.name not in NOT_PRODUCT
    )


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, module: str) -> set[str]:
    """Every module `path` imports (absolute names; relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                drop = node.level - 1 if is_package else node.level
                base = base[: len(base) - drop] if drop else base
                prefix = ".".join(base)
                target = f"{prefix}.{node.module}" if node.module else prefix
            else:
                target = node.module or ""
            found.add(target)
            # `from pkg import submodule` imports the submodule too.
            found.update(f"{target}.{alias.name}" for alias in node.names if alias.name != "*")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and DOTTED.fullmatch(node.value)
        ):
            found.add(STRING + node.value)
    return found


# Marks a dotted string: it names a module, or one thing in a module (never deeper).
STRING = "str:"


def collect(root: Path) -> tuple[list[str], dict[str, set[str]], dict[str, set[str]]]:
    """The product packages, and for each product module the product modules it imports: by
    import statements, and by those plus dotted strings."""
    packages = product_packages(root)
    modules: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            if "migrations" not in path.parts:
                modules[module_name(root, path)] = path
    edges: dict[str, set[str]] = {}
    with_strings: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        named: set[str] = set()
        for imported in imported_modules(path, name):
            is_string = imported.startswith(STRING)
            # Keep the longest prefix that is one of our modules (`a.b.C` -> `a.b`).
            parts = imported.removeprefix(STRING).split(".")
            whole = len(parts)
            while parts and ".".join(parts) not in modules:
                parts.pop()
            if is_string and (len(parts) < 2 or whole - len(parts) > 1):
                continue  # a package's name and one word (a model label), or too deep to read
            if parts and ".".join(parts) != name:
                (named if is_string else targets).add(".".join(parts))
        edges[name] = targets
        with_strings[name] = targets | named
    return packages, edges, with_strings


def package_graph(edges: dict[str, set[str]]) -> dict[str, dict[str, list[str]]]:
    """package -> imported package -> the modules that make the arrow."""
    graph: dict[str, dict[str, list[str]]] = defaultdict(dict)
    for source, targets in edges.items():
        graph[source.split(".")[0]]  # every package appears, even one that imports nothing
        for target in targets:
            a, b = source.split(".")[0], target.split(".")[0]
            if a != b:
                graph[a].setdefault(b, []).append(f"{source} -> {target}")
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def layers(graph: dict[str, set[str]]) -> list[list[str]]:
    """Packages by floor: floor 0 imports no product package, floor n only floors below n."""
    floors: list[list[str]] = []
    placed: set[str] = set()
    remaining = set(graph)
    while remaining:
        floor = sorted(p for p in remaining if graph[p] <= placed)
        if not floor:  # a cycle: the rest cannot be placed
            floors.append(sorted(remaining))
            break
        floors.append(floor)
        placed.update(floor)
        remaining.difference_update(floor)
    return floors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", action="store_true", help="also report module-level cycles")
    parser.add_argument("--why", action="store_true", help="name the imports behind each arrow")
    parser.add_argument("--root", type=Path, default=ROOT)
    args = parser.parse_args(argv)

    packages, edges, with_strings = collect(args.root)
    detailed = package_graph(with_strings)
    graph = {p: set(detailed.get(p, {})) for p in packages}

    print("Imports between top-level packages (a -> what a imports):")
    for package in packages:
        targets = ", ".join(sorted(graph[package])) or "-"
        print(f"  {package} -> {targets}")
        if args.why:
            for target in sorted(detailed.get(package, {})):
                for line in sorted(detailed[package][target]):
                    print(f"      {line}")
    print("Floors (each imports only floors below it):")
    for number, floor in enumerate(layers(graph)):
        print(f"  {number}: {' '.join(floor)}")

    failed = False
    package_cycles = cycles(graph)
    for cycle in package_cycles:
        failed = True
        print(f"CYCLE between packages: {' <-> '.join(cycle)}")
        for source in cycle:
            for target in sorted(set(detailed.get(source, {})) & set(cycle)):
                for line in sorted(detailed[source][target]):
                    print(f"      {line}")
    if args.modules:
        for cycle in cycles(edges):
            failed = True
            print(f"CYCLE between modules: {' <-> '.join(cycle)}")
    if not failed:
        print("No cycle.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
