"""What keeps `alembic upgrade` safe on a live database.

One run at a time (replicas that start together queue on a lock the server holds for
the session: a PostgreSQL advisory lock, MySQL's GET_LOCK, or a lock of the SQLite
file), bounded waits for table locks and statements, transactional DDL on SQLite too,
and a failure that names the revision step that failed and, where DDL cannot be rolled
back (MySQL), the statements that stayed applied. Imports neither the models nor
sqlmodel: the deploy path loads it on every start.
"""

from __future__ import annotations

import logging
import os
import re
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from alembic.util import CommandError
from sqlalchemy import create_engine, event, pool
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import CompileError, DBAPIError

from . import mysql
from .limits import MigrationLimits
from .sqlite import make_transactional

log = logging.getLogger("alembic.env")

# Every replica of this project computes the same key, so their runs exclude each other;
# other projects on the same server get keys of their own.
PROJECT = "{{ cookiecutter.package_name }}"
ADVISORY_LOCK_KEY = zlib.crc32(f"{PROJECT}:alembic upgrade".encode())
LOCK = f"SELECT pg_advisory_lock({ADVISORY_LOCK_KEY})"
TRY_LOCK = f"SELECT pg_try_advisory_lock({ADVISORY_LOCK_KEY})"
UNLOCK = f"SELECT pg_advisory_unlock({ADVISORY_LOCK_KEY})"
_POLL_SECONDS = 0.5
# PostgreSQL error codes: lock_not_available (lock_timeout), query_canceled.
_LOCK_TIMEOUT, _STATEMENT_TIMEOUT = "55P03", "57014"


def migration_engine(url: URL) -> Engine:
    """An engine for migrations; on SQLite its transactions cover DDL too."""
    engine = create_engine(url, poolclass=pool.NullPool)
    if engine.dialect.name == "sqlite":
        # A failed migration rolls back whole, as on PostgreSQL (see sqlite.py).
        make_transactional(engine)
    return engine


def ensure_sqlite_foreign_keys_off(connection: Connection) -> None:
    """Refuse to migrate SQLite with foreign keys enforced (see migration_engine)."""
    # Only read, never set: the connection (and the pool it returns to) is the
    # caller's, and its foreign keys must be as the caller left them.
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


def session_settings(limits: MigrationLimits) -> list[str]:
    """SET statements bounding every wait of a PostgreSQL migration session."""
    return [
        f"SET lock_timeout = '{limits.lock_timeout.text}'",
        f"SET statement_timeout = '{limits.statement_timeout.text}'",
    ]


@contextmanager
def one_run_at_a_time(
    connection: Connection, limits: MigrationLimits
) -> Iterator[None]:
    """Hold this project's server-side lock for the whole run (PostgreSQL, MySQL)."""
    # A session-level lock survives the commit after each revision, unlike a
    # transaction-level one; the replica that waits then finds nothing left to do.
    dialect = connection.dialect
    if dialect.name == "mysql":
        name = mysql.lock_name(PROJECT, connection.engine.url.database or "")
        settings = mysql.session_settings(limits, getattr(dialect, "is_mariadb", None))

        def take() -> bool:
            return mysql.try_lock(connection, name)

        def release() -> None:
            mysql.unlock(connection, name)

    else:
        settings = session_settings(limits)

        def take() -> bool:
            return bool(connection.exec_driver_sql(TRY_LOCK).scalar())

        def release() -> None:
            connection.exec_driver_sql(UNLOCK)

    wait_for(lambda: _committed(connection, take), limits)
    try:
        try:
            for statement in settings:
                connection.exec_driver_sql(statement)
        except DBAPIError as exc:
            reason = str(exc.orig or exc).strip().splitlines()[0]
            raise CommandError(
                f"the server refused a MIGRATION_*_TIMEOUT value: {reason}; nothing "
                "was changed"
            ) from None
        connection.commit()  # Alembic must find the connection outside a transaction
        yield
    finally:
        try:
            connection.rollback()
            release()
            connection.commit()
        except DBAPIError:
            pass  # the connection is gone, and the session's lock with it


def _committed(connection: Connection, take: Callable[[], bool]) -> bool:
    # Each attempt ends its transaction: a waiting replica holds no snapshot open.
    taken = take()
    connection.commit()
    return taken


@contextmanager
def one_sqlite_run_at_a_time(url: URL, limits: MigrationLimits) -> Iterator[None]:
    """Queue migration runs on one SQLite file, as the advisory lock does on PostgreSQL.

    Without it, two runs read the same version and the second fails on the first's
    work ("database is locked", "table already exists"), though no revision is wrong.
    """
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

        def try_lock() -> bool:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

        wait_for(try_lock, limits)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def wait_for(try_lock: Callable[[], bool], limits: MigrationLimits) -> None:
    """Take a lock another migration run may hold, within MIGRATION_WAIT_TIMEOUT."""
    deadline = time.monotonic() + limits.wait_timeout.seconds
    waiting = False
    while not try_lock():
        if time.monotonic() >= deadline:
            raise CommandError(
                "another migration run still holds the lock after MIGRATION_WAIT_"
                f"TIMEOUT={limits.wait_timeout.text}; nothing was changed"
            )
        if not waiting:
            log.info("Waiting for another migration run to finish ...")
            waiting = True
        time.sleep(_POLL_SECONDS)


