"""Rasa's SQL tracker store configured with one database URL.

The gateway, the action server and Rasa share the ``DATABASE_URL`` setting;
Rasa's own SQLTrackerStore wants the URL split into dialect, host, port…
"""

from __future__ import annotations

from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from sqlalchemy.engine.url import make_url


class UrlSQLTrackerStore(SQLTrackerStore):
    """An SQLTrackerStore built from the endpoint's ``url`` (SQLite file or PostgreSQL).

    Rasa passes the endpoint's ``url`` to custom tracker stores as ``host``.
    """

    def __init__(
        self, domain: Domain | None = None, host: str | None = None, **kwargs: Any
    ) -> None:
        if not host:
            raise ValueError("tracker_store.url is required (set DATABASE_URL)")
        parsed = make_url(host)
        super().__init__(
            domain=domain,
            dialect=parsed.drivername,
            host=parsed.host,
            port=parsed.port,
            db=parsed.database,
            username=parsed.username,
            password=parsed.password,
            query=dict(parsed.query) or None,
            **kwargs,
        )
