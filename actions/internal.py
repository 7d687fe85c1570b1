"""The agents' assistant: internal information and the training catalogue, for staff only.

Content is in ``DATA_DIR/internal/`` (a template for the council to fill): work tools and
internal procedures (``knowledge.yml``), the directory of the council's services
(``services.yml``), the training catalogue (``trainings.yml``). Entries are found by the
words agents write (folded, small typos tolerated: ``actions.context.matches_keywords``);
every answer names the entry's owner and review date.

Who is staff comes only from the verified identity (``actions.agents.channel_identity``):
a signed-in console account on the web, an identity of the agent directory on Telegram
and Matrix. Anybody else gets the polite answer that it is for staff, never the content.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import context
from actions.agents import channel_identity
from actions.datetime_fr import MONTHS_DISPLAY
from common.content import ContentError, load_yaml
from common.hours import PARIS
from common.text import key

logger = logging.getLogger(__name__)

KNOWLEDGE_FILE = "internal/knowledge.yml"
SERVICES_FILE = "internal/services.yml"
TRAININGS_FILE = "internal/trainings.yml"
TOPIC_ENTITY = "internal_topic"
MAX_SESSIONS = 5

STAFF_ONLY = (
    "Cette information est réservée aux agents du Département, une fois identifiés "
    "(compte agent connecté sur le site, ou messagerie du Département). "
    "Pour vos propres démarches, je peux vous indiquer un lieu d'aide au numérique "
    "près de chez vous, ou vous mettre en relation avec un médiateur."
)
STAFF_ONLY_BUTTONS = [
    {"title": "Un lieu d'aide près de chez moi", "payload": "/find_digital_place"},
    {"title": "Parler à un médiateur", "payload": "/request_human"},
]
UNAVAILABLE = (
    "Je ne trouve pas cette information interne pour le moment, désolé. "
    "Appelez l'assistance informatique ou le standard du Département."
)
TEMPLATE_NOTE = "(Contenu d'exemple, à compléter par le Département.)"
WHICH_TOPIC = "Sur quel sujet ? Voici ce que je sais :"


# ------------------------------------------------------------------ who is staff


@dataclass(frozen=True)
class Staff:
    """A council agent, as the verified identity names them."""

    channel: str
    user_id: str
    name: str
    email: str = ""
    agent_id: str | None = None  # in the agent directory (bookings), else None


def _directory_agent(channel: str, user_id: str) -> Any:
    from actions.booking import store  # the agent directory (seeded from data/agents.yml)

    return store().agent_for(channel, user_id)


def staff(
    tracker: Tracker, directory: Callable[[str, str], Any] = _directory_agent
) -> Staff | None:
    """The agent writing, or ``None`` for a citizen.

    Web: a signed-in console account (the gateway sends ``role: agent`` and its login
    only then). Telegram and Matrix: an identity listed in the agent directory.
    """
    identity = channel_identity(tracker)
    if identity is None:
        return None
    channel, user_id = identity
    agent = directory(channel, user_id)
    if agent is not None:
        return Staff(channel, user_id, agent.name, agent.email, agent.id)
    if channel == "web":
        return Staff(channel, user_id, user_id)
    return None


def staff_only(dispatcher: CollectingDispatcher) -> list[EventType]:
    dispatcher.utter_message(text=STAFF_ONLY, buttons=STAFF_ONLY_BUTTONS)
    return []


# ------------------------------------------------------------------ entries


def french_date(day: date) -> str:
    number = "1er" if day.day == 1 else str(day.day)
    return f"{number} {MONTHS_DISPLAY[day.month - 1]} {day.year}"


def reviewed_line(entry: dict[str, Any], template: bool) -> str:
    reviewed = entry.get("last_reviewed")
    when = french_date(reviewed) if isinstance(reviewed, date) else "date inconnue"
    line = f"Fiche : {entry.get('owner') or 'service non renseigné'}, mise à jour le {when}."
    return f"{line} {TEMPLATE_NOTE}" if template else line


def internal_entries() -> tuple[dict[str, dict[str, Any]], set[str]]:
    """Every entry of the knowledge and services files, as ``"file:key"``, and which
    files are still templates."""
    found: dict[str, dict[str, Any]] = {}
    templates: set[str] = set()
    for prefix, path in (("knowledge", KNOWLEDGE_FILE), ("services", SERVICES_FILE)):
        content = load_yaml(path) or {}
        entries = content.get("entries")
        if not isinstance(entries, dict):
            raise ContentError(f"{path}: 'entries' is missing")
        if content.get("template"):
            templates.add(prefix)
        for name, entry in entries.items():
            found[f"{prefix}:{name}"] = entry
    return found, templates


def search(text: str, entries: dict[str, dict[str, Any]]) -> list[str]:
    """The entries the message matches best (one, several on a tie, none)."""
    scored = [
        (context.matches_keywords(text, e.get("keywords") or []), k) for k, e in entries.items()
    ]
    best = max((s for s, _ in scored), default=0)
    return [k for s, k in scored if s == best] if best > 0 else []


def entry_title(name: str, entry: dict[str, Any]) -> str:
    return str(entry.get("title") or entry.get("name") or name)


def entry_text(name: str, entry: dict[str, Any], template: bool) -> str:
    """An entry in French: the procedure's lines, or the service's card."""
    if name.startswith("services:"):
        lines = [entry_title(name, entry), f"Ce qu'il traite : {entry.get('handles', '')}"]
        for label, field in (("Téléphone", "phone"), ("Courriel", "email"), ("Site", "site")):
            if entry.get(field):
                lines.append(f"{label} : {entry[field]}")
    else:
        lines = [entry_title(name, entry), *(str(line) for line in entry.get("text") or [])]
    return "\n".join([*lines, reviewed_line(entry, template)])


def topic_buttons(names: list[str], entries: dict[str, dict[str, Any]]) -> list[dict[str, str]]:
    return [
        {
            "title": entry_title(n, entries[n]),
            "payload": f'/ask_internal_info{{"{TOPIC_ENTITY}":"{n}"}}',
        }
        for n in names
    ]


class StaffAction(Action, ABC):
    """An answer for staff only, from a content file: others get :func:`staff_only`,
    unreadable content the polite :data:`UNAVAILABLE` (logged as ``unusable``)."""

    unusable = "internal content"

    @abstractmethod
    def name(self) -> str: ...

    @abstractmethod
    def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> None: ...

    async def for_citizens(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Someone who is not an agent: :func:`staff_only`."""
        return staff_only(dispatcher)

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        try:
            if staff(tracker) is None:
                return await self.for_citizens(dispatcher, tracker, domain)
            self.answer(dispatcher, tracker)
        except (ContentError, KeyError, TypeError, AttributeError, OSError):
            logger.exception("%s unusable", self.unusable)
            dispatcher.utter_message(text=UNAVAILABLE)
            return []
        return [SlotSet(context.LAST_TOPIC, None)]


