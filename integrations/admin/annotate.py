"""Annotations of inbox messages, written to the Rasa project's data files.

An admin gives an inbox message an existing intent, a new intent (with its answer),
``out_of_scope``, or ignores it. Examples go to ``nlu_data/<split>/annotations.yml``
(``train`` by default, ``test`` to grow the held-out split); a new intent also gets
its intent and ``utter_<intent>`` response in ``bot/domain/annotations.yml`` and a rule
answering it in ``bot/rules/annotations.yml``. The hand-written files are never
rewritten, and ``rasa data validate`` accepts the result: no example under two intents,
no held-out example in the training data, every new intent answered by a rule.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from common.nlu import FALLBACK_INTENT
from common.text import key as text_key
from integrations.admin.audit import AuditLog
from integrations.admin.inbox import Inbox, Status
from integrations.admin.project import ANNOTATIONS_FILE, Project

OUT_OF_SCOPE = "out_of_scope"
SPLITS = ("train", "test")
MAX_RESPONSE_CHARS = 1000
MAX_EXAMPLE_CHARS = 500
_INTENT_NAME = re.compile(r"[a-z][a-z0-9_]{2,59}")
# Rasa's entity annotation syntax: "[text](entity)", "[text]{...}".
_ANNOTATION = re.compile(r"\[([^\]]+)\](\([^)]*\)|\{[^}]*\})")
# Only one writer at a time in this process (the console calls through threads).
_WRITE_LOCK = threading.Lock()


class Action(StrEnum):
    INTENT = "intent"  # an existing intent
    NEW_INTENT = "new_intent"
    OUT_OF_SCOPE = "out_of_scope"
    IGNORE = "ignore"


class AnnotationError(ValueError):
    """The annotation cannot be written; ``reason`` is French, ``code`` English."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Result:
    item_id: int
    action: Action
    intent: str | None
    written: bool  # False when the example was already there under that intent


def training_text(text: str) -> str:
    """``text`` as a plain example line: one line, no characters Rasa reads as markup."""
    text = re.sub(r"\s+", " ", text).strip()
    return text.replace("[", "(").replace("]", ")")[:MAX_EXAMPLE_CHARS]


class ProjectData:
    """Reads the project's intents and examples; writes the annotation files."""

    def __init__(self, project: Project) -> None:
        self.project = project

    def intents(self) -> list[str]:
        """Every intent of the domain that an example may be given."""
        found: set[str] = set()
        for path in sorted(self.project.domain_dir.glob("*.yml")):
            found.update(str(i) for i in (_load(path).get("intents") or []))
        found.discard(FALLBACK_INTENT)
        return sorted(found)

    def examples(self, split: str) -> dict[str, str]:
        """Folded example text -> its intent, over every NLU file of ``split``."""
        found: dict[str, str] = {}
        for path in sorted(self.project.nlu_dir(split).glob("*.yml")):
            for block in _load(path).get("nlu") or []:
                if "intent" not in block:
                    continue
                for line in str(block.get("examples") or "").splitlines():
                    line = line.strip()
                    if line.startswith("- "):
                        found[text_key(_ANNOTATION.sub(r"\1", line[2:]))] = block["intent"]
        return found

    def add_example(self, text: str, intent: str, split: str = "train") -> bool:
        """Add ``text`` under ``intent``; False when it was already there."""
        if split not in SPLITS:
            raise AnnotationError("invalid_split", "Le jeu de données doit être train ou test.")
        example = training_text(text)
        folded = text_key(example)
        if not folded:
            raise AnnotationError("empty_example", "Le message est vide après nettoyage.")
        with _WRITE_LOCK:
            for other_split in SPLITS:
                known = self.examples(other_split).get(folded)
                if known is None:
                    continue
                if other_split != split:
                    where = "d'évaluation" if other_split == "test" else "d'entraînement"
                    raise AnnotationError(
                        "in_other_split",
                        f"Ce message figure déjà dans le jeu {where} (intention « {known} ») : "
                        "un exemple ne peut pas être dans les deux.",
                    )
                if known != intent:
                    raise AnnotationError(
                        "conflicting_example",
                        f"Ce message est déjà un exemple de l'intention « {known} ».",
                    )
                return False
            path = self.project.nlu_dir(split) / ANNOTATIONS_FILE
            blocks = _nlu_blocks(path)
            blocks.setdefault(intent, []).append(example)
            _write(path, _nlu_text(blocks))
            return True

    def create_intent(self, name: str, response: str) -> None:
        """A new intent answered by ``utter_<name>`` through a rule."""
        if not _INTENT_NAME.fullmatch(name):
            raise AnnotationError(
                "invalid_intent_name",
                "Nom d'intention invalide : lettres minuscules sans accent, chiffres et _, "
                "de 3 à 60 caractères, en commençant par une lettre (ex. : ask_carte_grise).",
            )
        response = response.strip()
        if not response:
            raise AnnotationError(
                "response_required", "La réponse de la nouvelle intention est requise."
            )
        if len(response) > MAX_RESPONSE_CHARS:
            raise AnnotationError(
                "response_too_long", f"La réponse dépasse {MAX_RESPONSE_CHARS} caractères."
            )
        with _WRITE_LOCK:
            if name in self.intents() or name == FALLBACK_INTENT:
                raise AnnotationError("intent_exists", f"L'intention « {name} » existe déjà.")
            domain_path = self.project.domain_dir / ANNOTATIONS_FILE
            domain = _load(domain_path) or {"version": "3.1"}
            domain.setdefault("intents", []).append(name)
            domain.setdefault("responses", {})[f"utter_{name}"] = [{"text": response}]
            _write(domain_path, _HEADER + _yaml(domain))
            rules_path = self.project.rules_dir / ANNOTATIONS_FILE
            rules = _load(rules_path) or {"version": "3.1"}
            rules.setdefault("rules", []).append(
                {
                    "rule": f"Answer {name} (created from the NLU inbox)",
                    "steps": [{"intent": name}, {"action": f"utter_{name}"}],
                }
            )
            _write(rules_path, _HEADER + _yaml(rules))


