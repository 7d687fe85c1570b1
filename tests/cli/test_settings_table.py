"""README's Configuration table and .env.example name the same settings; the ports table
names the port settings; Matrix turns on the same way in both."""

from __future__ import annotations

import re

from common.config import PROJECT_ROOT
from integrations.cli.check import documented_settings

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def readme_table() -> dict[str, str]:
    """Setting -> default of the README's table under "## Configuration"."""
    section = README.split("\n## Configuration\n", 1)[1].split("\n### ", 1)[0]
    rows = re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \| (.*?) \| ", section, flags=re.M)
    assert rows, "no settings table under ## Configuration"
    return dict(rows)


def test_readme_and_env_example_list_the_same_settings() -> None:
    example = [s.name for s in documented_settings()]
    table = readme_table()
    assert len(example) == len(set(example))
    missing_in_readme = sorted(set(example) - set(table))
    missing_in_example = sorted(set(table) - set(example))
    assert not missing_in_readme, f"add to README's Configuration table: {missing_in_readme}"
    assert not missing_in_example, f"add to .env.example: {missing_in_example}"


def test_each_literal_default_is_the_same_in_both() -> None:
    table = readme_table()
    for setting in documented_settings():
        if setting.default and f"`{setting.default}`" != table[setting.name]:
            assert setting.default == table[setting.name], setting.name


def test_env_example_has_one_setting_per_line_with_what_it_does() -> None:
    lines = (PROJECT_ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    setting_lines = [line for line in lines if re.match(r"# [A-Z][A-Z0-9_]+=", line)]
    described = {s.name: s.description for s in documented_settings()}
    assert len(setting_lines) == len(described)
    assert all(described.values()), [n for n, d in described.items() if not d]


def test_the_ports_table_names_the_port_settings() -> None:
    ports = README.split("| process | command | port", 1)[1].split("\n\n", 1)[0]
    for name in ("RASA_PORT", "ACTIONS_PORT", "GATEWAY_PORT", "GATEWAY_PUBLIC_URL"):
        assert f"`{name}`" in ports, name


def test_matrix_turns_on_with_its_homeserver_in_both() -> None:
    example = (PROJECT_ROOT / ".env.example").read_text(encoding="utf-8")
    assert "Matrix: on when MATRIX_HOMESERVER is set" in example
    assert "**Matrix** (matrix-nio) is on when `MATRIX_HOMESERVER` is set" in README
