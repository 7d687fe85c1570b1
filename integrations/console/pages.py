"""Server-rendered console pages: templates, security headers, forms, HTML errors.

    render(request, "page.html", **context) -> web.Response
    error_page(request, status, title, message) -> web.Response
    read_form(request) -> form fields; a malformed body is a 400 French page (PageError)

Pages are rendered with Jinja2 (autoescaped); every template gets ``user``,
``csrf_token`` and ``request``. Every area's pages (handoff, admin, privacy, the agents'
widget page) use these.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from integrations import keys
from integrations.console.roles import ROLE_LABELS, StaffRole

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
TEMPLATES.globals["role_label"] = lambda role: ROLE_LABELS.get(StaffRole(role), str(role))
SECURITY_HEADERS = {
    # Pages use only their own scripts, styles and WebSockets: no inline script, no CDN.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class PageError(Exception):
    """An HTML answer (redirect to the login page, 403 page) raised from deep in a handler."""

    def __init__(self, response: web.StreamResponse) -> None:
        super().__init__(response.status)
        self.response = response


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    """An HTML page; call it after ``current_session`` ran (``require_page`` does)."""
    session = request.get(keys.CONSOLE_SESSION)
    body = TEMPLATES.get_template(template).render(
        request=request,
        user=session.user if session is not None else None,
        csrf_token=session.csrf_token if session is not None else "",
        **context,
    )
    response = web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
    response.headers.update(SECURITY_HEADERS)
    return response


def error_page(request: web.Request, status: int, title: str, message: str) -> web.Response:
    return render(request, "error.html", status=status, title=title, message=message)


async def read_form(request: web.Request) -> dict[str, str]:
    """The text fields of a posted form (files ignored); 400 page when it does not parse.

    aiohttp raises ValueError, AssertionError, LookupError… on broken multipart or
    urlencoded bodies: all of them are the client's error, never a 500.
    """
    try:
        form = await request.post()
    except web.HTTPException:
        raise
    except Exception as err:  # any parse failure of a client's body
        log.info("unreadable form on %s: %r", request.path, err)
        raise PageError(
            error_page(
                request,
                400,
                "Formulaire illisible",
                "Le formulaire envoyé est mal formé et n'a pas pu être lu. "
                "Rechargez la page et réessayez.",
            )
        ) from err
    return {key: value for key, value in form.items() if isinstance(value, str)}
