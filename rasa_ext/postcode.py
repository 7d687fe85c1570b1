"""Postcodes of Finistère and Sarthe: "29200" is Brest, "29600" is one of four communes.

A five-digit code of the table that belongs to ONE commune gives the ``commune`` entity
with that commune's official name (unless the message already names it); a code shared
by several communes gives the ``postcode`` entity with the code as value, and the
dialogue asks which commune. Codes come from ``data/communes.csv`` (column
``codes_postaux``, ``|``-joined), read at training time and stored in the model.
Deterministic: the "training" only reads that table.
"""

from __future__ import annotations

import csv
import logging
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from common.config import PROJECT_ROOT
from rasa_ext.storage import StoredComponent, load_json, save_json

logger = logging.getLogger(__name__)

POSTCODES_FILE = "postcodes.json"
COMMUNE, POSTCODE = "commune", "postcode"
_CODE = re.compile(r"(?<![\d/.,:])(\d{2})\s?(\d{3})(?![\d/.,:]?\d)")


def read_postcodes(path: Path) -> dict[str, list[str]]:
    """Postcode -> official names of its communes, from a communes CSV."""
    communes: dict[str, list[str]] = defaultdict(list)
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            for code in (row.get("codes_postaux") or "").split("|"):
                if code.strip():
                    communes[code.strip()].append(row["nom"])
    return dict(communes)


def find_postcodes(
    text: str, postcodes: dict[str, list[str]], known_communes: frozenset[str] = frozenset()
) -> list[dict[str, Any]]:
    """``commune`` for a code of one commune, ``postcode`` for a shared one."""
    found = []
    for match in _CODE.finditer(text):
        code = match.group(1) + match.group(2)
        names = postcodes.get(code)
        if not names:
            continue
        if len(names) == 1:
            if names[0] in known_communes:
                continue
            entity, value = COMMUNE, names[0]
        else:
            entity, value = POSTCODE, code
        found.append(
            {
                ENTITY_ATTRIBUTE_TYPE: entity,
                ENTITY_ATTRIBUTE_START: match.start(),
                ENTITY_ATTRIBUTE_END: match.end(),
                ENTITY_ATTRIBUTE_VALUE: value,
            }
        )
    return found


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class PostcodeExtractor(StoredComponent, EntityExtractorMixin):
    """Turns postcodes into the ``commune`` (one commune) or ``postcode`` (shared) entity."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # The communes table, relative to the project root.
        return {"communes_file": "data/communes.csv"}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        postcodes: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(config, model_storage, resource)
        self.postcodes = postcodes or {}

    @classmethod
    def data_files(cls, config: dict[str, Any]) -> list[Path]:
        return [PROJECT_ROOT / config["communes_file"]]  # an absolute path stays as it is

    def train(self, training_data: TrainingData) -> Resource:
        [path] = self.data_files(self._config)
        self.postcodes = read_postcodes(path)
        save_json(self._model_storage, self._resource, POSTCODES_FILE, self.postcodes)
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> PostcodeExtractor:
        postcodes = load_json(model_storage, resource, POSTCODES_FILE)
        if postcodes is None:
            logger.warning("No trained postcode table found; postcodes will be ignored.")
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, postcodes)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not text or text.startswith("/"):
                continue
            entities = message.get(ENTITIES, [])
            known = frozenset(
                e[ENTITY_ATTRIBUTE_VALUE] for e in entities if e[ENTITY_ATTRIBUTE_TYPE] == COMMUNE
            )
            found = find_postcodes(text, self.postcodes, known)
            message.set(ENTITIES, entities + self.add_extractor_name(found), add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
