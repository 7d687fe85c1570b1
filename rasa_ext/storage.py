"""One JSON file per trained component, in Rasa's model storage.

save_json(model_storage, resource, "gazetteer.json", payload)
load_json(model_storage, resource, "gazetteer.json") -> payload, or None when the
    component was never trained into this model (Rasa raises ValueError then)
"""

from __future__ import annotations

import json
from typing import Any

from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage


def save_json(model_storage: ModelStorage, resource: Resource, name: str, payload: Any) -> None:
    with model_storage.write_to(resource) as directory:
        (directory / name).write_text(json.dumps(payload), encoding="utf-8")


def load_json(model_storage: ModelStorage, resource: Resource, name: str) -> Any | None:
    try:
        with model_storage.read_from(resource) as directory:
            return json.loads((directory / name).read_text(encoding="utf-8"))
    except ValueError:
        return None
