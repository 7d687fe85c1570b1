"""What the person is told during a handoff, in French, the same on every channel.

Each is stored as a message with author "system" and ``custom={"event": ...}`` so web
clients can style it and it replays like any other message.
"""

from __future__ import annotations

from integrations.messages import Author, Button, Reply

CANCEL_WORDS = frozenset({"annuler", "non", "non merci", "stop", "laisser tomber"})
CANCEL_PAYLOAD = "annuler"


def _system(text: str, event: str, buttons: tuple[Button, ...] = (), **extra: object) -> Reply:
    return Reply(text=text, buttons=buttons, author=Author.SYSTEM, custom={"event": event, **extra})


def ordinal(position: int) -> str:
    return "1re" if position == 1 else f"{position}e"


def waiting(position: int) -> Reply:
    if position == 1:
        place = "Vous êtes la première personne dans la file d'attente."
    else:
        place = f"Vous êtes en {ordinal(position)} position dans la file d'attente."
    return _system(
        f"Un médiateur va vous répondre ici dès que possible. {place} "
        "Vous pouvez continuer à écrire : vos messages lui seront transmis.",
        "handoff_waiting",
        queue_position=position,
    )


def no_mediator(outside_hours: bool, hours: str) -> Reply:
    if outside_hours:
        reason = f"Les médiateurs ne sont pas disponibles en ce moment ({hours})."
    else:
        reason = "Aucun médiateur n'est disponible en ce moment, désolé."
    return _system(
        f"{reason} Vous pouvez laisser un message : écrivez votre demande avec votre numéro "
        "de téléphone ou votre adresse e-mail, et un médiateur vous recontactera. "
        "Vous pouvez aussi appeler l'accueil du Département ou vous rendre dans un "
        "espace France Services.",
        "no_mediator",
        buttons=(Button(title="Ne pas laisser de message", payload=CANCEL_PAYLOAD),),
        outside_hours=outside_hours,
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


def mediator_left(name: str) -> Reply:
    return _system(f"{name} a quitté la conversation.", "mediator_left", mediator=name)


def handed_back() -> Reply:
    return _system(
        "L'assistant automatique reprend la conversation. Que puis-je faire d'autre pour vous ?",
        "handed_back",
    )


def closed() -> Reply:
    return _system(
        "La conversation est terminée. Merci ! Vous pouvez écrire à nouveau à tout moment.",
        "closed",
    )


REASONS = {
    "request_human": "demande de la personne",
    "fallback": "l'assistant n'a pas compris",
    "mediator": "prise en charge par un médiateur",
}
CHANNELS = {"web": "Site web", "telegram": "Telegram", "matrix": "Matrix"}
OWNERS = {
    "bot": "assistant",
    "waiting": "en attente",
    "mediator": "avec un médiateur",
    "closed": "close",
}
