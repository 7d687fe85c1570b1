"""Bring tables made by an older ``create_all`` to the shape of 0001, rows kept.

``create_all`` never altered a table it found, so a database older than c4ccb4b may hold:

- ``messages`` without SQLite's AUTOINCREMENT (before df6f4de): an id freed by a
  deletion could be given again, and a client replaying "after id n" would miss it.
  The table is rebuilt with its rows (SQLite only: PostgreSQL's sequence never reuses).
- ``staff_users`` whose role constraint predates the agent role (before e88cad1): it is
  widened (SQLite: the table is rebuilt with its rows; PostgreSQL: the constraint is
  replaced). This was ``_upgrade_role_check`` in integrations/console/auth.py.
- ``digital_place_sources`` / ``digital_places`` with columns of the first places
  schema (before adbb4da): as the action server did on start, they are dropped and
  recreated; their content comes back from the files at the next import (the shipped
  data seeds an empty installation). Not an alteration: the old columns do not map.

On a database created by 0001 nothing here applies.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

ROLE_CHECK = "role in ('agent', 'mediator', 'admin')"
TZ = sa.DateTime(timezone=True)
PLACE_TABLES = ("digital_place_sources", "digital_places")


def _sqlite_sql(name: str) -> str | None:
    return (
        op.get_bind()
        .exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
        .scalar()
    )


def _messages_autoincrement() -> None:
    sql = _sqlite_sql("messages")
    if sql is None or "AUTOINCREMENT" in sql.upper():
        return
    messages = sa.Table(
        "messages",
        sa.MetaData(),
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "conversation_id",
            sa.Integer(),
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("author", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(255)),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("payload", sa.JSON()),
        sa.Column("platform_message_id", sa.String(255)),
        sa.Column("created_at", TZ, nullable=False),
        sa.Index("ix_messages_conversation_id_id", "conversation_id", "id"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("messages", copy_from=messages, recreate="always"):
        pass
    log.info("messages: rebuilt with AUTOINCREMENT")


def _staff_users() -> sa.Table:
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
        sa.CheckConstraint(ROLE_CHECK, name="ck_staff_users_role"),
        sa.UniqueConstraint("username"),
    )


def _role_check() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        sql = _sqlite_sql("staff_users")
        if sql is None or "'agent'" in sql:
            return
        with op.batch_alter_table("staff_users", copy_from=_staff_users(), recreate="always"):
            pass
    elif bind.dialect.name == "postgresql":
        current = bind.exec_driver_sql(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conname = 'ck_staff_users_role' AND conrelid = to_regclass('staff_users')"
        ).scalar()
        if current is None or "agent" in current:
            return
        op.drop_constraint("ck_staff_users_role", "staff_users", type_="check")
        op.create_check_constraint("ck_staff_users_role", "staff_users", ROLE_CHECK)
    else:
        return
    log.info("staff_users: role constraint widened to the agent role")


def _places() -> None:
    inspector = sa.inspect(op.get_bind())
    for name in PLACE_TABLES:
        if not inspector.has_table(name):
            continue
        columns = _place_columns(name)
        present = {c["name"] for c in inspector.get_columns(name)}
        if {c.name for c in columns} <= present:
            continue
        for index in inspector.get_indexes(name):
            op.drop_index(index["name"], table_name=name)
        op.drop_table(name)
        op.create_table(name, *columns)
        log.info("%s: older places schema, recreated (filled again at the next import)", name)


def _place_columns(name: str) -> list[sa.Column]:
    """The columns 0001 gives ``name``, one of ``PLACE_TABLES``."""
    texts = (
        "pivot", "nom", "commune", "code_postal", "code_insee", "adresse", "complement_adresse",
        "typologie", "telephone", "courriels", "site_web", "horaires", "horaires_texte",
        "presentation_resume", "services", "publics_specifiquement_adresses",
        "prise_en_charge_specifique", "frais_a_charge", "dispositif_programmes_nationaux",
        "modalites_acces", "modalites_accompagnement", "fiche_acces_libre", "prise_rdv",
        "itinerance", "source", "publisher", "licence", "date_maj", "coord_source",
    )  # fmt: skip
    columns = [
        sa.Column("id", sa.String(200), primary_key=True),
        *(sa.Column(text, sa.Text()) for text in texts),
        sa.Column("latitude", sa.Float()),
        sa.Column("longitude", sa.Float()),
    ]
    if name == "digital_place_sources":
        columns += [
            sa.Column("imported_from", sa.Text()),
            sa.Column("imported_at", sa.DateTime(), nullable=False),
        ]
    else:
        columns += [
            sa.Column("member_ids", sa.Text(), nullable=False),
            sa.Column("member_count", sa.Integer(), nullable=False),
            sa.Column("merge_reasons", sa.Text()),
            sa.Column("built_at", sa.DateTime(), nullable=False),
        ]
    return columns


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _messages_autoincrement()
    _role_check()
    _places()
