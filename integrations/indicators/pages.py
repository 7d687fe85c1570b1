"""The indicators' pages: the dashboard (admin, pilotage) and the public open data.

    GET /console/indicators/              the dashboard: period, filters, charts, tables
    GET /console/indicators/export.csv    what the dashboard shows, as CSV
    GET /open-data/indicators.csv         public (opendata.py)
    GET /open-data/indicators.schema.json public

The dashboard only reads (``pilotage`` can do nothing else anywhere). Filters come from
the query string; a wrong one is a 400 page saying which.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.engine import Engine

from integrations import keys
from integrations.console.auth import StaffRole, require_page
from integrations.console.pages import TEMPLATES, PageError, error_page, render
from integrations.indicators import opendata
from integrations.indicators.facts import PARIS, topics
from integrations.indicators.models import MonthlyRow
from integrations.indicators.sections import CHANNEL_LABELS, Filters, Section, Table, build_all
from integrations.indicators.territory import territories
from integrations.messages import utcnow

HERE = Path(__file__).parent
# The dashboard's template lives with its area, next to the console's own templates.
TEMPLATES.loader.searchpath.append(str(HERE / "templates"))  # type: ignore[union-attr]
DEFAULT_DAYS = 30
MAX_DAYS = 3 * 366
STEPS = {"jour": "jour", "semaine": "semaine", "mois": "mois"}
STEP_LABELS = {"jour": "Jour", "semaine": "Semaine", "mois": "Mois"}


def _bad_filter(request: web.Request, reason: str) -> PageError:
    return PageError(error_page(request, 400, "Filtre invalide", reason))


def _date(request: web.Request, name: str, default: date) -> date:
    raw = request.query.get(name, "").strip()
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise _bad_filter(request, f"La date « {name} » doit être au format AAAA-MM-JJ.") from None


def filters_of(request: web.Request) -> Filters:
    today = utcnow().astimezone(PARIS).date()
    end = _date(request, "au", today)
    start = _date(request, "du", end - timedelta(days=DEFAULT_DAYS - 1))
    if start > end:
        raise _bad_filter(request, "La date de début doit précéder la date de fin.")
    if (end - start).days >= MAX_DAYS:
        raise _bad_filter(request, "La période ne peut dépasser trois ans.")
    step = request.query.get("pas", "jour")
    if step not in STEPS:
        raise _bad_filter(request, "Le pas doit être jour, semaine ou mois.")
    canal = request.query.get("canal", "")
    if canal and canal not in CHANNEL_LABELS:
        raise _bad_filter(request, "Canal inconnu.")
    epci = request.query.get("epci", "")
    if epci and epci not in territories().epcis():
        raise _bad_filter(request, "EPCI inconnu.")
    theme = request.query.get("theme", "")
    if len(theme) > 100 or (not theme.replace("_", "").isalnum() and theme):
        raise _bad_filter(request, "Sujet inconnu.")
    return Filters(start, end, canal, epci, theme, step)  # type: ignore[arg-type]


def dashboard_data(engine: Engine, filters: Filters) -> list[tuple[Section, list[Table]]]:
    with engine.connect() as connection:
        return build_all(connection, filters)


def _themes(engine: Engine) -> dict[str, str]:
    labels = topics()
    with engine.connect() as connection:
        present = connection.execute(select(MonthlyRow.theme).distinct()).scalars().all()
    return {t: labels.get(t, t) for t in sorted({*labels, *present} - {""})}


def _chart_json(sections: list[tuple[Section, list[Table]]]) -> str:
    charts = [
        {"id": t.id, "type": t.chart, "columns": list(t.columns), "rows": [list(r) for r in t.rows]}
        for _, tables in sections
        for t in tables
        if t.chart and t.rows
    ]
    # Inside <script type="application/json">: "</" never closes the element.
    return json.dumps(charts, ensure_ascii=False).replace("</", "<\\/")


async def dashboard(request: web.Request) -> web.Response:
    await require_page(request, StaffRole.PILOTAGE)
    filters = filters_of(request)
    engine = request.app[keys.STORE].engine
    sections = await asyncio.to_thread(dashboard_data, engine, filters)
    themes = await asyncio.to_thread(_themes, engine)
    return render(
        request,
        "indicators.html",
        filters=filters,
        sections=sections,
        charts=_chart_json(sections),
        channels=CHANNEL_LABELS,
        epcis=territories().epcis(),
        themes=themes,
        steps=STEP_LABELS,
        export_query=request.query_string,
    )


def export_csv(sections: list[tuple[Section, list[Table]]], filters: Filters) -> str:
    """Long format: one line per cell of every table shown."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "tableau", "ligne", "colonne", "valeur"])
    for section, tables in sections:
        for t in tables:
            for row in t.rows:
                for name, value in zip(t.columns[1:], row[1:], strict=True):
                    writer.writerow([section.title, t.caption, row[0], name, _cell(value)])
    return out.getvalue()


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


async def export(request: web.Request) -> web.Response:
    await require_page(request, StaffRole.PILOTAGE)
    filters = filters_of(request)
    sections = await asyncio.to_thread(dashboard_data, request.app[keys.STORE].engine, filters)
    name = f"indicateurs_{filters.start}_{filters.end}.csv"
    return web.Response(
        text=export_csv(sections, filters),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def open_rows(engine: Engine, threshold: int) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return opendata.rows(connection, threshold)


async def open_csv(request: web.Request) -> web.Response:
    threshold = request.app[keys.INDICATORS].small_cell
    records = await asyncio.to_thread(open_rows, request.app[keys.STORE].engine, threshold)
    return web.Response(
        text=opendata.to_csv(records),
        content_type="text/csv",
        charset="utf-8",
        headers={
            "Content-Disposition": 'inline; filename="indicators.csv"',
            "Access-Control-Allow-Origin": "*",
        },
    )


async def open_schema(request: web.Request) -> web.Response:
    body = opendata.schema(request.app[keys.INDICATORS].small_cell)
    return web.json_response(
        body,
        dumps=lambda value: json.dumps(value, ensure_ascii=False, indent=2),
        headers={"Access-Control-Allow-Origin": "*"},
    )
