"""Members known by their library card, in a table named users (the examples' name),
whose key is another column than the examples' `id`."""

from typing import TYPE_CHECKING

from sqlmodel import Field, Relationship, SQLModel

if TYPE_CHECKING:
    from .loans import Loan


class Member(SQLModel, table=True):
    __tablename__ = "users"

    card: str = Field(primary_key=True, max_length=20)
    name: str = Field(max_length=200)
    loans: list["Loan"] = Relationship(back_populates="member", cascade_delete=True)
