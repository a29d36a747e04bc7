"""Depots, the yards where a delivery fleet's vehicles are kept overnight."""

from typing import TYPE_CHECKING

from sqlmodel import Field, Relationship, SQLModel

if TYPE_CHECKING:
    from .fleet import Vehicle


class Depot(SQLModel, table=True):
    __tablename__ = "depots"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80, unique=True)
    bays: int = 12
    vehicles: list["Vehicle"] = Relationship(back_populates="depot")
