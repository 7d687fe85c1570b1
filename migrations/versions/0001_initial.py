"""The schema of main at c4ccb4b: every table the five ``create_all`` calls made.

Gateway: conversations, messages, handoffs, handoff_notes, tickets, web_conversation_keys,
staff_users, staff_sessions, staff_identities, admin_audit, admin_inbox_items,
admin_inbox_hits, admin_state, admin_models, admin_activations. Action server:
booking_agents, booking_agent_identities, booking_sites, booking_rooms, bookings,
booking_slots, digital_place_sources, digital_places, digital_place_rejects.

A database made by ``create_all`` before migrations existed has no version yet: the
tables it already has are kept as they are (0002 brings older shapes up to date) and only
the missing ones are created.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Timestamps of the gateway's tables carry a time zone; the action server's are naive UTC.
TZ = sa.DateTime(timezone=True)
PLACE_TEXT_COLUMNS = (
    "pivot", "nom", "commune", "code_postal", "code_insee", "adresse", "complement_adresse",
    "typologie", "telephone", "courriels", "site_web", "horaires", "horaires_texte",
    "presentation_resume", "services", "publics_specifiquement_adresses",
    "prise_en_charge_specifique", "frais_a_charge", "dispositif_programmes_nationaux",
    "modalites_acces", "modalites_accompagnement", "fiche_acces_libre", "prise_rdv",
    "itinerance", "source", "publisher", "licence", "date_maj", "coord_source",
)  # fmt: skip


def _place_columns() -> list[sa.Column]:
    return [
        sa.Column("id", sa.String(200), primary_key=True),
        *(sa.Column(name, sa.Text()) for name in PLACE_TEXT_COLUMNS),
        sa.Column("latitude", sa.Float()),
        sa.Column("longitude", sa.Float()),
    ]


def upgrade() -> None:
    present = set(sa.inspect(op.get_bind()).get_table_names())

    def table(name: str, *elements: sa.SchemaItem, **kwargs: object) -> bool:
        """Create ``name`` unless a pre-migrations database already has it."""
        if name in present:
            return False
        op.create_table(name, *elements, **kwargs)
        return True

    # --- gateway: conversations and messages (integrations/store.py)
    table(
        "conversations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("chat_id", sa.String(255), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("locale", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(16), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.CheckConstraint(
            "owner in ('bot', 'waiting', 'mediator', 'closed')", name="ck_conversations_owner"
        ),
        sa.UniqueConstraint("key"),
    )
    # AUTOINCREMENT on SQLite: message ids are never reused after a deletion.
    if table(
        "messages",
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
        sqlite_autoincrement=True,
    ):
        op.create_index("ix_messages_conversation_id_id", "messages", ["conversation_id", "id"])
    if table(
        "handoffs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "conversation_id",
            sa.Integer(),
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16)),
        sa.Column("requested_at", TZ, nullable=False),
        sa.Column("taken_at", TZ),
        sa.Column("ended_at", TZ),
        sa.Column("mediator_id", sa.Integer()),
        sa.Column("mediator_name", sa.String(120)),
    ):
        op.create_index("ix_handoffs_conversation_id", "handoffs", ["conversation_id"])
        op.create_index("ix_handoffs_status", "handoffs", ["status"])
    if table(
        "handoff_notes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "conversation_id",
            sa.Integer(),
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("author_id", sa.Integer()),
        sa.Column("author_name", sa.String(120), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    ):
        op.create_index("ix_handoff_notes_conversation_id", "handoff_notes", ["conversation_id"])
    table(
        "tickets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "conversation_id",
            sa.Integer(),
            sa.ForeignKey("conversations.id", ondelete="SET NULL"),
        ),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("contact", sa.String(255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("done_at", TZ),
        sa.Column("done_by", sa.String(120)),
    )
    if table(
        "web_conversation_keys",
        sa.Column("key_hash", sa.String(64), primary_key=True),
        sa.Column("sender", sa.String(128), nullable=False),
        sa.Column("owner_login", sa.String(255)),
        sa.Column("created_at", TZ, nullable=False),
    ):
        op.create_index(
            "ix_web_conversation_keys_owner_login", "web_conversation_keys", ["owner_login"]
        )
        op.create_index("ix_web_conversation_keys_sender", "web_conversation_keys", ["sender"])

    # --- gateway: staff accounts (integrations/console/auth.py)
    table(
        "staff_users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.CheckConstraint("role in ('agent', 'mediator', 'admin')", name="ck_staff_users_role"),
        sa.UniqueConstraint("username"),
    )
    if table(
        "staff_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("staff_users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
    ):
        op.create_index("ix_staff_sessions_user_id", "staff_sessions", ["user_id"])
    if table(
        "staff_identities",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("issuer", sa.String(255), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("staff_users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", TZ, nullable=False),
        sa.UniqueConstraint("issuer", "subject", name="uq_staff_identities_subject"),
    ):
        op.create_index("ix_staff_identities_user_id", "staff_identities", ["user_id"])

    # --- gateway: administration (integrations/admin/service.py)
    table(
        "admin_audit",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", TZ, nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
    )
    table(
        "admin_inbox_items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(500), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("unsure_count", sa.Integer(), nullable=False),
        sa.Column("user_down_count", sa.Integer(), nullable=False),
        sa.Column("mediator_count", sa.Integer(), nullable=False),
        sa.Column("predicted_intent", sa.String(100)),
        sa.Column("confidence", sa.Float()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("resolution", sa.String(100)),
        sa.Column("resolved_by", sa.String(255)),
        sa.Column("resolved_at", TZ),
        sa.Column("first_seen", TZ, nullable=False),
        sa.Column("last_seen", TZ, nullable=False),
        sa.UniqueConstraint("key"),
    )
    table(
        "admin_inbox_hits",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "item_id",
            sa.Integer(),
            sa.ForeignKey("admin_inbox_items.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("ref", sa.String(120), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.UniqueConstraint("source", "ref", name="uq_admin_inbox_hits_source_ref"),
    )
    table(
        "admin_state",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(255), nullable=False),
    )
    table(
        "admin_models",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(255)),
        sa.Column("path", sa.String(1000)),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("pid", sa.Integer()),
        sa.Column("progress", sa.JSON()),
        sa.Column("error", sa.Text()),
        sa.Column("log_path", sa.String(1000)),
        sa.Column("held_out", sa.String(32)),
        sa.Column("examples", sa.Integer()),
        sa.Column("accuracy", sa.Float()),
        sa.Column("macro_f1", sa.Float()),
        sa.Column("per_intent", sa.JSON()),
        sa.Column("decision", sa.JSON()),
    )
    table(
        "admin_activations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("model_id", sa.Integer(), sa.ForeignKey("admin_models.id"), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("rolled_back", sa.Boolean(), nullable=False),
        sa.Column("rolled_back_at", TZ),
    )

    # --- action server: room booking (actions/booking_store.py)
    table(
        "booking_agents",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(200), nullable=False),
        sa.Column("service", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
    )
    table(
        "booking_agent_identities",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("agent_id", sa.String(100), sa.ForeignKey("booking_agents.id"), nullable=False),
        sa.UniqueConstraint("channel", "user_id", name="uq_booking_identity"),
    )
    table(
        "booking_sites",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("aliases", sa.String(500), nullable=False),
        sa.Column("address", sa.String(300), nullable=False),
        sa.Column("opening_hours", sa.String(300), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("name"),
    )
    table(
        "booking_rooms",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("booking_sites.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("equipment", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
    )
    table(
        "bookings",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("ref", sa.String(40), nullable=False),
        sa.Column("room_id", sa.String(100), sa.ForeignKey("booking_rooms.id"), nullable=False),
        sa.Column("agent_id", sa.String(100), sa.ForeignKey("booking_agents.id"), nullable=False),
        sa.Column("start_utc", sa.DateTime(), nullable=False),
        sa.Column("end_utc", sa.DateTime(), nullable=False),
        sa.Column("attendees", sa.Integer(), nullable=False),
        sa.Column("visio_url", sa.String(500), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("ref"),
    )
    if table(
        "booking_slots",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("room_id", sa.String(100), sa.ForeignKey("booking_rooms.id"), nullable=False),
        sa.Column("slot_start", sa.DateTime(), nullable=False),
        sa.Column("booking_id", sa.Integer(), sa.ForeignKey("bookings.id"), nullable=False),
        sa.UniqueConstraint("room_id", "slot_start", name="uq_booking_slot"),
    ):
        op.create_index("ix_booking_slots_booking_id", "booking_slots", ["booking_id"])

    # --- action server: digital-help places (actions/place_store.py)
    table(
        "digital_place_sources",
        *_place_columns(),
        sa.Column("imported_from", sa.Text()),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
    )
    table(
        "digital_places",
        *_place_columns(),
        sa.Column("member_ids", sa.Text(), nullable=False),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.Column("merge_reasons", sa.Text()),
        sa.Column("built_at", sa.DateTime(), nullable=False),
    )
    table(
        "digital_place_rejects",
        sa.Column("number", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("file", sa.Text(), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
    )
