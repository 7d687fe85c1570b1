"""Booking data and pure helpers: rooms file vs site lookup, visio links, .ics invitations."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from icalendar import Calendar
from opening_hours import OpeningHours

from actions.booking_admin import load_reference_data
from actions.datetime_fr import UTC
from actions.ics import booking_ics
from actions.visio import JitsiProvider, provider_from_env
from common.config import PROJECT_ROOT, ConfigError
from common.text import key
from tests.nlu_data import load


def site_values() -> set[str]:
    data = load(PROJECT_ROOT / "nlu_data" / "lookups" / "sites.yml")["nlu"]
    [lookup] = [b for b in data if b.get("lookup") == "site"]
    synonyms = {
        line[2:].strip().lower(): b["synonym"]
        for b in data
        if "synonym" in b
        for line in b["examples"].splitlines()
        if line.strip()
    }
    return {
        synonyms.get(e[2:].strip().lower(), e[2:].strip())
        for e in lookup["examples"].splitlines()
        if e.strip()
    }


def test_every_site_of_the_lookup_is_a_site_of_the_rooms_file_and_back():
    rooms, _ = load_reference_data()
    names = {key(n) for s in rooms["sites"] for n in [s["name"], *(s.get("aliases") or [])]}
    assert {key(v) for v in site_values()} <= names
    assert {s["name"] for s in rooms["sites"]} <= site_values()
    assert {"Quimper", "Brest", "Morlaix", "Châteaulin", "Quimperlé", "Carhaix"} == {
        s["name"] for s in rooms["sites"]
    }


def test_rooms_file_is_valid_sample_data():
    text = (PROJECT_ROOT / "data" / "rooms.yml").read_text(encoding="utf-8")
    assert "SAMPLE" in text
    rooms, _ = load_reference_data()
    ids = [r["id"] for s in rooms["sites"] for r in s["rooms"]]
    assert len(ids) == len(set(ids))
    for site in rooms["sites"]:
        OpeningHours(site["opening_hours"])
        for room in site["rooms"]:
            assert set(room["equipment"]) <= {"screen", "camera", "speakerphone"}
            assert "camera" in room["equipment"]


def test_jitsi_links_are_unguessable_and_use_the_base_url():
    provider = JitsiProvider("https://visio.example.org/")
    start = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
    first, second = (
        provider.create("Réunion", start, start + timedelta(hours=1)) for _ in range(2)
    )
    assert first.startswith("https://visio.example.org/Departement-")
    assert first != second
    assert len(first.split("/")[-1]) >= len("Departement-") + 20


def test_visio_provider_is_configured_from_the_environment(monkeypatch):
    monkeypatch.delenv("VISIO_PROVIDER", raising=False)
    monkeypatch.setenv("VISIO_BASE_URL", "https://meet.departement.example")
    assert provider_from_env() == JitsiProvider("https://meet.departement.example")
    monkeypatch.setenv("VISIO_PROVIDER", "teams")
    with pytest.raises(ConfigError, match="VISIO_PROVIDER"):
        provider_from_env()
    monkeypatch.setenv("VISIO_PROVIDER", "jitsi")
    monkeypatch.setenv("VISIO_BASE_URL", "visio.example")
    with pytest.raises(ConfigError, match="VISIO_BASE_URL"):
        provider_from_env()


def test_ics_invitation_in_utc():
    start = datetime(2026, 10, 29, 13, 0, tzinfo=UTC)
    data = booking_ics(
        uid="abc@assistant.departement",
        start_utc=start,
        end_utc=start + timedelta(hours=1),
        summary="Visioconférence – Salle Odet",
        location="Salle Odet, Quimper",
        description="Lien : https://v/x",
        url="https://v/x",
        stamp=start - timedelta(days=3),
    )
    assert b"DTSTART:20261029T130000Z" in data
    event = next(c for c in Calendar.from_ical(data).walk() if c.name == "VEVENT")
    assert str(event["summary"]) == "Visioconférence – Salle Odet"
    assert event["dtend"].dt - event["dtstart"].dt == timedelta(hours=1)