class ActionInternalInfo(StaffAction):
    """Work tools, internal procedures, the services' directory: the entry the words name."""

    unusable = "internal knowledge"

    def name(self) -> str:
        return "action_internal_info"

    def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        entries, templates = internal_entries()
        wanted = next(tracker.get_latest_entity_values(TOPIC_ENTITY), None)
        text = tracker.latest_message.get("text") or ""
        found = [wanted] if wanted in entries else search(text, entries)
        if len(found) == 1:
            name = found[0]
            template = name.split(":", 1)[0] in templates
            dispatcher.utter_message(text=entry_text(name, entries[name], template))
        else:
            shown = found or [n for n in entries if n.startswith("knowledge:")]
            dispatcher.utter_message(text=WHICH_TOPIC, buttons=topic_buttons(shown, entries))


# ------------------------------------------------------------------ trainings


def today() -> date:
    """Today in Paris; tests replace this function to freeze the clock."""
    return datetime.now(PARIS).date()


@dataclass(frozen=True)
class Session:
    title: str
    dates: tuple[date, ...]
    place: str  # "" for a session in visio
    commune: str
    keywords: tuple[str, ...]
    registration: str

    @property
    def visio(self) -> bool:
        return not self.place

    def describe(self) -> str:
        days = ", ".join(french_date(d) for d in self.dates)
        where = "en visio" if self.visio else self.place
        return f"- {days} : {self.title} — {where}. Inscription : {self.registration}"


