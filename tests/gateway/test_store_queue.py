"""The transactions of every message's path (integrations/store.py, integrations/outbox.py),
on SQLite and on a real PostgreSQL server: what they store, in which order, and what the
transaction that queues a message tells the gateway's first try."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from common.db import as_utc, make_engine, make_session_factory, session_scope
from common.migrate import upgrade
from integrations.messages import Author, Button, Incoming, Reply, Role
from integrations.outbox import MESSAGE_KEY, Outbox, OutboxEntry, Pending
from integrations.store import Conversation, Direction, Owner, Store, move_owner


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path) -> Iterator[Store]:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'gateway.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    upgrade(url)
    engine = make_engine(url)
    yield Store(engine)
    engine.dispose()


def incoming(chat: str, text: str, **fields) -> Incoming:  # type: ignore[no-untyped-def]
    return Incoming("web", chat, None, text, Role.CITIZEN, **fields)


def queue(store: Store, outbox: Outbox, message: Incoming):  # type: ignore[no-untyped-def]
    """Store ``message`` as the gateway does: queued in the same transaction."""
    enqueue = outbox.enqueuer(message)
    conversation, stored = store.record_incoming(message, enqueue)
    return conversation, stored, enqueue.queued


def move(store: Store, conversation_id: int, to: Owner) -> None:
    with session_scope(make_session_factory(store.engine)) as session:
        assert move_owner(session, conversation_id, tuple(Owner), to)


def test_replies_get_increasing_ids_in_the_order_given(store: Store):
    conversation, stored = store.record_incoming(incoming("order", "bonjour"))
    replies = [Reply(text=f"réponse {n}") for n in range(6)]
    replies.insert(2, Reply(text="Un choix ?", buttons=(Button("Oui", "/affirm"),)))

    answers = store.record_replies(conversation.id, replies)

    ids = [a.id for a in answers]
    assert ids == sorted(ids) and len(set(ids)) == len(ids) and ids[0] > stored.id
    assert [a.text for a in answers] == [r.text for r in replies]
    kept = store.messages("web:order", after=stored.id)
    assert [(m.id, m.text, m.direction) for m in kept] == [
        (a.id, a.text, Direction.OUT) for a in answers
    ]
    assert kept[2].reply().buttons == (Button("Oui", "/affirm"),)
    assert all(m.created_at == kept[0].created_at for m in kept)


def test_replies_bring_the_conversation_up_to_date_or_find_none(store: Store):
    long_ago = datetime.now(UTC) - timedelta(days=3)
    conversation, _ = store.record_incoming(incoming("date", "bonjour", received_at=long_ago))

    store.record_replies(conversation.id, [Reply(text="Bonjour !", author=Author.BOT)])

    with session_scope(make_session_factory(store.engine)) as session:
        row = session.get(Conversation, conversation.id)
        assert row is not None
        assert datetime.now(UTC) - as_utc(row.updated_at) < timedelta(minutes=1)
    with pytest.raises(LookupError):
        store.record_replies(conversation.id + 1000, [Reply(text="perdu")])
    assert [m.text for m in store.messages("web:date")] == ["bonjour", "Bonjour !"]


def test_a_message_creates_its_conversation_then_updates_it(store: Store):
    first_at = datetime.now(UTC) - timedelta(hours=2)
    created, first = store.record_incoming(incoming("new", "bonjour", received_at=first_at))
    assert (created.key, created.channel, created.chat_id, created.owner) == (
        "web:new",
        "web",
        "new",
        Owner.BOT,
    )
    assert store.conversation("web:new") == created

    again, second = store.record_incoming(incoming("new", "demat", locale="br", client_id="c-2"))

    assert again == created and second.id > first.id
    assert (second.text, second.author, second.client_id) == ("demat", Author.USER, "c-2")
    with session_scope(make_session_factory(store.engine)) as session:
        row = session.get(Conversation, created.id)
        assert row is not None and row.locale == "br"
        assert as_utc(row.created_at) == first_at
        assert as_utc(row.updated_at) == second.at


def test_the_queueing_transaction_gives_the_row_and_whether_one_waits_before(store: Store):
    outbox = Outbox(store)
    conversation, stored, queued = queue(store, outbox, incoming("q", "bonjour"))

    assert queued is not None and not queued.behind
    # What the first try sends is the row the drain task would send again.
    assert outbox.pending_of(conversation.id) == [queued.entry]
    assert queued.entry.message_id == stored.id
    assert queued.entry.rasa_metadata[MESSAGE_KEY].startswith(f"m{stored.id}-")

    _, later, behind = queue(store, outbox, incoming("q", "et ensuite ?"))
    assert behind is not None and behind.behind  # the first one still waits
    _, other, elsewhere = queue(store, outbox, incoming("autre", "bonjour"))
    assert elsewhere is not None and not elsewhere.behind  # another conversation's

    store.record_replies(conversation.id, [Reply(text="Bonjour !")], outbox.done(stored.id))
    outbox.finish(later.id)
    _, _, next_one = queue(store, outbox, incoming("q", "merci"))
    assert next_one is not None and not next_one.behind
    assert [p.message_id for p in outbox.pending_of(conversation.id)] == [next_one.entry.message_id]
    assert outbox.pending_of(elsewhere.entry.conversation_id)[0].message_id == other.id


def test_a_failed_row_does_not_hold_the_next_messages(store: Store):
    outbox = Outbox(store, max_attempts=1)
    _, stored, _ = queue(store, outbox, incoming("failed", "bonjour"))
    assert outbox.postpone(stored.id)  # given up: FAILED, kept

    _, _, queued = queue(store, outbox, incoming("failed", "encore là ?"))

    assert queued is not None and not queued.behind


def test_only_the_bots_messages_are_queued(store: Store):
    outbox = Outbox(store)
    conversation, _, _ = queue(store, outbox, incoming("owner", "bonjour"))

    for owner, expected in (
        (Owner.WAITING, False),
        (Owner.MEDIATOR, False),
        (Owner.CLOSED, True),  # it goes back to the bot
        (Owner.BOT, True),
    ):
        move(store, conversation.id, owner)
        ref, stored, queued = queue(store, outbox, incoming("owner", f"pour {owner}"))
        assert ref.owner is owner
        assert (queued is not None) is expected, owner
        with session_scope(make_session_factory(store.engine)) as session:
            row = session.execute(
                select(OutboxEntry).where(OutboxEntry.message_id == stored.id)
            ).scalar_one_or_none()
            assert (row is not None) is expected, owner
        if queued is not None:
            assert isinstance(queued.entry, Pending) and queued.entry.attempts == 0
            outbox.finish(stored.id)


def test_keys_are_read_until_they_are_deleted(store: Store):
    store.add_key("gardé", "clé-secrète", owner_login="agent.dupont")
    assert store.has_keys("gardé") and not store.has_keys("jamais-servi")
    issued = store.issued_key("clé-secrète")
    assert issued is not None and (issued.sender, issued.owner_login) == ("gardé", "agent.dupont")
    assert store.issued_key("autre-clé") is None

    assert store.delete_keys("gardé") == 1

    assert not store.has_keys("gardé") and store.issued_key("clé-secrète") is None
