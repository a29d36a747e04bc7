"""Fixtures: a throwaway database, migrated by Alembic itself (never `create_all`).

Tests use TEST_DATABASE_URL when it is set and a temporary SQLite file otherwise; they
never read DATABASE_URL, so a developer's database is safe. Every table in the
TEST_DATABASE_URL database is dropped by these tests: point it at a database of its own.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, create_engine, inspect, pool
from sqlalchemy.engine import URL, Connection, Engine
from sqlmodel import Session

from {{ cookiecutter.package_name }}.db import create_db_engine
from {{ cookiecutter.package_name }}.settings import (
    parse_database_url,
)

# pytest-alembic's fixtures, without its test collector (see pyproject.toml).
pytest_plugins = ["pytest_alembic.plugin.fixtures"]

ALEMBIC_INI = Path(__file__).resolve().parent.parent / "alembic.ini"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> URL:
    """TEST_DATABASE_URL, or a SQLite file that lives as long as the session."""
    raw = os.environ.get("TEST_DATABASE_URL", "").strip()
    if raw:
        return parse_database_url(raw, "TEST_DATABASE_URL")
    return URL.create("sqlite", database=str(tmp_path_factory.mktemp("db") / "test.db"))


def make_alembic_config(connection: Connection | Engine | None = None) -> Config:
    """An Alembic config that runs env.py on `connection` instead of DATABASE_URL."""
    config = Config(str(ALEMBIC_INI))
    if connection is not None:
        config.attributes["connection"] = connection
    config.attributes["configure_logger"] = False  # keep pytest's log capture
    return config


def drop_everything(engine: Engine) -> None:
    """Empty the database: every table (alembic_version too) and PostgreSQL enum."""
    with engine.begin() as connection:
        metadata = MetaData()
        metadata.reflect(connection)
        metadata.drop_all(connection)
        if connection.dialect.name == "postgresql":
            for enum in inspect(connection).get_enums():
                connection.exec_driver_sql(f'DROP TYPE IF EXISTS "{enum["name"]}"')


@pytest.fixture(scope="session")
def migrated_engine(database_url: URL) -> Iterator[Engine]:
    """The app's engine on a database upgraded to head once for the whole session."""
    migrations = create_engine(database_url, poolclass=pool.NullPool)
    drop_everything(migrations)
    command.upgrade(make_alembic_config(migrations), "head")
    engine = create_db_engine(database_url)
    yield engine
    engine.dispose()
    drop_everything(migrations)
    migrations.dispose()


@pytest.fixture
def session(migrated_engine: Engine) -> Iterator[Session]:
    """A session whose work, commits included, is rolled back after the test."""
    with migrated_engine.connect() as connection:
        transaction = connection.begin()
        with Session(bind=connection, join_transaction_mode="create_savepoint") as db:
            yield db
        transaction.rollback()


# pytest-alembic reads the two fixtures below.
@pytest.fixture
def alembic_config() -> Config:
    """The project's alembic.ini; pytest-alembic hands env.py the engine below."""
    return make_alembic_config()


@pytest.fixture
def alembic_engine(database_url: URL, tmp_path: Path) -> Iterator[Engine]:
    """An engine on an empty database, for the migration tests."""
    shared = database_url.get_backend_name() != "sqlite"
    url = database_url if shared else database_url.set(database=str(tmp_path / "m.db"))
    engine = create_engine(url, poolclass=pool.NullPool)
    drop_everything(engine)
    yield engine
    drop_everything(engine)
    if shared:
        # The model tests share this database: leave it migrated, as they expect.
        command.upgrade(make_alembic_config(engine), "head")
    engine.dispose()
