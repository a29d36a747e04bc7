"""The application's engine and sessions (migrations open their own connection)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

from sqlalchemy.engine import URL, Engine
from sqlmodel import Session, create_engine

from .settings import database_url
from .sqlite import use_real_transactions


def create_db_engine(url: URL | None = None, **kwargs: Any) -> Engine:
    """An engine for `url` (default: DATABASE_URL) that behaves alike everywhere."""
    url = database_url() if url is None else url
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        # The same cascades as on PostgreSQL: SQLite enforces foreign keys only when
        # each connection asks. (Migrations must not: see migration_safety.)
        use_real_transactions(engine, foreign_keys=True)
    return engine


@cache
def get_engine() -> Engine:
    """The process-wide engine, created on first use."""
    return create_db_engine()


def get_session() -> Iterator[Session]:
    """Yield a session bound to the process-wide engine (a FastAPI-style dependency)."""
    with Session(get_engine()) as session:
        yield session
