"""Indicators at volume: the dashboard's queries with a million stored messages.

Seeds a fresh database (SQLite file, and a throw-away PostgreSQL from tools/postgres.py)
with ``--messages`` messages (default 1,000,000) in conversations of ten messages spread
over a year, with Rasa-shaped tracker events (intents; the ``commune`` slot in 60 % of the
conversations, communes drawn in proportion to their population; ``listed_places`` in a
third of those naming a commune, places near it; the same columns as Rasa's table),
handoffs and tickets; runs the first (full) refresh of the aggregates, then an
incremental one, then times every page the dashboard and the open data serve (all their
queries), for several periods and filters.
Prints the timings; the target is under one second per page.

    python -m bench.indicators [--messages 1000000] [--backends sqlite postgresql]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, insert
from sqlalchemy.engine import Engine

from common.config import PROJECT_ROOT
from common.db import make_engine
from common.migrate import upgrade
from integrations.indicators import opendata
from integrations.indicators.pages import _themes, dashboard_data
from integrations.indicators.refresh import refresh
from integrations.indicators.sections import Filters
from integrations.store import Conversation, Handoff, Message, Ticket

MESSAGES_PER_CONVERSATION = 10
CHANNELS = ("web", "web", "web", "telegram", "matrix")
INTENTS = (
    "find_digital_place",
    "ask_pass_numerique",
    "ask_procedure",
    "ask_fibre",
    "ask_contact",
    "greet",
    "nlu_fallback",
)
DAYS = 365
# Share of conversations that name a commune (a place search, a desk, a procedure).
NAMES_A_COMMUNE = 0.6
BATCH = 20_000
# Each page is timed this many times; the slowest run counts.
RUNS = 3

# The columns of Rasa's SQLTrackerStore table (rasa/core/tracker_store.py, SQLEvent).
EVENTS = Table(
    "events",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)


def communes() -> tuple[list[str], list[int]]:
    """Commune names and populations (people name their commune as often as they live there)."""
    with (PROJECT_ROOT / "data" / "communes.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [r["nom"] for r in rows], [int(r["population"] or 1) for r in rows]


def seed(engine: Engine, messages: int, end: datetime, rng: random.Random) -> None:
    EVENTS.create(engine, checkfirst=True)
    names, weights = communes()
    conversations = messages // MESSAGES_PER_CONVERSATION
    batches: dict[Any, list[dict]] = {Message: [], EVENTS: [], Handoff: [], Ticket: []}

    def flush(force: bool = False) -> None:
        for target, rows in batches.items():
            if rows and (force or len(rows) >= BATCH):
                with engine.begin() as connection:
                    connection.execute(insert(target), rows)
                rows.clear()

    with engine.begin() as connection:
        connection.execute(
            insert(Conversation),
            [
                {
                    "id": n + 1,
                    "key": f"{CHANNELS[n % 5]}:bench-{n}",
                    "channel": CHANNELS[n % 5],
                    "chat_id": f"bench-{n}",
                    "user_id": f"bench-{n}",
                    "role": "citizen",
                    "locale": "fr",
                    "owner": "bot",
                    "created_at": _moment(n, conversations, end),
                    "updated_at": _moment(n, conversations, end) + timedelta(minutes=5),
                }
                for n in range(conversations)
            ],
        )
    for n in range(conversations):
        at = _moment(n, conversations, end)
        key = f"{CHANNELS[n % 5]}:bench-{n}"
        for m in range(MESSAGES_PER_CONVERSATION):
            user = m % 2 == 0
            batches[Message].append(
                {
                    "conversation_id": n + 1,
                    "direction": "in" if user else "out",
                    "author": "user" if user else "bot",
                    "channel": CHANNELS[n % 5],
                    "text": "bonjour" if user else "Bonjour !",
                    "created_at": at + timedelta(seconds=10 * m),
                }
            )
            if user:
                intent = rng.choice(INTENTS)
                batches[EVENTS].append(
                    _event(key, "user", at, intent_name=intent, text="bonjour", intent=intent)
                )
        commune = rng.choices(names, weights)[0] if rng.random() < NAMES_A_COMMUNE else None
        if commune:
            batches[EVENTS].append(_event(key, "slot", at, name="commune", value=commune))
        if n % 3 == 0 and commune:
            # The three places nearest to the commune: a few of ~300 around it.
            near = names.index(commune) % 100 * 3
            places = [f"lieu-{near + rng.randrange(6)}" for _ in range(3)]
            batches[EVENTS].append(_event(key, "slot", at, name="listed_places", value=places))
        if n % 20 == 0:
            taken = n % 40 == 0
            batches[Handoff].append(
                {
                    "conversation_id": n + 1,
                    "kind": "live",
                    "reason": "request_human",
                    "status": "ended",
                    "outcome": "handed_back" if taken else "cancelled",
                    "requested_at": at + timedelta(minutes=1),
                    "taken_at": at + timedelta(minutes=1, seconds=rng.randrange(30, 900))
                    if taken
                    else None,
                    "ended_at": at + timedelta(minutes=20),
                }
            )
        if n % 50 == 0:
            batches[Ticket].append(
                {
                    "conversation_id": n + 1,
                    "channel": CHANNELS[n % 5],
                    "contact": "06 00 00 00 00",
                    "text": "rappel",
                    "status": "done",
                    "created_at": at + timedelta(minutes=2),
                    "done_at": at + timedelta(hours=rng.randrange(1, 48)),
                }
            )
        flush()
    flush(force=True)


def _moment(n: int, total: int, end: datetime) -> datetime:
    return end - timedelta(days=DAYS) + timedelta(seconds=n * DAYS * 86400 / total)


def _event(
    sender: str, kind: str, at: datetime, intent_name: str | None = None, **data: Any
) -> dict:
    body: dict[str, Any] = {"event": kind, "timestamp": at.timestamp()}
    if kind == "user":
        body["parse_data"] = {"intent": {"name": data["intent"], "confidence": 0.9}}
        body["text"] = data["text"]
    else:
        body.update(data)
    return {
        "sender_id": sender,
        "type_name": kind,
        "timestamp": at.timestamp(),
        "intent_name": intent_name,
        "data": json.dumps(body),
    }


def timed(label: str, fn: Callable[[], Any], runs: int = 1) -> float:
    """Run ``fn`` ``runs`` times; print the first (cold) and the slowest; return the slowest."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    extra = f"  (first {times[0] * 1000:.0f} ms, of {runs} runs)" if runs > 1 else ""
    print(f"  {label:<52} {max(times) * 1000:8.0f} ms{extra}")
    return max(times)


