"""Who answers a conversation. The one place that decides it.

Today the bot always does. The handoff issue extends :func:`owner_of` (a mediator
takes over, the conversation waits in a queue, or is closed) without touching channels.
"""

from __future__ import annotations

from integrations.store import ConversationRef, Owner


def owner_of(conversation: ConversationRef) -> Owner:
    """The owner of ``conversation`` for its next user message."""
    return conversation.owner
