"""Sign-in accounts, keyed by UUID, in a table named users (the examples' name)."""

import uuid
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlmodel import Field, Relationship, SQLModel

if TYPE_CHECKING:
    from .workspaces import Membership, Workspace


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str = Field(max_length=254, unique=True)
    display_name: str | None = Field(default=None, max_length=100)
    is_active: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    created_at: datetime = Field(
        default_factory=partial(datetime.now, UTC),
        sa_column_kwargs={"server_default": sa.text("CURRENT_TIMESTAMP")},
    )
    owned_workspaces: list["Workspace"] = Relationship(back_populates="owner")
    memberships: list["Membership"] = Relationship(back_populates="user")
