"""The indicators' tables (revision ``0005_indicators``): pre-aggregated counts and the
survey's answers.

The aggregates hold no identifier and no text: days, official territory codes,
channels, topics (intent names) and counts. They outlive the conversations they were
counted from (retention deletes those), as anonymous statistics.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)

from common.db import Base
from integrations.messages import utcnow

# The counts of ``indicator_daily``, in the order the dashboard and the open data use.
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


class DailyRow(Base):
    """Counts of the conversations started on ``jour`` (Europe/Paris) in one commune
    (``""``: not named), on one channel, about one topic (``""``: none recognised)."""

    __tablename__ = "indicator_daily"
    __table_args__ = (Index("ix_indicator_daily_code_epci", "code_epci"),)

    jour = Column(Date, primary_key=True)
    code_commune = Column(String(5), primary_key=True)
    canal = Column(String(32), primary_key=True)
    theme = Column(String(100), primary_key=True)
    code_epci = Column(String(9), nullable=False)
    code_departement = Column(String(3), nullable=False)
    conversations = Column(Integer, nullable=False)
    messages = Column(Integer, nullable=False)
    user_messages = Column(Integer, nullable=False)
    resolved = Column(Integer, nullable=False)
    mediator = Column(Integer, nullable=False)
    tickets = Column(Integer, nullable=False)
    abandoned = Column(Integer, nullable=False)
    fallbacks = Column(Integer, nullable=False)
    negative = Column(Integer, nullable=False)
    survey_yes = Column(Integer, nullable=False)
    survey_no = Column(Integer, nullable=False)


class MonthlyRow(Base):
    """``indicator_daily`` rolled up per month (``mois``: its first day) × EPCI × channel ×
    topic: whole months of a period and the open data are read from here."""

    __tablename__ = "indicator_monthly"

    mois = Column(Date, primary_key=True)
    code_epci = Column(String(9), primary_key=True)
    code_departement = Column(String(3), primary_key=True)
    canal = Column(String(32), primary_key=True)
    theme = Column(String(100), primary_key=True)
    conversations = Column(Integer, nullable=False)
    messages = Column(Integer, nullable=False)
    user_messages = Column(Integer, nullable=False)
    resolved = Column(Integer, nullable=False)
    mediator = Column(Integer, nullable=False)
    tickets = Column(Integer, nullable=False)
    abandoned = Column(Integer, nullable=False)
    fallbacks = Column(Integer, nullable=False)
    negative = Column(Integer, nullable=False)
    survey_yes = Column(Integer, nullable=False)
    survey_no = Column(Integer, nullable=False)


class DurationRow(Base):
    """One mediator wait (``kind = "attente"``) or ticket closing (``"ticket"``)."""

    __tablename__ = "indicator_durations"
    __table_args__ = (Index("ix_indicator_durations_jour", "jour"),)

    id = Column(Integer, primary_key=True)
    jour = Column(Date, nullable=False)
    code_commune = Column(String(5), nullable=False)
    canal = Column(String(32), nullable=False)
    theme = Column(String(100), nullable=False)
    code_epci = Column(String(9), nullable=False)
    code_departement = Column(String(3), nullable=False)
    kind = Column(String(16), nullable=False)
    seconds = Column(Float, nullable=False)


class PlaceRow(Base):
    """How many times a digital-help place was suggested in the conversations of a day."""

    __tablename__ = "indicator_places"

    jour = Column(Date, primary_key=True)
    code_commune = Column(String(5), primary_key=True)
    canal = Column(String(32), primary_key=True)
    theme = Column(String(100), primary_key=True)
    place_id = Column(String(200), primary_key=True)
    code_epci = Column(String(9), nullable=False)
    code_departement = Column(String(3), nullable=False)
    suggestions = Column(Integer, nullable=False)


class SurveyAnswer(Base):
    """« Cette réponse vous a-t-elle aidé ? »: one answer per bot message."""

    __tablename__ = "survey_answers"
    __table_args__ = (UniqueConstraint("message_id", name="uq_survey_answers_message_id"),)

    id = Column(Integer, primary_key=True)
    conversation_id = Column(
        Integer, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    message_id = Column(Integer, ForeignKey("messages.id", ondelete="CASCADE"), nullable=False)
    helpful = Column(Boolean, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


TABLES = [
    DailyRow.__table__,
    MonthlyRow.__table__,
    DurationRow.__table__,
    PlaceRow.__table__,
    SurveyAnswer.__table__,
]
