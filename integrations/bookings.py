"""``GET /bookings/{ref}.ics``: the calendar invitation of a room booking, for the agent.

The bookings belong to the action server: this public route asks its loopback route of
the same path (with ``X-Action-Secret``) and passes the calendar on. The reference is
random (``secrets.token_urlsafe``) and is the only key: the link is given to the agent
who booked, in the confirmation. An unknown reference is a 404; an action server that
does not answer is a 503 with a French reason.
"""

from __future__ import annotations

import logging
import re

import aiohttp
from aiohttp import web

from common.secret import ACTION_SECRET_HEADER
from integrations import keys
from integrations.errors import ApiError

log = logging.getLogger(__name__)

_BOOKING_REF = re.compile(r"[A-Za-z0-9_-]{8,40}")
# An invitation is a few kilobytes; anything larger is not one.
MAX_INVITATION_BYTES = 256 * 1024
NOT_FOUND = "Invitation introuvable ou réservation annulée."
UNAVAILABLE = (
    "Le service des réservations est momentanément indisponible. Réessayez dans quelques minutes."
)


def _unavailable() -> ApiError:
    return ApiError(503, "bookings_unavailable", UNAVAILABLE)


async def booking_invitation(request: web.Request) -> web.Response:
    ref = request.match_info["ref"]
    if not _BOOKING_REF.fullmatch(ref):
        raise ApiError(404, "not_found", NOT_FOUND)
    settings = request.app[keys.SETTINGS]
    url = f"{settings.actions_base_url}/bookings/{ref}.ics"
    timeout = aiohttp.ClientTimeout(total=settings.rasa_timeout_s)
    try:
        async with request.app[keys.HTTP].get(
            url, headers={ACTION_SECRET_HEADER: settings.actions_secret}, timeout=timeout
        ) as upstream:
            if upstream.status == 404:
                raise ApiError(404, "not_found", NOT_FOUND)
            if upstream.status != 200 or upstream.content_type != "text/calendar":
                log.warning("action server answered %s for an invitation", upstream.status)
                raise _unavailable()
            body = await upstream.content.read(MAX_INVITATION_BYTES + 1)
    except (TimeoutError, aiohttp.ClientError) as err:
        log.warning("action server unreachable for an invitation: %r", err)
        raise _unavailable() from err
    if len(body) > MAX_INVITATION_BYTES:
        log.warning("invitation %s larger than %d bytes", ref, MAX_INVITATION_BYTES)
        raise _unavailable()
    return web.Response(
        body=body,
        content_type="text/calendar",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="reservation-{ref}.ics"'},
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/bookings/{ref}.ics", booking_invitation)
