"""Find, export and erase everything stored about one person.

A person is named by one identifier (:class:`Kind`): a web conversation id (the
widget's sender), a phone number, an e-mail address, a Telegram user id or a Matrix
user id. From it::

    identifier ──► conversations (by channel id, or whose messages quote the phone /
    │               e-mail, or that left a ticket with it)
    │                 ├─► their messages, handoffs, mediators' notes, tickets
    │                 ├─► Rasa's tracker events (``events``, sender id = conversation key)
    │                 └─► NLU inbox sightings of their messages (thumbs-down = feedback)
    ├─► tickets and notes elsewhere that quote it
    ├─► audit entries that quote it or point at their messages / inbox items
    └─► the agent directory (booking tables of actions/, read by table name): the
        agent's bookings

Every search, export and erasure adds an audit entry (who, when, which kind of
identifier and how many rows), never the identifier itself. Erasure is one
transaction: everything found goes, or nothing. The audit entries found keep who,
when and what kind of action, without their free text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import MetaData, Table, delete, false, func, inspect, or_, select, update
from sqlalchemy.engine import Connection, Engine

from integrations.admin.audit import FREE_TEXT, AuditLog, AuditRow
from integrations.admin.inbox import InboxHit, InboxRow, Source
from integrations.store import Conversation, Handoff, HandoffNote, Message, Ticket


class Kind(StrEnum):
    WEB = "web"
    PHONE = "phone"
    EMAIL = "email"
    TELEGRAM = "telegram"
    MATRIX = "matrix"


KIND_LABELS = {
    Kind.WEB: "identifiant de conversation web",
    Kind.PHONE: "numéro de téléphone",
    Kind.EMAIL: "adresse électronique",
    Kind.TELEGRAM: "identifiant Telegram",
    Kind.MATRIX: "identifiant Matrix",
}
CATEGORY_LABELS = {
    "conversations": "Conversations",
    "messages": "Messages",
    "handoffs": "Mises en relation avec un médiateur",
    "notes": "Notes des médiateurs",
    "tickets": "Messages laissés (demandes de rappel)",
    "inbox_items": "Messages dans la boîte de réception NLU",
    "feedback": "Avis « Cette réponse ne m'aide pas »",
    "tracker_events": "Événements du suivi de conversation (Rasa)",
    "audit_entries": "Entrées du journal qui les citent",
    "agents": "Fiche d'agent (annuaire des réservations)",
    "bookings": "Réservations de salles",
    "vehicle_bookings": "Réservations de véhicules de service",
    "mobility_choices": "Choix entre un trajet et une visio",
    "survey_answers": "Réponses au questionnaire « Cette réponse vous a-t-elle aidé ? »",
}


class PrivacyError(ValueError):
    """An identifier that cannot be searched, with the French reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# Shorter channel ids are never looked for in free text (audit details).
QUOTABLE_CHARS = 8
_EMAIL = re.compile(r"[^@\s]{1,200}@[^@\s]{1,200}\.[^@\s]{2,30}")
_MATRIX = re.compile(r"@[^:\s]{1,200}:[A-Za-z0-9.\-\[\]:]{1,200}")


@dataclass(frozen=True)
class Person:
    """One identifier, normalised: how the person is searched."""

    kind: Kind
    value: str

    @classmethod
    def parse(cls, kind: str, value: str) -> Person:
        try:
            known = Kind(kind)
        except ValueError as err:
            raise PrivacyError("Choisissez le type d'identifiant.") from err
        value = (value or "").strip()
        if not value or len(value) > 300 or "\x00" in value:
            raise PrivacyError("Indiquez un identifiant (300 caractères au plus).")
        if known is Kind.WEB:
            value = value.removeprefix("web:")
        elif known is Kind.PHONE:
            value = _national_phone(value)
        elif known is Kind.EMAIL:
            if not _EMAIL.fullmatch(value):
                raise PrivacyError("Cette adresse électronique n'est pas valide.")
            value = value.lower()
        elif known is Kind.TELEGRAM:
            value = value.removeprefix("telegram:")
            if not re.fullmatch(r"-?\d{1,20}", value):
                raise PrivacyError("Un identifiant Telegram est un nombre.")
        elif not _MATRIX.fullmatch(value):
            raise PrivacyError("Un identifiant Matrix s'écrit @nom:serveur.")
        return cls(known, value)

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]

    def patterns(self) -> list[str]:
        """How the identifier may be written in a free text (phones in several forms)."""
        if self.kind is Kind.PHONE:
            return phone_spellings(self.value)
        return [self.value]

    @property
    def quotable(self) -> bool:
        """Whether free texts are searched for it: phones and e-mails are written in
        messages and notes; channel ids are matched on their columns only, and a short
        one would match unrelated text."""
        return self.kind in (Kind.PHONE, Kind.EMAIL) or len(self.value) >= QUOTABLE_CHARS


