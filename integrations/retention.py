"""Personal data has an end: each data type is kept for its own period, then purged.

    type                  settings (days)                         what goes
    gateway messages      RETENTION_MESSAGES_DAYS (GATEWAY_RETENTION_DAYS)
                                                                  messages, then their empty
                                                                  conversations (with their
                                                                  handoffs and notes)
    Rasa tracker events   RETENTION_TRACKER_DAYS (GATEWAY_RETENTION_DAYS)
                                                                  rows of ``events``
    handoff tickets       RETENTION_TICKETS_DAYS                  tickets closed (or, still
                                                                  open, created) before
    NLU inbox items       RETENTION_INBOX_DAYS                    items last seen before
    audit-log text        RETENTION_AUDIT_DAYS                    the free text of entries;
                                                                  who, when, what kind stay

The gateway runs :func:`purge` at start and then every hour (:func:`retention_ctx`),
in a thread: every step is one SQL statement (or a small batch) that works the same on
SQLite and PostgreSQL. A table that does not exist yet (Rasa's ``events`` before its
first conversation, the admin tables before the admin area started) counts as empty.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from aiohttp import web
from sqlalchemy.engine import Engine

from integrations import keys
from integrations.admin.audit import strip_text_before
from integrations.admin.inbox import purge_inbox_before
from integrations.handoff.store import HandoffStore
from integrations.settings import RetentionPeriods
from integrations.store import Store
from integrations.tasks import background
from integrations.tracker_events import delete_tracker_events

log = logging.getLogger(__name__)

RETENTION_CHECK_S = 3600.0


@dataclass(frozen=True)
class Purged:
    """How many rows each step deleted (or, for the audit log, stripped of their text)."""

    messages: int = 0
    tracker_events: int = 0
    tickets: int = 0
    inbox_items: int = 0
    audit_texts: int = 0

    @property
    def total(self) -> int:
        return sum(asdict(self).values())


def purge(engine: Engine, periods: RetentionPeriods, now: datetime | None = None) -> Purged:
    """Apply every retention period at ``now`` (default: the current instant)."""
    now = now or datetime.now(UTC)

    def cutoff(days: int) -> datetime:
        return now - timedelta(days=days)

    return Purged(
        messages=Store(engine).purge_before(cutoff(periods.messages)),
        tracker_events=delete_tracker_events(engine, before=cutoff(periods.tracker)),
        tickets=HandoffStore(engine).purge_tickets_before(cutoff(periods.tickets)),
        inbox_items=purge_inbox_before(engine, cutoff(periods.inbox)),
        audit_texts=strip_text_before(engine, cutoff(periods.audit)),
    )


async def purge_expired(app: web.Application) -> Purged:
    """:func:`purge` on the gateway's database with its settings, off the event loop."""
    periods = app[keys.SETTINGS].retention_periods
    purged = await asyncio.to_thread(purge, app[keys.STORE].engine, periods)
    if purged.total:
        log.info("retention: %s (periods in days: %s)", asdict(purged), asdict(periods))
    return purged


async def retention_ctx(app: web.Application) -> AsyncIterator[None]:
    """Purge expired data at start and then every hour, in the background."""

    async def loop() -> None:
        while True:
            try:
                await purge_expired(app)
            except Exception:  # a failed purge must not stop the gateway; retried later
                log.exception("retention purge failed")
            await asyncio.sleep(RETENTION_CHECK_S)

    async with background(loop(), "retention"):
        yield
