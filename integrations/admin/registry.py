"""Model versions: training jobs, their held-out scores, activations and rollbacks.

A row of ``admin_models`` is created when a training starts (its progress lives there,
so every console page and the CLI see it), gets its file and scores, and ends
``ready`` (may be activated), ``refused`` (worse than the active model: only an
explicit override activates it) or ``failed``. Models adopted from a running Rasa
server are rows too. ``admin_activations`` is a stack: the active model is the latest
activation not rolled back, and a rollback pops it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    select,
)
from sqlalchemy.engine import Engine

from common.db import Base, as_utc, make_session_factory, session_scope
from integrations.messages import utcnow
from integrations.store import detached

# A job whose row has not moved for this long is considered dead (killed process).
STALE_AFTER = timedelta(minutes=20)


class ModelStatus(StrEnum):
    QUEUED = "queued"
    TRAINING = "training"
    EVALUATING = "evaluating"
    READY = "ready"
    REFUSED = "refused"
    FAILED = "failed"


RUNNING = (ModelStatus.QUEUED, ModelStatus.TRAINING, ModelStatus.EVALUATING)


class ModelRow(Base):
    __tablename__ = "admin_models"

    id = Column(Integer, primary_key=True)
    name = Column(String(255), nullable=True)  # file name, once trained
    path = Column(String(1000), nullable=True)
    source = Column(String(16), nullable=False)  # trained | adopted
    status = Column(String(16), nullable=False)
    created_by = Column(String(255), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    pid = Column(Integer, nullable=True)
    progress = Column(JSON, nullable=True)  # {"phase", "component", "epoch", "epochs"}
    error = Column(Text, nullable=True)
    log_path = Column(String(1000), nullable=True)
    # Held-out scores, and which version of the held-out split gave them.
    held_out = Column(String(32), nullable=True)
    examples = Column(Integer, nullable=True)
    accuracy = Column(Float, nullable=True)
    macro_f1 = Column(Float, nullable=True)
    per_intent = Column(JSON, nullable=True)  # {intent: {"f1", "support"}}
    # Why it was (not) activated: {"verdict", "against", "reason"}.
    decision = Column(JSON, nullable=True)


class ActivationRow(Base):
    __tablename__ = "admin_activations"

    id = Column(Integer, primary_key=True)
    model_id = Column(Integer, ForeignKey("admin_models.id"), nullable=False)
    at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    actor = Column(String(255), nullable=False)
    kind = Column(String(16), nullable=False)  # auto | manual | override | adopt
    rolled_back = Column(Boolean, nullable=False, default=False)
    rolled_back_at = Column(DateTime(timezone=True), nullable=True)


TABLES = [ModelRow.__table__, ActivationRow.__table__]


@dataclass(frozen=True)
class Scores:
    held_out: str
    examples: int
    accuracy: float
    macro_f1: float
    per_intent: dict[str, dict[str, float]]


@dataclass(frozen=True)
class ModelVersion:
    id: int
    name: str | None
    path: Path | None
    source: str
    status: ModelStatus
    created_by: str
    created_at: datetime
    updated_at: datetime
    progress: dict[str, Any] | None
    error: str | None
    scores: Scores | None
    decision: dict[str, Any] | None
    active: bool = False

    @property
    def running(self) -> bool:
        return self.status in RUNNING


class TrainingBusy(RuntimeError):
    """A training is already running: one at a time on this machine."""


class Registry:
    def __init__(self, engine: Engine) -> None:
        self._sessions = make_session_factory(engine)

    # --- training jobs -----------------------------------------------------------------

    def start_job(self, actor: str) -> ModelVersion:
        """A queued training job; refused while another one runs."""
        with session_scope(self._sessions) as session:
            now = utcnow()
            for row in session.execute(
                select(ModelRow).where(ModelRow.status.in_([s.value for s in RUNNING]))
            ).scalars():
                if now - as_utc(row.updated_at) < STALE_AFTER:
                    raise TrainingBusy(row.id)
                row.status = ModelStatus.FAILED.value
                row.error = "Entraînement interrompu (processus arrêté)."
            row = ModelRow(
                source="trained",
                status=ModelStatus.QUEUED.value,
                created_by=actor,
                created_at=now,
                updated_at=now,
                progress={"phase": "queued"},
            )
            session.add(row)
            session.flush()
            return _version(row, active=False)

    def update(self, model_id: int, **values: Any) -> None:
        """Change a job's columns (status, progress, pid, name, path, error…)."""
        with session_scope(self._sessions) as session:
            row = session.get(ModelRow, model_id)
            if row is None:
                raise LookupError(model_id)
            for name, value in values.items():
                if isinstance(value, StrEnum):
                    value = value.value
                elif isinstance(value, Path):
                    value = str(value)
                setattr(row, name, value)
            row.updated_at = utcnow()

    def set_scores(self, model_id: int, scores: Scores) -> None:
        self.update(
            model_id,
            held_out=scores.held_out,
            examples=scores.examples,
            accuracy=scores.accuracy,
            macro_f1=scores.macro_f1,
            per_intent=scores.per_intent,
        )

    def running(self) -> ModelVersion | None:
        with session_scope(self._sessions) as session:
            row = session.execute(
                select(ModelRow)
                .where(ModelRow.status.in_([s.value for s in RUNNING]))
                .order_by(ModelRow.id.desc())
                .limit(1)
            ).scalar_one_or_none()
            return _version(row, active=False) if row is not None else None

    # --- versions ----------------------------------------------------------------------

    def adopt(self, path: Path, actor: str) -> ModelVersion:
        """Record ``path`` (what Rasa runs now) as a model version and as the active one."""
        with session_scope(self._sessions) as session:
            row = session.execute(
                select(ModelRow).where(ModelRow.path == str(path))
            ).scalar_one_or_none()
            if row is None:
                row = ModelRow(
                    name=path.name,
                    path=str(path),
                    source="adopted",
                    status=ModelStatus.READY.value,
                    created_by=actor,
                    progress=None,
                )
                session.add(row)
                session.flush()
            session.add(ActivationRow(model_id=row.id, actor=actor, kind="adopt", at=utcnow()))
            session.flush()
            return _version(row, active=True)

    def get(self, model_id: int) -> ModelVersion | None:
        with session_scope(self._sessions) as session:
            row = session.get(ModelRow, model_id)
            if row is None:
                return None
            return _version(row, active=_active_id(session) == row.id)

    def versions(self, limit: int = 50) -> list[ModelVersion]:
        with session_scope(self._sessions) as session:
            active = _active_id(session)
            rows = session.execute(
                select(ModelRow).order_by(ModelRow.id.desc()).limit(limit)
            ).scalars()
            return [_version(row, active=row.id == active) for row in rows]

    def active(self) -> ModelVersion | None:
        with session_scope(self._sessions) as session:
            active = _active_id(session)
            row = session.get(ModelRow, active) if active is not None else None
            return _version(row, active=True) if row is not None else None

    def record_activation(self, model_id: int, actor: str, kind: str) -> None:
        with session_scope(self._sessions) as session:
            session.add(ActivationRow(model_id=model_id, actor=actor, kind=kind, at=utcnow()))

    def rollback_target(self) -> tuple[int, int] | None:
        """(current activation id, model id to go back to), or None when nothing is before."""
        with session_scope(self._sessions) as session:
            rows = session.execute(
                select(ActivationRow)
                .where(ActivationRow.rolled_back.is_(False))
                .order_by(ActivationRow.id.desc())
            ).scalars()
            stack = list(rows)
            if not stack:
                return None
            current = stack[0]
            for previous in stack[1:]:
                if previous.model_id != current.model_id:
                    return current.id, previous.model_id
            return None

    def record_rollback(self, activation_id: int) -> None:
        """Pop the stack down to the activation below ``activation_id``'s model."""
        with session_scope(self._sessions) as session:
            current = session.get(ActivationRow, activation_id)
            if current is None:
                raise LookupError(activation_id)
            # Every activation of the same model on top of the stack goes with it.
            for row in session.execute(
                select(ActivationRow)
                .where(ActivationRow.rolled_back.is_(False))
                .order_by(ActivationRow.id.desc())
            ).scalars():
                if row.model_id != current.model_id:
                    break
                row.rolled_back = True
                row.rolled_back_at = utcnow()


def _active_id(session: Any) -> int | None:
    return session.execute(
        select(ActivationRow.model_id)
        .where(ActivationRow.rolled_back.is_(False))
        .order_by(ActivationRow.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def _version(row: ModelRow, active: bool) -> ModelVersion:
    scores = None
    if row.accuracy is not None:
        scores = Scores(
            held_out=row.held_out or "",
            examples=row.examples or 0,
            accuracy=row.accuracy,
            macro_f1=row.macro_f1 or 0.0,
            per_intent=row.per_intent or {},
        )
    return detached(
        ModelVersion,
        row,
        path=Path(row.path) if row.path else None,
        status=ModelStatus(row.status),
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        scores=scores,
        active=active,
    )
