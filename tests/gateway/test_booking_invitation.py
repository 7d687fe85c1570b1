"""``GET /bookings/{ref}.ics``: a booking's invitation, kept right through a move and a cancel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from integrations.settings import Settings
from tests import rasa_env
from tests.gateway.conftest import GatewayClient

START = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)


@pytest.fixture
def booking_ref(base_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DATABASE_URL", base_settings.database_url)
    return rasa_env.call(
        "book",
        base_settings.database_url,
        "a.martin",
        "brest-penfeld",
        START.isoformat(),
        (START + timedelta(hours=1)).isoformat(),
        6,
        "https://visio.departement.example/Departement-abc",
        (START - timedelta(days=2)).isoformat(),
    )


async def test_the_invitation_of_a_booking_is_served_as_a_calendar(
    gateway_client: GatewayClient, base_settings: Settings, booking_ref: str
):
    client = await gateway_client(base_settings)
    response = await client.get(f"/bookings/{booking_ref}.ics")
    assert response.status == 200
    assert response.content_type == "text/calendar"
    body = await response.text()
    assert "BEGIN:VEVENT" in body and "DTSTART" in body
    assert "visio.departement.example/Departement-abc" in body.replace("\r\n ", "")


async def test_an_unknown_or_malformed_reference_is_404(
    gateway_client: GatewayClient, base_settings: Settings, booking_ref: str
):
    client = await gateway_client(base_settings)
    for ref in ("AAAAAAAAAAAAAAAA", "x", "..%2F..%2Fetc"):
        response = await client.get(f"/bookings/{ref}.ics")
        assert response.status == 404
        assert (await response.json())["code"] == "not_found"


async def test_a_moved_then_cancelled_booking_updates_the_same_invitation(
    gateway_client: GatewayClient, base_settings: Settings, booking_ref: str
):
    client = await gateway_client(base_settings)
    store = get_store(base_settings.database_url)
    booking = store.by_ref(booking_ref)

    async def event():
        response = await client.get(f"/bookings/{booking_ref}.ics")
        assert response.status == 200 and response.content_type == "text/calendar"
        calendar = Calendar.from_ical(await response.text())
        [found] = calendar.walk("VEVENT")
        return str(calendar["METHOD"]), found

    method, first = await event()
    assert method == "PUBLISH" and int(first["SEQUENCE"]) == 0
    assert str(first["DESCRIPTION"]).startswith("Salle Penfeld, 6 personnes.")
    later = START + timedelta(hours=2)
    moved = store.move(
        "a.martin", booking.id, "brest-penfeld", later, later + timedelta(hours=1), START
    )
    assert moved.booking is not None
    method, second = await event()
    assert str(second["UID"]) == str(first["UID"]) and int(second["SEQUENCE"]) == 1
    assert second.decoded("DTSTART") == later
    assert store.cancel("a.martin", booking.id, START)
    method, third = await event()
    assert method == "CANCEL" and str(third["STATUS"]) == "CANCELLED"
    assert str(third["UID"]) == str(first["UID"]) and int(third["SEQUENCE"]) == 2