def _national_phone(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    if value.strip().startswith("+33") or digits.startswith("0033"):
        digits = "0" + digits.removeprefix("00").removeprefix("33")
    if not 8 <= len(digits) <= 15:
        raise PrivacyError("Ce numéro de téléphone n'est pas valide.")
    return digits


def phone_spellings(national: str) -> list[str]:
    """0612345678 as people write it: spaced, dotted, dashed, +33…"""
    if len(national) != 10 or not national.startswith("0"):
        return [national]
    pairs = [national[i : i + 2] for i in range(0, 10, 2)]
    rest = national[1:]
    spellings = [sep.join(pairs) for sep in ("", " ", ".", "-")]
    spellings += [f"+33{rest}", f"+33 {rest[0]} {' '.join(pairs[1:])}", f"0033{rest}"]
    spellings += [f"+33 {rest[0]}.{'.'.join(pairs[1:])}", f"+33 (0){rest}"]
    return spellings


def _national_digits(text: str) -> str:
    """The digits of ``text``, +33 / 0033 numbers written as national ones (06…)."""
    digits = re.sub(r"\D", "", text or "")
    if digits.startswith("0033"):
        return "0" + digits[4:]
    if digits.startswith("33") and len(digits) == 11:
        return "0" + digits[2:]
    return digits


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _quotes(column: Any, person: Person) -> Any:
    """SQL: ``column`` contains one of the person's spellings (case-insensitive)."""
    return or_(*(column.ilike(f"%{_escape_like(p)}%", escape="\\") for p in person.patterns()))


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _rows(connection: Connection, statement: Any) -> list[dict[str, Any]]:
    return [_jsonable(dict(row._mapping)) for row in connection.execute(statement)]


def _table(connection: Connection, name: str) -> Table | None:
    """A table of another component (Rasa's, the actions'), by name; None if absent."""
    if not inspect(connection).has_table(name):
        return None
    return Table(name, MetaData(), autoload_with=connection)


@dataclass
class Findings:
    """Everything stored about one person, as JSON-ready rows per category."""

    person: Person
    conversations: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    handoffs: list[dict[str, Any]] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)
    tickets: list[dict[str, Any]] = field(default_factory=list)
    inbox_items: list[dict[str, Any]] = field(default_factory=list)
    feedback: list[dict[str, Any]] = field(default_factory=list)
    tracker_events: list[dict[str, Any]] = field(default_factory=list)
    audit_entries: list[dict[str, Any]] = field(default_factory=list)
    agents: list[dict[str, Any]] = field(default_factory=list)
    bookings: list[dict[str, Any]] = field(default_factory=list)
    vehicle_bookings: list[dict[str, Any]] = field(default_factory=list)
    mobility_choices: list[dict[str, Any]] = field(default_factory=list)
    survey_answers: list[dict[str, Any]] = field(default_factory=list)
    # Sightings of the person's messages in the inbox (erased with them).
    inbox_hits: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in CATEGORY_LABELS}

    @property
    def total(self) -> int:
        return sum(self.counts().values())

    def as_json(self, exported_at: datetime) -> dict[str, Any]:
        """The export (right of access): what is kept, in plain categories."""
        return {
            "identifier": {"kind": str(self.person.kind), "value": self.person.value},
            "exported_at": exported_at.isoformat(),
            "counts": self.counts(),
            **{name: getattr(self, name) for name in CATEGORY_LABELS},
        }


