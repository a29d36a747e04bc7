"""A subject tree (Science > Astronomy) and the works filed under each subject."""

from typing import TYPE_CHECKING, Optional

from sqlmodel import Field, Relationship, SQLModel

if TYPE_CHECKING:
    from .works import Work


class WorkSubject(SQLModel, table=True):
    __tablename__ = "work_subjects"

    work_id: int = Field(foreign_key="works.id", primary_key=True, ondelete="CASCADE")
    subject_id: int = Field(foreign_key="subjects.id", primary_key=True, ondelete="CASCADE")


class Subject(SQLModel, table=True):
    __tablename__ = "subjects"

    id: int | None = Field(default=None, primary_key=True)
    heading: str = Field(max_length=150, unique=True)
    parent_id: int | None = Field(default=None, foreign_key="subjects.id")
    parent: Optional["Subject"] = Relationship(
        back_populates="children", sa_relationship_kwargs={"remote_side": "Subject.id"}
    )
    children: list["Subject"] = Relationship(back_populates="parent")
    works: list["Work"] = Relationship(back_populates="subjects", link_model=WorkSubject)
