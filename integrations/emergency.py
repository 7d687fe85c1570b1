"""Emergency numbers first, whatever the assistant understood (``data/emergencies.yml``).

Someone who writes "mon mari me frappe" or "je dors dans la rue ce soir" may be in danger
now. Whatever intent the NLU reads, and before the bot's answer (the social desk, a
mediator, or an « I did not understand »), the gateway puts the national free numbers of
that situation: 17 / 112 / 114, 3919, 119, 115, 3114. Matching is plain and predictable:
a phrase counts when its words follow one another in the message, folded (no accents, no
case, apostrophes as spaces), with no guessing of misspellings — the file lists the
spellings people type. A notice shown in vain costs a line; one missed could cost more.
"""

from __future__ import annotations

import logging

from common.content import ContentError, load_yaml
from common.text import key
from integrations.messages import Author, Reply

log = logging.getLogger(__name__)

SITUATIONS_FILE = "emergencies.yml"


def _words(text: str) -> str:
    """``text`` folded, its words between single spaces, with one at each end: a phrase's
    words follow one another in a message when its ``_words`` is in the message's."""
    return f" {' '.join(key(text).split())} "


Situation = tuple[Reply, list[str]]
# The file's parsed content (load_yaml gives the same object until the file changes) and
# its situations with their phrases already folded (``_words``; empty ones left out).
_prepared: tuple[object, list[Situation]] | None = None


def _situations() -> list[Situation]:
    global _prepared
    content = load_yaml(SITUATIONS_FILE) or {}
    if _prepared is None or _prepared[0] is not content:
        situations = [
            (
                Reply(text=" ".join(str(s["text"]).split()), author=Author.SYSTEM),
                [w for p in s.get("phrases") or [] if (w := _words(p)).strip()],
            )
            for s in content.get("situations") or []
        ]
        _prepared = (content, situations)
    return _prepared[1]


def notices(text: str) -> list[Reply]:
    """The emergency notices for the situations ``text`` describes, in the file's order."""
    try:
        situations = _situations()
    except ContentError:
        log.exception("emergency numbers unavailable")
        return []
    said = _words(text)
    return [notice for notice, phrases in situations if any(p in said for p in phrases)]
