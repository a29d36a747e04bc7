"""Editions of a work: one ISBN each, in print, large print, audio or e-book form."""

import enum
from typing import TYPE_CHECKING, Optional

from sqlmodel import Field, Relationship, SQLModel

if TYPE_CHECKING:
    from .copies import Copy
    from .holds import Hold
    from .publishers import Imprint
    from .works import Work


class EditionFormat(enum.StrEnum):
    hardback = "hardback"
    paperback = "paperback"
    large_print = "large_print"
    audio = "audio"
    ebook = "ebook"


class Edition(SQLModel, table=True):
    __tablename__ = "editions"

    id: int | None = Field(default=None, primary_key=True)
    work_id: int = Field(foreign_key="works.id", index=True)
    imprint_id: int | None = Field(default=None, foreign_key="imprints.id", index=True)
    isbn: str | None = Field(default=None, max_length=13, unique=True)
    format: EditionFormat = EditionFormat.paperback
    published_year: int | None = None
    pages: int | None = None
    work: "Work" = Relationship(back_populates="editions")
    imprint: Optional["Imprint"] = Relationship(back_populates="editions")
    copies: list["Copy"] = Relationship(back_populates="edition")
    holds: list["Hold"] = Relationship(back_populates="edition")
