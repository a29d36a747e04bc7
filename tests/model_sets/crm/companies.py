"""A CRM split across modules: companies here, their contacts in contacts.py."""

import enum
from typing import TYPE_CHECKING

from sqlmodel import Field, Relationship, SQLModel

if TYPE_CHECKING:
    from .contacts import Contact


class Tier(enum.StrEnum):
    free = "free"
    paid = "paid"


class Company(SQLModel, table=True):
    __tablename__ = "companies"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, index=True)
    tier: Tier = Field(default=Tier.free)
    contacts: list["Contact"] = Relationship(back_populates="company")
