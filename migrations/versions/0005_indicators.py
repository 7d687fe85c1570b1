"""Indicators: pre-aggregated daily counts, durations, place suggestions; the survey's
answers; the ``pilotage`` staff role.

- ``indicator_daily``: one row per day (Europe/Paris) × commune × channel × topic with
  the counts of the conversations started that day (``integrations/indicators/facts.py``
  defines each count); refreshed incrementally by ``integrations/indicators/refresh.py``.
- ``indicator_monthly``: the same counts per month × EPCI × channel × topic (no commune),
  rolled up from ``indicator_daily`` at each refresh: what long periods and the open
  data read.
- ``indicator_durations``: one row per mediator wait or ticket closing (seconds), for
  medians and percentiles, with the same dimensions.
- ``indicator_places``: how often each digital-help place was suggested, per day,
  commune and channel.
- ``survey_answers``: « Cette réponse vous a-t-elle aidé ? » (one answer per bot message,
  deleted with the conversation).
- ``staff_users``: the role constraint admits ``pilotage`` (read-only dashboard).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
ROLE_CHECK = "role in ('agent', 'mediator', 'admin', 'pilotage')"
OLD_ROLE_CHECK = "role in ('agent', 'mediator', 'admin')"
COUNTS = (
    "conversations",
    "messages",
    "user_messages",
    "resolved",
    "mediator",
    "tickets",
    "abandoned",
    "fallbacks",
    "negative",
    "survey_yes",
    "survey_no",
)


def _territory() -> list[sa.Column]:
    return [
        sa.Column("code_epci", sa.String(9), nullable=False),
        sa.Column("code_departement", sa.String(3), nullable=False),
    ]


def _staff_users(check: str) -> sa.Table:
    return sa.Table(
        "staff_users",
        sa.MetaData(),
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.CheckConstraint(check, name="ck_staff_users_role"),
        sa.UniqueConstraint("username"),
    )


def _role_check(check: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("staff_users", copy_from=_staff_users(check), recreate="always"):
            pass
    else:
        op.drop_constraint("ck_staff_users_role", "staff_users", type_="check")
        op.create_check_constraint("ck_staff_users_role", "staff_users", check)


def upgrade() -> None:
    op.create_table(
        "indicator_daily",
        sa.Column("jour", sa.Date(), primary_key=True),
        sa.Column("code_commune", sa.String(5), primary_key=True),
        sa.Column("canal", sa.String(32), primary_key=True),
        sa.Column("theme", sa.String(100), primary_key=True),
        *_territory(),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS),
    )
    op.create_index("ix_indicator_daily_code_epci", "indicator_daily", ["code_epci"])
    op.create_table(
        "indicator_monthly",
        sa.Column("mois", sa.Date(), primary_key=True),
        sa.Column("code_epci", sa.String(9), primary_key=True),
        sa.Column("code_departement", sa.String(3), primary_key=True),
        sa.Column("canal", sa.String(32), primary_key=True),
        sa.Column("theme", sa.String(100), primary_key=True),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS),
    )
    op.create_table(
        "indicator_durations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("jour", sa.Date(), nullable=False),
        sa.Column("code_commune", sa.String(5), nullable=False),
        sa.Column("canal", sa.String(32), nullable=False),
        sa.Column("theme", sa.String(100), nullable=False),
        *_territory(),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
    )
    op.create_index("ix_indicator_durations_jour", "indicator_durations", ["jour"])
    op.create_table(
        "indicator_places",
        sa.Column("jour", sa.Date(), primary_key=True),
        sa.Column("code_commune", sa.String(5), primary_key=True),
        sa.Column("canal", sa.String(32), primary_key=True),
        sa.Column("theme", sa.String(100), primary_key=True),
        sa.Column("place_id", sa.String(200), primary_key=True),
        *_territory(),
        sa.Column("suggestions", sa.Integer(), nullable=False),
    )
    op.create_table(
        "survey_answers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "conversation_id",
            sa.Integer(),
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "message_id",
            sa.Integer(),
            sa.ForeignKey("messages.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.UniqueConstraint("message_id", name="uq_survey_answers_message_id"),
    )
    op.create_index("ix_survey_answers_conversation_id", "survey_answers", ["conversation_id"])
    _role_check(ROLE_CHECK)


def downgrade() -> None:
    op.execute("DELETE FROM staff_users WHERE role = 'pilotage'")
    _role_check(OLD_ROLE_CHECK)
    op.drop_table("survey_answers")
    op.drop_table("indicator_places")
    op.drop_index("ix_indicator_durations_jour", table_name="indicator_durations")
    op.drop_table("indicator_durations")
    op.drop_table("indicator_monthly")
    op.drop_index("ix_indicator_daily_code_epci", table_name="indicator_daily")
    op.drop_table("indicator_daily")