class StepRecorder(logging.Handler):
    """Remembers the revision step Alembic announced last ("upgrade a -> b, msg"), and
    the statements that step ran, for a failure to report."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.step: str | None = None
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Running "):
            self.step = message.removeprefix("Running ")
            self.statements = []

    def _executed(self, _conn: Connection, _cursor: Any, sql: str, *_: Any) -> None:
        self.statements.append(sql)

    @contextmanager
    def watching(self, connection: Connection) -> Iterator[StepRecorder]:
        """Record Alembic's step announcements, and what `connection` ran, for a run."""
        # Alembic announces each step on this logger before running it; it is the
        # only place that says which revision a failure belongs to.
        logger = logging.getLogger("alembic.runtime.migration")
        previous = logger.level
        if not logger.isEnabledFor(logging.INFO):
            logger.setLevel(logging.INFO)
        logger.addHandler(self)
        event.listen(connection, "after_cursor_execute", self._executed)
        try:
            yield self
        finally:
            event.remove(connection, "after_cursor_execute", self._executed)
            logger.removeHandler(self)
            logger.setLevel(previous)


def explain_failure(
    exc: DBAPIError,
    recorder: StepRecorder,
    limits: MigrationLimits | None,
    rolled_back: bool,
) -> str:
    """One line: which step failed, why, and what was left behind."""
    step = recorder.step
    where = f"migration step '{step}'" if step else "the migration"
    statement = _short(str(exc.statement or ""), 100)
    kind = _timeout(exc)
    # Without limits the connection was the caller's, with the caller's timeouts.
    if kind == "lock":
        limit = f"={limits.lock_timeout.text}" if limits else ""
        why = (
            f"could not lock a table within MIGRATION_LOCK_TIMEOUT{limit}: another "
            "session holds it"
        )
        advice = "retry when that session ends, or raise MIGRATION_LOCK_TIMEOUT"
    elif kind == "statement":
        limit = f"={limits.statement_timeout.text}" if limits else ""
        why = f"ran longer than MIGRATION_STATEMENT_TIMEOUT{limit}"
        advice = "raise MIGRATION_STATEMENT_TIMEOUT for this run if that is expected"
    else:
        why = "failed: " + str(exc.orig or exc).strip().splitlines()[0]
        advice = "fix the revision and run the command again"
    # MySQL: each DDL statement committed itself (and what ran before it).
    applied = [] if rolled_back else mysql.applied_statements(recorder.statements)
    if applied:
        # alembic_version still names the revision before, so a rerun would repeat
        # those statements and fail on them.
        done = " | ".join(_short(sql, 60) for sql in applied)
        left = (
            "DDL cannot be rolled back here, so the statements of this step that ran "
            f"stay applied ({done}) while alembic_version still names the revision "
            "before it: undo them by hand, unless the revision skips what exists "
            "(docs/deploying.md, 'A revision that failed halfway')"
        )
        advice = "then " + advice
    elif rolled_back or step is not None:
        # A batched backfill (backfill.py) commits batch by batch: those batches stay,
        # and running the revision again resumes where it stopped.
        left = (
            "its open transaction was rolled back (batches a backfill committed stay) "
            "and earlier revisions stay applied"
        )
    else:
        left = "check the schema: this connection could not roll it back"
    return f"{where} {why} (while running: {statement}); {left}; {advice}"


def _short(sql: str, width: int) -> str:
    sql = " ".join(sql.split())
    return sql if len(sql) <= width else sql[: width - 3] + "..."


def _timeout(exc: DBAPIError) -> str | None:
    """Which MIGRATION_*_TIMEOUT stopped the statement: "lock", "statement" or None."""
    orig = exc.orig
    code = getattr(orig, "pgcode", None)
    if code is None and orig is not None and orig.args:
        code = orig.args[0]  # MySQL drivers: (error number, message)
    if code in (_LOCK_TIMEOUT, mysql.LOCK_WAIT_TIMEOUT):
        return "lock"
    if code == _STATEMENT_TIMEOUT or code in mysql.STATEMENT_TIMEOUTS:
        return "statement"
    return None


def uncompilable(exc: CompileError) -> str:
    """A CompileError in words: which column, which type (no compiler object reprs)."""
    text = str(exc)
    column = re.search(r"in table '([^']+)', column '([^']+)'", text)
    type_ = re.search(r"element of type (\w+)", text)
    if column and "VARCHAR requires a length" in text:
        return f"column {column[1]}.{column[2]} is a VARCHAR without a length"
    if column and type_:
        return f"column {column[1]}.{column[2]} is {type_[1]}, which it cannot store"
    return re.sub(r" <[^>]+>", "", text.splitlines()[0])
