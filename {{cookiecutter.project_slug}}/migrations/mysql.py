"""MySQL and MariaDB: what their migrations need that PostgreSQL gives for free.

- One run at a time: GET_LOCK, a named lock held by the session. Its names are shared
  by the whole server (PostgreSQL's advisory keys are per database), so the name
  carries the database too.
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
itself, and commits what the transaction did before it. safety.py reports which
statements of a failed revision stayed applied.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

from alembic.util import CommandError
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import GenericTypeCompiler, TypeCompiler
from sqlalchemy.types import DateTime, String

from .limits import MigrationLimits

# MySQL and MariaDB error numbers: lock wait timeout (metadata and row locks alike),
# and a statement stopped by max_statement_time (MariaDB) or max_execution_time.
LOCK_WAIT_TIMEOUT = 1205
STATEMENT_TIMEOUTS = {1969, 3024}
# Statements after which the server has committed everything so far.
_COMMITS_ITSELF = ("alter", "create", "drop", "rename", "truncate")


def lock_name(project: str, database: str) -> str:
    """The GET_LOCK name of this project's migrations on one database (64 chars max)."""
    name = f"alembic:{project}:{database}"
    if len(name) > 64:
        name = "alembic:" + hashlib.sha256(name.encode()).hexdigest()[:40]
    return name


def try_lock(connection: Connection, name: str) -> bool:
    """Take the named lock if it is free; never waits (safety.wait_for polls)."""
    taken = connection.execute(text("SELECT GET_LOCK(:name, 0)"), {"name": name})
    return bool(taken.scalar())


def unlock(connection: Connection, name: str) -> None:
    """Release the named lock (closing the session would too)."""
    connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": name})


def require_utf8mb4(connection: Connection) -> None:
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


def applied_statements(ran: list[str]) -> list[str]:
    """Of the statements a failed revision ran, those the server has committed.

    Each DDL statement commits itself and everything before it; what ran after the
    last one was rolled back with the revision's transaction.
    """
    ddl = [i for i, sql in enumerate(ran) if _commits_itself(sql)]
    return ran[: ddl[-1] + 1] if ddl else []


def _commits_itself(sql: str) -> bool:
    return sql.lstrip().lower().startswith(_COMMITS_ITSELF)


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
