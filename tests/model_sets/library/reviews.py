"""Patrons' star ratings and short reviews of works."""

from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlmodel import Field, Relationship, SQLModel

if TYPE_CHECKING:
    from .works import Work


class Review(SQLModel, table=True):
    __tablename__ = "reviews"
    __table_args__ = (
        sa.UniqueConstraint("work_id", "patron_id"),
        sa.CheckConstraint("stars BETWEEN 1 AND 5", name="stars_range"),
    )

    id: int | None = Field(default=None, primary_key=True)
    work_id: int = Field(foreign_key="works.id")
    patron_id: int = Field(foreign_key="patrons.id", index=True)
    stars: int
    body: str | None = Field(default=None, max_length=2000)
    written_at: datetime = Field(default_factory=partial(datetime.now, UTC))
    work: "Work" = Relationship(back_populates="reviews")
