"""Series of works read in order (a trilogy, a numbered detective series)."""

from typing import TYPE_CHECKING

from sqlmodel import Field, Relationship, SQLModel

if TYPE_CHECKING:
    from .works import Work


class Series(SQLModel, table=True):
    __tablename__ = "series"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200, unique=True)
    complete: bool = False
    works: list["Work"] = Relationship(back_populates="series")
