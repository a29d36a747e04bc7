"""Physical copies on a branch's shelves, and their moves from one branch to another."""

import enum
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING

from sqlmodel import Field, Relationship, SQLModel

if TYPE_CHECKING:
    from .branches import Branch
    from .editions import Edition
    from .loans import Loan


class CopyState(enum.StrEnum):
    on_shelf = "on_shelf"
    on_loan = "on_loan"
    in_transit = "in_transit"
    withdrawn = "withdrawn"


class Copy(SQLModel, table=True):
    __tablename__ = "copies"

    id: int | None = Field(default=None, primary_key=True)
    edition_id: int = Field(foreign_key="editions.id", index=True)
    branch_id: int = Field(foreign_key="branches.id", index=True)
    barcode: str = Field(max_length=20, unique=True)
    shelf_mark: str | None = Field(default=None, max_length=40)
    state: CopyState = CopyState.on_shelf
    acquired_at: datetime = Field(default_factory=partial(datetime.now, UTC))
    edition: "Edition" = Relationship(back_populates="copies")
    branch: "Branch" = Relationship(back_populates="copies")
    loans: list["Loan"] = Relationship(back_populates="lent_copy")


class CopyTransfer(SQLModel, table=True):
    """Two foreign keys to the same parent: where a copy left, and where it went."""

    __tablename__ = "copy_transfers"

    id: int | None = Field(default=None, primary_key=True)
    copy_id: int = Field(foreign_key="copies.id", index=True)
    from_branch_id: int = Field(foreign_key="branches.id")
    to_branch_id: int = Field(foreign_key="branches.id")
    sent_at: datetime = Field(default_factory=partial(datetime.now, UTC))
    received_at: datetime | None = None
