"""Staff members, each attached to a branch, and the desk shifts they work."""

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlmodel import Field, Relationship, SQLModel

if TYPE_CHECKING:
    from .branches import Branch


class StaffMember(SQLModel, table=True):
    __tablename__ = "staff"

    id: int | None = Field(default=None, primary_key=True)
    branch_id: int = Field(foreign_key="branches.id", index=True)
    full_name: str = Field(max_length=150)
    email: str = Field(max_length=254, unique=True)
    is_librarian: bool = False
    branch: "Branch" = Relationship(back_populates="staff")
    shifts: list["Shift"] = Relationship(back_populates="staff_member", cascade_delete=True)


class Shift(SQLModel, table=True):
    __tablename__ = "shifts"
    __table_args__ = (sa.UniqueConstraint("staff_id", "starts_at"),)

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id", ondelete="CASCADE")
    branch_id: int = Field(foreign_key="branches.id", index=True)
    starts_at: datetime
    hours: int = 4
    staff_member: StaffMember = Relationship(back_populates="shifts")
