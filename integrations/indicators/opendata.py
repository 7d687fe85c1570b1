"""The open data: the indicators by month × territory × channel, and their Table Schema.

    GET /open-data/indicators.csv          public, UTF-8, comma-separated
    GET /open-data/indicators.schema.json  Frictionless Table Schema (French names)

Territories: the whole service (``ensemble``), each département and each EPCI (official
codes), from the commune named in the conversation. No free text, no identifier: only
counts of conversations. Any count below the threshold (``INDICATORS_SMALL_CELL``,
default 5) is published empty, so that nobody is singled out.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from integrations.indicators.models import MonthlyRow
from integrations.indicators.territory import DEPARTEMENT_NAMES, territories

ALL_CODE = "tous"
ALL_NAME = "Ensemble du service (commune précisée ou non)"
# (field, daily column, description)
COUNT_FIELDS = (
    ("conversations", "conversations", "Conversations commencées dans le mois."),
    ("messages", "messages", "Messages échangés (usagers, assistant, médiateurs)."),
    (
        "resolues_par_assistant",
        "resolved",
        "Conversations terminées sans médiateur, sans demande de rappel et sans avis négatif.",
    ),
    ("transmises_mediateur", "mediator", "Conversations prises en charge par un médiateur."),
    ("tickets", "tickets", "Conversations où l'usager a laissé une demande de rappel."),
    (
        "abandons_attente",
        "abandoned",
        "Conversations où l'usager a demandé un médiateur et est parti avant d'être pris "
        "en charge, sans laisser de demande de rappel.",
    ),
    (
        "satisfaction_negative",
        "negative",
        "Conversations avec au moins un avis négatif (« Cette réponse ne m'aide pas » ou "
        "« non » au questionnaire).",
    ),
    ("messages_non_compris", "fallbacks", "Messages d'usagers que l'assistant n'a pas compris."),
)
FIELDS = ["periode", "territoire_niveau", "territoire_code", "territoire_nom", "canal"] + [
    name for name, _, _ in COUNT_FIELDS
]


def schema(threshold: int) -> dict[str, Any]:
    counts = [
        {
            "name": name,
            "title": name.replace("_", " ").capitalize(),
            "description": f"{description} Vide quand le nombre est inférieur à {threshold}.",
            "type": "integer",
            "unit": "conversations"
            if name not in ("messages", "messages_non_compris")
            else "messages",
            "constraints": {"minimum": threshold},
        }
        for name, _, description in COUNT_FIELDS
    ]
    return {
        "$schema": "https://frictionlessdata.io/schemas/table-schema.json",
        "name": "indicateurs-assistant-numerique",
        "title": "Indicateurs de l'assistant conversationnel du Département",
        "description": (
            "Activité de l'assistant conversationnel par mois, territoire et canal. "
            f"Les nombres inférieurs à {threshold} sont publiés vides (secret statistique)."
        ),
        "licenses": [{"name": "etalab-2.0", "title": "Licence Ouverte / Open Licence 2.0"}],
        "missingValues": [""],
        "fields": [
            {
                "name": "periode",
                "title": "Période",
                "description": "Mois (AAAA-MM), heure de Paris.",
                "type": "yearmonth",
                "constraints": {"required": True},
            },
            {
                "name": "territoire_niveau",
                "title": "Niveau du territoire",
                "description": "ensemble, departement ou epci.",
                "type": "string",
                "constraints": {"required": True, "enum": ["ensemble", "departement", "epci"]},
            },
            {
                "name": "territoire_code",
                "title": "Code du territoire",
                "description": (
                    "Code officiel : code du département (COG INSEE), code SIREN de l'EPCI, "
                    f"ou « {ALL_CODE} » pour l'ensemble."
                ),
                "type": "string",
                "constraints": {"required": True, "pattern": rf"^({ALL_CODE}|\d{{2,3}}|\d{{9}})$"},
            },
            {
                "name": "territoire_nom",
                "title": "Nom du territoire",
                "description": "Nom officiel du territoire.",
                "type": "string",
                "constraints": {"required": True},
            },
            {
                "name": "canal",
                "title": "Canal",
                "description": "Canal de la conversation : web, telegram ou matrix.",
                "type": "string",
                "constraints": {"required": True, "enum": ["web", "telegram", "matrix"]},
            },
            *counts,
        ],
        "primaryKey": ["periode", "territoire_niveau", "territoire_code", "canal"],
    }


def rows(connection: Connection, threshold: int) -> list[dict[str, Any]]:
    """Every month × territory × channel, small counts emptied."""
    columns = [getattr(MonthlyRow, column) for _, column, _ in COUNT_FIELDS]
    found = connection.execute(
        select(
            MonthlyRow.mois,
            MonthlyRow.code_departement,
            MonthlyRow.code_epci,
            MonthlyRow.canal,
            *(func.sum(c) for c in columns),
        ).group_by(
            MonthlyRow.mois, MonthlyRow.code_departement, MonthlyRow.code_epci, MonthlyRow.canal
        )
    ).all()
    epcis = territories().epcis()
    sums: dict[tuple[str, str, str, str, str], list[int]] = defaultdict(
        lambda: [0] * len(COUNT_FIELDS)
    )
    for day, departement, epci, canal, *counts in found:
        month = f"{day:%Y-%m}"
        keys = [(month, "ensemble", ALL_CODE, ALL_NAME, canal)]
        if departement:
            keys.append(
                (
                    month,
                    "departement",
                    departement,
                    DEPARTEMENT_NAMES.get(departement, departement),
                    canal,
                )
            )
        if epci:
            keys.append((month, "epci", epci, epcis.get(epci, epci), canal))
        for key in keys:
            total = sums[key]
            for i, value in enumerate(counts):
                total[i] += int(value or 0)
    order = {"ensemble": 0, "departement": 1, "epci": 2}
    return [
        {
            **dict(zip(FIELDS[:5], key, strict=True)),
            **{
                name: (value if value >= threshold else None)
                for (name, _, _), value in zip(COUNT_FIELDS, values, strict=True)
            },
        }
        for key, values in sorted(
            sums.items(), key=lambda kv: (kv[0][0], order[kv[0][1]], kv[0][2], kv[0][4])
        )
    ]


def to_csv(records: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, FIELDS, lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({k: "" if v is None else v for k, v in record.items()})
    return out.getvalue()
