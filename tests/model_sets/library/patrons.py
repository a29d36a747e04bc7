"""Patrons (card holders) with a home branch, and their postal addresses."""

from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Optional

from sqlmodel import Field, Relationship, SQLModel

if TYPE_CHECKING:
    from .branches import Branch
    from .holds import Hold
    from .loans import Loan
    from .memberships import Membership


class Patron(SQLModel, table=True):
    __tablename__ = "patrons"

    id: int | None = Field(default=None, primary_key=True)
    card_number: str = Field(max_length=14, unique=True)
    full_name: str = Field(max_length=150, index=True)
    email: str | None = Field(default=None, max_length=254)
    home_branch_id: int | None = Field(default=None, foreign_key="branches.id")
    joined_at: datetime = Field(default_factory=partial(datetime.now, UTC))
    home_branch: Optional["Branch"] = Relationship(back_populates="patrons")
    addresses: list["PatronAddress"] = Relationship(back_populates="patron", cascade_delete=True)
    loans: list["Loan"] = Relationship(back_populates="patron")
    holds: list["Hold"] = Relationship(back_populates="patron")
    memberships: list["Membership"] = Relationship(back_populates="patron")


class PatronAddress(SQLModel, table=True):
    __tablename__ = "patron_addresses"

    id: int | None = Field(default=None, primary_key=True)
    patron_id: int = Field(foreign_key="patrons.id", index=True, ondelete="CASCADE")
    line1: str = Field(max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    city: str = Field(max_length=100)
    postcode: str = Field(max_length=12)
    patron: Patron = Relationship(back_populates="addresses")
