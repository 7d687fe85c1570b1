"""The staff roles of the consoles, their French names, and what each may do.

Agents, mediators and admins form a ladder: each may do what the roles below it may.
``pilotage`` (elected members, the strategy team) is off the ladder: it reads the
indicators dashboard and nothing else; admins read the dashboard too.
"""

from __future__ import annotations

from enum import StrEnum


class StaffRole(StrEnum):
    AGENT = "agent"  # a council agent: the agents' assistant page only
    MEDIATOR = "mediator"
    ADMIN = "admin"
    PILOTAGE = "pilotage"  # read-only: the indicators dashboard


ROLE_LABELS = {
    StaffRole.AGENT: "agent",
    StaffRole.MEDIATOR: "médiateur",
    StaffRole.ADMIN: "administrateur",
    StaffRole.PILOTAGE: "pilotage",
}

_LADDER = {StaffRole.AGENT: 0, StaffRole.MEDIATOR: 1, StaffRole.ADMIN: 2}


def role_may(role: StaffRole, needed: StaffRole) -> bool:
    """Whether an account of ``role`` may use what needs ``needed``."""
    if needed is StaffRole.PILOTAGE:
        return role in (StaffRole.PILOTAGE, StaffRole.ADMIN)
    if role is StaffRole.PILOTAGE:
        return False
    return _LADDER[role] >= _LADDER[needed]
