"""SQLite connections fit for migrations: real transactions for DDL, foreign keys off.

Python's sqlite3 module opens a transaction only before the first write and runs DDL
outside any, so a failed migration could not be rolled back. SQLAlchemy's documented
recipe fixes that: sqlite3 keeps its hands off (isolation_level None) and SQLAlchemy
emits BEGIN itself. Foreign keys stay off: batch mode rebuilds a table by copying it
and dropping the original, and with them on SQLite cascades that DROP into every
child row.
"""

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine


def make_transactional(engine: Engine) -> None:
    """Give a SQLite migration engine real transactions, foreign keys off."""
    event.listen(engine, "connect", _connect)
    event.listen(engine, "begin", _begin)


def _connect(dbapi_connection: Any, _record: Any) -> None:
    # The pragma only works outside a transaction, hence here, at connect time.
    dbapi_connection.execute("PRAGMA foreign_keys=OFF")
    dbapi_connection.isolation_level = None


def _begin(connection: Connection) -> None:
    # SQLAlchemy fires "begin" in AUTOCOMMIT mode too (an Alembic autocommit_block);
    # there each statement must commit on its own.
    if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
        connection.exec_driver_sql("BEGIN")
