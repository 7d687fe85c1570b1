"""The admin page of the places' data quality (integrations/admin/places_quality.py).

(Split from tests/rasa/test_place_quality.py: the places are imported in Rasa's
environment, by the action server's importer, through tests/rasa_env.py.)
"""

from __future__ import annotations

import asyncio

from common.config import PROJECT_ROOT
from integrations.settings import Settings
from tests import rasa_env
from tests.gateway.conftest import (  # noqa: F401  (fixtures)
    GatewayClient,
    base_settings,
    console_login,
    gateway_client,
    staff_user,
)

BAD_ROWS = PROJECT_ROOT / "tests" / "rasa" / "fixtures" / "places" / "bad_rows.csv"


def imported(url: str) -> None:
    rasa_env.call("import_places", url, [str(PROJECT_ROOT / "data" / "places"), str(BAD_ROWS)])


async def test_the_admin_page_shows_the_same_lists(
    gateway_client: GatewayClient,  # noqa: F811
    base_settings: Settings,  # noqa: F811
):
    await asyncio.to_thread(imported, base_settings.database_url)
    await asyncio.to_thread(staff_user, base_settings, "admin1", "mot-de-passe-solide", "admin")
    await asyncio.to_thread(staff_user, base_settings, "med1", "mot-de-passe-solide", "mediator")
    client = await gateway_client(base_settings)
    anonymous = await client.get("/console/admin/places-quality", allow_redirects=False)
    assert anonymous.status == 302
    await console_login(client, "med1", "mot-de-passe-solide")
    assert (await client.get("/console/admin/places-quality")).status == 403
    client = await gateway_client(base_settings)
    await console_login(client, "admin1", "mot-de-passe-solide")
    response = await client.get("/console/admin/places-quality?mois=24")
    assert response.status == 200
    page = await response.text()
    assert "Qualité des données des lieux" in page and '<html lang="fr">' in page
    assert "Lignes rejetées (5)" in page and "code_postal « 2960 » invalide" in page
    assert "Doublons regroupés (58)" in page and "France services Châteaulin" in page
    assert 'aria-current="page">Qualité des lieux' in page
    bad = await client.get("/console/admin/places-quality?mois=abc")
    assert bad.status == 400 and "entier entre 1 et 240" in await bad.text()
