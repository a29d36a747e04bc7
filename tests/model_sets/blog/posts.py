"""A blog: UUID keys, a str enum, dates, threaded comments, tags through a link table."""

import enum
import uuid
from datetime import date

from sqlmodel import Field, Relationship, SQLModel


class PostStatus(str, enum.Enum):  # noqa: UP042  (the common style)
    draft = "draft"
    published = "published"


class PostTag(SQLModel, table=True):
    __tablename__ = "post_tags"

    post_id: uuid.UUID = Field(foreign_key="posts.id", primary_key=True, ondelete="CASCADE")
    tag_id: int = Field(foreign_key="tags.id", primary_key=True, ondelete="CASCADE")


class Tag(SQLModel, table=True):
    __tablename__ = "tags"

    id: int | None = Field(default=None, primary_key=True)
    label: str = Field(max_length=40, unique=True)
    posts: list["Post"] = Relationship(back_populates="tags", link_model=PostTag)


class Post(SQLModel, table=True):
    __tablename__ = "posts"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    title: str = Field(max_length=200)
    status: PostStatus = Field(default=PostStatus.draft)
    published_on: date | None = None
    lang: str = Field(default="en", max_length=5, sa_column_kwargs={"server_default": "en"})
    tags: list[Tag] = Relationship(back_populates="posts", link_model=PostTag)


class Comment(SQLModel, table=True):
    __tablename__ = "comments"

    id: int | None = Field(default=None, primary_key=True)
    post_id: uuid.UUID = Field(foreign_key="posts.id", index=True, ondelete="CASCADE")
    parent_id: int | None = Field(default=None, foreign_key="comments.id")
    body: str


class Review(SQLModel, table=True):
    """Dropped by the evolution: its downgrade recreates a table with a shared enum."""

    __tablename__ = "reviews"

    id: int | None = Field(default=None, primary_key=True)
    status: PostStatus = Field(default=PostStatus.draft)
