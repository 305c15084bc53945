"""The dependency direction of DESIGN.md, fenced by the import-linter contracts in pyproject.toml.

The suite runs them (so CI does), and proves each contract bites by planting one violation per contract in a
throwaway tree checked with the same contracts."""
from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_IDS = {"domain", "service", "api", "sync", "sides"}


def lint_imports(cwd: Path, config: Path) -> subprocess.CompletedProcess:
    code = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    return subprocess.run([sys.executable, "-c", code, "--config", str(config), "--no-cache", "--no-logo"],
                          cwd=cwd, env={"PYTHONPATH": str(cwd), "PATH": ""}, capture_output=True, text=True,
                          timeout=120)


def test_every_layer_contract_is_declared():
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    assert {c["id"] for c in contracts} == CONTRACT_IDS


def test_the_code_keeps_every_import_contract():
    result = lint_imports(ROOT, ROOT / "pyproject.toml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(CONTRACT_IDS)} kept, 0 broken." in result.stdout


# One forbidden import per contract: what a careless edit would add.
PLANTED = {
    "server/domain/case.py": "import sqlalchemy\n",
    "server/service/uploads.py": "from flask import current_app\n",
    "server/api/uploads.py": "from server.adapters import blobs\n",
    "sync/ops.py": "import sqlite3\n",
    "field_client/engine.py": "import server.domain\n",
}


def _tree_with_violations(tmp: Path) -> None:
    packages = ["server", "server/domain", "server/service", "server/api", "server/adapters", "sync", "schemas",
                "field_client"]
    for package in packages:
        (tmp / package).mkdir(parents=True, exist_ok=True)
        (tmp / package / "__init__.py").write_text("")
    (tmp / "server/adapters/blobs.py").write_text("")
    for path, line in PLANTED.items():
        (tmp / path).write_text(line)


def test_a_planted_forbidden_import_breaks_its_contract(tmp_path):
    _tree_with_violations(tmp_path)
    config = tmp_path / "pyproject.toml"
    config.write_text((ROOT / "pyproject.toml").read_text())
    result = lint_imports(tmp_path, config)
    assert result.returncode != 0
    assert f"Contracts: 0 kept, {len(CONTRACT_IDS)} broken." in result.stdout, result.stdout + result.stderr
