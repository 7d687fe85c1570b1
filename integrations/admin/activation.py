"""Putting a model version in service on the running Rasa server, and rolling back.

Rasa loads the new model while the old one keeps answering, then swaps them
(``PUT /model``): no downtime. ``GET /status`` then must name the new file. The
active model is also written to ``<models>/active`` so that ``scripts/run.sh`` starts
Rasa with it after a restart.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import requests

from integrations.admin.audit import AuditLog
from integrations.admin.compare import Comparison
from integrations.admin.project import Project
from integrations.admin.registry import ModelStatus, ModelVersion, Registry

log = logging.getLogger(__name__)

LOAD_TIMEOUT_S = 600.0


class ActivationError(RuntimeError):
    """The model was not activated; ``reason`` is French, ``code`` English."""

    def __init__(self, code: str, reason: str, status: int = 409) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class RasaModels:
    """Rasa's model endpoints (token-protected HTTP API)."""

    url: str
    token: str | None

    def _params(self) -> dict[str, str]:
        return {"token": self.token} if self.token else {}

    def loaded(self) -> str:
        """File name of the model Rasa runs now."""
        try:
            response = requests.get(f"{self.url}/status", params=self._params(), timeout=10)
            response.raise_for_status()
            return str(response.json().get("model_file") or "")
        except (requests.RequestException, ValueError) as err:
            # Not the error's text: its URL carries the token.
            log.warning("rasa status at %s failed: %s", self.url, type(err).__name__)
            raise ActivationError(
                "rasa_unavailable",
                "Le serveur Rasa ne répond pas : réessayez dans un instant.",
                status=503,
            ) from err

    def load(self, path: Path) -> None:
        """Swap Rasa's model for ``path`` and check that Rasa now runs it."""
        try:
            response = requests.put(
                f"{self.url}/model",
                params=self._params(),
                json={"model_file": str(path.resolve())},
                timeout=LOAD_TIMEOUT_S,
            )
        except requests.RequestException as err:
            log.warning("rasa model load of %s failed: %s", path, type(err).__name__)
            raise ActivationError(
                "rasa_unavailable",
                "Le serveur Rasa ne répond pas : le modèle n'a pas été activé.",
                status=503,
            ) from err
        if response.status_code != 204:
            log.warning("rasa refused model %s: %s %s", path, response.status_code, response.text)
            raise ActivationError(
                "rasa_refused",
                f"Le serveur Rasa a refusé le modèle (HTTP {response.status_code}).",
                status=502,
            )
        running = self.loaded()
        if Path(running).name != path.name:
            raise ActivationError(
                "rasa_mismatch",
                f"Le serveur Rasa exécute « {running} » au lieu du modèle demandé.",
                status=502,
            )


class Activator:
    def __init__(
        self, registry: Registry, audit: AuditLog, rasa: RasaModels, project: Project
    ) -> None:
        self.registry = registry
        self.audit = audit
        self.rasa = rasa
        self.project = project

    def activate(self, model_id: int, actor: str, force: bool = False) -> ModelVersion:
        """Put ``model_id`` in service; a refused model needs ``force`` (an admin override)."""
        model = self.registry.get(model_id)
        if model is None:
            raise ActivationError("model_not_found", "Modèle introuvable.", status=404)
        if model.active:
            raise ActivationError("already_active", "Ce modèle est déjà le modèle actif.")
        if model.running or model.status is ModelStatus.FAILED:
            raise ActivationError(
                "model_not_ready", "Ce modèle n'est pas prêt (entraînement en cours ou échoué)."
            )
        if model.status is ModelStatus.REFUSED and not force:
            raise ActivationError(
                "model_worse",
                "Ce modèle est moins bon que le modèle actif : cochez « Forcer l'activation » "
                "pour l'activer quand même.",
            )
        self._load(model)
        kind = "override" if model.status is ModelStatus.REFUSED else "manual"
        self.registry.record_activation(model.id, actor, kind)
        self.audit.record(actor, f"model.activate.{kind}", model=model.id, name=model.name)
        log.info("model %s activated by %s (%s)", model.name, actor, kind)
        return self.registry.get(model.id)  # type: ignore[return-value]

    def rollback(self, actor: str) -> ModelVersion:
        """Back to the model that was active before the current one."""
        target = self.registry.rollback_target()
        if target is None:
            raise ActivationError(
                "nothing_to_roll_back", "Aucun modèle précédent vers lequel revenir."
            )
        activation_id, model_id = target
        current = self.registry.active()
        previous = self.registry.get(model_id)
        assert previous is not None
        self._load(previous)
        self.registry.record_rollback(activation_id)
        self.audit.record(
            actor,
            "model.rollback",
            model=previous.id,
            name=previous.name,
            replaced=current.name if current else None,
        )
        log.info("model rolled back to %s by %s", previous.name, actor)
        return self.registry.get(model_id)  # type: ignore[return-value]

    def adopt_running(self, actor: str) -> ModelVersion:
        """Record the model Rasa runs now as the active version (the first baseline)."""
        name = self.rasa.loaded()
        path = self._resolve(name)
        if path is None:
            raise ActivationError(
                "model_file_missing",
                f"Fichier du modèle en service « {name} » introuvable dans "
                f"{self.project.models_dir}.",
            )
        model = self.registry.adopt(path, actor)
        self._write_pointer(path)
        self.audit.record(actor, "model.adopt", model=model.id, name=model.name)
        return model

    def decide(self, model_id: int, comparison: Comparison, actor: str) -> ModelVersion:
        """After evaluation: activate a model that is not worse, refuse the others.

        The job stays "running" until Rasa runs the new model, so that nobody starts
        another training or sees a result before the swap is done.
        """
        decision = {
            "verdict": "activated" if comparison.not_worse else "refused",
            "reason": comparison.reason(),
        }
        if not comparison.not_worse:
            self.registry.update(model_id, status=ModelStatus.REFUSED, decision=decision)
            self.audit.record(actor, "model.refused", model=model_id, reason=comparison.reason())
            return self.registry.get(model_id)  # type: ignore[return-value]
        model = self.registry.get(model_id)
        assert model is not None
        self.registry.update(model_id, progress={"phase": "activating"})
        self._load(model)
        self.registry.record_activation(model_id, actor, "auto")
        self.registry.update(model_id, status=ModelStatus.READY, decision=decision)
        self.audit.record(actor, "model.activate.auto", model=model_id, name=model.name)
        log.info("model %s activated by %s (auto)", model.name, actor)
        return self.registry.get(model_id)  # type: ignore[return-value]

    def _load(self, model: ModelVersion) -> None:
        if model.path is None or not model.path.exists():
            raise ActivationError(
                "model_file_missing", "Le fichier de ce modèle n'existe plus.", status=410
            )
        self.rasa.load(model.path)
        self._write_pointer(model.path)

    def _resolve(self, name: str) -> Path | None:
        for candidate in (Path(name), self.project.models_dir / Path(name).name):
            if candidate.is_file():
                return candidate.resolve()
        return None

    def _write_pointer(self, path: Path) -> None:
        """``<models>/active`` names the active file, for the next start of Rasa."""
        pointer = self.project.active_pointer
        path = path.resolve()
        pointer.parent.mkdir(parents=True, exist_ok=True)
        tmp = pointer.with_name(".active.tmp")
        value = path.name if path.parent == pointer.parent.resolve() else str(path)
        tmp.write_text(value + "\n", encoding="utf-8")
        os.replace(tmp, pointer)
