"""Loans of a copy to a patron, and each renewal that pushed the due date back."""

from datetime import UTC, date, datetime
from functools import partial
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlmodel import Field, Relationship, SQLModel

if TYPE_CHECKING:
    from .copies import Copy
    from .fines import Fine
    from .patrons import Patron


class Loan(SQLModel, table=True):
    __tablename__ = "loans"
    __table_args__ = (sa.Index("ix_loans_patron_due", "patron_id", "due_on"),)

    id: int | None = Field(default=None, primary_key=True)
    copy_id: int = Field(foreign_key="copies.id", index=True)
    patron_id: int = Field(foreign_key="patrons.id")
    issued_by_id: int | None = Field(default=None, foreign_key="staff.id")
    borrowed_at: datetime = Field(default_factory=partial(datetime.now, UTC))
    due_on: date
    returned_at: datetime | None = None
    lent_copy: "Copy" = Relationship(back_populates="loans")
    patron: "Patron" = Relationship(back_populates="loans")
    renewals: list["Renewal"] = Relationship(back_populates="loan", cascade_delete=True)
    fines: list["Fine"] = Relationship(back_populates="loan")


class Renewal(SQLModel, table=True):
    __tablename__ = "renewals"

    id: int | None = Field(default=None, primary_key=True)
    loan_id: int = Field(foreign_key="loans.id", index=True, ondelete="CASCADE")
    renewed_at: datetime = Field(default_factory=partial(datetime.now, UTC))
    new_due_on: date
    loan: Loan = Relationship(back_populates="renewals")
