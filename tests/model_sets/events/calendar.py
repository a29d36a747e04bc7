"""A calendar: timezone-aware times, optional fields, a plain unbounded str."""

from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


def now() -> datetime:
    return datetime.now(UTC)


class Event(SQLModel, table=True):
    __tablename__ = "events"

    id: int | None = Field(default=None, primary_key=True)
    name: str
    starts_at: datetime = Field(default_factory=now)
    day: date | None = Field(default=None, index=True)
    seats: int = Field(default=0, sa_column_kwargs={"server_default": sa.text("0")})
