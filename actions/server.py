"""``python -m actions.server``: the rasa_sdk action server, on loopback, behind a secret.

``rasa run actions`` listens on every interface and runs any action for anyone who
posts a tracker, with whatever metadata (channel, user id) the tracker claims. This
launcher serves the same app (``rasa_sdk.endpoint.create_app`` over ``actions/``) on
``ACTIONS_HOST`` (127.0.0.1) : ``ACTIONS_PORT`` (5055) and refuses every call but
``GET /health`` unless its ``X-Action-Secret`` header equals ``ACTIONS_SECRET``. Rasa
sends the header (``bot/endpoints.yml``, ``action_endpoint.headers``).

Besides rasa_sdk's routes it serves ``GET /bookings/{ref}.ics`` (``text/calendar``, or
404), the calendar invitation of a booking, which the gateway's public route of the
same path fetches here: the gateway never opens the booking store itself.

Variables: ``ACTIONS_SECRET`` (required), ``ACTIONS_HOST``, ``ACTIONS_PORT``,
``LOG_LEVEL``, ``ACTION_SERVER_SANIC_WORKERS`` (rasa_sdk's, default 1).
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from dataclasses import dataclass

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from common.config import ConfigError, database_url, env_int, env_str, require_free_port
from common.db import check_database
from common.migrate import SchemaNotReady, require_current
from common.secret import ACTION_SECRET_HEADER, same_secret

SECRET_HEADER = ACTION_SECRET_HEADER
OPEN_PATHS = frozenset({"/health"})
# A booking reference (``secrets.token_urlsafe``) followed by ``.ics``.
_INVITATION = re.compile(r"([A-Za-z0-9_-]{8,40})\.ics")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ActionServerSettings:
    secret: str
    host: str = "127.0.0.1"
    port: int = 5055

    @classmethod
    def from_env(cls) -> ActionServerSettings:
        return cls(
            secret=env_str("ACTIONS_SECRET"),
            host=env_str("ACTIONS_HOST", "127.0.0.1"),
            port=env_int("ACTIONS_PORT", 5055, minimum=1),
        )


def require_secret(app: Sanic, secret: str) -> None:
    """Refuse every request but ``OPEN_PATHS`` without the right ``X-Action-Secret``."""
    if not secret:
        raise ConfigError("ACTIONS_SECRET is required")

    @app.middleware("request")
    async def check_secret(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS:
            return None
        given = request.headers.get(SECRET_HEADER)
        if same_secret(given, secret):
            return None
        log.warning("refused %s %s: %s", request.method, request.path, "no or wrong secret")
        if given is None:
            body = {"error": "Secret du serveur d'actions manquant.", "code": "missing_secret"}
            return response.json(body, status=401)
        body = {"error": "Secret du serveur d'actions invalide.", "code": "invalid_secret"}
        return response.json(body, status=403)


async def booking_invitation(request: Request, name: str) -> HTTPResponse:
    """``GET /bookings/{ref}.ics``: the invitation of a booking, or 404."""
    from actions.booking_calendar import ics_for_ref

    found = _INVITATION.fullmatch(name)
    body = await asyncio.to_thread(ics_for_ref, found.group(1)) if found else None
    if body is None:
        return response.json(
            {"error": "Invitation introuvable.", "code": "not_found"},
            status=404,
        )
    return response.text(body, content_type="text/calendar; charset=utf-8")


def create_app(secret: str) -> Sanic:
    """The rasa_sdk app over ``actions/``, with the secret check in front of it."""
    from rasa_sdk.endpoint import create_app as create_sdk_app

    # No CORS: no browser ever calls the action server.
    app = create_sdk_app("actions", cors_origins="")
    require_secret(app, secret)
    app.add_route(booking_invitation, "/bookings/<name:str>", methods=["GET"])
    return app


def main() -> int:
    from rasa_sdk import utils
    from rasa_sdk.plugin import plugin_manager

    level = env_str("LOG_LEVEL", "INFO").upper()
    utils.configure_colored_logging(level)
    utils.update_sanic_log_level()
    try:
        settings = ActionServerSettings.from_env()
        check_database(database_url())
        require_free_port("ACTIONS_PORT", settings.host, settings.port)
    except ConfigError as err:
        print(f"action server: erreur de configuration : {err}", file=sys.stderr)
        return 2
    try:
        require_current(database_url())
    except SchemaNotReady as err:
        print(f"action server: {err}", file=sys.stderr)
        return 2
    from actions.places import preload

    preload()
    app = create_app(settings.secret)
    plugin_manager().hook.attach_sanic_app_extensions(app=app)
    log.info("action server listening on http://%s:%s", settings.host, settings.port)
    app.run(settings.host, settings.port, workers=utils.number_of_sanic_workers())
    return 0


if __name__ == "__main__":
    sys.exit(main())