def collect(connection: Connection, person: Person) -> Findings:
    """Read everything about ``person`` (no audit entry: see :class:`Privacy`)."""
    found = Findings(person)
    conversation_ids = _conversation_ids(connection, person)
    keys: list[str] = []
    if conversation_ids:
        found.conversations = _rows(
            connection,
            select(Conversation.__table__)
            .where(Conversation.id.in_(conversation_ids))
            .order_by(Conversation.id),
        )
        keys = [c["key"] for c in found.conversations]
        found.messages = _rows(
            connection,
            select(Message.__table__)
            .where(Message.conversation_id.in_(conversation_ids))
            .order_by(Message.id),
        )
        found.handoffs = _rows(
            connection,
            select(Handoff.__table__)
            .where(Handoff.conversation_id.in_(conversation_ids))
            .order_by(Handoff.id),
        )
    in_conversations = (
        HandoffNote.conversation_id.in_(conversation_ids) if conversation_ids else false()
    )
    quoting = (
        _quotes(HandoffNote.text, person) if person.kind in (Kind.PHONE, Kind.EMAIL) else false()
    )
    found.notes = _rows(
        connection,
        select(HandoffNote.__table__)
        .where(or_(in_conversations, quoting))
        .order_by(HandoffNote.id),
    )
    found.tickets = [
        t
        for t in _rows(connection, select(Ticket.__table__).order_by(Ticket.id))
        if t["conversation_id"] in conversation_ids or _ticket_names(t, person)
    ]
    events = _table(connection, "events")
    if events is not None and keys:
        found.tracker_events = _rows(
            connection,
            select(events).where(events.c.sender_id.in_(keys)).order_by(events.c.id),
        )
        for event in found.tracker_events:
            if isinstance(event.get("data"), str):
                try:
                    event["data"] = json.loads(event["data"])
                except ValueError:
                    pass
    survey = _table(connection, "survey_answers")
    if survey is not None and conversation_ids:
        found.survey_answers = _rows(
            connection,
            select(survey).where(survey.c.conversation_id.in_(conversation_ids)),
        )
    _inbox(connection, found)
    _audit(connection, found)
    _bookings(connection, found)
    return found


def _conversation_ids(connection: Connection, person: Person) -> list[int]:
    c = Conversation.__table__.c
    m = Message.__table__.c
    kind, value = person.kind, person.value
    if kind is Kind.WEB:
        where: Any = or_(c.key == f"web:{value}", (c.channel == "web") & (c.chat_id == value))
    elif kind is Kind.TELEGRAM:
        where = (c.channel == "telegram") & or_(c.chat_id == value, c.user_id == value)
    elif kind is Kind.MATRIX:
        where = (c.channel == "matrix") & or_(
            c.user_id == value,
            c.id.in_(select(m.conversation_id).where(m.user_id == value)),
        )
    else:  # phone, e-mail: the conversations that quote it (user messages)
        where = c.id.in_(
            select(m.conversation_id).where(m.author == "user", _quotes(m.text, person))
        )
    ids = set(connection.execute(select(c.id).where(where)).scalars())
    if kind in (Kind.PHONE, Kind.EMAIL):  # and those that left it on a ticket
        for ticket in _rows(connection, select(Ticket.__table__)):
            if ticket["conversation_id"] is not None and _ticket_names(ticket, person):
                ids.add(ticket["conversation_id"])
    return sorted(ids)


def _ticket_names(ticket: dict[str, Any], person: Person) -> bool:
    """Whether a ticket's contact or text gives this phone number or e-mail address."""
    contact, text = ticket["contact"] or "", ticket["text"] or ""
    if person.kind is Kind.PHONE:
        return person.value in _national_digits(contact) or any(
            p in text for p in person.patterns()
        )
    if person.kind is Kind.EMAIL:
        return person.value in f"{contact}\n{text}".lower()
    return False


