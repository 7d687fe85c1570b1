"""Procedures and the digital offer, answered from ``DATA_DIR/knowledge/*.yml``.

Every answer ends with the non-digital way (phone, desk) and the offer of a
nearby digital-help place or a mediator. Content is re-read when its file
changes (``common.content``), so admins edit YAML without restarting anything.

    python -m actions.knowledge --stale 6    # entries not reviewed for 6 months
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import context, desks, fibre, geo, place_search, place_store
from common.config import data_dir
from common.content import ContentError, load_yaml
from common.council import load_council
from common.hours import PARIS

logger = logging.getLogger(__name__)

PROCEDURES_FILE = "knowledge/procedures.yml"
OFFER_FILE = "knowledge/digital_offer.yml"
# Folders whose YAML entries carry owner / last_reviewed / source.
REVIEWED_FOLDERS = ("knowledge", "guides", "internal")
OFFER_TEXT = (
    "Besoin d'aide ? Je peux vous indiquer un lieu d'aide au numérique "
    "près de chez vous, ou vous mettre en relation avec un médiateur."
)
OFFER_BUTTONS = [
    {"title": "Un lieu d'aide près de chez moi", "payload": "/find_digital_place"},
    {"title": "Parler à un médiateur", "payload": "/request_human"},
]
UNAVAILABLE = (
    "Je ne trouve pas cette information pour le moment, désolé. "
    "Vous pouvez appeler Allô Service Public au 3939, ou aller dans un espace France Services."
)


def entries(relative_path: str) -> dict[str, dict[str, Any]]:
    """The ``entries`` mapping of a knowledge file."""
    content = load_yaml(relative_path) or {}
    found = content.get("entries")
    if not isinstance(found, dict):
        raise ContentError(f"{relative_path}: 'entries' is missing")
    return found


def council_values() -> dict[str, str]:
    """Placeholders filled from ``council.yml`` (the council's own numbers)."""
    try:
        board = load_council()["switchboard"]
    except ContentError:
        logger.warning("council.yml unavailable; procedure answers give national numbers only")
        board = {}
    return {
        "council_phone": board.get("phone", "le standard du Département"),
        "council_hours": board.get("hours", "aux heures d'ouverture"),
    }


def fill(text: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


def find_procedure(
    procedures: dict[str, dict[str, Any]], wanted: str | None, text: str = ""
) -> str | None:
    """The entry key for an entity value, following ``aliases`` (mdph -> pch).

    Without an entity, the message's words are matched against each entry's
    ``keywords`` ("mon père ne peut plus vivre seul" -> apa).
    """
    if not wanted:
        return context.best_keyword_match(text, procedures) if text else None
    wanted = wanted.strip().lower()
    if wanted in procedures:
        return wanted
    for name, entry in procedures.items():
        if wanted in (entry.get("aliases") or []):
            return name
    return None


def _links(block: dict[str, Any]) -> list[str]:
    if block.get("link"):
        return [f"Site officiel : {block['link']}"]
    return [f"{link['label']} : {link['url']}" for link in block.get("links") or []]


def closing_message(offline: str, values: dict[str, str]) -> dict[str, Any]:
    """The last message of every answer: the non-digital way, then the offer."""
    return {
        "text": f"Sans internet : {fill(offline, values)}\n{OFFER_TEXT}",
        "buttons": OFFER_BUTTONS,
    }


def procedure_messages(entry: dict[str, Any], values: dict[str, str]) -> list[dict[str, Any]]:
    """A procedure in three messages: what and who, online steps and documents, offline."""
    online = entry["online"]
    steps = [f"{n}. {step}" for n, step in enumerate(online["steps"], start=1)]
    documents = [f"- {d}" for d in entry.get("documents") or []]
    how = ["En ligne :", *steps, *_links(online)]
    if documents:
        how += ["Documents à préparer :", *documents]
    return [
        {"text": f"{entry['title']}\n{entry['what']}\nPour qui ? {entry['who']}"},
        {"text": "\n".join(how)},
        closing_message(entry["offline"], values),
    ]


def offer_messages(entry: dict[str, Any], values: dict[str, str]) -> list[dict[str, Any]]:
    """A digital-offer topic: title and paragraphs, links, then the offline way and offer."""
    body = [entry["title"], *(fill(p, values) for p in entry["text"]), *_links(entry)]
    return [{"text": "\n".join(body)}, closing_message(entry["offline"], values)]


def procedure_choice(procedures: dict[str, dict[str, Any]]) -> dict[str, Any]:
    buttons = [
        {
            "title": entry.get("short") or entry["title"].split(" (")[0],
            "payload": f'/ask_procedure{{"procedure":"{name}"}}',
        }
        for name, entry in procedures.items()
    ]
    return {"response": "utter_ask_which_procedure", "buttons": buttons}


class ActionProcedure(Action):
    """A procedure explained; as a follow-up ("j'habite à Brest"), the desk near the person."""

    def name(self) -> str:
        return "action_procedure"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        wanted = next(tracker.get_latest_entity_values("procedure"), None)
        commune = next(tracker.get_latest_entity_values("commune"), None)
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        text = tracker.latest_message.get("text") or ""
        try:
            procedures = entries(PROCEDURES_FILE)
            if intent in ("inform", "deny") and not wanted and tracker.get_slot("procedure"):
                # A follow-up: the procedure just explained, for the commune now given.
                name = find_procedure(procedures, tracker.get_slot("procedure"))
                messages = await asyncio.to_thread(
                    desk_messages, procedures.get(name or "") or {}, commune, council_values()
                )
            else:
                name = find_procedure(procedures, wanted, "" if wanted else text)
                if name is None:
                    if wanted:
                        logger.warning("no knowledge entry for procedure %r", wanted)
                    from actions.reroute import elsewhere_message

                    # « refaire ma carte vitale » : another administration's, said as such.
                    elsewhere = None if wanted else elsewhere_message(text)
                    messages = [elsewhere or procedure_choice(procedures)]
                else:
                    messages = procedure_messages(procedures[name], council_values())
                    if commune:
                        messages += await asyncio.to_thread(
                            desk_messages, procedures[name], commune, council_values(), False
                        )
        except (ContentError, KeyError, TypeError, AttributeError, OSError):
            logger.exception("procedure knowledge unusable")
            dispatcher.utter_message(text=UNAVAILABLE, buttons=OFFER_BUTTONS)
            return []
        for message in messages:
            dispatcher.utter_message(**message)
        events: list[EventType] = [SlotSet("procedure", name)] if name else []
        return [*events, SlotSet(context.LAST_TOPIC, "procedure" if name else None)]


def desk_messages(
    entry: dict[str, Any], commune_name: str | None, values: dict[str, str], closing: bool = True
) -> list[dict[str, Any]]:
    """Where to be helped in person near ``commune_name`` for a procedure.

    Procedures of the council (``desk: cdas``) go to the nearest CDAS; the others to the
    nearest place that helps with online procedures (France Services…).
    """
    index = geo.communes()
    commune = index.get(commune_name) if commune_name else None
    title = entry.get("short") or (entry.get("title") or "votre démarche").split(" (")[0]
    if commune is None:
        where = f"Dites-moi votre commune : je vous dirai où être aidé en personne pour {title}."
        return [{"text": where}]
    now = datetime.now(PARIS)
    if entry.get("desk") == "cdas":
        desk = desks.nearest_desk(commune, index, desks.load_desks())
        if desk is not None:
            text = (
                f"Près de {commune.nom}, pour {title}, vous pouvez être reçu au "
                f"{desk['name']} :\n{desks.desk_text(desk, now)}"
            )
            messages = [{"text": text}]
            if closing:
                messages.append(closing_message(entry.get("offline") or "", values))
            return messages
    cards = [place_search.describe_place(p, km, now) for p, km in helping_places(commune, index)]
    intro = f"Près de {commune.nom}, pour être aidé en personne pour {title} :"
    text = "\n\n".join([intro, *cards])
    messages = [{"text": text}]
    if closing:
        messages.append(closing_message(entry.get("offline") or "", values))
    return messages


def helping_places(
    commune: geo.Commune, index: geo.CommuneIndex, limit: int = 2
) -> list[tuple[place_store.Place, float | None]]:
    """The places nearest ``commune`` that help with online procedures (France
    Services…), any place when none does."""
    places = place_store.places_with_seed()
    helping = [p for p in places if any("démarches" in s for s in p.services)] or places
    return place_search.nearest(helping, commune, index, limit=limit).places


class OfferTopicAction(Action, ABC):
    """Answers one entry of ``digital_offer.yml``; subclasses name the action and entry."""

    entry: str

    @abstractmethod
    def name(self) -> str: ...

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        try:
            messages = offer_messages(entries(OFFER_FILE)[self.entry], council_values())
        except (ContentError, KeyError, TypeError, AttributeError):
            logger.exception("digital offer entry %r unusable", self.entry)
            dispatcher.utter_message(text=UNAVAILABLE, buttons=OFFER_BUTTONS)
            return []
        for message in messages:
            dispatcher.utter_message(**message)
        # The answer ends by offering places nearby (OFFER_TEXT): a commune said next
        # ("j'habite à Morlaix", "et à Brest ?") asks for them.
        return [SlotSet(context.LAST_TOPIC, "places")]


class ActionPassNumerique(OfferTopicAction):
    entry = "pass_numerique"

    def name(self) -> str:
        return "action_pass_numerique"


class ActionDigitalAdvisor(OfferTopicAction):
    """Conseillers numériques; with a commune, the places near it (where they receive)."""

    entry = "conseillers_numeriques"

    def name(self) -> str:
        return "action_digital_advisor"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if next(tracker.get_latest_entity_values("commune"), None):
            from actions.places import ActionFindDigitalPlace

            return await ActionFindDigitalPlace().run(dispatcher, tracker, domain)
        from actions.followups import topic_in_words

        if topic_in_words(tracker.latest_message.get("text") or "") == "guides":
            # « Apprendre le numérique »: the guides, step by step.
            from actions.guides import ActionBasicSkills

            return await ActionBasicSkills().run(dispatcher, tracker, domain)
        return await super().run(dispatcher, tracker, domain)


ASK_FIBRE_COMMUNE = (
    "Dites-moi votre commune : je vous donnerai la part des logements et locaux déjà "
    "raccordables à la fibre chez vous."
)


def fibre_text(figure: fibre.FibreFigure, asked: str | None) -> str:
    """The roll-out figure in French; says so when only the département's is known."""
    text = fibre.describe(figure)
    if figure.scope != "commune" and asked:
        text = f"Je n'ai pas le chiffre de {asked} seule. {text}"
    return text


def fibre_figure(commune: str | None) -> fibre.FibreFigure | None:
    """The open-data figure (``actions.fibre``), ``None`` when unknown or unreadable."""
    try:
        return fibre.fibre_figure(commune)
    except (OSError, ValueError, KeyError):
        logger.exception("fibre figures unavailable")
        return None


class ActionFibre(Action):
    """Fibre roll-out: the figure of the person's commune (or the département), how to check."""

    def name(self) -> str:
        return "action_fibre"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        commune = next(tracker.get_latest_entity_values("commune"), None)
        follow_up = (tracker.latest_message.get("intent") or {}).get("name") != "ask_fibre"
        commune = commune or context.recent_commune(tracker.events)
        try:
            entry = entries(OFFER_FILE)["fibre"]
            values = council_values()
            figure = await asyncio.to_thread(fibre_figure, commune)
            if figure is None:
                messages = offer_messages(entry, values)
                messages.insert(1, {"text": ASK_FIBRE_COMMUNE})
            else:
                first = {"text": fibre_text(figure, commune)}
                if follow_up:
                    messages = [first, closing_message(entry["offline"], values)]
                else:
                    messages = [first, *offer_messages(entry, values)]
        except (ContentError, KeyError, TypeError, AttributeError, ValueError):
            logger.exception("fibre entry unusable")
            dispatcher.utter_message(text=UNAVAILABLE, buttons=OFFER_BUTTONS)
            return []
        for message in messages:
            dispatcher.utter_message(**message)
        events: list[EventType] = [SlotSet(context.LAST_TOPIC, "fibre")]
        if figure is not None and figure.scope == "commune":
            events.append(SlotSet("commune", figure.name))
        return events


class ActionEquipment(OfferTopicAction):
    """Refurbished equipment; with a commune, also the places near it (help, solidarity shops)."""

    entry = "equipment"

    def name(self) -> str:
        return "action_equipment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        if next(tracker.get_latest_entity_values("commune"), None):
            from actions.places import ActionFindDigitalPlace

            return await ActionFindDigitalPlace().run(dispatcher, tracker, domain)
        return events


# ------------------------------------------------------------ review follow-up


@dataclass(frozen=True)
class ReviewItem:
    file: str
    entry: str
    owner: str
    last_reviewed: date | None
    source: str
    problem: str

    def __str__(self) -> str:
        reviewed = self.last_reviewed.isoformat() if self.last_reviewed else "jamais"
        return (
            f"{self.file} › {self.entry} — {self.problem} (revu : {reviewed}, "
            f"responsable : {self.owner or '?'}, source : {self.source or '?'})"
        )


def months_before(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    for candidate in range(day.day, 0, -1):  # 31 March - 1 month -> 28/29 February
        try:
            return date(year, month + 1, candidate)
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover - day 1 always exists


def review_items(folder: Path, months: int, today: date) -> list[ReviewItem]:
    """Entries not reviewed since ``months`` months, or missing owner / date / source."""
    limit = months_before(today, months)
    items: list[ReviewItem] = []
    for sub in REVIEWED_FOLDERS:
        for path in sorted((folder / sub).glob("*.yml")):
            content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            for name, entry in (content.get("entries") or {}).items():
                reviewed = entry.get("last_reviewed")
                reviewed = reviewed if isinstance(reviewed, date) else None
                owner, source = entry.get("owner") or "", entry.get("source") or ""
                if not (owner and source and reviewed):
                    problem = "fiche incomplète (owner, last_reviewed et source obligatoires)"
                elif reviewed < limit:
                    problem = f"pas revue depuis plus de {months} mois"
                else:
                    continue
                relative = f"{sub}/{path.name}"
                items.append(ReviewItem(relative, str(name), owner, reviewed, source, problem))
    return items


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m actions.knowledge",
        description="Liste les fiches (démarches, offre numérique, guides) à relire.",
    )
    parser.add_argument(
        "--stale",
        type=int,
        metavar="MOIS",
        required=True,
        help="fiches non revues depuis ce nombre de mois",
    )
    parser.add_argument(
        "--today",
        type=date.fromisoformat,
        default=None,
        metavar="AAAA-MM-JJ",
        help="date de référence (par défaut : aujourd'hui)",
    )
    args = parser.parse_args(argv)
    if args.stale < 0:
        parser.error("--stale doit être positif")
    try:
        items = review_items(data_dir(), args.stale, args.today or date.today())
    except (OSError, yaml.YAMLError) as err:
        print(f"Erreur de lecture : {err}", file=sys.stderr)
        return 2
    for item in items:
        print(item)
    print(f"{len(items)} fiche(s) à relire.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
