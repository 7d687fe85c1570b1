"""The data quality page of the digital-help places (admin role).

    GET /console/admin/places-quality[?mois=24]

It reads the places tables of the gateway's database with SQLAlchemy Core
(``common.place_quality``): the gateway does not import ``actions``, and the tables
are current after every import whichever process ran it. The same lists are printed by
``python -m actions.place_quality``.
"""

from __future__ import annotations

import asyncio
from datetime import date

from aiohttp import web

from common.place_quality import DEFAULT_MONTHS, build
from integrations import keys
from integrations.admin.views import TEMPLATE_HELPERS
from integrations.console.auth import StaffRole, require_page
from integrations.console.pages import render

MAX_MONTHS = 240


def _months(raw: str | None) -> int | None:
    if not raw:
        return DEFAULT_MONTHS
    try:
        months = int(raw)
    except ValueError:
        return None
    return months if 1 <= months <= MAX_MONTHS else None


async def places_quality_page(request: web.Request) -> web.Response:
    await require_page(request, StaffRole.ADMIN)
    months = _months(request.query.get("mois"))
    error = None
    if months is None:
        error = f"Le nombre de mois doit être un entier entre 1 et {MAX_MONTHS}."
        months = DEFAULT_MONTHS
    engine = request.app[keys.STORE].engine
    report = await asyncio.to_thread(build, engine, months, date.today())
    return render(
        request,
        "admin_places_quality.html",
        status=400 if error else 200,
        report=report,
        error=error,
        **TEMPLATE_HELPERS,
    )


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/console/admin/places-quality", places_quality_page)