def _inbox(connection: Connection, found: Findings) -> None:
    if not inspect(connection).has_table(InboxHit.__tablename__):
        return
    refs = [f"message:{m['id']}" for m in found.messages if m["author"] == "user"]
    refs += [f"event:{e['id']}" for e in found.tracker_events]
    if not refs:
        return
    found.inbox_hits = _rows(
        connection,
        select(InboxHit.__table__).where(InboxHit.ref.in_(refs)).order_by(InboxHit.id),
    )
    item_ids = sorted({h["item_id"] for h in found.inbox_hits})
    if item_ids:
        found.inbox_items = _rows(
            connection,
            select(InboxRow.__table__).where(InboxRow.id.in_(item_ids)).order_by(InboxRow.id),
        )
    found.feedback = [h for h in found.inbox_hits if h["source"] == Source.USER_DOWN.value]


def _audit(connection: Connection, found: Findings) -> None:
    """Entries quoting the identifier, or pointing at the person's messages / inbox items."""
    if not inspect(connection).has_table(AuditRow.__tablename__):
        return
    message_ids = {m["id"] for m in found.messages}
    item_ids = {i["id"] for i in found.inbox_items}
    spellings = [p.lower() for p in found.person.patterns()] if found.person.quotable else []
    for entry in _rows(connection, select(AuditRow.__table__).order_by(AuditRow.id)):
        detail = entry["detail"] or {}
        text = json.dumps(detail, ensure_ascii=False).lower()
        if (
            any(p in text for p in spellings)
            or (entry["action"] == "inbox.flag" and detail.get("message") in message_ids)
            or (str(entry["action"]).startswith("annotate.") and detail.get("item") in item_ids)
        ):
            found.audit_entries.append(entry)


def _bookings(connection: Connection, found: Findings) -> None:
    """When the person is an agent of the booking directory: the agent and the bookings."""
    agents = _table(connection, "booking_agents")
    identities = _table(connection, "booking_agent_identities")
    bookings = _table(connection, "bookings")
    if agents is None or identities is None or bookings is None:
        return
    person = found.person
    if person.kind is Kind.EMAIL:
        agent_ids = select(agents.c.id).where(func.lower(agents.c.email) == person.value)
    elif person.kind is Kind.PHONE:
        return  # the directory keeps no phone numbers
    else:
        agent_ids = select(identities.c.agent_id).where(
            identities.c.channel == str(person.kind), identities.c.user_id == person.value
        )
    found.agents = _rows(connection, select(agents).where(agents.c.id.in_(agent_ids)))
    if not found.agents:
        return
    agent_ids = [a["id"] for a in found.agents]
    for category, name in (
        ("bookings", "bookings"),
        ("vehicle_bookings", "vehicle_bookings"),
        ("mobility_choices", "mobility_choices"),
    ):
        table = _table(connection, name)
        if table is not None:
            rows = select(table).where(table.c.agent_id.in_(agent_ids)).order_by(table.c.id)
            setattr(found, category, _rows(connection, rows))


def erase_found(connection: Connection, found: Findings) -> dict[str, int]:
    """Delete what ``found`` lists, inside the caller's transaction; counts per category.

    The agent directory itself comes from ``data/agents.yml`` and is left to the council
    (an agent removed from the file is disabled at the next ``make rooms``); only the
    agent's bookings go.
    """
    conversation_ids = [c["id"] for c in found.conversations]
    if conversation_ids:
        for table in (Message, Handoff, HandoffNote):
            connection.execute(delete(table).where(table.conversation_id.in_(conversation_ids)))
    _delete_ids(connection, HandoffNote, [n["id"] for n in found.notes])
    _delete_ids(connection, Ticket, [t["id"] for t in found.tickets])
    if conversation_ids:  # tickets left by these conversations but not found: unlinked
        connection.execute(
            update(Ticket)
            .where(Ticket.conversation_id.in_(conversation_ids))
            .values(conversation_id=None)
        )
        connection.execute(delete(Conversation).where(Conversation.id.in_(conversation_ids)))
    events = _table(connection, "events")
    if events is not None and found.tracker_events:
        connection.execute(
            delete(events).where(events.c.id.in_([e["id"] for e in found.tracker_events]))
        )
    _erase_inbox_hits(connection, found)
    _strip_audit(connection, found)
    for rows, name, slots_name in (
        (found.bookings, "bookings", "booking_slots"),
        (found.vehicle_bookings, "vehicle_bookings", "vehicle_slots"),
        (found.mobility_choices, "mobility_choices", None),
        (found.survey_answers, "survey_answers", None),
    ):
        table, ids = _table(connection, name), [r["id"] for r in rows]
        if not ids or table is None:
            continue
        slots = _table(connection, slots_name) if slots_name else None
        if slots is not None:
            connection.execute(delete(slots).where(slots.c.booking_id.in_(ids)))
        connection.execute(delete(table).where(table.c.id.in_(ids)))
    counts = found.counts()
    counts["agents"] = 0  # kept: see above
    return counts


