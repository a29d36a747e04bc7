"""Library branches, and the rooms each branch lends out for meetings and programmes."""

from datetime import date
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlmodel import Field, Relationship, SQLModel

if TYPE_CHECKING:
    from .copies import Copy
    from .patrons import Patron
    from .staff import StaffMember


class Branch(SQLModel, table=True):
    __tablename__ = "branches"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=8, unique=True)
    name: str = Field(max_length=120)
    opened_on: date | None = None
    rooms: list["Room"] = Relationship(back_populates="branch", cascade_delete=True)
    copies: list["Copy"] = Relationship(back_populates="branch")
    staff: list["StaffMember"] = Relationship(back_populates="branch")
    patrons: list["Patron"] = Relationship(back_populates="home_branch")


class Room(SQLModel, table=True):
    __tablename__ = "rooms"
    __table_args__ = (sa.UniqueConstraint("branch_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    branch_id: int = Field(foreign_key="branches.id", ondelete="CASCADE")
    name: str = Field(max_length=60)
    capacity: int = Field(default=10, sa_column_kwargs={"server_default": sa.text("10")})
    branch: Branch = Relationship(back_populates="rooms")
