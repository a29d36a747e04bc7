"""The application's engine and sessions (migrations open their own connection)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Engine
from sqlmodel import Session, create_engine

from .settings import database_url


def create_db_engine(url: URL | None = None, **kwargs: Any) -> Engine:
    """An engine for `url` (default: DATABASE_URL) that behaves alike everywhere."""
    url = database_url() if url is None else url
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _configure_sqlite_connection)
        event.listen(engine, "begin", _begin_sqlite_transaction)
    return engine


@cache
def get_engine() -> Engine:
    """The process-wide engine, created on first use."""
    return create_db_engine()


def get_session() -> Iterator[Session]:
    """Yield a session bound to the process-wide engine (a FastAPI-style dependency)."""
    with Session(get_engine()) as session:
        yield session


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # SQLite ignores ON DELETE CASCADE unless each connection asks for it; the app
    # wants the same cascades as on PostgreSQL. Migrations must not have it (env.py).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
    # Python's sqlite3 delays BEGIN until the first write, which breaks SAVEPOINTs and
    # rollbacks of reads-then-writes; SQLAlchemy's documented fix is to emit BEGIN
    # ourselves (below) so transactions behave as on PostgreSQL.
    dbapi_connection.isolation_level = None


def _begin_sqlite_transaction(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN")
