"""data/privacy.yml: the register of processings the CNIL expects, and the widget's notice,
both saying the retention periods the settings give."""

from __future__ import annotations

import dataclasses

from integrations.privacy.register import load_register
from integrations.settings import RetentionSettings, Settings
from integrations.widget.config import load_config

EXPECTED = {
    "citizen_conversations",
    "handoff_tickets",
    "nlu_inbox",
    "agent_bookings",
    "staff_accounts_audit",
}


def test_every_processing_has_purpose_basis_data_recipients_and_retention() -> None:
    register = load_register(Settings())
    assert {p.id for p in register} == EXPECTED
    for processing in register:
        assert processing.purpose and processing.legal_basis and processing.people
        assert processing.data_categories and processing.recipients and processing.retention
        assert "{" not in " ".join(processing.retention), processing.id


def test_the_retention_written_is_the_retention_configured() -> None:
    settings = dataclasses.replace(
        Settings(),
        retention_days=45,
        retention=RetentionSettings(
            tracker_days=20, tickets_days=60, inbox_days=200, audit_days=400
        ),
    )
    by_id = {p.id: " ".join(p.retention) for p in load_register(settings)}
    assert "Messages : 45 jours" in by_id["citizen_conversations"]
    assert "20 jours" in by_id["citizen_conversations"]
    assert "60 jours" in by_id["handoff_tickets"]
    assert "200 jours" in by_id["nlu_inbox"]
    assert "400 jours" in by_id["staff_accounts_audit"]

    notice = " ".join(load_config(settings).privacy.paragraphs)
    assert "vos messages 45 jours" in notice and "votre message, 60 jours au plus" in notice
