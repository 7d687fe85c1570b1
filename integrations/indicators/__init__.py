"""Indicators for steering the digital strategy: a dashboard and open data, by territory.

    setup(app)   routes, the survey, the background refresh of the aggregates

What each indicator means is defined once, in ``facts.py``; ``refresh.py`` turns the
stored conversations into daily counts (``models.py``) incrementally; the dashboard's
sections (``sections.py``, a registry) and the open data (``opendata.py``) read only
those counts, so they stay fast whatever the number of messages. ``pages.py`` serves the
pages, ``survey.py`` the optional « Cette réponse vous a-t-elle aidé ? ».
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from integrations import keys
from integrations.indicators import pages, survey
from integrations.indicators.refresh import refresh
from integrations.indicators.settings import IndicatorSettings

log = logging.getLogger(__name__)

HERE = Path(__file__).parent


async def _refresh_forever(app: web.Application) -> None:
    engine = app[keys.STORE].engine
    interval = app[keys.INDICATORS].refresh_s
    while True:
        try:
            await asyncio.to_thread(refresh, engine)
        except asyncio.CancelledError:
            raise
        except Exception:  # a database hiccup: the next round tries again
            log.exception("indicators refresh failed; retrying in %d s", interval)
        await asyncio.sleep(interval)


async def refresh_ctx(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(_refresh_forever(app), name="indicators-refresh")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def setup(app: web.Application) -> None:
    app[keys.INDICATORS] = IndicatorSettings.from_env()
    app.cleanup_ctx.append(refresh_ctx)
    app.router.add_get("/console/indicators/", pages.dashboard)
    app.router.add_get("/console/indicators/export.csv", pages.export)
    app.router.add_static("/console/indicators/static/", HERE / "static")
    app.router.add_get("/open-data/indicators.csv", pages.open_csv)
    app.router.add_get("/open-data/indicators.schema.json", pages.open_schema)
    app.router.add_get("/widget/survey", survey.survey_state)
    app.router.add_post("/webhooks/rest/survey", survey.survey_answer)
