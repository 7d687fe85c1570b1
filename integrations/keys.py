"""Typed keys of everything the gateway keeps on its ``web.Application``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web

from integrations.settings import Settings

if TYPE_CHECKING:
    from integrations.channels.matrix import MatrixChannel
    from integrations.channels.telegram import TelegramChannel
    from integrations.channels.web import Hub, WebChannel
    from integrations.console.auth import StaffStore
    from integrations.gateway import Gateway
    from integrations.rasa_client import RasaClient
    from integrations.store import Store

SETTINGS = web.AppKey("settings", Settings)
HTTP = web.AppKey("http", aiohttp.ClientSession)
STORE: web.AppKey[Store] = web.AppKey("store")
RASA: web.AppKey[RasaClient] = web.AppKey("rasa")
GATEWAY: web.AppKey[Gateway] = web.AppKey("gateway")
HUB: web.AppKey[Hub] = web.AppKey("hub")
WEB: web.AppKey[WebChannel] = web.AppKey("web")
TELEGRAM: web.AppKey[TelegramChannel] = web.AppKey("telegram")
MATRIX: web.AppKey[MatrixChannel] = web.AppKey("matrix")
STAFF: web.AppKey[StaffStore] = web.AppKey("staff")
