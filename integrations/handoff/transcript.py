"""What a mediator reads of a conversation: button presses in words, and what it is about.

A button press is stored as its payload (``/request_human``); the console shows the
button's title instead, found in the bot message that offered it, or in the topics'
labels (``data/topics.yml``). A conversation is identified by its topic (the last topic
button pressed, else the person's first words) and by the commune it names, if any
(``data/communes.csv``: a name or a postal code in the person's messages).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import yaml

from common.config import PROJECT_ROOT
from common.text import tokens
from integrations.messages import Author
from integrations.store import StoredMessage

DATA = PROJECT_ROOT / "data"
# The words of the widget's own button, the same as the bot's (one name for one thing).
HUMAN_LABEL = "Parler à un médiateur"
REQUEST_HUMAN = "/request_human"
TOPIC_CHARS = 80
_POSTCODE = re.compile(r"(?<!\d)(\d{5})(?!\d)")


@dataclass(frozen=True)
class Summary:
    topic: str
    commune: str | None


def is_payload(text: str) -> bool:
    return text.startswith("/") and " " not in text.strip()


@cache
def _topic_labels() -> dict[str, str]:
    path = DATA / "topics.yml"
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(k): str(v) for k, v in data.items()}


def labels(messages: Sequence[StoredMessage]) -> dict[int, str]:
    """The words shown for each button press (message id -> the button's title)."""
    offered: dict[str, str] = {REQUEST_HUMAN: HUMAN_LABEL}
    found: dict[int, str] = {}
    for message in messages:
        for button in (message.payload or {}).get("buttons") or ():
            offered[button["payload"]] = button["title"]
        if message.author is Author.USER and is_payload(message.text):
            found[message.id] = label_of(message.text, offered)
    return found


def label_of(payload: str, offered: dict[str, str] | None = None) -> str:
    """A button's title for its payload; the payload itself when nothing names it."""
    offered = offered or {REQUEST_HUMAN: HUMAN_LABEL}
    if payload in offered:
        return offered[payload]
    intent = payload[1:].split("{", 1)[0]
    return _topic_labels().get(intent, payload)


def summary(messages: Sequence[StoredMessage]) -> Summary:
    said = [m for m in messages if m.author is Author.USER]
    shown = labels(messages)
    topics = [
        shown[m.id]
        for m in said
        if m.id in shown and m.text not in (REQUEST_HUMAN, "/deny", "/affirm")
    ]
    if topics:
        topic = topics[-1]
    else:
        words = next((m.text.strip() for m in said if not is_payload(m.text)), "")
        topic = words if len(words) <= TOPIC_CHARS else words[: TOPIC_CHARS - 1] + "…"
    commune = next(
        (found for m in reversed(said) if (found := commune_in(m.text)) is not None), None
    )
    return Summary(topic=topic, commune=commune)


@cache
def _communes() -> tuple[dict[str, str], dict[str, str]]:
    """Folded names and postal codes -> the commune's official name."""
    by_name: dict[str, str] = {}
    by_code: dict[str, str] = {}
    path = DATA / "communes.csv"
    if not path.exists():
        return by_name, by_code
    with path.open(encoding="utf-8", newline="") as table:
        for row in csv.DictReader(table):
            name = row["nom"]
            if len(name) >= 4:
                by_name[" ".join(_words(name))] = name
            for code in (row.get("codes_postaux") or "").split("|"):
                by_code.setdefault(code, name)
    return by_name, by_code


def _words(text: str) -> list[str]:
    return [word for word, _, _ in tokens(text)]


def commune_in(text: str) -> str | None:
    """A commune the text names (the longest name found), or whose postal code it gives."""
    by_name, by_code = _communes()
    words = _words(text)
    best: str | None = None
    for size in (4, 3, 2, 1):
        for start in range(len(words) - size + 1):
            found = by_name.get(" ".join(words[start : start + size]))
            if found is not None and (best is None or len(found) > len(best)):
                best = found
        if best is not None:
            return best
    code = _POSTCODE.search(text)
    return by_code.get(code.group(1)) if code else None
