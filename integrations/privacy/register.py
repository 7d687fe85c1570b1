"""The register of processings (GDPR art. 30) kept in ``data/privacy.yml``.

Each processing names its purpose, legal basis, the people and data concerned, the
recipients and the retention — the retention sentences use the same placeholders as
the widget's notice, filled from the settings, so the register never says another
period than the one the purge applies (``integrations/retention.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from common.content import ContentError, load_yaml
from integrations.settings import Settings
from integrations.widget.config import PRIVACY_FILE, fill, load_council, placeholder_values

REQUIRED = ("id", "name", "purpose", "legal_basis", "data_categories", "recipients", "retention")


@dataclass(frozen=True)
class Processing:
    id: str
    name: str
    purpose: str
    legal_basis: str
    people: str
    data_categories: tuple[str, ...]
    recipients: tuple[str, ...]
    retention: tuple[str, ...]
    transfers_outside_eu: str
    security: str


def _text(value: Any, values: dict[str, str]) -> str:
    return fill(" ".join(str(value).split()), values)


def _texts(entry: dict[str, Any], name: str, values: dict[str, str]) -> tuple[str, ...]:
    items = entry.get(name)
    if isinstance(items, str):
        items = [items]
    if not isinstance(items, list) or not items:
        raise ContentError(f"{PRIVACY_FILE}: processing {entry.get('id')!r}: {name} is empty")
    return tuple(_text(item, values) for item in items)


def load_register(settings: Settings) -> list[Processing]:
    """Every processing, its placeholders filled; a missing field is a ``ContentError``."""
    content = load_yaml(PRIVACY_FILE) or {}
    values = placeholder_values(settings.retention_periods, load_council())
    processings = content.get("processings")
    if not isinstance(processings, list) or not processings:
        raise ContentError(f"{PRIVACY_FILE}: 'processings' must be a non-empty list")
    register = []
    for entry in processings:
        if not isinstance(entry, dict):
            raise ContentError(f"{PRIVACY_FILE}: each processing must be a mapping")
        missing = [name for name in REQUIRED if not entry.get(name)]
        if missing:
            raise ContentError(
                f"{PRIVACY_FILE}: processing {entry.get('id')!r} lacks {', '.join(missing)}"
            )
        register.append(
            Processing(
                id=str(entry["id"]),
                name=_text(entry["name"], values),
                purpose=_text(entry["purpose"], values),
                legal_basis=_text(entry["legal_basis"], values),
                people=_text(entry.get("people") or "", values),
                data_categories=_texts(entry, "data_categories", values),
                recipients=_texts(entry, "recipients", values),
                retention=_texts(entry, "retention", values),
                transfers_outside_eu=_text(entry.get("transfers_outside_eu") or "", values),
                security=_text(entry.get("security") or "", values),
            )
        )
    return register
