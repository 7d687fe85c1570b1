"""Audit log of the admin area: who changed the assistant, when, and what.

Every annotation, training, activation and rollback, from the console or the CLI,
adds one row; nothing updates or deletes rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Integer, String, select
from sqlalchemy.engine import Engine

from common.db import Base, make_session_factory, session_scope
from integrations.messages import utcnow
from integrations.store import detached


class AuditRow(Base):
    __tablename__ = "admin_audit"

    id = Column(Integer, primary_key=True)
    at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    actor = Column(String(255), nullable=False)
    action = Column(String(64), nullable=False)
    detail = Column(JSON, nullable=False, default=dict)


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]


class AuditLog:
    def __init__(self, engine: Engine) -> None:
        self._sessions = make_session_factory(engine)

    def record(self, actor: str, action: str, **detail: Any) -> None:
        with session_scope(self._sessions) as session:
            session.add(AuditRow(actor=actor, action=action, detail=detail, at=utcnow()))

    def latest(self, limit: int = 200) -> list[AuditEntry]:
        with session_scope(self._sessions) as session:
            rows = session.execute(
                select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
            ).scalars()
            return [detached(AuditEntry, row) for row in rows]
