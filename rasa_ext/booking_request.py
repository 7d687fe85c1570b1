"""A room asked for with its details is a booking request, however many details.

An agent writes the whole request in one line: « une salle à Quimperlé le 06/12/2026 à
quatorze heures pour 2 pendant 1h », « salle brest 14/01 10h 6 pers 1h30 ». Every word
but « salle » is a date, an hour, a number or a site, the words of the ``inform``
answers to the booking form's questions, so DIET and the linear regression read such
messages as ``inform`` (dev fold 0 of the training data: 5 of 16 ``book_room``
examples, at 0.70 to 0.96), and the assistant, asked nothing before, answered « Je n'ai
pas bien compris ».

Here a message read as ``inform`` that names a room (« salle », « salles ») and gives a
detail of a booking (a figure, a day, a part of the day, an hour, people, a duration)
is ``book_room``. In the booking form itself that changes nothing: the form goes on with
the message's entities whatever its intent. « la salle de Châteaulin », answering
« which site? », has no detail and stays ``inform``.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from common.text import tokens
from rasa_ext.override import RuleComponent, override_intent

INFORM, BOOK_ROOM = "inform", "book_room"
ROOM_WORDS = frozenset({"salle", "salles"})
DETAIL_WORDS = frozenset(
    {"lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"}
    | {"demain", "aujourd", "hui", "matin", "midi", "apres", "soir", "semaine", "prochain"}
    | {"heure", "heures", "h", "minutes", "min", "quart", "demi", "demie", "duree"}
    | {"personnes", "personne", "pers", "participants", "places"}
    | {"deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix", "onze"}
    | {"douze", "treize", "quatorze", "quinze", "seize", "vingt", "trente"}
)


def is_room_request(text: str) -> bool:
    """The message names a room and gives at least one detail of a booking."""
    words = [w for w, _, _ in tokens(text)]
    names_a_room = any(w in ROOM_WORDS for w in words)
    return names_a_room and any(w in DETAIL_WORDS or any(c.isdigit() for c in w) for w in words)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class BookingRequest(RuleComponent):
    """``book_room`` for a message read as ``inform`` that asks for a room with details."""

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            if intent == INFORM and not text.startswith("/") and is_room_request(text):
                override_intent(message, BOOK_ROOM)
        return messages
