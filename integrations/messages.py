"""The one internal message type every channel produces, and the reply type they render.

Channels turn their platform's events into an :class:`Incoming` and render each
:class:`Reply` (text, buttons, links, image) in their platform's format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

# Markdown-style links in bot texts: "[Service-public.fr](https://www.service-public.fr)".
LINK = re.compile(r"\[([^\]\n]{1,200})\]\((https?://[^\s)]{1,2000})\)")


class Role(StrEnum):
    CITIZEN = "citizen"
    AGENT = "agent"


class Author(StrEnum):
    USER = "user"
    BOT = "bot"
    MEDIATOR = "mediator"
    SYSTEM = "system"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Incoming:
    """A user's message, whatever the channel it came from."""

    channel: str  # "web", "telegram", "matrix"
    chat_id: str  # the platform's conversation id (web sender, Telegram chat, Matrix room)
    # The verified user id (Telegram user, Matrix user, signed-in web account); None for
    # an anonymous web visitor, who then has no identity at all in Rasa.
    user_id: str | None
    text: str
    role: Role
    locale: str = "fr"
    display_name: str | None = None
    platform_message_id: str | None = None
    received_at: datetime = field(default_factory=utcnow)
    # What the client said about itself (web widgets send such metadata); never trusted
    # for identity or role, passed to Rasa under "client".
    client_metadata: dict[str, Any] | None = None
    # The web widget's own id of the message, echoed back so it can replace its pending
    # bubble (see integrations/channels/web.py).
    client_id: str | None = None

    @property
    def conversation_key(self) -> str:
        """Unique across channels; also the Rasa sender id."""
        return f"{self.channel}:{self.chat_id}"

    def rasa_metadata(self) -> dict[str, Any]:
        """What actions read from the tracker (see actions/agents.py). Only the gateway
        writes it: the client's own metadata goes under "client", never at the top."""
        metadata: dict[str, Any] = {"channel": self.channel}
        if self.user_id:
            metadata["user_id"] = self.user_id
        metadata["role"] = str(self.role)
        metadata["locale"] = self.locale
        if self.display_name:
            metadata["display_name"] = self.display_name
        if self.client_metadata:
            metadata["client"] = self.client_metadata
        return metadata


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class Reply:
    """One message of a conversation: to the user (bot, mediator, gateway) or, echoed to
    the user's other screens and to mediators, from the user.

    ``id`` is set once the message is stored (``store.Message.id``, increasing within a
    conversation): clients replay and de-duplicate by it.
    """

    text: str = ""
    buttons: tuple[Button, ...] = ()
    image: str | None = None
    custom: dict[str, Any] | None = None
    author: Author = Author.BOT
    id: int | None = None
    client_id: str | None = None
    # When it was stored (frames give it as ISO 8601: clients show the time).
    at: datetime | None = None

    @classmethod
    def from_rasa(cls, message: dict[str, Any]) -> Reply:
        """A reply from one element of Rasa's REST channel answer."""
        buttons = tuple(
            Button(title=str(b.get("title", "")), payload=str(b.get("payload", "")))
            for b in message.get("buttons") or ()
            if isinstance(b, dict) and b.get("payload")
        )
        image = message.get("image")
        custom = message.get("custom")
        return cls(
            text=str(message.get("text") or ""),
            buttons=buttons,
            image=image if isinstance(image, str) else None,
            custom=custom if isinstance(custom, dict) else None,
        )

    def links(self) -> list[tuple[str, str]]:
        """``(label, url)`` of the Markdown links in the text."""
        return [(m.group(1), m.group(2)) for m in LINK.finditer(self.text)]

    def plain_text(self) -> str:
        """The text with Markdown links written "label (url)"."""
        return LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", self.text)

    def as_rest(self, recipient_id: str) -> dict[str, Any]:
        """The element of a Rasa-REST answer, so existing web widgets work unchanged; a
        message that is not the bot's names its author (e.g. a handoff notice: system)."""
        out: dict[str, Any] = {"recipient_id": recipient_id}
        if self.author is not Author.BOT:
            out["author"] = str(self.author)
        if self.id is not None:
            out["id"] = self.id
        if self.text:
            out["text"] = self.text
        if self.buttons:
            out["buttons"] = [{"title": b.title, "payload": b.payload} for b in self.buttons]
        if self.image:
            out["image"] = self.image
        if self.custom:
            out["custom"] = self.custom
        if self.client_id:
            out["client_id"] = self.client_id
        return out

    def as_frame(self, recipient_id: str) -> dict[str, Any]:
        """The WebSocket / history frame of this message."""
        out = {**self.as_rest(recipient_id), "type": "message", "author": str(self.author)}
        if self.at is not None:
            out["at"] = self.at.isoformat()
        return out

    def as_record(self) -> dict[str, Any]:
        """What is stored besides the text (see ``store.Message.payload``)."""
        return {
            k: v for k, v in self.as_rest("").items() if k not in ("recipient_id", "text", "id")
        }

    @property
    def handoff_request(self) -> str | None:
        """The reason when this bot message asks for a human (``{"handoff": {"reason"}}``)."""
        handoff = (self.custom or {}).get("handoff")
        if not isinstance(handoff, dict):
            return None
        reason = handoff.get("reason")
        return reason[:64] if isinstance(reason, str) and reason else "request_human"


UNAVAILABLE = Reply(
    text=(
        "Désolé, service momentanément indisponible. Merci de réessayer dans quelques minutes. "
        "Vous pouvez aussi appeler l'accueil du Département ou vous rendre dans un espace "
        "France Services."
    ),
    author=Author.SYSTEM,
)
