"""SQLite: how its migration runs are guarded and its models compared.

- Real transactions for DDL. Python's sqlite3 module opens a transaction only before
  the first write and runs DDL outside any, so a failed migration could not be
  rolled back. SQLAlchemy's documented recipe fixes that: sqlite3 keeps its hands
  off (isolation_level None) and SQLAlchemy emits BEGIN itself. BEGIN IMMEDIATE:
  each revision takes the write lock as it starts, waiting for the app's writes up
  to MIGRATION_LOCK_TIMEOUT (a deferred BEGIN would fail at once on the first write
  that meets another writer).
- Foreign keys off: batch mode rebuilds a table by copying it and dropping the
  original, and with them on SQLite cascades that DROP into every child row.
- One run at a time: a lock of the database file, so two runs do not both read the
  same version and fail on each other's work ("database is locked").
- Autogenerate: a type SQLite reads back by its affinity (UUID as NUMERIC), or an
  enum kept as a plain string, is no change; a column SQLite cannot store is refused
  before anything is written.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.util import CommandError
from sqlalchemy import event
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import CompileError, DBAPIError
from sqlalchemy.schema import DefaultClause

from .safety import wait_for
from .settings import MigrationLimits

# With prepare_engine's recipe, DDL runs in the revision's transaction too.
TRANSACTIONAL_DDL = True


def prepare_engine(engine: Engine) -> None:
    """Give a migration engine real transactions, foreign keys off."""
    event.listen(engine, "connect", _connect)
    event.listen(engine, "begin", _begin)


def _connect(dbapi_connection: Any, _record: Any) -> None:
    # The pragma only works outside a transaction, hence here, at connect time.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=OFF")
    cursor.close()
    dbapi_connection.isolation_level = None


def _begin(connection: Connection) -> None:
    # SQLAlchemy fires "begin" in AUTOCOMMIT mode too (an Alembic autocommit_block);
    # there each statement must commit on its own.
    if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def check_connection(connection: Connection) -> None:
    """Refuse a connection with foreign keys enforced (a caller's, from code)."""
    # Only read, never set: the connection (and its pool) is the caller's.
    began = not connection.in_transaction()
    enabled = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
    if began:
        connection.rollback()  # leave no transaction open: Alembic manages its own
    if enabled:
        raise CommandError(
            "SQLite foreign keys are ON on the connection given to Alembic, so a batch "
            "migration would cascade-delete child rows; hand it a connection without "
            "PRAGMA foreign_keys=ON"
        )


@contextmanager
def one_run_at_a_time(
    connection: Connection, url: URL, _project: str, limits: MigrationLimits
) -> Iterator[None]:
    """Queue migration runs on the database file, as a server's lock would."""
    # How long a statement waits for another connection's lock: the lock timeout.
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(f"PRAGMA busy_timeout = {round(limits.lock_timeout.seconds * 1000)}")
    cursor.close()
    database = url.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file:")
    if os.name != "posix" or in_memory:
        yield
        return
    import fcntl

    # flock() locks live apart from the fcntl() locks SQLite takes itself: they queue
    # whole runs and leave SQLite's own locking alone. Opening creates an empty file,
    # which SQLite reads as an empty database.
    with open(database, "ab") as handle:

        def take() -> bool:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

        wait_for(take, limits)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def offline_statements(
    _project: str, _limits: MigrationLimits
) -> tuple[list[str], list[str]]:
    """A `--sql` script for SQLite has neither locks nor time limits to set."""
    return [], []


def timeout_kind(exc: DBAPIError) -> str | None:
    """A lock when SQLite's busy timeout ran out; it has no statement timeout."""
    busy = getattr(exc.orig, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY
    return "lock" if busy else None


def cannot_store(metadata: sa.MetaData) -> str | None:
    """The first model column of a type SQLite cannot store (ARRAY, JSONB...), or with
    a server default it cannot compute (gen_random_uuid(), now()...)."""
    scratch = sqlite3.connect(":memory:")
    try:
        for table in metadata.tables.values():
            for column in table.columns:
                if problem := _problem(column, scratch):
                    return f"column {table.name}.{column.name} {problem}"
    finally:
        scratch.close()
    return None


def _problem(column: sa.Column[Any], scratch: sqlite3.Connection) -> str | None:
    from .autogenerate import default_text

    dialect = sqlite_dialect()
    try:
        column.type.compile(dialect=dialect)
    except (CompileError, NotImplementedError):
        return f"is {type(column.type).__name__.upper()}, a type SQLite cannot store"
    default = column.server_default
    if not isinstance(default, DefaultClause) or isinstance(default.arg, str):
        return None  # none, or a plain value (written as a quoted literal)
    try:
        # SQLite takes any default in CREATE TABLE and fails on the first INSERT
        # that needs it: have it compute this one now.
        scratch.execute(f"SELECT {default_text(default, dialect)}")
    except (CompileError, sqlite3.Error) as exc:
        reason = str(exc).splitlines()[0]
        return f"has a server default SQLite cannot compute ({reason})"
    return None


def compare_server_default(
    _context: MigrationContext, _inspected: Any, metadata_column: Any, *_: Any
) -> bool | None:
    """An INTEGER PRIMARY KEY numbers rows here, so a reflected key never shows the
    models' Identity(): that is no change."""
    return False if metadata_column.identity is not None else None


def compare_type(
    context: MigrationContext, inspected_type: Any, model_type: Any
) -> bool | None:
    """What SQLite reads back for the model's type is no change."""
    if isinstance(model_type, sa.Enum):
        # An enum is a plain string here: no type, no values to compare (they are
        # compared on PostgreSQL, by alembic-postgresql-enum).
        return False if isinstance(inspected_type, sa.String) else None
    dialect = context.dialect
    compiled = model_type.compile(dialect=dialect)
    readback = dialect._resolve_type_affinity(compiled)  # type: ignore[attr-defined]
    return False if repr(readback) == repr(inspected_type) else None


# A plain `str` stays a VARCHAR without a length here.
PLAIN_STRING: sa.String | None = None


def autogenerate_plugins() -> list[str]:
    """Alembic's own comparisons are all there is here."""
    return []
