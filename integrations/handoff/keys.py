"""Typed keys of what the handoff area keeps on the gateway's ``web.Application``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from integrations.handoff.canned import CannedReplies
    from integrations.handoff.presence import Presence
    from integrations.handoff.relay import ConsoleHub
    from integrations.handoff.service import HandoffService

HANDOFF: web.AppKey[HandoffService] = web.AppKey("handoff")
CONSOLES: web.AppKey[ConsoleHub] = web.AppKey("consoles")
CANNED: web.AppKey[CannedReplies] = web.AppKey("canned_replies")
PRESENCE: web.AppKey[Presence] = web.AppKey("presence")
