"""Admin: NLU inbox, annotation, retraining, evaluation, model versions.

The console pages and the feedback endpoints are in ``web.py``; every action also
exists as a command of ``python -m integrations.admin``.
"""

from __future__ import annotations

from aiohttp import web


def setup(app: web.Application) -> None:
    """Register this area's routes and resources on the gateway app."""
    from integrations.admin.places_quality import setup as setup_places_quality
    from integrations.admin.web import setup as setup_web

    setup_web(app)
    setup_places_quality(app)
