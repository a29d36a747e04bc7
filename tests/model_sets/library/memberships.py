"""Membership plans (adult, child, reference-only) and which patron holds which."""

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlmodel import Field, Relationship, SQLModel

if TYPE_CHECKING:
    from .patrons import Patron


class MembershipPlan(SQLModel, table=True):
    __tablename__ = "membership_plans"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=60, unique=True)
    loan_limit: int = 10
    yearly_fee: Decimal = Field(default=Decimal("0"), max_digits=8, decimal_places=2)
    memberships: list["Membership"] = Relationship(back_populates="plan")


class Membership(SQLModel, table=True):
    __tablename__ = "memberships"

    id: int | None = Field(default=None, primary_key=True)
    patron_id: int = Field(foreign_key="patrons.id", index=True)
    plan_id: int = Field(foreign_key="membership_plans.id", index=True)
    starts_on: date
    ends_on: date | None = None
    patron: "Patron" = Relationship(back_populates="memberships")
    plan: MembershipPlan = Relationship(back_populates="memberships")
