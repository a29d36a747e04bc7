"""Holds: a patron's place in the queue for an edition, collected at a chosen branch."""

import enum
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlmodel import Field, Relationship, SQLModel

if TYPE_CHECKING:
    from .editions import Edition
    from .patrons import Patron


class HoldStatus(enum.StrEnum):
    waiting = "waiting"
    ready = "ready"
    collected = "collected"
    expired = "expired"


class Hold(SQLModel, table=True):
    __tablename__ = "holds"
    __table_args__ = (sa.UniqueConstraint("edition_id", "patron_id"),)

    id: int | None = Field(default=None, primary_key=True)
    edition_id: int = Field(foreign_key="editions.id")
    patron_id: int = Field(foreign_key="patrons.id", index=True)
    pickup_branch_id: int = Field(foreign_key="branches.id", index=True)
    status: HoldStatus = Field(default=HoldStatus.waiting, index=True)
    placed_at: datetime = Field(default_factory=partial(datetime.now, UTC))
    edition: "Edition" = Relationship(back_populates="holds")
    patron: "Patron" = Relationship(back_populates="holds")
