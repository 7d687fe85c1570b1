"""Typed keys of everything the gateway keeps on its ``web.Application`` (and requests)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from integrations.settings import Settings

if TYPE_CHECKING:
    from integrations.admin.service import Admin
    from integrations.bus import Bus
    from integrations.channels.matrix import MatrixChannel
    from integrations.channels.telegram import TelegramChannel
    from integrations.channels.web import Hub, WebChannel
    from integrations.console.auth import ConsoleSession, LoginThrottle, StaffStore
    from integrations.console.oidc import OidcClient
    from integrations.gateway import Gateway
    from integrations.handoff.canned import CannedReplies
    from integrations.handoff.presence import Presence
    from integrations.handoff.relay import ConsoleHub
    from integrations.handoff.service import HandoffService
    from integrations.indicators.settings import IndicatorSettings
    from integrations.rasa_client import RasaClient
    from integrations.store import Store

# --- the gateway (app.py) ---
SETTINGS = web.AppKey("settings", Settings)
HTTP = web.AppKey("http", aiohttp.ClientSession)
STORE: web.AppKey[Store] = web.AppKey("store")
RASA: web.AppKey[RasaClient] = web.AppKey("rasa")
GATEWAY: web.AppKey[Gateway] = web.AppKey("gateway")
# What the replicas tell each other (in memory without REDIS_URL): integrations/bus.py.
BUS: web.AppKey[Bus] = web.AppKey("bus")
# Every channel this gateway knows, by name: the channel once running, None when it is
# not configured (``/health`` gives each one's state).
CHANNELS: web.AppKey[dict[str, Any]] = web.AppKey("channels")
# --- channels ---
HUB: web.AppKey[Hub] = web.AppKey("hub")
WEB: web.AppKey[WebChannel] = web.AppKey("web")
TELEGRAM: web.AppKey[TelegramChannel] = web.AppKey("telegram")
MATRIX: web.AppKey[MatrixChannel] = web.AppKey("matrix")
# --- console ---
STAFF: web.AppKey[StaffStore] = web.AppKey("staff")
THROTTLE: web.AppKey[LoginThrottle] = web.AppKey("login_throttle")
OIDC: web.AppKey[OidcClient] = web.AppKey("oidc_client")
# The console session of a request, once looked up (None: nobody signed in).
CONSOLE_SESSION: web.RequestKey[ConsoleSession | None] = web.RequestKey("console_session")
# --- handoff ---
HANDOFF: web.AppKey[HandoffService] = web.AppKey("handoff")
CONSOLES: web.AppKey[ConsoleHub] = web.AppKey("consoles")
CANNED: web.AppKey[CannedReplies] = web.AppKey("canned_replies")
PRESENCE: web.AppKey[Presence] = web.AppKey("presence")
# --- admin ---
ADMIN: web.AppKey[Admin] = web.AppKey("admin")
# Training jobs started by this gateway, with the task that waits for each.
JOBS: web.AppKey[dict[asyncio.subprocess.Process, asyncio.Task[None]]] = web.AppKey("admin_jobs")
# --- indicators ---
INDICATORS: web.AppKey[IndicatorSettings] = web.AppKey("indicators")