class Annotator:
    """Annotating inbox items: data files, inbox status and audit log together."""

    def __init__(self, inbox: Inbox, data: ProjectData, audit: AuditLog) -> None:
        self.inbox = inbox
        self.data = data
        self.audit = audit

    def annotate(
        self,
        item_id: int,
        action: Action,
        actor: str,
        intent: str | None = None,
        response: str | None = None,
        split: str = "train",
    ) -> Result:
        item = self.inbox.get(item_id)
        if item is None:
            raise AnnotationError(
                "item_not_found", "Message introuvable dans la boîte de réception."
            )
        written = False
        if action is Action.IGNORE:
            intent = None
            status = Status.IGNORED
        elif action is Action.OUT_OF_SCOPE:
            intent = OUT_OF_SCOPE
            written = self.data.add_example(item.text, intent, split)
            status = Status.OUT_OF_SCOPE
        elif action is Action.INTENT:
            if not intent or intent not in self.data.intents():
                raise AnnotationError("unknown_intent", f"Intention inconnue : « {intent or ''} ».")
            written = self.data.add_example(item.text, intent, split)
            status = Status.ANNOTATED
        else:
            intent = (intent or "").strip()
            self.data.create_intent(intent, response or "")
            written = self.data.add_example(item.text, intent, split)
            status = Status.ANNOTATED
        self.inbox.resolve(item_id, status, actor, intent)
        self.audit.record(
            actor,
            f"annotate.{action.value}",
            item=item_id,
            text=item.text,
            intent=intent,
            split=split,
            response=response if action is Action.NEW_INTENT else None,
            written=written,
        )
        return Result(item_id=item_id, action=action, intent=intent, written=written)


_HEADER = (
    "# Written by the admin area (console or `python -m integrations.admin annotate`).\n"
    "# Hand edits are kept; each annotation adds to this file.\n"
)


def _load(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _nlu_blocks(path: Path) -> dict[str, list[str]]:
    blocks: dict[str, list[str]] = {}
    for block in _load(path).get("nlu") or []:
        if "intent" in block:
            lines = str(block.get("examples") or "").splitlines()
            blocks.setdefault(block["intent"], []).extend(
                line.strip()[2:] for line in lines if line.strip().startswith("- ")
            )
    return blocks


def _nlu_text(blocks: dict[str, list[str]]) -> str:
    """Rasa's NLU format, with the examples as a literal block like hand-written files."""
    lines = [_HEADER.rstrip("\n"), 'version: "3.1"', "nlu:"]
    for intent, examples in blocks.items():
        lines.append(f"- intent: {intent}")
        lines.append("  examples: |")
        lines.extend(f"    - {example}" for example in examples)
    return "\n".join(lines) + "\n"


def _yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)


def _write(path: Path, content: str) -> None:
    """Replace ``path`` atomically: Rasa or a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
