"""Fault reports of visio rooms: a bot message with a custom payload becomes a ticket.

The action server (``actions/internal_rooms.py``) never writes the gateway's tables: for
"la salle Odet ne marche pas" it answers a bot message ``{"custom": {"fault_report":
{room, room_name, site, contact, booking, reporter, message}}}``. ``file_reports``, called
by ``Gateway`` on every bot answer, turns each such message into a ticket of the mediator
console (contact: the site's contact; text: the room, the booking, who reported it and
their words), tells the consoles, and puts the gateway's confirmation in its place: the
person never sees the payload.

Filed once: the answer to a stored message (``message_id``) gives each of its reports
the source ``fault:<message id>:<n>``. When the gateway stops after filing and before
the answer is stored, the message is sent again and Rasa's record answers it with the
same report: the ticket already filed is found and confirmed again, not filed twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from integrations.messages import Reply
from integrations.store import ConversationRef

if TYPE_CHECKING:
    from integrations.gateway import Gateway

log = logging.getLogger(__name__)

FAULT_KEY = "fault_report"
FIELDS = ("room", "room_name", "site", "contact", "booking", "reporter", "message")
# Bounds of each field (the tickets' contact column holds 255 characters).
MAX_CONTACT = 255
MAX_FIELD = 500
NO_CONTACT = "Logistique du site (contact à renseigner)"
NOT_FILED = (
    "Je n'ai pas pu enregistrer le signalement pour le moment, désolé. "
    "Appelez l'accueil de votre site pour signaler la panne."
)


def fault_report(reply: Reply) -> dict[str, str] | None:
    """The report a bot message carries, its fields as bounded strings; ``None`` for any
    other message."""
    if FAULT_KEY not in (reply.custom or {}):
        return None
    report = (reply.custom or {})[FAULT_KEY]
    if not isinstance(report, dict):  # never shown raw: filed with what it says
        log.warning("malformed fault report: %r", report)
        report = {}
    return {
        name: str(value)[:MAX_FIELD] if isinstance(value, str | int) else ""
        for name in FIELDS
        for value in [report.get(name)]
    }


def ticket_text(report: dict[str, str]) -> str:
    """What the site's contact reads in the console."""
    room = report["room_name"] or report["room"] or "salle non précisée"
    lines = [f"Panne de salle visio : {room} ({report['room']}), {report['site']}".rstrip(", ")]
    lines.append(f"Réservation : {report['booking'] or 'aucune en cours'}")
    if report["reporter"]:
        lines.append(f"Signalée par : {report['reporter']}")
    if report["message"]:
        lines.append(f"Message : « {report['message']} »")
    return "\n".join(lines)


def confirmation(report: dict[str, str], ticket_id: int, contact: str) -> Reply:
    room = report["room_name"] or "la salle"
    return Reply(
        text=(
            f"Panne signalée (signalement n° {ticket_id}) : {room}, {report['site']}. "
            f"Le contact du site est prévenu : {contact}."
        )
    )


async def file_reports(
    gateway: Gateway,
    conversation: ConversationRef,
    replies: Sequence[Reply],
    message_id: int | None = None,
) -> list[Reply]:
    """``replies`` with each fault report filed as a ticket and replaced by its
    confirmation (or, when the database refuses, by a polite message; logged).
    ``message_id``: the stored message they answer, so that each report is filed once."""
    if not any(fault_report(r) is not None for r in replies):
        return list(replies)
    shown: list[Reply] = []
    for index, reply in enumerate(replies):
        report = fault_report(reply)
        if report is None:
            shown.append(reply)
            continue
        contact = (report["contact"] or NO_CONTACT)[:MAX_CONTACT]
        source = None if message_id is None else f"fault:{message_id}:{index}"
        try:
            if gateway.handoff is None:  # no console to read tickets in
                raise RuntimeError("the handoff area is off")
            ticket_id = await gateway.handoff.file_ticket(
                conversation, contact, ticket_text(report), source
            )
        except Exception:  # any driver error: the person is told, nothing shown raw
            log.exception("fault report of %s not filed", conversation.key)
            shown.append(Reply(text=NOT_FILED))
            continue
        log.info("fault report %s filed for room %s", ticket_id, report["room"])
        shown.append(confirmation(report, ticket_id, contact))
    return shown
