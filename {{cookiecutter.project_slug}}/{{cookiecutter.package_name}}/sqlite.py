"""SQLite made to behave like PostgreSQL where this project relies on it.

Python's sqlite3 module opens a transaction only before the first write and runs DDL
outside any: SAVEPOINTs misbehave and a failed migration cannot be rolled back. The
fix is SQLAlchemy's documented recipe: sqlite3 keeps its hands off (isolation_level
None) and SQLAlchemy emits BEGIN itself.
"""

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine


def use_real_transactions(engine: Engine, *, foreign_keys: bool) -> None:
    """Give a SQLite engine real transactions, and foreign keys on or off."""
    pragma = f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}"

    def connect(dbapi_connection: Any, _record: Any) -> None:
        # The pragma only works outside a transaction, hence here, at connect time.
        dbapi_connection.execute(pragma)
        dbapi_connection.isolation_level = None

    event.listen(engine, "connect", connect)
    event.listen(engine, "begin", _begin)


def _begin(connection: Connection) -> None:
    # SQLAlchemy fires "begin" in AUTOCOMMIT mode too (an Alembic autocommit_block);
    # there each statement must commit on its own.
    if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
        connection.exec_driver_sql("BEGIN")
