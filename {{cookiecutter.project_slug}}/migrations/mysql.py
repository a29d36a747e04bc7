"""MySQL and MariaDB: how their migration runs are guarded and their models compared.

- One run at a time: GET_LOCK, a named lock held by the session. Its names are shared
  by the whole server, not kept per database, so the name carries the database
  too.
- Bounded waits, in whole seconds: metadata locks (`lock_wait_timeout`, what an ALTER
  waits for) and row locks (`innodb_lock_wait_timeout`). MariaDB also bounds every
  statement (`max_statement_time`); MySQL only bounds SELECTs (`max_execution_time`).
- utf8mb4: a database whose default character set is anything else is refused, before
  a table is made in it (tables take the database's default).
- UTC sessions, so CURRENT_TIMESTAMP defaults are UTC as the app's values are.
- Microseconds: a DateTime column is DATETIME(6) here, not DATETIME (whole seconds,
  which MySQL rounds and MariaDB truncates).
- A plain `str` (a String without a length) is VARCHAR(255), as SQLModel makes it:
  a VARCHAR needs a length here.

DDL is not transactional on these servers: each CREATE, ALTER or DROP commits by
itself, and commits what the transaction did before it. A failure lists the
statements of the failed revision that stayed applied (safety.applied_statements).
"""

from __future__ import annotations

import hashlib
{%- if cookiecutter.stack == "async" %}
import logging
{%- endif %}
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.util import CommandError
from sqlalchemy import text
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import GenericTypeCompiler, TypeCompiler
from sqlalchemy.types import DateTime, String

from .safety import server_lock
from .settings import MigrationLimits

# Error numbers: lock wait timeout (metadata and row locks alike), and a statement
# stopped by max_statement_time (MariaDB) or max_execution_time (MySQL).
_TIMEOUTS = {1205: "lock", 1969: "statement", 3024: "statement"}


def lock_name(project: str, database: str) -> str:
    """The GET_LOCK name of this project's migrations on one database (64 chars max)."""
    name = f"alembic:{project}:{database}"
    if len(name) > 64:
        name = "alembic:" + hashlib.sha256(name.encode()).hexdigest()[:40]
    return name


{% if cookiecutter.stack == "async" -%}
# asyncmy logs each note the server sends back as a warning ("Name 'pk_users' ignored
# for PRIMARY key", for every table created); PyMySQL keeps them to itself.
logging.getLogger("asyncmy").setLevel(logging.ERROR)

{% endif -%}
# Each DDL statement commits itself: a failure lists what stayed applied.
TRANSACTIONAL_DDL = False


def prepare_engine(engine: Engine) -> None:
    """Nothing to add: sessions are set up once the lock is held."""


@contextmanager
def one_run_at_a_time(
    connection: Connection, url: URL, project: str, limits: MigrationLimits
) -> Iterator[None]:
    """Hold the project's GET_LOCK, with the session's limits set, for the run."""
    name = lock_name(project, url.database or "")
    mariadb = getattr(connection.dialect, "is_mariadb", None)

    def take() -> bool:
        taken = connection.execute(text("SELECT GET_LOCK(:name, 0)"), {"name": name})
        return bool(taken.scalar())

    def release() -> None:
        connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": name})

    with server_lock(
        connection, take, release, session_settings(limits, mariadb), limits
    ):
        yield


def offline_statements(
    _project: str, limits: MigrationLimits
) -> tuple[list[str], list[str]]:
    """What a `--sql` script runs before the revisions. No GET_LOCK: a script cannot
    stop when it fails to take it. Nor a statement limit: its name depends on the
    server (MySQL or MariaDB), unknown offline."""
    return session_settings(limits, mariadb=None), []


def timeout_kind(exc: DBAPIError) -> str | None:
    """Which MIGRATION_*_TIMEOUT stopped a statement: "lock", "statement" or None."""
    args = getattr(exc.orig, "args", None)
    return _TIMEOUTS.get(args[0]) if args and isinstance(args[0], int) else None


