"""Trained components and what they keep in Rasa's model storage.

class MyComponent(StoredComponent): ...  config merged with get_default_config(), the
    storage and resource kept for train/load; Rasa builds it with ``create``; trained
    anew when its code (its module and the project's modules it imports, transitively)
    or a file named by ``data_files(config)`` changes, not only its config or data
save_json(model_storage, resource, "gazetteer.json", payload)
load_json(model_storage, resource, "gazetteer.json") -> payload, or None when the
    component was never trained into this model (Rasa raises ValueError then)
"""

from __future__ import annotations

import hashlib
import inspect
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage

from common.config import PROJECT_ROOT


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

    @classmethod
    def data_files(cls, config: dict[str, Any]) -> list[Path]:
        """Files the training reads besides Rasa's training data (none by default)."""
        return []

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str:
        """Rasa's fingerprint covers a component's config, inputs and class body, not the
        functions beside it, what it imports or the files it reads: without this, a
        change there restores the old component from the cache (and scripts/train.sh's
        dry run calls the model up to date)."""
        digest = hashlib.sha256()
        modules = {sys.modules[c.__module__] for c in cls.__mro__ if c.__module__ in sys.modules}
        files = {Path(inspect.getfile(m)) for m in project_modules(modules)}
        for path in sorted(files | set(cls.data_files({**cls.get_default_config(), **config}))):
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        return digest.hexdigest()


def project_modules(roots: set[ModuleType]) -> Iterator[ModuleType]:
    """``roots`` and the project's modules they import, transitively (Rasa and the
    standard library left out)."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        module = todo.pop()
        if module.__name__ in seen or not in_project(module):
            continue
        seen.add(module.__name__)
        yield module
        for value in vars(module).values():
            if isinstance(value, ModuleType):
                todo.append(value)
                continue
            name = getattr(value, "__module__", None)
            if isinstance(name, str) and name in sys.modules:
                todo.append(sys.modules[name])


def in_project(module: ModuleType) -> bool:
    """Whether ``module`` is one of the project's own (the virtual environments, inside
    the project's folder, hold the others)."""
    path = getattr(module, "__file__", None)
    package = module.__name__.partition(".")[0]
    return bool(path) and Path(path).is_relative_to(PROJECT_ROOT / package)


def save_json(model_storage: ModelStorage, resource: Resource, name: str, payload: Any) -> None:
    with model_storage.write_to(resource) as directory:
        (directory / name).write_text(json.dumps(payload), encoding="utf-8")


def load_json(model_storage: ModelStorage, resource: Resource, name: str) -> Any | None:
    try:
        with model_storage.read_from(resource) as directory:
            return json.loads((directory / name).read_text(encoding="utf-8"))
    except ValueError:
        return None
