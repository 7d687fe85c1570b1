"""Rooms, pool vehicles, agents and bookings in the shared database (SQLAlchemy; SQLite
or PostgreSQL).

Rooms and vehicles are both *resources* of a site, booked by the same code: a
:class:`Kind` names the tables of each (rooms: ``bookings`` / ``booking_slots``, kept
as they were; vehicles: ``vehicle_bookings`` / ``vehicle_slots``). Every method takes
the resource's id and finds its kind; a booking's :attr:`Booking.key` says both
("12" for a room booking, "v12" for a vehicle's).

No double booking, ever: a booking owns one slot row per quarter of an hour it
covers, and ``UNIQUE(room_id, slot_start)`` (``UNIQUE(vehicle_id, slot_start)``) makes
the database itself refuse a second booking of the same quarter. The booking and its slot rows are
inserted in one transaction, so a concurrent attempt fails as a whole with an
``IntegrityError``, which this module turns into alternatives. The availability
read before is only a courtesy to propose a free room first.

Times are stored in UTC (naive columns, converted at the edge by
:class:`UTCDateTime`) and shown in Europe/Paris by the actions.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    delete,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker, synonym
from sqlalchemy.types import TypeDecorator

from actions.booking_rules import is_open, opening_days
from actions.datetime_fr import PARIS, UTC
from common.db import Base, make_engine, make_session_factory, session_scope
from common.migrate import check_schema
from common.text import key

logger = logging.getLogger(__name__)

SLOT = timedelta(minutes=15)
ALTERNATIVE_STEP = timedelta(minutes=30)
MAX_ALTERNATIVES = 3
CONFIRMED, CANCELLED = "confirmed", "cancelled"


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out; stored as naive UTC everywhere."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC instant is required")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class AgentRow(Base):
    __tablename__ = "booking_agents"
    id = Column(String(100), primary_key=True)
    name = Column(String(200), nullable=False)
    email = Column(String(200), nullable=False, default="")
    service = Column(String(200), nullable=False, default="")
    active = Column(Boolean, nullable=False, default=True)
    home_site = Column(String(100), nullable=True)  # a booking_sites.name


class IdentityRow(Base):
    __tablename__ = "booking_agent_identities"
    __table_args__ = (UniqueConstraint("channel", "user_id", name="uq_booking_identity"),)
    id = Column(Integer, primary_key=True, autoincrement=True)
    channel = Column(String(20), nullable=False)
    user_id = Column(String(200), nullable=False)
    agent_id = Column(String(100), ForeignKey("booking_agents.id"), nullable=False)


class SiteRow(Base):
    __tablename__ = "booking_sites"
    id = Column(Integer, primary_key=True, autoincrement=True)
    name = Column(String(100), nullable=False, unique=True)
    label = Column(String(200), nullable=False, default="")
    aliases = Column(String(500), nullable=False, default="")
    address = Column(String(300), nullable=False, default="")
    opening_hours = Column(String(300), nullable=False)
    active = Column(Boolean, nullable=False, default=True)


class RoomRow(Base):
    __tablename__ = "booking_rooms"
    id = Column(String(100), primary_key=True)
    site_id = Column(Integer, ForeignKey("booking_sites.id"), nullable=False)
    name = Column(String(200), nullable=False)
    capacity = Column(Integer, nullable=False)
    equipment = Column(String(200), nullable=False, default="")
    active = Column(Boolean, nullable=False, default=True)


class BookingRow(Base):
    __tablename__ = "bookings"
    id = Column(Integer, primary_key=True, autoincrement=True)
    # Unguessable public reference: the .ics link and button payloads use it, never the id.
    ref = Column(String(40), nullable=False, unique=True)
    room_id = Column(String(100), ForeignKey("booking_rooms.id"), nullable=False)
    agent_id = Column(String(100), ForeignKey("booking_agents.id"), nullable=False)
    start_utc = Column(UTCDateTime, nullable=False)
    end_utc = Column(UTCDateTime, nullable=False)
    attendees = Column(Integer, nullable=False)
    visio_url = Column(String(500), nullable=False)
    status = Column(String(20), nullable=False, default=CONFIRMED)
    # The calendar's SEQUENCE (RFC 5545): raised on every move and on the cancellation, so
    # that calendars replace the invitation they hold (same UID) instead of adding one.
    sequence = Column(Integer, nullable=False, default=0, server_default="0")
    created_at = Column(UTCDateTime, nullable=False)
    updated_at = Column(UTCDateTime, nullable=False)
    # The bookings of one visio meeting shared by several sites carry the same group_ref.
    group_ref = Column(String(40), nullable=True)
    resource_id = synonym("room_id")


class SlotRow(Base):
    __tablename__ = "booking_slots"
    __table_args__ = (UniqueConstraint("room_id", "slot_start", name="uq_booking_slot"),)
    id = Column(Integer, primary_key=True, autoincrement=True)
    room_id = Column(String(100), ForeignKey("booking_rooms.id"), nullable=False)
    slot_start = Column(UTCDateTime, nullable=False)
    booking_id = Column(Integer, ForeignKey("bookings.id"), nullable=False, index=True)
    resource_id = synonym("room_id")


class VehicleRow(Base):
    __tablename__ = "booking_vehicles"
    id = Column(String(100), primary_key=True)
    site_id = Column(Integer, ForeignKey("booking_sites.id"), nullable=False)
    name = Column(String(200), nullable=False)
    plate = Column(String(20), nullable=False, default="")
    capacity = Column("seats", Integer, nullable=False)
    energy = Column(String(20), nullable=False)  # electric | diesel | petrol | hybrid
    key_place = Column(String(300), nullable=False, default="")
    active = Column(Boolean, nullable=False, default=True)


class VehicleBookingRow(Base):
    __tablename__ = "vehicle_bookings"
    id = Column(Integer, primary_key=True, autoincrement=True)
    ref = Column(String(40), nullable=False, unique=True)
    resource_id = Column(
        "vehicle_id", String(100), ForeignKey("booking_vehicles.id"), nullable=False
    )
    agent_id = Column(String(100), ForeignKey("booking_agents.id"), nullable=False)
    start_utc = Column(UTCDateTime, nullable=False)
    end_utc = Column(UTCDateTime, nullable=False)
    attendees = Column("passengers", Integer, nullable=False)
    destination = Column(String(200), nullable=False, default="")
    status = Column(String(20), nullable=False, default=CONFIRMED)
    sequence = Column(Integer, nullable=False, default=0, server_default="0")
    created_at = Column(UTCDateTime, nullable=False)
    updated_at = Column(UTCDateTime, nullable=False)


class VehicleSlotRow(Base):
    __tablename__ = "vehicle_slots"
    __table_args__ = (UniqueConstraint("vehicle_id", "slot_start", name="uq_vehicle_slot"),)
    id = Column(Integer, primary_key=True, autoincrement=True)
    resource_id = Column(
        "vehicle_id", String(100), ForeignKey("booking_vehicles.id"), nullable=False
    )
    slot_start = Column(UTCDateTime, nullable=False)
    booking_id = Column(Integer, ForeignKey("vehicle_bookings.id"), nullable=False, index=True)


class MobilityChoiceRow(Base):
    """A visio room offered instead of a trip: what the agent chose ("visio" or "trip")
    and what the trip costs (return trip), for the mobility indicators."""

    __tablename__ = "mobility_choices"
    id = Column(Integer, primary_key=True, autoincrement=True)
    agent_id = Column(String(100), ForeignKey("booking_agents.id"), nullable=False)
    home_site = Column(String(100), nullable=False)
    destination = Column(String(200), nullable=False)
    choice = Column(String(10), nullable=False)
    km = Column(Float, nullable=False)
    minutes = Column(Integer, nullable=False)
    co2_kg = Column(Float, nullable=False)
    energy = Column(String(20), nullable=False)
    booking_ref = Column(String(40), nullable=False)
    meeting_start = Column(UTCDateTime, nullable=False, index=True)
    created_at = Column(UTCDateTime, nullable=False)


TABLES = [
    m.__table__
    for m in (
        AgentRow,
        IdentityRow,
        SiteRow,
        RoomRow,
        BookingRow,
        SlotRow,
        VehicleRow,
        VehicleBookingRow,
        VehicleSlotRow,
        MobilityChoiceRow,
    )
]


@dataclass(frozen=True)
class Kind:
    """A kind of bookable resource and its tables."""

    name: str
    resource: Any
    booking: Any
    slot: Any
    key_prefix: str


ROOM = Kind("room", RoomRow, BookingRow, SlotRow, "")
VEHICLE = Kind("vehicle", VehicleRow, VehicleBookingRow, VehicleSlotRow, "v")
KINDS = {kind.name: kind for kind in (ROOM, VEHICLE)}


@dataclass(frozen=True)
class Agent:
    id: str
    name: str
    email: str
    home_site: str | None = None


@dataclass(frozen=True)
class Room:
    id: str
    name: str
    capacity: int
    equipment: tuple[str, ...]
    kind: str = "room"


@dataclass(frozen=True)
class Vehicle:
    id: str
    name: str
    capacity: int  # seats, the driver included
    energy: str
    key_place: str
    plate: str = ""
    kind: str = "vehicle"


@dataclass(frozen=True)
class Site:
    name: str
    label: str
    address: str
    opening_hours: str
    rooms: tuple[Room, ...]
    vehicles: tuple[Vehicle, ...] = ()

    def resources(self, kind: str = "room") -> tuple[Room, ...] | tuple[Vehicle, ...]:
        return self.vehicles if kind == VEHICLE.name else self.rooms

    def room(self, room_id: str) -> Room | Vehicle | None:
        """The room or vehicle of this site with that id."""
        return next((r for r in (*self.rooms, *self.vehicles) if r.id == room_id), None)

    def max_capacity_of(self, kind: str = "room") -> int:
        return max((r.capacity for r in self.resources(kind)), default=0)

    @property
    def max_capacity(self) -> int:
        return self.max_capacity_of(ROOM.name)


@dataclass(frozen=True)
class Option:
    """A free room at a given time: a proposal or an alternative."""

    room_id: str
    room_name: str
    site: str
    start_utc: datetime
    end_utc: datetime
    kind: str = "room"

    def token(self) -> str:
        """Compact form for a button payload and a slot ("room|2026-11-26T13:00Z")."""
        return f"{self.room_id}|{self.start_utc.astimezone(UTC):%Y-%m-%dT%H:%MZ}"


@dataclass(frozen=True)
class Booking:
    id: int
    ref: str
    agent_id: str
    room_id: str
    room_name: str
    site: str
    site_label: str
    address: str
    start_utc: datetime
    end_utc: datetime
    attendees: int
    visio_url: str
    status: str
    sequence: int = 0
    kind: str = "room"
    destination: str = ""
    energy: str = ""
    key_place: str = ""
    group_ref: str | None = None

    @property
    def key(self) -> str:
        """The booking's id among the agent's bookings of every kind ("12", "v12")."""
        return f"{KINDS[self.kind].key_prefix}{self.id}"


def parse_key(key: int | str) -> tuple[Kind, int] | None:
    """The inverse of :attr:`Booking.key`; an int is a room booking's id."""
    text = str(key).strip()
    kind = VEHICLE if text.startswith(VEHICLE.key_prefix) else ROOM
    digits = text.removeprefix(kind.key_prefix)
    return (kind, int(digits)) if digits.isdigit() else None


