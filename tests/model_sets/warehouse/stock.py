"""Stock kept the PostgreSQL way: ARRAY, JSONB and a PostgreSQL enum (PostgreSQL only)."""

from typing import Any

from sqlalchemy import Column, String
from sqlalchemy.dialects import postgresql
from sqlmodel import Field, SQLModel

BIN_STATE = postgresql.ENUM("empty", "full", name="bin_state")


class Bin(SQLModel, table=True):
    __tablename__ = "bins"

    id: int | None = Field(default=None, primary_key=True)
    labels: list[str] = Field(
        default_factory=list, sa_column=Column(postgresql.ARRAY(String()), nullable=False)
    )
    contents: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(postgresql.JSONB, nullable=False)
    )
    state: str = Field(default="empty", sa_column=Column(BIN_STATE, nullable=False))
