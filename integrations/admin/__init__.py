"""Admin: NLU inbox, annotation, retraining, evaluation, model versions.

The console pages and the feedback endpoints are in ``web.py``; every action also
exists as a command of ``assistant admin`` (``cli.py``).
"""

from __future__ import annotations

from aiohttp.web import Application

from integrations.admin import places_quality
from integrations.admin.web import admin_ctx
from integrations.admin.web import setup_routes as setup_pages


def setup(app: Application) -> None:
    """Register this area's routes and resources on the gateway app."""
    app.cleanup_ctx.append(admin_ctx)
    setup_pages(app)
    places_quality.setup_routes(app)
