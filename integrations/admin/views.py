"""French wording of the admin area's states, shared by the console pages and the CLI."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from common.config import TIMEZONE
from common.db import as_utc
from integrations.admin.inbox import Status
from integrations.admin.registry import ModelStatus, ModelVersion

PARIS = ZoneInfo(TIMEZONE)
MODEL_STATUS_LABELS = {
    ModelStatus.QUEUED: "en attente",
    ModelStatus.TRAINING: "entraînement",
    ModelStatus.EVALUATING: "évaluation",
    ModelStatus.READY: "prêt",
    ModelStatus.REFUSED: "refusé",
    ModelStatus.FAILED: "échec",
}
INBOX_STATUS_LABELS = {
    Status.OPEN: "à traiter",
    Status.ANNOTATED: "annoté",
    Status.OUT_OF_SCOPE: "hors périmètre",
    Status.IGNORED: "ignoré",
}
AUDIT_LABELS = {
    "annotate.intent": "Annotation (intention existante)",
    "annotate.new_intent": "Annotation (nouvelle intention)",
    "annotate.out_of_scope": "Annotation (hors périmètre)",
    "annotate.ignore": "Message ignoré",
    "model.train": "Entraînement lancé",
    "model.refused": "Modèle refusé",
    "model.failed": "Entraînement échoué",
    "model.adopt": "Modèle en service enregistré",
    "model.activate.auto": "Modèle activé (automatiquement)",
    "model.activate.manual": "Modèle activé",
    "model.activate.override": "Modèle activé malgré un score inférieur",
    "model.rollback": "Retour au modèle précédent",
    "inbox.flag": "Message signalé par un médiateur",
    "privacy.find": "Recherche des données d'une personne",
    "privacy.export": "Export des données d'une personne",
    "privacy.erase": "Effacement des données d'une personne",
}
PHASES = {
    "queued": "En attente de démarrage",
    "training": "Entraînement",
    "evaluating": "Évaluation sur le jeu de test",
    "evaluating_active": "Évaluation du modèle actif sur le même jeu de test",
    "activating": "Mise en service du nouveau modèle",
    "done": "Terminé",
    "failed": "Échec",
}


def status_label(status: ModelStatus) -> str:
    return MODEL_STATUS_LABELS.get(status, str(status))


def describe_progress(job: ModelVersion) -> str:
    """ "Entraînement #3 : DIETClassifier, époque 12/30" and the like."""
    progress: dict[str, Any] = job.progress or {}
    phase = PHASES.get(str(progress.get("phase")), "En cours")
    text = f"{phase} (modèle #{job.id})"
    if progress.get("component"):
        text += f" : {progress['component']}"
        if progress.get("epochs"):
            text += f", époque {progress.get('epoch') or 0}/{progress['epochs']}"
    return text


def progress_json(job: ModelVersion | None) -> dict[str, Any]:
    """What the console's script polls (``GET /console/admin/training``)."""
    if job is None:
        return {"running": False, "text": "Aucun entraînement en cours."}
    progress = job.progress or {}
    epochs = progress.get("epochs") or 0
    return {
        "running": job.running,
        "id": job.id,
        "status": job.status.value,
        "text": describe_progress(job),
        "component": progress.get("component"),
        "epoch": progress.get("epoch"),
        "epochs": epochs or None,
        "done": progress.get("done") or [],
    }


def format_when(moment: datetime | None) -> str:
    """A stored (UTC) moment as the council reads it: Paris time with its zone,
    "24/11/2026 18:05 CET" (CEST in summer)."""
    if moment is None:
        return "—"
    return as_utc(moment).astimezone(PARIS).strftime("%d/%m/%Y %H:%M %Z")


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %".replace(".", ",")


def signed_points(value: float | None) -> str:
    """A score difference in points: "+1,2 pt", "−0,3 pt"."""
    if value is None:
        return "—"
    points = value * 100
    sign = "+" if points >= 0 else "−"
    return f"{sign}{abs(points):.1f} pt".replace(".", ",")


TEMPLATE_HELPERS = {
    "when": format_when,
    "percent": percent,
    "points": signed_points,
}