@dataclass(frozen=True)
class Outcome:
    """The result of a booking or a move: the booking, or why not and what else is free."""

    booking: Booking | None
    alternatives: tuple[Option, ...] = ()


def parse_token(token: str) -> tuple[str, datetime] | None:
    """The inverse of :meth:`Option.token`; ``None`` when it is not one."""
    try:
        room_id, stamp = token.split("|", 1)
        start = datetime.strptime(stamp, "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC)
    except ValueError:
        return None
    return room_id, start


def slot_starts(start_utc: datetime, end_utc: datetime) -> list[datetime]:
    """Every quarter of an hour that [start, end) touches, in UTC."""
    start_utc = start_utc.astimezone(UTC)
    first = start_utc.replace(
        minute=start_utc.minute - start_utc.minute % 15, second=0, microsecond=0
    )
    slots, current = [], first
    while current < end_utc:
        slots.append(current)
        current += SLOT
    return slots


class BookingStore:
    """All database work of the booking feature; one instance per database URL."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions: sessionmaker = make_session_factory(engine)

    # --- reference data (the tables come from the migrations: common.migrate) ----------
    def is_seeded(self) -> bool:
        with self.sessions() as session:
            return session.execute(select(SiteRow.id).limit(1)).first() is not None

    def seed(
        self,
        rooms: dict[str, Any],
        agents: dict[str, Any],
        vehicles: dict[str, Any] | None = None,
    ) -> dict[str, int]:
        """Insert or update sites, rooms, vehicles and agents from the data files; disable
        the rest. ``vehicles`` defaults to ``data/vehicles.yml``."""
        if vehicles is None:
            from actions.booking_admin import load_vehicles

            vehicles = load_vehicles()
        counts = {"sites": 0, "rooms": 0, "vehicles": 0, "agents": 0, "identities": 0}
        with session_scope(self.sessions) as session:
            seen_sites, seen_rooms, site_ids = set(), set(), {}
            for site_data in rooms.get("sites", []):
                site = session.execute(
                    select(SiteRow).where(SiteRow.name == site_data["name"])
                ).scalar_one_or_none() or SiteRow(name=site_data["name"])
                site.label = site_data.get("label", site_data["name"])
                site.aliases = "|".join(site_data.get("aliases") or [])
                site.address = site_data.get("address", "")
                site.opening_hours = site_data["opening_hours"]
                site.active = True
                session.add(site)
                session.flush()
                seen_sites.add(site.id)
                site_ids[site.name] = site.id
                counts["sites"] += 1
                for room_data in site_data.get("rooms", []):
                    room = session.get(RoomRow, room_data["id"]) or RoomRow(id=room_data["id"])
                    room.site_id = site.id
                    room.name = room_data["name"]
                    room.capacity = int(room_data["capacity"])
                    room.equipment = ",".join(room_data.get("equipment", []))
                    room.active = True
                    session.add(room)
                    seen_rooms.add(room.id)
                    counts["rooms"] += 1
            for site in session.execute(select(SiteRow)).scalars():
                site.active = site.id in seen_sites
            for room in session.execute(select(RoomRow)).scalars():
                room.active = room.id in seen_rooms
            seen_vehicles = set()
            for data in vehicles.get("vehicles", []):
                if data["site"] not in site_ids:  # rooms data without that site (tests)
                    logger.info("vehicle %s skipped: no site %s", data["id"], data["site"])
                    continue
                vehicle = session.get(VehicleRow, data["id"]) or VehicleRow(id=data["id"])
                vehicle.site_id = site_ids[data["site"]]
                vehicle.name = data["name"]
                vehicle.plate = data.get("plate", "")
                vehicle.capacity = int(data["seats"])
                vehicle.energy = data["energy"]
                vehicle.key_place = data.get("keys", "")
                vehicle.active = True
                session.add(vehicle)
                seen_vehicles.add(vehicle.id)
                counts["vehicles"] += 1
            for vehicle in session.execute(select(VehicleRow)).scalars():
                vehicle.active = vehicle.id in seen_vehicles
            seen_agents = set()
            session.execute(delete(IdentityRow))
            session.flush()
            for agent_data in agents.get("agents", []):
                agent = session.get(AgentRow, agent_data["id"]) or AgentRow(id=agent_data["id"])
                agent.name = agent_data["name"]
                agent.email = agent_data.get("email", "")
                agent.service = agent_data.get("service", "")
                agent.home_site = agent_data.get("home_site")
                agent.active = True
                session.add(agent)
                session.flush()
                seen_agents.add(agent.id)
                counts["agents"] += 1
                for channel, user_id in (agent_data.get("identities") or {}).items():
                    session.add(
                        IdentityRow(channel=str(channel), user_id=str(user_id), agent_id=agent.id)
                    )
                    counts["identities"] += 1
            for agent in session.execute(select(AgentRow)).scalars():
                agent.active = agent.id in seen_agents
        return counts

    # --- directory, sites and their resources -----------------------------------------
    def agent_for(self, channel: str, user_id: str) -> Agent | None:
        """The active agent behind a channel identity, or ``None`` (citizens, strangers)."""
        with self.sessions() as session:
            row = session.execute(
                select(AgentRow)
                .join(IdentityRow, IdentityRow.agent_id == AgentRow.id)
                .where(
                    IdentityRow.channel == channel,
                    IdentityRow.user_id == user_id,
                    AgentRow.active.is_(True),
                )
            ).scalar_one_or_none()
            return Agent(row.id, row.name, row.email, row.home_site) if row else None

    def site(self, name: str) -> Site | None:
        """The active site called ``name`` or one of its aliases, loosely ("carhaix plouguer")."""
        wanted = key(name)
        with self.sessions() as session:
            for row in session.execute(select(SiteRow).where(SiteRow.active.is_(True))).scalars():
                names = [row.name, *(a for a in row.aliases.split("|") if a)]
                if wanted in {key(n) for n in names}:
                    return self._site(session, row)
            return None

    def sites(self) -> list[Site]:
        with self.sessions() as session:
            rows = session.execute(
                select(SiteRow).where(SiteRow.active.is_(True)).order_by(SiteRow.id)
            ).scalars()
            return [self._site(session, row) for row in rows]

    @staticmethod
    def _site(session: Session, row: SiteRow) -> Site:
        rooms = session.execute(
            select(RoomRow)
            .where(RoomRow.site_id == row.id, RoomRow.active.is_(True))
            .order_by(RoomRow.capacity, RoomRow.id)
        ).scalars()
        vehicles = session.execute(
            select(VehicleRow)
            .where(VehicleRow.site_id == row.id, VehicleRow.active.is_(True))
            .order_by(VehicleRow.capacity, VehicleRow.id)
        ).scalars()
        return Site(
            name=row.name,
            label=row.label,
            address=row.address,
            opening_hours=row.opening_hours,
            rooms=tuple(
                Room(r.id, r.name, r.capacity, tuple(e for e in r.equipment.split(",") if e))
                for r in rooms
            ),
            vehicles=tuple(
                Vehicle(v.id, v.name, v.capacity, v.energy, v.key_place, v.plate) for v in vehicles
            ),
        )

    def kind_of(self, resource_id: str) -> Kind:
        """Whether ``resource_id`` is a vehicle or a room (unknown ids are rooms)."""
        with self.sessions() as session:
            return VEHICLE if session.get(VehicleRow, resource_id) is not None else ROOM

    def site_of(self, resource_id: str) -> Site | None:
        """The site of a room or a vehicle."""
        kind = self.kind_of(resource_id)
        with self.sessions() as session:
            row = session.execute(
                select(SiteRow)
                .join(kind.resource, kind.resource.site_id == SiteRow.id)
                .where(kind.resource.id == resource_id)
            ).scalar_one_or_none()
            return self._site(session, row) if row else None

    # --- availability -----------------------------------------------------------------
    @staticmethod
    def _busy(
        session: Session,
        kind: Kind,
        resource_ids: Iterable[str],
        start: datetime,
        end: datetime,
        ignore_booking: int | None = None,
    ) -> set[tuple[str, datetime]]:
        slot = kind.slot
        query = select(slot.resource_id, slot.slot_start).where(
            slot.resource_id.in_(list(resource_ids)),
            slot.slot_start >= start - SLOT,
            slot.slot_start < end,
        )
        if ignore_booking is not None:
            query = query.where(slot.booking_id != ignore_booking)
        return {(resource_id, s) for resource_id, s in session.execute(query)}

    @staticmethod
    def _free(
        busy: set[tuple[str, datetime]], room_id: str, start: datetime, end: datetime
    ) -> bool:
        return all((room_id, s) not in busy for s in slot_starts(start, end))

    def is_free(
        self,
        room_id: str,
        start_utc: datetime,
        end_utc: datetime,
        ignore_booking: int | None = None,
    ) -> bool:
        """Whether the room or vehicle ``room_id`` is free over [start, end)."""
        kind = self.kind_of(room_id)
        with self.sessions() as session:
            busy = self._busy(session, kind, [room_id], start_utc, end_utc, ignore_booking)
        return self._free(busy, room_id, start_utc, end_utc)

    def free_room(
        self,
        site: Site,
        start_utc: datetime,
        end_utc: datetime,
        attendees: int,
        kind: str = "room",
    ) -> Option | None:
        """The smallest room (or vehicle) of ``site`` that fits and is free, or ``None``."""
        fitting = [r for r in site.resources(kind) if r.capacity >= attendees]
        with self.sessions() as session:
            busy = self._busy(session, KINDS[kind], [r.id for r in fitting], start_utc, end_utc)
        for room in fitting:
            if self._free(busy, room.id, start_utc, end_utc):
                return Option(room.id, room.name, site.name, start_utc, end_utc, kind)
        return None

    def alternatives(
        self,
        site: Site,
        start_utc: datetime,
        end_utc: datetime,
        attendees: int,
        now: datetime,
        preferred_room: str | None = None,
        ignore_booking: int | None = None,
        limit: int = MAX_ALTERNATIVES,
        kind: str = "room",
    ) -> list[Option]:
        """Up to ``limit`` free options near the wanted one.

        Other rooms (vehicles) of the site at the same time come first (at most
        ``limit - 1`` so that another time is always shown too), then the preferred one at
        the nearest other times (same day, then the following opening days), then any
        fitting one.
        """
        if preferred_room is not None:
            kind = self.kind_of(preferred_room).name
        fitting = [r for r in site.resources(kind) if r.capacity >= attendees]
        if not fitting:
            return []
        preferred = next((r for r in fitting if r.id == preferred_room), fitting[0])
        length = end_utc - start_utc
        days = opening_days(site.opening_hours, start_utc, count=5)
        window_start = min([start_utc, *[d[0] for d in days]])
        window_end = max([end_utc, *[d[1] for d in days]])
        with self.sessions() as session:
            busy = self._busy(
                session,
                KINDS[kind],
                [r.id for r in fitting],
                window_start,
                window_end,
                ignore_booking,
            )

        def usable(room: Room | Vehicle, start: datetime) -> bool:
            end = start + length
            return (
                start > now
                and is_open(site.opening_hours, start, end)
                and self._free(busy, room.id, start, end)
            )

        options: list[Option] = []

        def add(room: Room | Vehicle, start: datetime) -> None:
            option = Option(room.id, room.name, site.name, start, start + length, kind)
            if option not in options and len(options) < limit:
                options.append(option)

        for room in fitting:
            if room.id != preferred.id and usable(room, start_utc) and len(options) < limit - 1:
                add(room, start_utc)
        times = _candidate_times(start_utc, days)
        for start in times:
            if start != start_utc and usable(preferred, start):
                add(preferred, start)
        for start in times:
            for room in fitting:
                if usable(room, start):
                    add(room, start)
        return options[:limit]

    # --- bookings ---------------------------------------------------------------------
    @staticmethod
    def _new_booking(
        session: Session,
        kind: Kind,
        agent_id: str,
        resource_id: str,
        start_utc: datetime,
        end_utc: datetime,
        attendees: int,
        now: datetime,
        **extra: Any,
    ) -> Any:
        """Insert a booking row and its slot rows (the UNIQUE slots refuse a taken one)."""
        row = kind.booking(
            ref=secrets.token_urlsafe(12),
            resource_id=resource_id,
            agent_id=agent_id,
            start_utc=start_utc,
            end_utc=end_utc,
            attendees=attendees,
            status=CONFIRMED,
            created_at=now,
            updated_at=now,
            **extra,
        )
        session.add(row)
        session.flush()
        session.add_all(
            kind.slot(resource_id=resource_id, slot_start=s, booking_id=row.id)
            for s in slot_starts(start_utc, end_utc)
        )
        session.flush()
        return row

    def book(
        self,
        agent_id: str,
        room_id: str,
        start_utc: datetime,
        end_utc: datetime,
        attendees: int,
        visio_url: str,
        now: datetime,
        destination: str = "",
    ) -> Outcome:
        """Book a room (with its visio link) or a vehicle (to ``destination``) atomically;
        when the database refuses (taken), return alternatives instead."""
        kind = self.kind_of(room_id)
        extra = {"destination": destination} if kind is VEHICLE else {"visio_url": visio_url}
        try:
            # The first statement of the transaction is a write: SQLite takes its write
            # lock at once (and waits on busy_timeout) instead of failing to upgrade.
            with session_scope(self.sessions) as session:
                row = self._new_booking(
                    session, kind, agent_id, room_id, start_utc, end_utc, attendees, now, **extra
                )
                booking_id = row.id
        except IntegrityError:
            logger.info("%s %s already taken at %s", kind.name, room_id, start_utc.isoformat())
            return Outcome(
                None,
                tuple(self._alternatives_for_room(room_id, start_utc, end_utc, attendees, now)),
            )
        return Outcome(self.get(agent_id, f"{kind.key_prefix}{booking_id}"))

    def book_group(
        self,
        agent_id: str,
        room_ids: list[str],
        start_utc: datetime,
        end_utc: datetime,
        visio_url: str,
        now: datetime,
    ) -> tuple[list[Booking], list[str]]:
        """One visio meeting in a room of each site: every room booked in one transaction,
        with one visio link and one ``group_ref``, or none at all.

        Returns the bookings, or no booking and the rooms found taken.
        """
        group_ref = secrets.token_urlsafe(12)
        try:
            with session_scope(self.sessions) as session:
                keys = [
                    str(
                        self._new_booking(
                            session,
                            ROOM,
                            agent_id,
                            room_id,
                            start_utc,
                            end_utc,
                            1,
                            now,
                            visio_url=visio_url,
                            group_ref=group_ref,
                        ).id
                    )
                    for room_id in room_ids
                ]
        except IntegrityError:
            taken = [r for r in room_ids if not self.is_free(r, start_utc, end_utc)]
            logger.info("shared meeting not booked: %s taken", ", ".join(taken) or "a room")
            return [], taken or list(room_ids)
        return [b for b in (self.get(agent_id, k) for k in keys) if b is not None], []

    def _alternatives_for_room(
        self,
        room_id: str,
        start_utc: datetime,
        end_utc: datetime,
        attendees: int,
        now: datetime,
        ignore_booking: int | None = None,
    ) -> list[Option]:
        site = self.site_of(room_id)
        if site is None:
            return []
        return self.alternatives(
            site,
            start_utc,
            end_utc,
            attendees,
            now,
            preferred_room=room_id,
            ignore_booking=ignore_booking,
        )

    @staticmethod
    def _booking(session: Session, row: Any) -> Booking:
        vehicle = isinstance(row, VehicleBookingRow)
        kind = VEHICLE if vehicle else ROOM
        resource = session.get(kind.resource, row.resource_id)
        site = session.get(SiteRow, resource.site_id)
        return Booking(
            id=row.id,
            ref=row.ref,
            agent_id=row.agent_id,
            room_id=row.resource_id,
            room_name=resource.name,
            site=site.name,
            site_label=site.label,
            address=site.address,
            start_utc=row.start_utc,
            end_utc=row.end_utc,
            attendees=row.attendees,
            visio_url="" if vehicle else row.visio_url,
            status=row.status,
            sequence=row.sequence or 0,
            kind=kind.name,
            destination=row.destination if vehicle else "",
            energy=resource.energy if vehicle else "",
            key_place=resource.key_place if vehicle else "",
            group_ref=None if vehicle else row.group_ref,
        )

    def get(self, agent_id: str, booking_id: int | str) -> Booking | None:
        """A booking of this agent only (by id or :attr:`Booking.key`): another agent's
        booking does not exist for them."""
        parsed = parse_key(booking_id)
        if parsed is None:
            return None
        kind, number = parsed
        with self.sessions() as session:
            row = session.execute(
                select(kind.booking).where(
                    kind.booking.id == number, kind.booking.agent_id == agent_id
                )
            ).scalar_one_or_none()
            return self._booking(session, row) if row else None

    def by_ref(self, ref: str) -> Booking | None:
        """For the .ics route: the reference is the capability. Cancelled bookings too, so
        that calendars learn of the cancellation."""
        with self.sessions() as session:
            for kind in KINDS.values():
                row = session.execute(
                    select(kind.booking).where(kind.booking.ref == ref)
                ).scalar_one_or_none()
                if row is not None:
                    return self._booking(session, row)
            return None

    def overlapping(
        self,
        agent_id: str,
        start_utc: datetime,
        end_utc: datetime,
        ignore_booking: int | None = None,
        kind: str = "room",
    ) -> list[Booking]:
        """The agent's confirmed bookings of that kind that overlap [start, end)."""
        table = KINDS[kind].booking
        query = select(table).where(
            table.agent_id == agent_id,
            table.status == CONFIRMED,
            table.start_utc < end_utc,
            table.end_utc > start_utc,
        )
        if ignore_booking is not None:
            query = query.where(table.id != ignore_booking)
        with self.sessions() as session:
            rows = session.execute(query.order_by(table.start_utc)).scalars()
            return [self._booking(session, row) for row in rows]

    def upcoming(self, agent_id: str, now: datetime) -> list[Booking]:
        """The agent's confirmed bookings not over yet, rooms and vehicles, by start."""
        found: list[Booking] = []
        with self.sessions() as session:
            for kind in KINDS.values():
                rows = session.execute(
                    select(kind.booking).where(
                        kind.booking.agent_id == agent_id,
                        kind.booking.status == CONFIRMED,
                        kind.booking.end_utc > now,
                    )
                ).scalars()
                found += [self._booking(session, row) for row in rows]
        return sorted(found, key=lambda b: (b.start_utc, b.kind, b.id))

    def cancel(self, agent_id: str, booking_id: int | str, now: datetime) -> bool:
        """Cancel one of the agent's bookings and free its slots; ``False`` if not theirs."""
        parsed = parse_key(booking_id)
        if parsed is None:
            return False
        kind, number = parsed
        with session_scope(self.sessions) as session:
            deleted = _free_own_slots(session, kind, agent_id, number)
            row = _own_confirmed(session, kind, agent_id, number)
            if row is None:
                return False
            row.status, row.updated_at = CANCELLED, now
            row.sequence = (row.sequence or 0) + 1
            logger.info("%s booking %s cancelled (%s slots freed)", kind.name, number, deleted)
        return True

    def move(
        self,
        agent_id: str,
        booking_id: int | str,
        room_id: str,
        start_utc: datetime,
        end_utc: datetime,
        now: datetime,
    ) -> Outcome:
        """Move a booking to a new time (and room or vehicle of the same site) atomically.

        The old slot rows are deleted and the new ones inserted in one transaction: when
        the new time is taken, nothing changes and alternatives are returned.
        """
        parsed = parse_key(booking_id)
        if parsed is None:
            return Outcome(None)
        kind, number = parsed
        try:
            with session_scope(self.sessions) as session:
                _free_own_slots(session, kind, agent_id, number)
                row = _own_confirmed(session, kind, agent_id, number)
                if row is None:
                    return Outcome(None)
                row.resource_id = room_id
                row.start_utc, row.end_utc, row.updated_at = start_utc, end_utc, now
                row.sequence = (row.sequence or 0) + 1
                session.add_all(
                    kind.slot(resource_id=room_id, slot_start=s, booking_id=row.id)
                    for s in slot_starts(start_utc, end_utc)
                )
                session.flush()
        except IntegrityError:
            current = self.get(agent_id, booking_id)
            if current is None:
                return Outcome(None)
            return Outcome(
                None,
                tuple(
                    self._alternatives_for_room(
                        current.room_id,
                        start_utc,
                        end_utc,
                        current.attendees,
                        now,
                        ignore_booking=number,
                    )
                ),
            )
        return Outcome(self.get(agent_id, booking_id))

    # --- mobility ---------------------------------------------------------------------
    def record_choice(
        self, agent_id: str, booking: Booking, trip: dict[str, Any], choice: str, now: datetime
    ) -> None:
        """What the agent chose when a visio room was offered instead of ``trip``."""
        with session_scope(self.sessions) as session:
            session.add(
                MobilityChoiceRow(
                    agent_id=agent_id,
                    home_site=str(trip["home"]),
                    destination=str(trip["destination"]),
                    choice=choice,
                    km=float(trip["km"]),
                    minutes=int(trip["minutes"]),
                    co2_kg=float(trip["co2_kg"]),
                    energy=str(trip["energy"]),
                    booking_ref=booking.ref,
                    meeting_start=booking.start_utc,
                    created_at=now,
                )
            )


def _candidate_times(wanted: datetime, days: list[tuple[datetime, datetime]]) -> list[datetime]:
    """Start times on the half hour within the opening days, nearest to ``wanted`` first."""
    times: set[datetime] = set()
    for open_start, open_end in days:
        current = open_start
        while current < open_end:
            times.add(current)
            current += ALTERNATIVE_STEP
    local_day = wanted.astimezone(PARIS).date()

    def rank(start: datetime) -> tuple[int, float]:
        day: date = start.astimezone(PARIS).date()
        return (0 if day == local_day else 1, abs((start - wanted).total_seconds()))

    return sorted(times, key=rank)


_stores: dict[str, BookingStore] = {}
_stores_lock = threading.Lock()


def _own_confirmed(session: Session, kind: Kind, agent_id: str, booking_id: int) -> Any:
    """The agent's confirmed booking, or ``None`` if unknown, cancelled or not theirs."""
    table = kind.booking
    return session.execute(
        select(table).where(
            table.id == booking_id,
            table.agent_id == agent_id,
            table.status == CONFIRMED,
        )
    ).scalar_one_or_none()


def _free_own_slots(session: Session, kind: Kind, agent_id: str, booking_id: int) -> int:
    """Delete the slot rows of a confirmed booking, only if it is the agent's; how many."""
    own = select(kind.booking.id).where(
        kind.booking.agent_id == agent_id, kind.booking.status == CONFIRMED
    )
    statement = (
        delete(kind.slot)
        .where(kind.slot.booking_id == booking_id, kind.slot.booking_id.in_(own))
        .execution_options(synchronize_session=False)
    )
    return session.execute(statement).rowcount


def get_store(url: str) -> BookingStore:
    """The store of ``url`` (migrated, else :class:`SchemaNotReady`): sample data seeded
    on first use."""
    with _stores_lock:
        store = _stores.get(url)
        if store is None:
            store = BookingStore(make_engine(url))
            check_schema(store.engine)
            if not store.is_seeded():
                from actions.booking_admin import load_reference_data

                store.seed(*load_reference_data())
            _stores[url] = store
        return store