def sessions(content: dict[str, Any]) -> list[Session]:
    default_contact = str(content.get("registration") or "le service formation")
    found = []
    for raw in content.get("sessions") or []:
        dates = tuple(sorted(d for d in raw.get("dates") or [] if isinstance(d, date)))
        if not dates:
            logger.warning("training %r has no date; left out", raw.get("title"))
            continue
        found.append(
            Session(
                title=str(raw["title"]),
                dates=dates,
                place="" if raw.get("visio") else str(raw.get("place") or ""),
                commune=str(raw.get("commune") or ""),
                keywords=tuple(str(k) for k in raw.get("keywords") or []),
                registration=str(raw.get("registration") or default_contact),
            )
        )
    return sorted(found, key=lambda s: s.dates[0])


# Asking for sessions held in visio (not a theme: "travailler à distance" is one).
VISIO_WORDS = ("en visio", "par visio", "distanciel")


def choose_sessions(
    all_sessions: list[Session], text: str, commune: str | None, day: date
) -> tuple[list[Session], str]:
    """The upcoming sessions (last day not past) the message asks for, and a French note
    when its theme or place has none (then every upcoming session is given)."""
    upcoming = [s for s in all_sessions if s.dates[-1] >= day]
    folded = context.folded(text)
    chosen = upcoming
    where = ""
    if any(f" {w}" in f" {folded}" for w in VISIO_WORDS):
        chosen, where = [s for s in chosen if s.visio], " en visio"
    elif commune:
        chosen = [s for s in chosen if s.commune and key(s.commune) == key(commune)]
        where = f" à {commune}"
    themed = [s for s in chosen if context.matches_keywords(text, s.keywords) > 0]
    chosen = themed or chosen
    note = ""
    if not chosen and upcoming:
        note = f"Pas de session prévue{where} pour le moment. "
        chosen = upcoming
    return chosen[:MAX_SESSIONS], note


def trainings_text(content: dict[str, Any], text: str, commune: str | None, day: date) -> str:
    chosen, note = choose_sessions(sessions(content), text, commune, day)
    template = f"\n{TEMPLATE_NOTE}" if content.get("template") else ""
    contact = content.get("registration") or "le service formation"
    if not chosen:
        return (
            f"Aucune session de formation n'est prévue pour le moment. "
            f"Pour connaître les prochaines dates : {contact}.{template}"
        )
    lines = [f"{note}Prochaines formations des agents (culture numérique, médiation) :"]
    lines += [s.describe() for s in chosen]
    lines.append(reviewed_line(content, bool(content.get("template"))))
    return "\n".join(lines)


class ActionTrainings(StaffAction):
    """The training catalogue: upcoming sessions, by theme and place when asked."""

    unusable = "training catalogue"

    def name(self) -> str:
        return "action_trainings"

    async def for_citizens(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """A citizen asking for « une formation » wants to learn the basics: the guide
        their words name, else the conseillers numériques and their workshops, not the
        agents' catalogue."""
        from actions.knowledge import ActionDigitalAdvisor
        from actions.reroute import reroute

        events = await reroute(dispatcher, tracker, domain)
        if events is None:
            events = await ActionDigitalAdvisor().run(dispatcher, tracker, domain)
        return events

    def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        commune = next(tracker.get_latest_entity_values("commune"), None) or next(
            tracker.get_latest_entity_values("site"), None
        )
        content = load_yaml(TRAININGS_FILE) or {}
        text = tracker.latest_message.get("text") or ""
        dispatcher.utter_message(text=trainings_text(content, text, commune, today()))
