"""Fines charged to patrons (overdue, lost, damaged) and the payments against them."""

from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Optional

from sqlmodel import Field, Relationship, SQLModel

if TYPE_CHECKING:
    from .loans import Loan


class Fine(SQLModel, table=True):
    __tablename__ = "fines"

    id: int | None = Field(default=None, primary_key=True)
    patron_id: int = Field(foreign_key="patrons.id", index=True)
    loan_id: int | None = Field(default=None, foreign_key="loans.id", index=True)
    reason: str = Field(max_length=40)
    amount: Decimal = Field(max_digits=8, decimal_places=2)
    charged_at: datetime = Field(default_factory=partial(datetime.now, UTC))
    waived: bool = False
    loan: Optional["Loan"] = Relationship(back_populates="fines")
    payments: list["Payment"] = Relationship(back_populates="fine")


class Payment(SQLModel, table=True):
    __tablename__ = "payments"

    id: int | None = Field(default=None, primary_key=True)
    fine_id: int = Field(foreign_key="fines.id", index=True)
    received_by_id: int | None = Field(default=None, foreign_key="staff.id")
    amount: Decimal = Field(max_digits=8, decimal_places=2)
    paid_at: datetime = Field(default_factory=partial(datetime.now, UTC))
    method: str = Field(default="cash", max_length=20)
    fine: Fine = Relationship(back_populates="payments")
