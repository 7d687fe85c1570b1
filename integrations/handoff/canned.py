"""Canned replies of the mediator console, from a YAML file the council edits.

A text may hold placeholders, filled for the mediator who uses it: ``{prenom}`` (their
first name, as the person sees it) and ``{telephone}`` (the council's switchboard,
``data/council.yml``). Any other ``{name}`` makes the file invalid.
"""

from __future__ import annotations

import logging
import string
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

log = logging.getLogger(__name__)


PLACEHOLDERS = frozenset({"prenom", "telephone"})


@dataclass(frozen=True)
class CannedReply:
    title: str
    text: str

    def filled(self, first_name: str, phone: str) -> CannedReply:
        return replace(self, text=self.text.format(prenom=first_name, telephone=phone))


class CannedReplies:
    """Reads the file again when it changes; a broken file keeps the last good list."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mtime: float | None = None
        self._replies: list[CannedReply] = []

    def all(self) -> list[CannedReply]:
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            return []
        if mtime != self._mtime:
            try:
                self._replies = parse(yaml.safe_load(self.path.read_text(encoding="utf-8")))
            except (yaml.YAMLError, ValueError) as err:
                log.error(
                    "canned replies %s unreadable, keeping the previous ones: %s", self.path, err
                )
            self._mtime = mtime
        return list(self._replies)


def parse(data: object) -> list[CannedReply]:
    if data is None:
        return []
    if not isinstance(data, list):
        raise ValueError("a list of {title, text} is expected")
    replies = []
    for index, item in enumerate(data, 1):
        if not (
            isinstance(item, dict)
            and isinstance(item.get("title"), str)
            and isinstance(item.get("text"), str)
        ):
            raise ValueError(f"entry {index}: title and text (strings) are required")
        text = item["text"].strip()
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
        except ValueError as err:
            raise ValueError(f"entry {index}: {err} (write {{{{ and }}}} for braces)") from err
        unknown = names - PLACEHOLDERS
        if unknown:
            raise ValueError(
                f"entry {index}: unknown placeholder(s) {sorted(unknown)}, "
                f"known: {sorted(PLACEHOLDERS)}"
            )
        replies.append(CannedReply(title=item["title"].strip(), text=text))
    return replies
