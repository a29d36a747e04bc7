"""The application's engine: `Session(get_engine())` (migrations open their own)."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import event
{%- if cookiecutter.database == "mysql" %}
from sqlalchemy.engine import URL, Connection, Engine, ExceptionContext
from sqlalchemy.exc import IntegrityError
{%- else %}
from sqlalchemy.engine import URL, Connection, Engine
{%- endif %}
from sqlmodel import create_engine

from .settings import database_url


def create_db_engine(url: URL | None = None, **kwargs: Any) -> Engine:
    """An engine for `url` (default: DATABASE_URL) that behaves alike everywhere."""
    url = database_url() if url is None else url
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
{%- if cookiecutter.database == "mysql" %}
    elif engine.dialect.name == "mysql":
        event.listen(engine, "connect", _mysql_connect)
        event.listen(engine, "handle_error", _mysql_check_failed, retval=True)
{%- endif %}
    return engine
{%- if cookiecutter.database == "mysql" %}


def _mysql_connect(dbapi_connection: Any, _record: Any) -> None:
    # DATETIME holds no time zone: the app writes UTC (sqlmodel converts), and
    # CURRENT_TIMESTAMP defaults must be UTC too, whatever the server's zone is.
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET time_zone = '+00:00'")


# A failed CHECK constraint: MariaDB's and MySQL's error numbers. PyMySQL calls it an
# OperationalError (what a lost server is); it is an IntegrityError everywhere else.
_CHECK_FAILED = {4025, 3819}


def _mysql_check_failed(context: ExceptionContext) -> IntegrityError | None:
    orig = context.original_exception
    if getattr(orig, "args", None) and orig.args[0] in _CHECK_FAILED:
        return IntegrityError(context.statement, context.parameters, orig)
    return None
{%- endif %}


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # The same cascades as on PostgreSQL: SQLite enforces foreign keys only when each
    # connection asks. And SQLAlchemy's recipe for real transactions (SAVEPOINTs work):
    # sqlite3 stops managing them and BEGIN comes from _sqlite_begin.
    dbapi_connection.execute("PRAGMA foreign_keys=ON")
    dbapi_connection.isolation_level = None


def _sqlite_begin(connection: Connection) -> None:
    if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
        connection.exec_driver_sql("BEGIN")


@cache
def get_engine() -> Engine:
    """The process-wide engine, created on first use."""
    return create_db_engine()
