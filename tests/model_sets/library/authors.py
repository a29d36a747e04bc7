"""Authors, linked to the works they wrote through works.py's work_authors table."""

from typing import TYPE_CHECKING

from sqlmodel import Field, Relationship, SQLModel

if TYPE_CHECKING:
    from .works import Work


class Author(SQLModel, table=True):
    __tablename__ = "authors"

    id: int | None = Field(default=None, primary_key=True)
    sort_name: str = Field(max_length=200, index=True)
    display_name: str = Field(max_length=200)
    born_year: int | None = None
    # The link table lives in works.py: named, not imported, so no import cycle.
    works: list["Work"] = Relationship(
        back_populates="authors", sa_relationship_kwargs={"secondary": "work_authors"}
    )
