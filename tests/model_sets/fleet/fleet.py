"""Delivery vans and their trips: UUID keys three ways, one status enum on two tables."""

import enum
import uuid
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import Column, Field, Relationship, SQLModel

if TYPE_CHECKING:
    from .depots import Depot


class Status(str, enum.Enum):  # noqa: UP042  (the common style)
    active = "active"
    paused = "paused"
    retired = "retired"


class Vehicle(SQLModel, table=True):
    __tablename__ = "vehicles"

    # The SQL-standard UUID type, uppercase: UUID in every dialect's DDL.
    id: uuid.UUID = Field(default_factory=uuid.uuid4, sa_type=sa.UUID, primary_key=True)
    registration: str = Field(max_length=12, unique=True)
    depot_id: int = Field(foreign_key="depots.id", index=True)
    status: Status = Status.active
    odometer_km: int = 0
    acquired_at: datetime = Field(default_factory=partial(datetime.now, UTC))
    depot: "Depot" = Relationship(back_populates="vehicles")
    trips: list["Trip"] = Relationship(back_populates="vehicle")


class Trip(SQLModel, table=True):
    __tablename__ = "trips"

    id: uuid.UUID = Field(
        default_factory=uuid.uuid4,
        sa_column=Column(postgresql.UUID(as_uuid=True), primary_key=True),
    )
    vehicle_id: uuid.UUID = Field(
        sa_column=Column(
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("vehicles.id"),
            nullable=False,
            index=True,
        )
    )
    driver_ref: uuid.UUID | None = Field(default=None, index=True)
    status: Status = Status.active
    started_at: datetime = Field(default_factory=partial(datetime.now, UTC))
    distance_km: int | None = None
    telemetry: dict[str, Any] | None = Field(
        default=None, sa_column=Column(postgresql.JSON, nullable=True)
    )
    vehicle: Vehicle = Relationship(back_populates="trips")
