"""Drive a baked project's migrations for tests/test_your_models.py, in one process.

Run inside the project: python driver.py PHASE AUTHOR_URL OTHER_URL
- seed: one row in every table of the models, on AUTHOR_URL (already migrated).
- initial: empty both databases; autogenerate the first revision against AUTHOR_URL;
  on each database: upgrade, check, downgrade base (nothing but alembic_version
  and alembic_phases left), upgrade, check; then one row in every table.
- evolve: autogenerate the next revision against AUTHOR_URL (the models changed); on
  each database, rows present: upgrade, check, downgrade -1, upgrade, check.
Everything goes through the project's alembic.ini and env.py (Alembic's command API),
so a failure is the project's own.
"""

import datetime
import decimal
import enum
import sys
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.dialects import postgresql

PROJECT = Path.cwd()
sys.path.insert(0, str(PROJECT))  # the project's package, as alembic.ini's prepend_sys_path


def engine(url: str) -> sa.Engine:
    """An engine on `url`, read as the project reads DATABASE_URL (psycopg2 for PG)."""
    settings = __import__("migrations.settings", fromlist=["parse_database_url"])
    return sa.create_engine(settings.parse_database_url(url), poolclass=sa.pool.NullPool)


def config(url: str) -> Config:
    settings = Config(str(PROJECT / "alembic.ini"))
    settings.attributes["configure_logger"] = False
    settings.attributes["connection"] = engine(url)
    return settings


def tables(url: str) -> set[str]:
    database = engine(url)
    try:
        return set(sa.inspect(database).get_table_names())
    finally:
        database.dispose()


def empty(url: str) -> None:
    database = engine(url)
    with database.begin() as connection:
        metadata = sa.MetaData()
        metadata.reflect(connection)
        metadata.drop_all(connection)
        inspector = sa.inspect(connection)
        if isinstance(inspector, postgresql.base.PGInspector):
            for found in inspector.get_enums():
                connection.exec_driver_sql(f'DROP TYPE "{found["name"]}"')
    database.dispose()


def value_for(column: sa.Column[Any], keys: dict[str, Any]) -> Any:
    """A plausible value for one column (foreign keys point at the rows made before)."""
    for foreign_key in column.foreign_keys:
        target = foreign_key.column
        if target.table.name == column.table.name:
            return None  # self-reference: a top-level row
        return keys[f"{target.table.name}.{target.name}"]
    type_ = column.type
    if isinstance(type_, sa.types.TypeDecorator):
        type_ = type_.impl_instance
    if isinstance(type_, sa.Enum):
        return type_.enums[0]
    python_type: Any
    try:
        python_type = type_.python_type
    except NotImplementedError:
        python_type = str
    samples = {
        int: 1,
        str: "x",
        bool: True,
        decimal.Decimal: decimal.Decimal("1.50"),
        datetime.date: datetime.date(2026, 1, 2),
        datetime.datetime: datetime.datetime(2026, 1, 2, 3, 4, tzinfo=datetime.UTC),
        uuid.UUID: uuid.uuid4(),
        dict: {"k": "v"},
        list: ["a"],
    }
    if isinstance(python_type, type) and issubclass(python_type, enum.Enum):
        return next(iter(python_type)).value
    return samples.get(python_type, "x")


def seed(url: str, metadata: sa.MetaData) -> None:
    """One row in every table, parents first."""
    database = engine(url)
    keys: dict[str, Any] = {}
    with database.begin() as connection:
        for table in metadata.sorted_tables:
            row = {
                column.name: value_for(column, keys)
                for column in table.columns
                # Integer keys of their own are numbered by the database.
                if not (
                    column.primary_key
                    and isinstance(column.type, sa.Integer)
                    and not column.foreign_keys
                )
            }
            inserted = connection.execute(table.insert().values(row))
            pairs = zip(table.primary_key.columns, inserted.inserted_primary_key, strict=True)
            for column, key in pairs:
                keys[f"{table.name}.{column.name}"] = key
    database.dispose()


def round_trip(url: str, step: str) -> None:
    settings = config(url)
    command.upgrade(settings, "head")
    command.check(settings)
    command.downgrade(settings, step)
    if step == "base":
        left = tables(url)
        bookkeeping = {"alembic_version", "alembic_phases"}
        assert left == bookkeeping, f"downgrade base left {sorted(left)}"
    command.upgrade(settings, "head")
    command.check(settings)


def main(phase: str, author: str, other: str = "") -> None:
    from sqlmodel import SQLModel

    package = next(p.parent.parent.name for p in PROJECT.glob("*/models/__init__.py"))
    __import__(f"{package}.models")
    if phase == "seed":  # one row in every table of the models, on AUTHOR_URL
        seed(author, SQLModel.metadata)
        print("ok")
        return
    if phase == "initial":
        for url in (author, other):
            empty(url)
        command.revision(config(author), message="initial", autogenerate=True)
    else:
        command.revision(config(author), message="evolve", autogenerate=True)
    for url in (author, other):
        round_trip(url, "base" if phase == "initial" else "-1")
        if phase == "initial":
            seed(url, SQLModel.metadata)
    print("ok")


if __name__ == "__main__":
    main(*sys.argv[1:])
