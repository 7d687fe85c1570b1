"""What the person is told during a handoff, in French, the same on every channel.

Each is stored as a message with author "system" and ``custom={"event": ...}`` so web
clients can style it and it replays like any other message.
"""

from __future__ import annotations

from integrations.messages import Author, Button, Reply
from integrations.widget.config import Council

CANCEL_WORDS = frozenset({"annuler", "non", "non merci", "stop", "laisser tomber"})
CANCEL_PAYLOAD = "annuler"


def _system(text: str, event: str, buttons: tuple[Button, ...] = (), **extra: object) -> Reply:
    return Reply(text=text, buttons=buttons, author=Author.SYSTEM, custom={"event": event, **extra})


def ordinal(position: int) -> str:
    return "1re" if position == 1 else f"{position}e"


def place_in_queue(position: int) -> str:
    """« Vous êtes la première personne dans la file d'attente. » / « … en 2e position … »."""
    if position == 1:
        return "Vous êtes la première personne dans la file d'attente."
    return f"Vous êtes en {ordinal(position)} position dans la file d'attente."


def by_phone(council: Council) -> str:
    """« appeler le Département au 02 61 91 00 00 (du lundi au vendredi, …) »."""
    hours = f" ({council.hours})" if council.hours else ""
    return f"appeler le {council.name} au {council.phone}{hours}"


def waiting(position: int) -> Reply:
    return _system(
        f"Un médiateur va vous répondre ici dès que possible. {place_in_queue(position)} "
        "Vous pouvez continuer à écrire : vos messages lui seront transmis.",
        "handoff_waiting",
        queue_position=position,
    )


def _leave_a_message(reason: str, council: Council, **extra: object) -> Reply:
    return _system(
        f"{reason} Vous pouvez laisser un message : écrivez votre demande avec votre numéro "
        "de téléphone ou votre adresse e-mail, et un médiateur vous recontactera. "
        f"Vous pouvez aussi {by_phone(council)} ou vous rendre dans un espace France Services.",
        "no_mediator",
        buttons=(Button(title="Ne pas laisser de message", payload=CANCEL_PAYLOAD),),
        **extra,
    )


def no_mediator(outside_hours: bool, hours: str, council: Council) -> Reply:
    """Nobody can answer live: the only message of this state (the bot says nothing)."""
    if outside_hours:
        reason = f"Les médiateurs ne sont pas disponibles en ce moment ({hours})."
    else:
        reason = "Aucun médiateur n'est disponible en ce moment, désolé."
    return _leave_a_message(reason, council, outside_hours=outside_hours)


def unanswered(council: Council) -> Reply:
    """The mediators closed a request nobody could take: why, and what to do next."""
    return _leave_a_message(
        "Les médiateurs ne peuvent pas vous répondre en direct pour le moment, désolé : "
        "votre demande quitte la file d'attente.",
        council,
        outside_hours=False,
        unanswered=True,
    )


def contact_needed() -> Reply:
    return _system(
        "Pour qu'un médiateur puisse vous recontacter, indiquez votre numéro de téléphone ou "
        "votre adresse e-mail (ou écrivez « annuler »).",
        "ticket_contact_needed",
    )


def ticket_created(contact: str, ticket_id: int) -> Reply:
    return _system(
        f"Merci, votre message est transmis aux médiateurs du Département. Un médiateur vous "
        f"recontactera ({contact}) dès que possible. En attendant, l'assistant reste à votre "
        "disposition.",
        "ticket_created",
        ticket_id=ticket_id,
    )


def message_cancelled() -> Reply:
    return _system(
        "D'accord, aucun message n'a été laissé. L'assistant reprend : que puis-je faire "
        "pour vous ?",
        "handed_back",
    )


def mediator_joined(name: str) -> Reply:
    return _system(f"{name} a rejoint la conversation.", "mediator_joined", mediator=name)


def mediator_gone(name: str) -> Reply:
    """The mediator's console has been gone too long: back to the head of the queue."""
    return _system(
        f"{name} n'est plus en ligne : votre conversation revient en tête de la file "
        "d'attente, et le prochain médiateur disponible vous répondra ici.",
        "mediator_gone",
        queue_position=1,
    )


def transferred(name: str, to: str) -> Reply:
    return _system(
        f"{name} a confié votre conversation à {to}, qui va vous répondre ici.",
        "mediator_transferred",
        mediator=to,
    )


def handed_back(name: str | None) -> Reply:
    left = f"{name} a quitté la conversation. " if name else ""
    return _system(
        f"{left}L'assistant automatique reprend la conversation : que puis-je faire d'autre "
        "pour vous ?",
        "handed_back",
    )


def closed(name: str | None) -> Reply:
    left = f"{name} a terminé la conversation. " if name else "La conversation est terminée. "
    return _system(
        f"{left}Merci ! Si vous écrivez à nouveau, l'assistant automatique vous répondra.",
        "closed",
    )


def closed_without_message(council: Council) -> Reply:
    """A message-to-leave closed before one was left: who else can help."""
    return _system(
        "Votre demande est close sans message laissé. Pour parler à quelqu'un, vous pouvez "
        f"{by_phone(council)}. Si vous écrivez à nouveau, l'assistant automatique vous "
        "répondra.",
        "closed",
    )


REASONS = {
    "request_human": "demande de la personne",
    "fallback": "l'assistant n'a pas compris",
    "mediator": "prise en charge par un médiateur",
}
CHANNELS = {"web": "Site web", "telegram": "Telegram", "matrix": "Matrix"}
OWNERS = {
    "bot": "avec l'assistant",
    "waiting": "en attente d'un médiateur",
    "mediator": "avec un médiateur",
    "closed": "terminée",
}
# How a handoff ended, as the console says it.
OUTCOMES = {
    "handed_back": "rendue à l'assistant",
    "closed": "terminée par le médiateur",
    "ticket": "message laissé",
    "cancelled": "abandonnée par la personne",
    "deleted": "effacée",
}
