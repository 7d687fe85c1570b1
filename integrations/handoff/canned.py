"""Canned replies of the mediator console, from a YAML file the council edits."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import yaml

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CannedReply:
    title: str
    text: str


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
        replies.append(CannedReply(title=item["title"].strip(), text=item["text"].strip()))
    return replies
