"""What the widget needs from the server, given to it inside ``widget.js``.

The privacy notice (``data/privacy.yml``, which is also the register of processings:
``integrations/privacy/register.py``) and the council's switchboard
(``data/council.yml``, read by ``common.council``) are content the council edits: they
are re-read when the files change (``common.content.load_yaml`` caches by modification
time). Shipping them inside
the script means the widget can still give the phone number when the gateway is down.
"""

from __future__ import annotations

import string
from dataclasses import asdict, dataclass
from typing import Any

from common.content import ContentError, load_yaml
from common.council import load_council as load_council_file
from integrations.settings import RetentionPeriods, Settings

PRIVACY_FILE = "privacy.yml"


@dataclass(frozen=True)
class Council:
    name: str
    phone: str
    hours: str
    email: str


@dataclass(frozen=True)
class PrivacyNotice:
    warning: str
    title: str
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class WidgetConfig:
    title: str
    max_message_chars: int
    retention_days: int
    council: Council
    privacy: PrivacyNotice

    def as_json(self) -> dict[str, Any]:
        """camelCase keys, as JavaScript reads them."""
        data = asdict(self)
        return {
            "title": data["title"],
            "maxMessageChars": data["max_message_chars"],
            "retentionDays": data["retention_days"],
            "council": data["council"],
            "privacy": {**data["privacy"], "paragraphs": list(self.privacy.paragraphs)},
        }


def load_council() -> Council:
    """The switchboard the widget shows (``council.yml``, checked by ``common.council``)."""
    content = load_council_file()
    board = content["switchboard"]
    return Council(
        name=str(content["name"]),
        phone=str(board["phone"]),
        hours=str(board["hours"]),
        email=str(board["email"]),
    )


def fill(text: str, values: dict[str, str]) -> str:
    """``text`` with its ``{name}`` placeholders replaced; an unknown name is an error."""
    names = {name for _, name, _, _ in string.Formatter().parse(text) if name}
    unknown = names - values.keys()
    if unknown:
        raise ContentError(f"{PRIVACY_FILE}: unknown placeholder(s) {sorted(unknown)}")
    return text.format_map(values)


def placeholder_values(periods: RetentionPeriods, council: Council) -> dict[str, str]:
    """What ``privacy.yml``'s placeholders stand for: retention periods and contacts."""
    return {
        "retention_days": str(periods.messages),
        "retention_messages_days": str(periods.messages),
        "retention_tracker_days": str(periods.tracker),
        "retention_tickets_days": str(periods.tickets),
        "retention_inbox_days": str(periods.inbox),
        "retention_audit_days": str(periods.audit),
        "council_phone": council.phone,
        "council_email": council.email,
        "council_hours": council.hours,
    }


def load_privacy(periods: RetentionPeriods, council: Council) -> PrivacyNotice:
    content = load_yaml(PRIVACY_FILE) or {}
    values = placeholder_values(periods, council)
    paragraphs = content.get("paragraphs")
    if not isinstance(paragraphs, list) or not paragraphs:
        raise ContentError(f"{PRIVACY_FILE}: 'paragraphs' must be a non-empty list")
    return PrivacyNotice(
        warning=fill(str(content.get("warning") or ""), values),
        title=fill(str(content.get("title") or "Vos données"), values),
        paragraphs=tuple(fill(" ".join(str(p).split()), values) for p in paragraphs),
    )


def load_config(settings: Settings) -> WidgetConfig:
    council = load_council()
    return WidgetConfig(
        title=settings.widget_title,
        max_message_chars=settings.max_message_chars,
        retention_days=settings.retention_periods.messages,
        council=council,
        privacy=load_privacy(settings.retention_periods, council),
    )
