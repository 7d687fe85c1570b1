"""The admin area's parts wired together once, for the console and the CLI alike."""

from __future__ import annotations

import os
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from common.config import PROJECT_ROOT
from integrations.admin import inbox as inbox_module
from integrations.admin import registry as registry_module
from integrations.admin.activation import Activator, RasaModels
from integrations.admin.annotate import Annotator, ProjectData
from integrations.admin.audit import AuditLog, AuditRow
from integrations.admin.inbox import Inbox
from integrations.admin.project import Project
from integrations.admin.registry import Registry
from integrations.admin.training import Retraining
from integrations.settings import Settings

TABLES = [AuditRow.__table__, *inbox_module.TABLES, *registry_module.TABLES]


@dataclass
class Admin:
    settings: Settings
    project: Project
    audit: AuditLog
    inbox: Inbox
    data: ProjectData
    annotator: Annotator
    registry: Registry
    activator: Activator
    retraining: Retraining

    @classmethod
    def build(cls, settings: Settings, engine: Engine) -> Admin:
        project = Project.from_settings(settings)
        audit = AuditLog(engine)
        inbox = Inbox(engine, threshold=settings.admin.inbox_threshold)
        data = ProjectData(project)
        registry = Registry(engine)
        activator = Activator(
            registry, audit, RasaModels(settings.rasa_url, settings.rasa_token), project
        )
        return cls(
            settings=settings,
            project=project,
            audit=audit,
            inbox=inbox,
            data=data,
            annotator=Annotator(inbox, data, audit),
            registry=registry,
            activator=activator,
            retraining=Retraining(
                project=project,
                registry=registry,
                activator=activator,
                audit=audit,
                tolerance=settings.admin.tolerance,
                log_dir=project.models_dir / "logs",
                rasa_venv=settings.admin.rasa_venv,
            ),
        )


def child_env(settings: Settings) -> dict[str, str]:
    """The environment of a background CLI job, so it sees what this gateway sees."""
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "DATABASE_URL": settings.database_url,
        "RASA_URL": settings.rasa_url,
        "ADMIN_PROJECT_DIR": str(settings.admin.project_dir),
        "ADMIN_MODELS_DIR": str(settings.admin.models_dir),
        "ADMIN_INBOX_THRESHOLD": str(settings.admin.inbox_threshold),
        "ADMIN_TOLERANCE": str(settings.admin.tolerance),
        "RASA_VENV": str(settings.admin.rasa_venv),
    }
    if settings.rasa_token:
        env["RASA_TOKEN"] = settings.rasa_token
    return env
