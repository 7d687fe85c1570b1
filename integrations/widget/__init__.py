"""The citizens' web chat widget and its demo page.

Any page embeds the widget with one tag (every ``data-`` attribute is optional)::

    <script src="https://<gateway>/widget/widget.js" defer
            data-title="Assistant du Département" data-color="#1d4f91"
            data-gateway="https://<gateway>"></script>

Routes: ``GET /widget/widget.js`` (the script, with the council's contacts and the
privacy notice inside), ``GET /widget/widget.css``, ``GET /console/agent/`` (the agents'
chat page: the same widget, same-origin, for a signed-in staff account of any role; its
conversation is tied to the account), and when ``widget_demo`` is on, ``GET /demo/``
and ``GET /demo/demarches``: pages of a fictional council site showing it.
Plain JavaScript and CSS served from this package: no build step, no CDN. The demo
pages are Jinja2 templates (``templates/demo/``) sharing one layout.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from pathlib import Path

import jinja2
from aiohttp import web

from common.content import ContentError
from integrations import keys
from integrations.console.auth import current_session
from integrations.console.pages import SECURITY_HEADERS, TEMPLATES
from integrations.errors import ApiError
from integrations.widget.config import load_config

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
# widget.js holds this literal where the server's configuration goes.
CONFIG_PLACEHOLDER = "/*SERVER_CONFIG*/ {}"
# The demo pages under templates/demo/, by the last part of their path.
DEMO_PAGES = {"": "index.html", "demarches": "demarches.html"}
DEMO_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
# The agents' page is a console page: the console's layout, with this package's template.
AGENT_TEMPLATES = TEMPLATES.overlay(
    loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(HERE / "templates"), TEMPLATES.loader])
)
AGENT_PAGE = "/console/agent/"
NO_CACHE = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}


def widget_script(config_json: str) -> bytes:
    source = (STATIC / "widget.js").read_text(encoding="utf-8")
    if CONFIG_PLACEHOLDER not in source:
        raise RuntimeError("widget.js has lost its configuration placeholder")
    return source.replace(CONFIG_PLACEHOLDER, config_json, 1).encode()


def _cached(request: web.Request, body: bytes, content_type: str) -> web.Response:
    """``body`` with an ETag; 304 when the browser already has it (pages load it each time)."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers={"ETag": etag, **NO_CACHE})
    return web.Response(
        body=body,
        content_type=content_type,
        charset="utf-8",
        headers={"ETag": etag, **NO_CACHE},
    )


async def script(request: web.Request) -> web.Response:
    """``GET /widget/widget.js``."""
    settings = request.app[keys.SETTINGS]
    try:
        config = await asyncio.to_thread(load_config, settings)
    except ContentError:
        log.exception("widget: cannot read its content files")
        raise ApiError(
            503, "widget_unavailable", "L'assistant est momentanément indisponible."
        ) from None
    config_json = json.dumps(config.as_json(), ensure_ascii=False)
    body = await asyncio.to_thread(widget_script, config_json)
    return _cached(request, body, "text/javascript")


async def stylesheet(request: web.Request) -> web.Response:
    """``GET /widget/widget.css``."""
    body = await asyncio.to_thread((STATIC / "widget.css").read_bytes)
    return _cached(request, body, "text/css")


def render_demo_page(page: str, name: str) -> bytes:
    """The demo page ``name`` in the site's layout, its menu entry marked as the current one."""
    template = DEMO_TEMPLATES.get_template(f"demo/{name}")
    return template.render(current=f"/demo/{page}").encode()


async def demo_page(request: web.Request) -> web.Response:
    """``GET /demo/`` and ``GET /demo/<page>``: the fictional council site."""
    page = request.match_info.get("page", "")
    name = DEMO_PAGES.get(page)
    if name is None:
        raise ApiError(404, "not_found", "Page introuvable.")
    body = await asyncio.to_thread(render_demo_page, page, name)
    return _cached(request, body, "text/html")


async def demo_stylesheet(request: web.Request) -> web.Response:
    body = await asyncio.to_thread((STATIC / "demo" / "demo.css").read_bytes)
    return _cached(request, body, "text/css")


async def agent_page(request: web.Request) -> web.StreamResponse:
    """``GET /console/agent/``: the widget as an agent; anonymous → the login page."""
    session = await current_session(request)
    if session is None:
        raise web.HTTPFound(f"/console/login?next={AGENT_PAGE}")
    body = AGENT_TEMPLATES.get_template("agent.html").render(
        request=request, user=session.user, csrf_token=session.csrf_token
    )
    response = web.Response(text=body, content_type="text/html", charset="utf-8")
    response.headers.update(SECURITY_HEADERS)
    return response


async def agent_redirect(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(AGENT_PAGE)


async def demo_redirect(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/demo/")


def setup(app: web.Application) -> None:
    """Register this area's routes and resources on the gateway app."""
    app.router.add_get("/widget/widget.js", script)
    app.router.add_get("/widget/widget.css", stylesheet)
    app.router.add_get(AGENT_PAGE, agent_page)
    app.router.add_get(AGENT_PAGE.rstrip("/"), agent_redirect)
    if app[keys.SETTINGS].widget_demo:
        app.router.add_get("/demo", demo_redirect)
        app.router.add_get("/demo/demo.css", demo_stylesheet)
        app.router.add_get("/demo/{page:[a-z]*}", demo_page)
