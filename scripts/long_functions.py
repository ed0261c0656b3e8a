"""Fail on any function of the product code longer than 80 lines, unless its reason is written
above it (issue 17: "no function in the product code is over 80 lines except where its reason is
written above it").

    python scripts/long_functions.py           # list the offenders (exit 1 if any)
    python scripts/long_functions.py --all     # also list the long ones that give a reason

A function's length runs from its `def` line to its last line (decorators not counted); nested
functions count on their own too. The reason is a comment on the line right above the function
(above its decorators, if any) that starts with `# long:`, e.g.

    # long: one SQL statement per branch reads better in one place than spread over helpers
    def _plan(...):

The product code is what `scripts/import_graph.py` reads: the root's packages except tests,
bench and scripts, without migrations. Reads the source with `ast`; nothing is imported.
"""

from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_PRODUCT = {"tests", "bench", "scripts"}
LIMIT = 80
REASON = "# long:"


@dataclass(frozen=True)
class LongFunction:
    path: Path
    line: int
    name: str
    lines: int
    reason: str  # "" when none is written above it


def product_files(root: Path) -> list[Path]:
    packages = [
        p
        for p in sorted(root.iterdir())
        if p.is_dir() and (p / "__init__.py").exists() and p.name not in NOT_PRODUCT
    ]
    return [
        path
        for package in packages
        for path in sorted(package.rglob("*.py"))
        if "migrations" not in path.parts
    ]


def long_functions(path: Path, *, limit: int = LIMIT) -> list[LongFunction]:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source, filename=str(path))):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        length = (node.end_lineno or node.lineno) - node.lineno + 1
        if length <= limit:
            continue
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        above = lines[first - 2].strip() if first >= 2 else ""
        reason = above.removeprefix(REASON).strip() if above.startswith(REASON) else ""
        found.append(LongFunction(path, node.lineno, node.name, length, reason))
    return sorted(found, key=lambda f: f.line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--all", action="store_true", help="also list those with a reason")
    args = parser.parse_args(argv)
    found = [f for path in product_files(args.root) for f in long_functions(path)]
    offenders = [f for f in found if not f.reason]
    for f in found if args.all else offenders:
        where = f"{f.path.relative_to(args.root)}:{f.line}"
        why = f"  (long: {f.reason})" if f.reason else ""
        print(f"{where}: {f.name} is {f.lines} lines (limit {LIMIT}){why}")
    if offenders:
        print(
            f"{len(offenders)} function(s) over {LIMIT} lines: split them, or write the reason "
            f"on the line above the def as `{REASON} ...`"
        )
        return 1
    print(f"No function over {LIMIT} lines without a reason ({len(found)} with one).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
