"""Each process starts in its own environment: the Procfile's interpreters, as run."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from common.config import PROJECT_ROOT
from tools.stack import Stack, procfile_command

RASA_PYTHON = str(PROJECT_ROOT / ".venv" / "bin" / "python")
GATEWAY_PYTHON = str(PROJECT_ROOT / ".venv-gateway" / "bin" / "python")


@pytest.mark.parametrize(
    ("process", "python", "module"),
    [
        ("rasa", RASA_PYTHON, "rasa_ext.serve"),
        ("actions", RASA_PYTHON, "actions.server"),
        ("gateway", GATEWAY_PYTHON, "integrations"),
    ],
)
def test_the_procfile_names_each_environment(process: str, python: str, module: str):
    assert procfile_command(process) == [python, "-m", module]


def test_each_environment_has_what_its_processes_import():
    for python, modules in (
        (RASA_PYTHON, "rasa, rasa_sdk, actions.server, rasa_ext.serve"),
        (GATEWAY_PYTHON, "integrations.app, nio, telegram"),
    ):
        subprocess.run(
            [python, "-c", f"import {modules}"], cwd=PROJECT_ROOT, check=True, timeout=300
        )
    version = subprocess.run(
        [GATEWAY_PYTHON, "-c", "import aiohttp, sqlalchemy; print(aiohttp.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split(".")
    assert (int(version[0]), int(version[1])) >= (3, 12)


@pytest.mark.model
@pytest.mark.stack
def test_the_running_stack_uses_rasas_environment(rasa_stack: Stack):
    for process in (rasa_stack.rasa, rasa_stack.actions):
        assert process.popen is not None
        cmdline = Path(f"/proc/{process.popen.pid}/cmdline").read_bytes().split(b"\0")
        assert cmdline[0].decode() == RASA_PYTHON
