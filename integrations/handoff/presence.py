"""Presence with consequences: a mediator gone for too long loses their conversations.

```mermaid
sequenceDiagram
  participant C as mediator's consoles
  participant H as ConsoleHub
  participant P as Presence
  participant S as HandoffService
  C->>H: last socket closes
  H->>P: offline(user)
  P->>P: timer (HANDOFF_PRESENCE_TIMEOUT)
  C-->>H: a socket opens again: timer cancelled
  P->>S: still offline: release(user)
  S->>S: each held conversation back to the head of the queue, person told, mediators alerted
```

A reload or a short network loss reconnects well within the timeout. Mediators who held
conversations when the gateway started get the same timer (their consoles reconnect
after a restart). Presence is every replica's (``ConsoleHub`` hears the others over the
bus): a console may reconnect to any replica. Each replica runs the timers; the release
is a conditional update per conversation, so only one replica gives each back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

from integrations.handoff.relay import ConsoleHub

log = logging.getLogger(__name__)

Release = Callable[[int], Awaitable[None]]


class Presence:
    def __init__(self, hub: ConsoleHub, release: Release, timeout_s: float) -> None:
        self.hub = hub
        self.release = release
        self.timeout_s = timeout_s
        self._timers: dict[int, asyncio.Task[None]] = {}
        hub.on_presence.append(self.changed)

    def changed(self, user_id: int, online: bool) -> None:
        """Hub listener: cancel the mediator's timer when they come back, start it when
        their last console closes."""
        if online:
            timer = self._timers.pop(user_id, None)
            if timer is not None:
                timer.cancel()
        else:
            self.watch([user_id])

    def watch(self, user_ids: Iterable[int]) -> None:
        """Start the timer of each mediator given who is not online (and has none yet)."""
        for user_id in user_ids:
            if user_id not in self._timers and not self.hub.is_online(user_id):
                self._timers[user_id] = asyncio.create_task(self._expire(user_id))

    async def _expire(self, user_id: int) -> None:
        try:
            await asyncio.sleep(self.timeout_s)
        finally:
            if self._timers.get(user_id) is asyncio.current_task():
                del self._timers[user_id]
        if self.hub.is_online(user_id):
            return
        log.info("mediator %s gone for %ss: their conversations go back", user_id, self.timeout_s)
        try:
            await self.release(user_id)
        except Exception:  # the next departure tries again; the queue must stay usable
            log.exception("could not give back the conversations of mediator %s", user_id)

    def pending(self) -> set[int]:
        """The mediators whose timer runs (offline, holding or having held conversations)."""
        return set(self._timers)

    async def close(self) -> None:
        timers = list(self._timers.values())
        self._timers.clear()
        for timer in timers:
            timer.cancel()
        await asyncio.gather(*timers, return_exceptions=True)
