"""What the conversation is about right now, read from the tracker's events (pure functions).

A short follow-up ("et à Concarneau ?", "samedi ?", "le deuxième") only makes sense
against what was just said. The answering actions leave two slots behind them:

- ``last_topic``: ``places``, ``fibre``, ``procedure``, ``social`` or ``contact``;
- ``listed_places``: the ids of the places just shown, in the order shown.

A slot is only *current* while the person keeps following up: every user message
since it was set must be a follow-up (``inform``, ``ask_hours``, ``select_item``,
thanks, yes / no) and there are at most ``MAX_FOLLOW_UPS`` of them. Anything else
("comment envoyer une pièce jointe ?") closes the topic, even though the slot
still holds a value; the next list replaces ``listed_places``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from common.text import fold, key, tokens

LAST_TOPIC = "last_topic"
LISTED_PLACES = "listed_places"
FOLLOW_UP_INTENTS = frozenset(
    {"inform", "ask_hours", "select_item", "thank", "affirm", "deny", "nlu_fallback"}
)
MAX_FOLLOW_UPS = 6
# A commune said this many messages ago is still where the person lives.
COMMUNE_TURNS = 12
TOPICS = ("places", "fibre", "procedure", "social", "contact")

# Words of place names that do not tell one place from another.
_COMMON_NAME_WORDS = frozenset(
    "france services service espace public numerique conseiller conseillere de du des la le les "
    "l d et a au aux en exemple mediation pimms atelier cc communaute communes maison".split()
)


@dataclass(frozen=True)
class SlotContext:
    """A slot's latest value and whether the conversation is still on it."""

    value: Any
    current: bool


def slot_context(
    events: Sequence[dict[str, Any]],
    slot: str,
    max_follow_ups: int = MAX_FOLLOW_UPS,
    follow_ups: frozenset[str] | None = FOLLOW_UP_INTENTS,
) -> SlotContext:
    """The latest value of ``slot`` and whether only follow-ups were written since it was set.

    The user message being answered counts as one of them: call this from the action
    that answers it. ``follow_ups=None`` accepts any intent (only the count matters).
    """
    intents: list[str | None] = []
    for event in reversed(events):
        kind = event.get("event")
        if kind == "user":
            intents.append(((event.get("parse_data") or {}).get("intent") or {}).get("name"))
        elif kind == "slot" and event.get("name") == slot:
            value = event.get("value")
            current = (
                value not in (None, [], "")
                and len(intents) <= max_follow_ups
                and (follow_ups is None or all(i in follow_ups for i in intents))
            )
            return SlotContext(value, current)
        elif kind in ("restart", "session_started"):
            break
    return SlotContext(None, False)


def current_topic(events: Sequence[dict[str, Any]]) -> str | None:
    """``last_topic`` if the conversation is still on it, else ``None``."""
    found = slot_context(events, LAST_TOPIC)
    return found.value if found.current and found.value in TOPICS else None


def current_places(events: Sequence[dict[str, Any]]) -> list[str]:
    """The ids of the places just listed, if the person is still talking about them."""
    if current_topic(events) != "places":
        return []
    found = slot_context(events, LISTED_PLACES)
    if not found.current or not isinstance(found.value, list):
        return []
    return [str(v) for v in found.value]


