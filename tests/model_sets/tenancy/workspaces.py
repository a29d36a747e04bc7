"""Workspaces owned by a user, who belongs to which, and invitations still pending."""

import uuid
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlmodel import Field, Relationship, SQLModel

# Keys from the template's models/columns.py, as its README advises (squawk-clean).
from .columns import BIGINT, primary_key

if TYPE_CHECKING:
    from .users import User


class Workspace(SQLModel, table=True):
    __tablename__ = "workspaces"

    id: int | None = primary_key()
    slug: str = Field(max_length=40, unique=True)
    name: str = Field(max_length=120)
    owner_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    created_at: datetime = Field(default_factory=partial(datetime.now, UTC))
    owner: "User" = Relationship(back_populates="owned_workspaces")
    memberships: list["Membership"] = Relationship(back_populates="workspace", cascade_delete=True)


class Membership(SQLModel, table=True):
    __tablename__ = "memberships"

    workspace_id: int = Field(
        foreign_key="workspaces.id", primary_key=True, ondelete="CASCADE", sa_type=BIGINT
    )
    user_id: uuid.UUID = Field(foreign_key="users.id", primary_key=True, ondelete="CASCADE")
    role: str = Field(default="member", max_length=20)
    joined_at: datetime = Field(default_factory=partial(datetime.now, UTC))
    workspace: Workspace = Relationship(back_populates="memberships")
    user: "User" = Relationship(back_populates="memberships")


class Invitation(SQLModel, table=True):
    __tablename__ = "invitations"
    __table_args__ = (sa.UniqueConstraint("workspace_id", "email"),)

    id: int | None = primary_key()
    workspace_id: int = Field(foreign_key="workspaces.id", ondelete="CASCADE", sa_type=BIGINT)
    email: str = Field(max_length=254)
    token: str = Field(max_length=64, unique=True)
    invited_by_id: uuid.UUID | None = Field(
        default=None, foreign_key="users.id", index=True, ondelete="SET NULL"
    )
    expires_at: datetime | None = None
