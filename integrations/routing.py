"""Who answers a conversation. The one place that decides it.

The owner is kept in ``conversations.owner`` and changed only by the handoff state
machine's atomic transitions (``integrations/handoff/store.py``): the bot answers when
it owns the conversation; while it is waiting or with a mediator, the bot never answers
(the paused Rasa tracker only records the message); a closed conversation goes back to
the bot when the person writes again.
"""

from __future__ import annotations

from integrations.store import ConversationRef, Owner


def owner_of(conversation: ConversationRef) -> Owner:
    """The owner of ``conversation`` for its next user message."""
    return conversation.owner
