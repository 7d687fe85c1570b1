"""Reading the NLU YAML files the way the tests need them (intent -> plain examples)."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import yaml

from common.config import PROJECT_ROOT
from common.text import key

NLU = PROJECT_ROOT / "nlu_data"
CONTRACT_INTENTS = {
    "greet",
    "goodbye",
    "thank",
    "affirm",
    "deny",
    "bot_challenge",
    "ask_capabilities",
    "request_human",
    "find_digital_place",
    "ask_pass_numerique",
    "ask_digital_advisor",
    "ask_basic_skills",
    "ask_fibre",
    "ask_equipment",
    "ask_procedure",
    "book_room",
    "cancel_booking",
    "list_bookings",
    "ask_visio_help",
    "ask_contact",
    "out_of_scope",
    "ask_social_worker",
    "ask_hours",
    "select_item",
}
# Entities extracted deterministically by rasa_ext (the contract of bot/domain/understanding.yml).
CONTRACT_ENTITIES = {"commune", "site", "procedure", "ordinal", "postcode"}
_ANNOTATION = re.compile(r"\[([^\]]+)\](\([^)]*\)|\{[^}]*\})")


def plain(example: str) -> str:
    """The example's text without entity annotations."""
    return _ANNOTATION.sub(r"\1", example)


def examples(split: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted((NLU / split).glob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            if "intent" in block:
                for line in block["examples"].splitlines():
                    line = line.strip()
                    if line.startswith("- "):
                        found[block["intent"]].append(plain(line[2:].strip()))
    return dict(found)


def normalised(texts: list[str]) -> set[str]:
    return {key(t) for t in texts}


def yaml_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.yml"))


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
