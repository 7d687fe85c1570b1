"""Two mediators take the same conversation at the same instant: exactly one wins.

A real race: one thread and one database session per mediator, released together by a
barrier, on SQLite and on a real PostgreSQL server. Only the conditional UPDATE
(``... WHERE owner = 'waiting'``) decides.
"""

from __future__ import annotations

import threading

from common.db import make_engine
from common.migrate import upgrade
from integrations.handoff.store import HandoffRef, HandoffStore, Mediator
from integrations.messages import Incoming, Role
from integrations.settings import Settings
from integrations.store import HandoffKind, Owner, Store

ROUNDS = 20
MEDIATORS = [Mediator(1, "Annick"), Mediator(2, "Bruno"), Mediator(3, "Chloé")]


def race(database_url: str) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    store = Store(engine)
    try:
        handoffs = HandoffStore(engine)
        for round_ in range(ROUNDS):
            conversation, _ = store.record_incoming(
                Incoming("web", f"race-{round_}", f"race-{round_}", "/request_human", Role.CITIZEN)
            )
            assert handoffs.request(conversation.id, "request_human", HandoffKind.LIVE)
            barrier = threading.Barrier(len(MEDIATORS))
            results: dict[int, HandoffRef | None] = {}

            def take(
                mediator: Mediator,
                conversation_id: int = conversation.id,
                barrier: threading.Barrier = barrier,
                results: dict[int, HandoffRef | None] = results,
            ) -> None:
                barrier.wait()
                results[mediator.id] = handoffs.take(conversation_id, mediator)

            threads = [threading.Thread(target=take, args=(m,)) for m in MEDIATORS]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            winners = [mediator_id for mediator_id, won in results.items() if won is not None]
            assert len(results) == len(MEDIATORS)
            assert len(winners) == 1, results
            current = handoffs.current(conversation.id)
            assert current is not None and current.mediator_id == winners[0]
            assert store.conversation(f"web:race-{round_}").owner is Owner.MEDIATOR
            # And nobody can take it from the winner afterwards.
            assert handoffs.take(conversation.id, MEDIATORS[0]) is None
    finally:
        # The PostgreSQL database is shared by the session's tests: leave it as found.
        for round_ in range(ROUNDS):
            store.delete_conversation(f"web:race-{round_}")
        engine.dispose()


def test_one_winner_on_sqlite(base_settings: Settings) -> None:
    race(base_settings.database_url)


def test_one_winner_on_postgresql(postgres_url: str) -> None:
    race(postgres_url)
