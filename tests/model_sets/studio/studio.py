"""A design studio's people, teams and client projects, tables named after their classes."""

from datetime import UTC, date, datetime
from functools import partial

from sqlalchemy.orm import declared_attr
from sqlmodel import Field, Relationship, SQLModel


class ClassNamedTable(SQLModel):
    """Not a table: its subclasses' tables take the class name as it is ("TeamMember")."""

    # On a SQLModel subclass this wins over SQLModel's own lowercasing __tablename__; a
    # plain mixin class does only when it comes before SQLModel in the bases.
    @declared_attr.directive
    def __tablename__(cls) -> str:
        return cls.__name__


class Entity(ClassNamedTable):
    """Not a table either: the key and creation time every non-link table has."""

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=partial(datetime.now, UTC))


class TeamMember(ClassNamedTable, table=True):
    """A person on a team: the link, with the person's role there and since when."""

    team_id: int = Field(foreign_key="Team.id", primary_key=True, ondelete="CASCADE")
    person_id: int = Field(foreign_key="Person.id", primary_key=True, ondelete="CASCADE")
    role: str = Field(default="member", max_length=30)
    joined_at: datetime = Field(default_factory=partial(datetime.now, UTC))


class ProjectAssignment(ClassNamedTable, table=True):
    """A person staffed on a project, for some hours a week from a given day."""

    project_id: int = Field(foreign_key="Project.id", primary_key=True, ondelete="CASCADE")
    person_id: int = Field(foreign_key="Person.id", primary_key=True)
    role: str = Field(max_length=40)
    hours_per_week: int = 8
    starts_on: date | None = None


class Person(Entity, table=True):
    full_name: str = Field(max_length=120)
    email: str = Field(max_length=254, unique=True)
    teams: list["Team"] = Relationship(back_populates="members", link_model=TeamMember)
    projects: list["Project"] = Relationship(back_populates="people", link_model=ProjectAssignment)


class Team(Entity, table=True):
    name: str = Field(max_length=80, unique=True)
    members: list[Person] = Relationship(back_populates="teams", link_model=TeamMember)


class ClientAccount(Entity, table=True):
    name: str = Field(max_length=150, index=True)
    billing_email: str | None = Field(default=None, max_length=254)
    projects: list["Project"] = Relationship(back_populates="client")


class Project(Entity, table=True):
    client_id: int = Field(foreign_key="ClientAccount.id", index=True)
    lead_team_id: int | None = Field(default=None, foreign_key="Team.id")
    code: str = Field(max_length=12, unique=True)
    title: str = Field(max_length=200)
    client: ClientAccount = Relationship(back_populates="projects")
    people: list[Person] = Relationship(back_populates="projects", link_model=ProjectAssignment)
