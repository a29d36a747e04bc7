"""Programmes held at a branch (story time, a book club) and who signed up for them."""

from datetime import UTC, datetime
from functools import partial

from sqlmodel import Field, Relationship, SQLModel


class Program(SQLModel, table=True):
    __tablename__ = "programs"

    id: int | None = Field(default=None, primary_key=True)
    branch_id: int = Field(foreign_key="branches.id", index=True)
    room_id: int | None = Field(default=None, foreign_key="rooms.id")
    title: str = Field(max_length=200)
    starts_at: datetime
    places: int = 20
    registrations: list["ProgramRegistration"] = Relationship(
        back_populates="program", cascade_delete=True
    )


class ProgramRegistration(SQLModel, table=True):
    __tablename__ = "program_registrations"

    program_id: int = Field(foreign_key="programs.id", primary_key=True, ondelete="CASCADE")
    patron_id: int = Field(foreign_key="patrons.id", primary_key=True)
    registered_at: datetime = Field(default_factory=partial(datetime.now, UTC))
    attended: bool | None = None
    program: Program = Relationship(back_populates="registrations")
