"""Audit log of the admin area: who changed the assistant, when, and what.

Every annotation, training, activation and rollback, from the console or the CLI,
adds one row, and so does every search, export or erasure of a person's data
(``integrations/privacy/``). Rows are never deleted: past ``RETENTION_AUDIT_DAYS``
(or when the person they name is erased) their free text (:data:`FREE_TEXT`, such as
the message annotated) is dropped, and who, when and what kind of action stay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Integer, String, inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from common.db import Base, make_session_factory, session_scope
from integrations.admin.inbox import StateRow
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


# Detail fields that may quote people (an annotated message, a new answer).
FREE_TEXT = frozenset({"text", "response"})
AUDIT_CURSOR = "audit.stripped_through"


def without_free_text(detail: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in detail.items() if name not in FREE_TEXT}


def strip_rows(session: Session, rows: list[AuditRow]) -> int:
    """Drop the free text of ``rows``; how many changed."""
    changed = 0
    for row in rows:
        detail = dict(row.detail or {})
        kept = without_free_text(detail)
        if kept != detail:
            row.detail = {**kept, "text_removed": True}
            changed += 1
    session.flush()
    return changed


def strip_text_before(engine: Engine, cutoff: datetime) -> int:
    """Drop the free text of entries older than ``cutoff`` (retention); how many changed.

    A cursor in ``admin_state`` remembers the last entry done, so that each run only
    reads the entries that have come of age since. 0 while the tables do not exist.
    """
    found = inspect(engine)
    if not (found.has_table(AuditRow.__tablename__) and found.has_table(StateRow.__tablename__)):
        return 0  # the admin area has not created (all) its tables yet
    sessions = make_session_factory(engine)
    with session_scope(sessions) as session:
        state = session.get(StateRow, AUDIT_CURSOR)
        done = int(state.value) if state is not None else 0
        rows = list(
            session.execute(
                select(AuditRow)
                .where(AuditRow.id > done, AuditRow.at < cutoff)
                .order_by(AuditRow.id)
            ).scalars()
        )
        if not rows:
            return 0
        changed = strip_rows(session, rows)
        if state is None:
            session.add(StateRow(name=AUDIT_CURSOR, value=str(rows[-1].id)))
        else:
            state.value = str(rows[-1].id)
        return changed
