"""Works (a text, whatever its editions) and who wrote them, in credited order."""

from typing import TYPE_CHECKING, Optional

from sqlmodel import Field, Relationship, SQLModel

if TYPE_CHECKING:
    from .authors import Author
    from .editions import Edition
    from .reviews import Review
    from .series import Series
    from .subjects import Subject


class WorkAuthor(SQLModel, table=True):
    """A credit: the link between a work and an author, with the author's part in it."""

    __tablename__ = "work_authors"

    work_id: int = Field(foreign_key="works.id", primary_key=True, ondelete="CASCADE")
    author_id: int = Field(foreign_key="authors.id", primary_key=True, ondelete="CASCADE")
    role: str = Field(default="author", max_length=30)
    position: int = 1


class Work(SQLModel, table=True):
    __tablename__ = "works"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=255, index=True)
    original_language: str | None = Field(default=None, max_length=8)
    series_id: int | None = Field(default=None, foreign_key="series.id")
    series_position: int | None = None
    series: Optional["Series"] = Relationship(back_populates="works")
    authors: list["Author"] = Relationship(back_populates="works", link_model=WorkAuthor)
    subjects: list["Subject"] = Relationship(
        back_populates="works", sa_relationship_kwargs={"secondary": "work_subjects"}
    )
    editions: list["Edition"] = Relationship(back_populates="work")
    reviews: list["Review"] = Relationship(back_populates="work")
