"""Loans, each of one member's card."""

from datetime import date
from typing import TYPE_CHECKING

from sqlmodel import Field, Relationship, SQLModel

if TYPE_CHECKING:
    from .members import Member


class Loan(SQLModel, table=True):
    __tablename__ = "loans"

    id: int | None = Field(default=None, primary_key=True)
    member_card: str = Field(foreign_key="users.card", max_length=20, ondelete="CASCADE")
    title: str = Field(max_length=200)
    due_on: date
    member: "Member" = Relationship(back_populates="loans")