def _delete_ids(connection: Connection, model: Any, ids: Sequence[int]) -> None:
    if ids:
        connection.execute(delete(model).where(model.id.in_(ids)))


def _erase_inbox_hits(connection: Connection, found: Findings) -> None:
    """Remove the person's sightings; an item nobody else wrote goes, others are recounted."""
    hit_ids = [h["id"] for h in found.inbox_hits]
    if not hit_ids:
        return
    connection.execute(delete(InboxHit).where(InboxHit.id.in_(hit_ids)))
    for item in found.inbox_items:
        left = list(
            connection.execute(
                select(InboxHit.source).where(InboxHit.item_id == item["id"])
            ).scalars()
        )
        if not left:
            connection.execute(delete(InboxRow).where(InboxRow.id == item["id"]))
            continue
        connection.execute(
            update(InboxRow)
            .where(InboxRow.id == item["id"])
            .values(
                count=len(left),
                unsure_count=left.count(Source.UNSURE.value),
                user_down_count=left.count(Source.USER_DOWN.value),
                mediator_count=left.count(Source.MEDIATOR.value),
            )
        )


def _strip_audit(connection: Connection, found: Findings) -> None:
    """Audit entries keep who, when and what kind, not what quoted the person."""
    spellings = [p.lower() for p in found.person.patterns()] if found.person.quotable else []
    for entry in found.audit_entries:
        detail = {
            name: value
            for name, value in (entry["detail"] or {}).items()
            if name not in FREE_TEXT
            and not any(p in json.dumps(value, ensure_ascii=False).lower() for p in spellings)
        }
        connection.execute(
            update(AuditRow)
            .where(AuditRow.id == entry["id"])
            .values(detail={**detail, "text_removed": True})
        )


class Privacy:
    """The DPO's three operations, each one audit-logged under ``actor``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.audit = AuditLog(engine)

    def find(self, person: Person, actor: str) -> Findings:
        with self.engine.connect() as connection:
            found = collect(connection, person)
        self._log(actor, "privacy.find", person, found.counts())
        return found

    def export(self, person: Person, actor: str, now: datetime) -> dict[str, Any]:
        with self.engine.connect() as connection:
            found = collect(connection, person)
        self._log(actor, "privacy.export", person, found.counts())
        return found.as_json(now)

    def erase(self, person: Person, actor: str) -> dict[str, int]:
        with self.engine.begin() as connection:
            found = collect(connection, person)
            counts = erase_found(connection, found)
        self._log(actor, "privacy.erase", person, counts)
        return counts

    def _log(self, actor: str, action: str, person: Person, counts: dict[str, int]) -> None:
        # The kind of identifier and the counts only: never the identifier itself.
        self.audit.record(actor, action, kind=str(person.kind), **_nonzero(counts))


def _nonzero(counts: dict[str, int]) -> dict[str, int]:
    return {name: n for name, n in counts.items() if n}


def describe(counts: dict[str, int]) -> Iterable[tuple[str, int]]:
    """(French label, count) for every category, in a fixed order."""
    return ((CATEGORY_LABELS[name], counts.get(name, 0)) for name in CATEGORY_LABELS)