def check_connection(connection: Connection) -> None:
    """Refuse, in one line, a database whose tables could not hold every character."""
    ours = not connection.in_transaction()  # a caller's transaction stays theirs
    charset, collation = connection.exec_driver_sql(
        "SELECT @@character_set_database, @@collation_database"
    ).one()
    if ours:
        connection.rollback()
    if charset != "utf8mb4":
        database = connection.engine.url.database
        raise CommandError(
            f"database {database} stores text as {charset} ({collation}), which cannot "
            "hold every character (emoji, some CJK); nothing was changed. Convert it "
            f"first: ALTER DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE "
            "utf8mb4_unicode_520_ci"
        )


def session_settings(limits: MigrationLimits, mariadb: bool | None) -> list[str]:
    """SET statements bounding a migration session's waits (mariadb None: unknown)."""
    # Both servers count these in whole seconds, at least 1: 500ms waits 1s.
    lock = max(1, math.ceil(limits.lock_timeout.seconds))
    statements = [
        "SET SESSION time_zone = '+00:00'",
        f"SET SESSION lock_wait_timeout = {lock}",
        f"SET SESSION innodb_lock_wait_timeout = {lock}",
    ]
    if mariadb:
        seconds = limits.statement_timeout.seconds
        statements.append(f"SET SESSION max_statement_time = {seconds:g}")
    elif mariadb is False:
        milliseconds = round(limits.statement_timeout.seconds * 1000)
        statements.append(f"SET SESSION max_execution_time = {milliseconds}")
    return statements


@compiles(DateTime, "mysql")
def _datetime_with_microseconds(
    type_: DateTime, compiler: TypeCompiler, **kw: Any
) -> str:
    # Only the generic DateTime: a column typed mysql.DATETIME(fsp=...) keeps its own.
    return "DATETIME(6)"


@compiles(String, "mysql")
def _string_as_sqlmodel_makes_it(
    type_: String, compiler: GenericTypeCompiler, **kw: Any
) -> str:
    # Only the generic String (what a revision holds for a plain `str`); VARCHAR,
    # Text and Unicode keep their own.
    if type_.length is None:
        type_ = String(255, collation=type_.collation)
    return compiler.visit_string(type_, **kw)


def cannot_store(_metadata: sa.MetaData) -> str | None:
    """A VARCHAR without a length is given one (above); the rest fails in CREATE."""
    return None


def compare_server_default(
    _context: MigrationContext,
    _inspected_column: Any,
    metadata_column: Any,
    inspected_default: str | None,
    _metadata_default: Any,
    rendered_metadata_default: str | None,
) -> bool | None:
    """Alembic's `compare_server_default`: the same default read back differently is
    no change. There are no identity columns here (AUTO_INCREMENT numbers rows), so
    a reflected key never shows the models' Identity()."""
    if metadata_column.identity is not None:
        return False
    model, found = rendered_metadata_default, inspected_default
    if model and found and _same_default(model) == _same_default(found):
        return False
    return None  # Alembic compares the rest


def _same_default(text: str) -> str:
    """A server default as the same text whichever way it was written or read:
    MariaDB reads back '{}' quoted, sa.true() as 1, and a DATETIME(6)'s
    CURRENT_TIMESTAMP as current_timestamp(6)."""
    from .autogenerate import normalize_default

    text = normalize_default(text)
    text = re.sub(r"^(current_timestamp|now)(\(\d*\))?$", "current_timestamp", text)
    return {"true": "1", "false": "0"}.get(text, text)


def compare_type(*_: Any) -> bool | None:
    """Alembic's own type comparison, with PLAIN_STRING for a plain `str`."""
    return None


# What a plain `str` (a String without a length) is here, as SQLModel makes it.
PLAIN_STRING: sa.String | None = sa.String(255)


def autogenerate_plugins() -> list[str]:
    """Alembic's own comparisons are all there is here."""
    return []
