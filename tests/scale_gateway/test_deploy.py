"""The systemd units of ``deploy/`` start what the Procfile starts, from the environment
file, hardened (the nginx site: test_nginx.py, after ``nginx -t``)."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

import pytest

from common.config import PROJECT_ROOT
from tools.stack import PROCFILE

UNITS = PROJECT_ROOT / "deploy" / "systemd"
PROCESSES = {
    "assistant-gateway@.service": "gateway",
    "assistant-rasa@.service": "rasa",
    "assistant-actions.service": "actions",
}
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "CapabilityBoundingSet": "",
}


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path)
    return parser


def procfile() -> dict[str, list[str]]:
    lines = PROCFILE.read_text().splitlines()
    return {
        name.strip(): shlex.split(command)
        for name, _, command in (line.partition(":") for line in lines)
        if command
    }


@pytest.mark.parametrize("name", sorted(PROCESSES))
def test_each_unit_runs_its_procfile_command_hardened(name: str) -> None:
    service = unit(UNITS / name)["Service"]
    program, *args = shlex.split(service["ExecStart"])
    expected_program, *expected_args = procfile()[PROCESSES[name]]
    assert program == f"/opt/assistant/{expected_program}"
    assert args == expected_args
    assert service["EnvironmentFile"] == "/etc/assistant/assistant.env"
    assert service["User"] == "assistant"
    assert service["Restart"] == "on-failure"
    for option, value in HARDENING.items():
        assert service[option] == value, option
    assert unit(UNITS / name)["Install"]["WantedBy"] == "assistant.target"


def test_instances_are_ports() -> None:
    assert unit(UNITS / "assistant-gateway@.service")["Service"]["Environment"] == "GATEWAY_PORT=%i"
    assert "RASA_PORT=%i" in (UNITS / "assistant-rasa@.service").read_text()
