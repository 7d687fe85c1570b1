"""The DPO's page of the admin console (admin role).

    GET  /console/admin/privacy          the search form
    POST /console/admin/privacy          find: what is stored about one person, per category
    POST /console/admin/privacy/export   the same as a JSON file (right of access)
    POST /console/admin/privacy/erase    erase it (right to erasure), once confirmed

Every request is a POST with the console's CSRF token: the identifier never travels in
a URL (access logs keep URLs). Routes are registered by the admin area's ``setup``.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from integrations import keys
from integrations.admin.views import TEMPLATE_HELPERS
from integrations.console.auth import StaffRole, check_csrf, require_page
from integrations.console.pages import SECURITY_HEADERS, render
from integrations.privacy.service import (
    CATEGORY_LABELS,
    KIND_LABELS,
    Person,
    Privacy,
    PrivacyError,
    describe,
)

CONFIRMATION = "EFFACER"


def _privacy(request: web.Request) -> Privacy:
    return Privacy(request.app[keys.STORE].engine)


async def _form(request: web.Request) -> dict[str, str]:
    form = await request.post()
    await check_csrf(request, str(form.get("csrf") or ""))
    return {name: str(value) for name, value in form.items() if isinstance(value, str)}


def _page(request: web.Request, status: int = 200, **context: Any) -> web.Response:
    context.setdefault("kind", "web")
    context.setdefault("value", "")
    return render(
        request,
        "admin_privacy.html",
        status=status,
        kinds=KIND_LABELS,
        labels=CATEGORY_LABELS,
        confirmation=CONFIRMATION,
        **TEMPLATE_HELPERS,
        **context,
    )


async def privacy_page(request: web.Request) -> web.Response:
    await require_page(request, StaffRole.ADMIN)
    return _page(request)


async def _person(request: web.Request) -> tuple[Person | None, dict[str, str], str | None]:
    form = await _form(request)
    try:
        return Person.parse(form.get("kind", ""), form.get("value", "")), form, None
    except PrivacyError as err:
        return None, form, err.reason


async def find(request: web.Request) -> web.Response:
    user = await require_page(request, StaffRole.ADMIN)
    person, form, error = await _person(request)
    if person is None:
        return _page(request, 400, error=error, kind=form.get("kind", "web"))
    found = await asyncio.to_thread(_privacy(request).find, person, user.username)
    return _page(
        request,
        kind=str(person.kind),
        value=person.value,
        person=person,
        found=found,
        summary=list(describe(found.counts())),
    )


async def export(request: web.Request) -> web.StreamResponse:
    user = await require_page(request, StaffRole.ADMIN)
    person, form, error = await _person(request)
    if person is None:
        return _page(request, 400, error=error, kind=form.get("kind", "web"))
    now = datetime.now(UTC)
    data = await asyncio.to_thread(_privacy(request).export, person, user.username, now)
    body = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    return web.Response(
        text=body,
        content_type="application/json",
        charset="utf-8",
        headers={
            **SECURITY_HEADERS,
            "Content-Disposition": (
                f'attachment; filename="donnees-{person.kind}-{now:%Y%m%d-%H%M%S}.json"'
            ),
        },
    )


async def erase(request: web.Request) -> web.Response:
    user = await require_page(request, StaffRole.ADMIN)
    person, form, error = await _person(request)
    if person is None:
        return _page(request, 400, error=error, kind=form.get("kind", "web"))
    if form.get("confirm", "").strip().upper() != CONFIRMATION:
        privacy = _privacy(request)
        found = await asyncio.to_thread(privacy.find, person, user.username)
        return _page(
            request,
            400,
            error=f"Rien n'a été effacé : recopiez « {CONFIRMATION} » pour confirmer.",
            kind=str(person.kind),
            value=person.value,
            person=person,
            found=found,
            summary=list(describe(found.counts())),
        )
    counts = await asyncio.to_thread(_privacy(request).erase, person, user.username)
    return _page(
        request,
        notice="Les données trouvées ont été effacées. L'effacement est inscrit au journal.",
        kind=str(person.kind),
        erased=list(describe(counts)),
    )


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/console/admin/privacy", privacy_page)
    app.router.add_post("/console/admin/privacy", find)
    app.router.add_post("/console/admin/privacy/export", export)
    app.router.add_post("/console/admin/privacy/erase", erase)