@contextmanager
def database(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-indicators-") as folder:
            yield f"sqlite:///{Path(folder) / 'bench.db'}"
    else:
        from tools.postgres import running_postgres

        with running_postgres() as url:
            yield url


def bench(backend: str, messages: int) -> list[float]:
    rng = random.Random(16)
    end = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    with database(backend) as url:
        upgrade(url)
        engine = make_engine(url)
        print(f"{backend}: {messages:,} messages".replace(",", " "))
        timed("seeding", lambda: seed(engine, messages, end, rng))
        timed("first refresh (every day)", lambda: refresh(engine, end + timedelta(hours=2)))
        timed(
            "incremental refresh, nothing new",
            lambda: refresh(engine, end + timedelta(hours=2, minutes=5)),
        )
        today = end.date()
        year = Filters(today - timedelta(days=364), today, step="mois")
        month = Filters(today - timedelta(days=29), today)
        epci = Filters(year.start, today, epci="242900314", step="semaine")
        channel_topic = Filters(year.start, today, canal="telegram", theme="ask_fibre")
        pages = []
        for label, filters in (
            ("dashboard, one year by month", year),
            ("dashboard, 30 days by day", month),
            ("dashboard, one year, Brest Métropole, by week", epci),
            ("dashboard, one year, telegram, topic fibre", channel_topic),
        ):
            pages.append(
                timed(label, lambda f=filters: (dashboard_data(engine, f), _themes(engine)), RUNS)
            )
        with engine.connect() as connection:
            pages.append(
                timed("open data CSV", lambda: opendata.to_csv(opendata.rows(connection, 5)), RUNS)
            )
        engine.dispose()
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    worst = 0.0
    for backend in args.backends:
        worst = max(worst, *bench(backend, args.messages))
    verdict = "under" if worst < 1 else "OVER"
    print(f"slowest dashboard or open-data query: {worst * 1000:.0f} ms ({verdict} one second)")


if __name__ == "__main__":
    _ = date
    main()
