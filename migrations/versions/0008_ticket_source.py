"""``tickets.source``: the bot message a ticket was filed from, at most one ticket each.

A fault report is filed as a ticket when the bot's answer carrying it is handled. If the
gateway stops after filing it but before the answer is stored, the message is sent
again and Rasa's record gives the same answer: ``fault:<message id>:<n>`` (the n-th
report of the answer to that message) finds the ticket already filed instead of filing
a second one. Tickets filed otherwise (a message left for a mediator) have none.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("source", sa.String(64), nullable=True))
        batch.create_unique_constraint("uq_tickets_source", ["source"])


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_constraint("uq_tickets_source", type_="unique")
        batch.drop_column("source")
