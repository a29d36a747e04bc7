{%- if cookiecutter.stack == "async" -%}
"""The application's engine: `AsyncSession(get_engine(), expire_on_commit=False)`
(migrations open their own; without that option, reading a row after a commit is I/O
an AsyncSession refuses outside an await).

Work that reads and then writes takes `AsyncSession(writing(get_engine()))`: on SQLite
its transaction then holds the database's one write lock from its start, so no other
writer can make it fail halfway. The engine's connections belong to the event loop
that opened them: one engine per loop (a script's asyncio.run, a test session's loop).
"""
{%- else -%}
"""The application's engine: `Session(get_engine())` (migrations open their own).

{%- if cookiecutter.include_api == "y" %}
Work that reads and then writes takes `Session(writing(get_engine()))`, as the API's
requests that change rows do: on SQLite its transaction then holds the database's
one write lock from its start, so no other writer can make it fail halfway.
{%- else %}
Work that reads and then writes takes `Session(writing(get_engine()))`: on SQLite its
transaction then holds the database's one write lock from its start, so no other
writer can make it fail halfway.
{%- endif %}
"""
{%- endif %}

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import event
{%- set engine_import = "" if cookiecutter.stack == "async" else ", Engine" %}
{%- set events_on = "sync_engine" if cookiecutter.stack == "async" else "engine" %}
{%- if cookiecutter.database == "mysql" %}
from sqlalchemy.engine import URL, Connection{{ engine_import }}, ExceptionContext
from sqlalchemy.exc import IntegrityError
{%- elif cookiecutter.stack == "async" %}
from sqlalchemy.engine import URL, Connection, Dialect, ExceptionContext
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
{%- else %}
from sqlalchemy.engine import URL, Connection, Engine
{%- endif %}
{%- if cookiecutter.stack == "async" %}
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
{%- else %}
from sqlmodel import create_engine
{%- endif %}

from .settings import database_url

# How long a connection waits for SQLite's write lock before giving up ("database is
# locked"{% if cookiecutter.include_api == "y" %}, a 503 from the API{% endif %}): writes queue for it one at a time.
SQLITE_BUSY_TIMEOUT_MS = 5000
# An execution option of writing(): the transaction will write.
_WRITES = "writes"


{%- if cookiecutter.stack == "async" %}


def create_db_engine(url: URL | None = None, **kwargs: Any) -> AsyncEngine:
    """An engine for `url` (default: DATABASE_URL) that behaves alike everywhere."""
    url = database_url() if url is None else url
    engine = create_async_engine(url, **kwargs)
    # Events belong to the sync engine the async one drives.
    sync_engine = engine.sync_engine
{%- else %}


def create_db_engine(url: URL | None = None, **kwargs: Any) -> Engine:
    """An engine for `url` (default: DATABASE_URL) that behaves alike everywhere."""
    url = database_url() if url is None else url
    engine = create_engine(url, **kwargs)
{%- endif %}
{%- if cookiecutter.stack == "async" and cookiecutter.database != "mysql" %}
    if engine.dialect.name == "postgresql":
        event.listen(sync_engine, "do_connect", _asyncpg_connect)
        event.listen(sync_engine, "handle_error", _asyncpg_error, retval=True)
{%- endif %}
    if engine.dialect.name == "sqlite":
        event.listen({{ events_on }}, "connect", _sqlite_connect)
        event.listen({{ events_on }}, "begin", _sqlite_begin)
{%- if cookiecutter.database == "mysql" %}
    elif engine.dialect.name == "mysql":
        event.listen({{ events_on }}, "connect", _mysql_connect)
        event.listen({{ events_on }}, "handle_error", _mysql_check_failed, retval=True)
{%- endif %}
    return engine
{%- if cookiecutter.database == "mysql" %}


def _mysql_connect(dbapi_connection: Any, _record: Any) -> None:
    # DATETIME holds no time zone: the app writes UTC (sqlmodel converts), and
    # CURRENT_TIMESTAMP defaults must be UTC too, whatever the server's zone is.
    cursor = dbapi_connection.cursor()
    cursor.execute("SET time_zone = '+00:00'")
    cursor.close()


