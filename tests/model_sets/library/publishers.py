"""Publishers and their imprints, the names printed on an edition's spine."""

from typing import TYPE_CHECKING

from sqlmodel import Field, Relationship, SQLModel

if TYPE_CHECKING:
    from .editions import Edition


class Publisher(SQLModel, table=True):
    __tablename__ = "publishers"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=150, unique=True)
    country: str | None = Field(default=None, max_length=2)
    imprints: list["Imprint"] = Relationship(back_populates="publisher")


class Imprint(SQLModel, table=True):
    __tablename__ = "imprints"

    id: int | None = Field(default=None, primary_key=True)
    publisher_id: int = Field(foreign_key="publishers.id", index=True)
    name: str = Field(max_length=150)
    publisher: Publisher = Relationship(back_populates="imprints")
    editions: list["Edition"] = Relationship(back_populates="imprint")
