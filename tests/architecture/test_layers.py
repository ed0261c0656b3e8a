"""The import graph of the project's packages: arrows point down, never round (issue 17).

`python scripts/import_graph.py --modules` prints it; `make lint` runs it too.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "import_graph.py"


def _graph() -> dict[str, set[str]]:
    spec = importlib.util.spec_from_file_location("import_graph", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    packages, _, with_strings = module.collect(ROOT)
    detailed = module.package_graph(with_strings)
    return {p: set(detailed.get(p, {})) for p in packages}


def test_the_import_graph_has_no_cycle_between_packages_or_modules():
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--modules"], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "No cycle." in run.stdout
    assert "CYCLE" not in run.stdout


def test_apps_never_import_the_wiring_and_core_imports_no_app():
    graph = _graph()
    assert graph["core"] == set()
    assert [p for p, targets in graph.items() if "supportdesk" in targets] == []
    # The wiring sits on top: it imports apps, and it is the only package that imports reports.
    assert {"tickets", "livechat", "reports"} <= graph["supportdesk"]


def test_the_script_finds_a_cycle_and_fails(tmp_path):
    for name, imports in {"low": "from high import thing", "high": "import low.models"}.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("")
        (tmp_path / name / "models.py").write_text(f"{imports}\n")
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--root", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1
    assert "CYCLE between packages: high <-> low" in run.stdout


def test_no_test_module_imports_another_test_module_or_a_conftest():
    """Shared helpers live in tests/helpers/ (servers, browser, mail, chat, inbound, ...); a test
    module or helper never reaches into another test module or any conftest, the root one
    included: conftest files hold fixtures, which pytest hands out by name."""
    import ast
    import re

    forbidden = re.compile(r"tests(\.\w+)*\.(test_\w+|conftest)")
    offenders = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                # `from tests.x import test_y` names a module too.
                names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                if forbidden.fullmatch(name) or name == "conftest":
                    offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert offenders == []


LONG = ROOT / "scripts" / "long_functions.py"


def test_no_product_function_is_over_80_lines_without_its_reason():
    run = subprocess.run([sys.executable, str(LONG)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_long_function_check_fails_without_a_reason_and_passes_with_one(tmp_path):
    body = "".join(f"    x{n} = {n}\n" for n in range(85))
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "services.py").write_text(f"def too_long():\n{body}")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "__init__.py").write_text("")
    (tmp_path / "tests" / "test_x.py").write_text(f"def test_long():\n{body}")  # tests may

    def check() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(LONG), "--root", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
        )

    failed = check()
    assert failed.returncode == 1
    assert "app/services.py:1: too_long is 86 lines" in failed.stdout
    assert "test_x" not in failed.stdout
    (tmp_path / "app" / "services.py").write_text(
        f"# long: one table of constants reads best in one place\ndef too_long():\n{body}"
    )
    assert check().returncode == 0