def picked_since_list(events: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The latest user message that picked an item (``select_item``) of the list now
    shown, or None: « le 2e », then « comment y aller ? » is about that one. A newer
    list (another ``listed_places``) ends the search."""
    listed = slot_context(events, LISTED_PLACES).value
    for event in reversed(events):
        if event.get("event") == "slot" and event.get("name") == LISTED_PLACES:
            if event.get("value") != listed:
                return None
        elif event.get("event") == "user":
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if intent == "select_item":
                return event
            if intent not in FOLLOW_UP_INTENTS:
                return None
    return None


def before_latest(events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events before the latest user message: the context as it was when it came.

    For answers to a message whose intent is not a follow-up ("vous êtes ouverts
    dimanche ?" read as out of scope) that may still be one.
    """
    for i in range(len(events) - 1, -1, -1):
        if events[i].get("event") == "user":
            return list(events[:i])
    return list(events)


def recent_commune(events: Sequence[dict[str, Any]]) -> str | None:
    """The commune the person gave in the last ``COMMUNE_TURNS`` messages, whatever the topic."""
    found = slot_context(events, "commune", COMMUNE_TURNS, follow_ups=None)
    return found.value if found.current else None


def pick_by_ordinal(items: Sequence[Any], ordinal: str | None) -> Any | None:
    """The item an ordinal designates ("1" first, "last" the last one), if it exists."""
    if not items or not ordinal:
        return None
    if ordinal == "last":
        return items[-1]
    if ordinal.isdigit() and 1 <= int(ordinal) <= len(items):
        return items[int(ordinal) - 1]
    return None


def distinctive_words(name: str) -> set[str]:
    return {w for w in key(name).split() if w not in _COMMON_NAME_WORDS and len(w) > 2}


def pick_by_name(items: Sequence[Any], text: str, names: Iterable[tuple[str, ...]]) -> Any | None:
    """The one item whose names (place name, commune) the text mentions, typos tolerated.

    ``names`` gives, for each item, the strings that designate it. ``None`` when no item
    or several items match equally well.
    """
    said = [w for w in key(text).split() if len(w) > 2]
    scores = []
    for item, item_names in zip(items, names, strict=True):
        words = set().union(*(distinctive_words(n) for n in item_names)) if item_names else set()
        score = 0
        for word in words:
            if word in said:
                score += 2
            elif difflib.get_close_matches(word, said, n=1, cutoff=0.8):
                score += 1
        scores.append((score, item))
    best = max((s for s, _ in scores), default=0)
    winners = [item for s, item in scores if s == best]
    return winners[0] if best > 0 and len(winners) == 1 else None


# ------------------------------------------------------------- keyword matching


def matches_keywords(text: str, keywords: Iterable[str]) -> int:
    """How well ``text`` matches a list of keywords (folded, small typos tolerated).

    A keyword of several words counts when all its words appear in order-free form;
    every matched keyword adds its number of words, so specific phrases win.
    """
    return _score([w for w, _, _ in tokens(text)], keywords)


def _score(said: list[str], keywords: Iterable[str]) -> int:
    score = 0
    for keyword in keywords:
        words = _words(keyword)
        if words and all(_word_in(w, said) for w in words):
            score += len(words)
    return score


@lru_cache(maxsize=8192)
def _words(keyword: str) -> tuple[str, ...]:
    """A keyword's folded words (the keywords are the content files': a few thousand)."""
    return tuple(w for w, _, _ in tokens(keyword))


def _word_in(word: str, said: list[str]) -> bool:
    if word in said:
        return True
    if len(word) < 5:
        return False
    # "piece jointe" typed "piéce jointes", "mot de pass": a prefix or a close spelling
    # with the same first letter ("mail" is no misspelt "gmail").
    return any(
        s.startswith(word[:-1])
        or (s[0] == word[0] and difflib.SequenceMatcher(None, word, s).ratio() >= 0.84)
        for s in said
        if abs(len(s) - len(word)) <= 3
    )


def best_keyword_match(
    text: str, entries: dict[str, dict[str, Any]], field: str = "keywords"
) -> str | None:
    """The entry whose ``keywords`` the text matches best (ties: none)."""
    said = [w for w, _, _ in tokens(text)]
    scored = sorted(
        ((_score(said, e.get(field) or []), name) for name, e in entries.items()),
        reverse=True,
    )
    if not scored or scored[0][0] == 0:
        return None
    if len(scored) > 1 and scored[1][0] == scored[0][0]:
        return None
    return scored[0][1]


def folded(text: str) -> str:
    return " ".join(fold(text).split())


def topic_from_words(text: str, topics: dict[str, dict[str, Any]]) -> str | None:
    """The topic whose keywords the message matches best (``data/followups.yml``)."""
    return best_keyword_match(text, topics)


def is_out_of_scope(text: str, keywords: Iterable[str]) -> bool:
    return matches_keywords(text, keywords) > 0
