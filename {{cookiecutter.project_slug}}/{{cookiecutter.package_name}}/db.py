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
    """Build an engine for `url` (default: DATABASE_URL) that behaves alike everywhere."""
    url = database_url() if url is None else url
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _enforce_foreign_keys)
    return engine


@cache
def get_engine() -> Engine:
    """The process-wide engine, created on first use."""
    return create_db_engine()


def get_session() -> Iterator[Session]:
    """Yield a session bound to the process-wide engine (a FastAPI-style dependency)."""
    with Session(get_engine()) as session:
        yield session


def _enforce_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    # SQLite ignores ON DELETE CASCADE unless each connection asks for it; the app
    # wants the same cascades as on PostgreSQL. Migrations must not have it (see env.py).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
