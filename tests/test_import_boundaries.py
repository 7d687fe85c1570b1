"""The import-boundary check (.importlinter) catches a new import of the Rasa side.

scripts/test.sh runs ``lint-imports`` on the tree; here it runs on a copy of the tree
with one line added, ``from actions import ...`` under integrations/, and must fail,
naming the contract and the offending import.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from common.config import PROJECT_ROOT

PACKAGES = ("integrations", "common", "actions", "rasa_ext")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def copy_tree(target: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(
            PROJECT_ROOT / package,
            target / package,
            ignore=shutil.ignore_patterns("__pycache__", "static", "templates"),
        )
    shutil.copy(PROJECT_ROOT / ".importlinter", target / ".importlinter")
    return target


def test_an_import_of_actions_under_integrations_breaks_the_check(tmp_path: Path):
    tree = copy_tree(tmp_path / "tree")
    probe = tree / "integrations" / "boundary_probe.py"
    probe.write_text("from actions import booking_store  # noqa: F401\n", encoding="utf-8")

    result = lint_imports(tree)

    assert result.returncode != 0, result.stdout
    assert "integrations does not import actions or rasa_ext BROKEN" in result.stdout
    assert "integrations.boundary_probe -> actions" in result.stdout


def test_the_check_reads_every_contract(tmp_path: Path):
    result = lint_imports(copy_tree(tmp_path / "tree"))
    for contract in (
        "integrations does not import actions or rasa_ext",
        "integrations.console is a leaf: it imports no other area",
        "each channel of integrations.channels stands alone",
        "common imports neither the gateway nor the Rasa side",
    ):
        assert contract in result.stdout, result.stdout + result.stderr
