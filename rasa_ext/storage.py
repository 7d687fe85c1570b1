"""Trained components and what they keep in Rasa's model storage.

class MyComponent(StoredComponent): ...  config merged with get_default_config(), the
    storage and resource kept for train/load; Rasa builds it with ``create``
save_json(model_storage, resource, "gazetteer.json", payload)
load_json(model_storage, resource, "gazetteer.json") -> payload, or None when the
    component was never trained into this model (Rasa raises ValueError then)
"""

from __future__ import annotations

import json
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage


class StoredComponent(GraphComponent):
    """A component trained into the model: its configuration (over the defaults), and
    the storage and resource its ``train`` writes to and its ``load`` reads from."""

    def __init__(
        self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> StoredComponent:
        return cls(config, model_storage, resource)


def save_json(model_storage: ModelStorage, resource: Resource, name: str, payload: Any) -> None:
    with model_storage.write_to(resource) as directory:
        (directory / name).write_text(json.dumps(payload), encoding="utf-8")


def load_json(model_storage: ModelStorage, resource: Resource, name: str) -> Any | None:
    try:
        with model_storage.read_from(resource) as directory:
            return json.loads((directory / name).read_text(encoding="utf-8"))
    except ValueError:
        return None
