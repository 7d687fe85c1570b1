"""``bookings.sequence``: the iCalendar SEQUENCE of a booking's invitation.

Raised on every move and on the cancel, so that calendars update the invitation in
place (same UID) instead of keeping the old one. Existing bookings start at 0.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bookings") as batch:
        batch.add_column(sa.Column("sequence", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("bookings") as batch:
        batch.drop_column("sequence")
