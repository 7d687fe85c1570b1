"""The staff roles of the consoles, and their French names."""

from __future__ import annotations

from enum import StrEnum


class StaffRole(StrEnum):
    AGENT = "agent"  # a council agent: the agents' assistant page only
    MEDIATOR = "mediator"
    ADMIN = "admin"


ROLE_LABELS = {
    StaffRole.AGENT: "agent",
    StaffRole.MEDIATOR: "médiateur",
    StaffRole.ADMIN: "administrateur",
}
