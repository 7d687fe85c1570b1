"""Pool vehicles, agents' home sites, shared visio meetings and the trips avoided.

- ``booking_agents.home_site``: the site an agent works at (``data/agents.yml``).
- ``bookings.group_ref``: the bookings of one visio meeting shared by several sites
  (one room per site, one visio link, booked all at once).
- ``booking_vehicles``, ``vehicle_bookings``, ``vehicle_slots``: pool vehicles and
  their bookings, with ``UNIQUE(vehicle_id, slot_start)`` like the rooms' slots.
- ``mobility_choices``: when a visio room was offered instead of a trip, what the
  agent chose and what the trip would have cost (mobility indicators).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("booking_agents") as batch:
        batch.add_column(sa.Column("home_site", sa.String(100), nullable=True))
    with op.batch_alter_table("bookings") as batch:
        batch.add_column(sa.Column("group_ref", sa.String(40), nullable=True))
    op.create_table(
        "booking_vehicles",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("booking_sites.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("plate", sa.String(20), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("energy", sa.String(20), nullable=False),
        sa.Column("key_place", sa.String(300), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "vehicle_bookings",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("ref", sa.String(40), nullable=False),
        sa.Column(
            "vehicle_id", sa.String(100), sa.ForeignKey("booking_vehicles.id"), nullable=False
        ),
        sa.Column("agent_id", sa.String(100), sa.ForeignKey("booking_agents.id"), nullable=False),
        sa.Column("start_utc", sa.DateTime(), nullable=False),
        sa.Column("end_utc", sa.DateTime(), nullable=False),
        sa.Column("passengers", sa.Integer(), nullable=False),
        sa.Column("destination", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("ref"),
    )
    op.create_table(
        "vehicle_slots",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "vehicle_id", sa.String(100), sa.ForeignKey("booking_vehicles.id"), nullable=False
        ),
        sa.Column("slot_start", sa.DateTime(), nullable=False),
        sa.Column("booking_id", sa.Integer(), sa.ForeignKey("vehicle_bookings.id"), nullable=False),
        sa.UniqueConstraint("vehicle_id", "slot_start", name="uq_vehicle_slot"),
    )
    op.create_index("ix_vehicle_slots_booking_id", "vehicle_slots", ["booking_id"])
    op.create_table(
        "mobility_choices",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("agent_id", sa.String(100), sa.ForeignKey("booking_agents.id"), nullable=False),
        sa.Column("home_site", sa.String(100), nullable=False),
        sa.Column("destination", sa.String(200), nullable=False),
        sa.Column("choice", sa.String(10), nullable=False),
        sa.Column("km", sa.Float(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("co2_kg", sa.Float(), nullable=False),
        sa.Column("energy", sa.String(20), nullable=False),
        sa.Column("booking_ref", sa.String(40), nullable=False),
        sa.Column("meeting_start", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_mobility_choices_meeting_start", "mobility_choices", ["meeting_start"])


def downgrade() -> None:
    op.drop_index("ix_mobility_choices_meeting_start", table_name="mobility_choices")
    op.drop_table("mobility_choices")
    op.drop_index("ix_vehicle_slots_booking_id", table_name="vehicle_slots")
    op.drop_table("vehicle_slots")
    op.drop_table("vehicle_bookings")
    op.drop_table("booking_vehicles")
    with op.batch_alter_table("bookings") as batch:
        batch.drop_column("group_ref")
    with op.batch_alter_table("booking_agents") as batch:
        batch.drop_column("home_site")
