"""``handoffs.requeued_at``: when a departed mediator's conversation went back to the queue.

Such a conversation goes to the head of the queue (ahead of people who waited longer,
``integrations/handoff/presence.py``); the queue is ordered on this column first.
Existing handoffs have none.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("handoffs") as batch:
        batch.add_column(sa.Column("requeued_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("handoffs") as batch:
        batch.drop_column("requeued_at")