# A failed CHECK constraint: MariaDB's and MySQL's error numbers. The driver calls it
# an OperationalError (what a lost server is); it is an IntegrityError everywhere else.
_CHECK_FAILED = {4025, 3819}


def _mysql_check_failed(context: ExceptionContext) -> IntegrityError | None:
    orig = context.original_exception
    if getattr(orig, "args", None) and orig.args[0] in _CHECK_FAILED:
        return IntegrityError(context.statement, context.parameters, orig)
    return None
{%- endif %}


{%- if cookiecutter.stack == "async" and cookiecutter.database != "mysql" %}


def _asyncpg_connect(
    dialect: Dialect, _record: Any, cargs: tuple[Any, ...], cparams: dict[str, Any]
) -> Any:
    # asyncpg raises OSError when the server cannot be reached, where psycopg2 and
    # the other drivers raise their OperationalError: made the same{% if cookiecutter.include_api == "y" %}, so the API
    # answers 503 "the database is unavailable" for it too{% endif %}.
    try:
        return dialect.connect(*cargs, **cparams)
    except OSError as exc:
        raise dialect.loaded_dbapi.OperationalError(type(exc).__name__) from exc


# What a SQLSTATE's class means, as psycopg2 tells it by exception class; asyncpg's
# errors reach SQLAlchemy as a plain DBAPIError whatever their SQLSTATE.
_SQLSTATE_CLASSES: dict[str, type[DBAPIError]] = {
    "08": OperationalError,  # connection
    "22": DataError,  # a value the column cannot hold
    "40": OperationalError,  # rolled back: deadlock, serialization failure
    "53": OperationalError,  # insufficient resources
    "57": OperationalError,  # operator intervention (shutdown, statement timeout)
}


def _asyncpg_error(context: ExceptionContext) -> DBAPIError | None:
    code = str(getattr(context.original_exception, "sqlstate", None) or "")
    kind = _SQLSTATE_CLASSES.get(code[:2])
    if kind is None or isinstance(context.sqlalchemy_exception, kind):
        return None
    return kind(context.statement, context.parameters, context.original_exception)
{%- endif %}


def writing(engine: {{ "AsyncEngine" if cookiecutter.stack == "async" else "Engine" }}) -> {{ "AsyncEngine" if cookiecutter.stack == "async" else "Engine" }}:
    """`engine` for transactions that write (on SQLite; elsewhere it changes nothing).

    SQLite begins them with BEGIN IMMEDIATE: a transaction that read first and then
    tried to write would fail ("database is locked") when another connection wrote
    meanwhile, whatever the busy timeout; holding the write lock from the start, it
    waits its turn once, at BEGIN. Read-only work keeps a plain BEGIN, and in WAL
    mode never waits for writers.
    """
    return engine.execution_options(**{_WRITES: True})


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # The same cascades as on PostgreSQL: SQLite enforces foreign keys only when each
    # connection asks. And SQLAlchemy's recipe for real transactions (SAVEPOINTs work):
    # sqlite3 stops managing them and BEGIN comes from _sqlite_begin.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # Concurrent work: a writer waits for the write lock instead of failing, and
    # with the WAL journal (the file stays in WAL mode; -wal and -shm files beside it)
    # readers and the writer never wait for each other.
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()
    dbapi_connection.isolation_level = None


def _sqlite_begin(connection: Connection) -> None:
    options = connection.get_execution_options()
    if options.get("isolation_level") != "AUTOCOMMIT":
        immediate = " IMMEDIATE" if options.get(_WRITES) else ""
        connection.exec_driver_sql(f"BEGIN{immediate}")


@cache
def get_engine() -> {{ "AsyncEngine" if cookiecutter.stack == "async" else "Engine" }}:
    """The process-wide engine, created on first use."""
    return create_db_engine()
