"""What keeps `alembic upgrade` safe on a live database.

One run at a time (replicas that start together queue on a PostgreSQL advisory lock,
or on a lock of the SQLite file), bounded waits for table locks and statements,
transactional DDL on SQLite too, and a failure that names the revision step that
failed. Imports neither the models nor sqlmodel: the deploy path loads it on every
start.
"""

from __future__ import annotations

import logging
import os
import re
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from alembic.util import CommandError
from sqlalchemy import create_engine, pool
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import CompileError, DBAPIError

from .limits import MigrationLimits
from .sqlite import make_transactional

log = logging.getLogger("alembic.env")

# Every replica of this project computes the same key, so their runs exclude each other;
# other projects on the same server get keys of their own.
PROJECT = "{{ cookiecutter.package_name }}"
ADVISORY_LOCK_KEY = zlib.crc32(f"{PROJECT}:alembic upgrade".encode())
LOCK = f"SELECT pg_advisory_lock({ADVISORY_LOCK_KEY})"
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
    """Hold this project's advisory lock for the whole run (PostgreSQL only)."""
    # A session-level lock survives the commit after each revision, unlike a
    # transaction-level one; the replica that waits then finds nothing left to do.
    wait_for(lambda: _try_lock(connection), limits)
    try:
        try:
            for statement in session_settings(limits):
                connection.exec_driver_sql(statement)
        except DBAPIError as exc:
            reason = str(exc.orig or exc).strip().splitlines()[0]
            raise CommandError(
                f"PostgreSQL refused a MIGRATION_*_TIMEOUT value: {reason}; nothing "
                "was changed"
            ) from None
        connection.commit()  # Alembic must find the connection outside a transaction
        yield
    finally:
        try:
            connection.rollback()
            connection.exec_driver_sql(UNLOCK)
            connection.commit()
        except DBAPIError:
            pass  # the connection is gone, and the session's lock with it


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


def _try_lock(connection: Connection) -> bool:
    try_lock = f"SELECT pg_try_advisory_lock({ADVISORY_LOCK_KEY})"
    locked = connection.exec_driver_sql(try_lock).scalar()
    connection.commit()
    return bool(locked)


class StepRecorder(logging.Handler):
    """Remembers the revision step Alembic announced last ("upgrade a -> b, msg")."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.step: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Running "):
            self.step = message.removeprefix("Running ")

    @contextmanager
    def watching(self) -> Iterator[StepRecorder]:
        """Record Alembic's step announcements for the duration of a run."""
        # Alembic announces each step on this logger before running it; it is the
        # only place that says which revision a failure belongs to.
        logger = logging.getLogger("alembic.runtime.migration")
        previous = logger.level
        if not logger.isEnabledFor(logging.INFO):
            logger.setLevel(logging.INFO)
        logger.addHandler(self)
        try:
            yield self
        finally:
            logger.removeHandler(self)
            logger.setLevel(previous)


def explain_failure(
    exc: DBAPIError, step: str | None, limits: MigrationLimits | None, rolled_back: bool
) -> str:
    """One line: which step failed, why, and what was left behind."""
    where = f"migration step '{step}'" if step else "the migration"
    statement = " ".join(str(exc.statement or "").split())
    if len(statement) > 100:
        statement = statement[:97] + "..."
    code = getattr(exc.orig, "pgcode", None)
    # Without limits the connection was the caller's, with the caller's timeouts.
    if code == _LOCK_TIMEOUT:
        limit = f"={limits.lock_timeout.text}" if limits else ""
        why = (
            f"could not lock a table within MIGRATION_LOCK_TIMEOUT{limit}: another "
            "session holds it"
        )
        advice = "retry when that session ends, or raise MIGRATION_LOCK_TIMEOUT"
    elif code == _STATEMENT_TIMEOUT:
        limit = f"={limits.statement_timeout.text}" if limits else ""
        why = f"ran longer than MIGRATION_STATEMENT_TIMEOUT{limit}"
        advice = "raise MIGRATION_STATEMENT_TIMEOUT for this run if that is expected"
    else:
        why = "failed: " + str(exc.orig or exc).strip().splitlines()[0]
        advice = "fix the revision and run the command again"
    left = (
        # A batched backfill (backfill.py) commits batch by batch: those batches stay,
        # and running the revision again resumes where it stopped.
        "its open transaction was rolled back (batches a backfill committed stay) and "
        "earlier revisions stay applied"
        if rolled_back
        else "check the schema: this connection could not roll it back"
    )
    return f"{where} {why} (while running: {statement}); {left}; {advice}"


def uncompilable(exc: CompileError) -> str:
    """A CompileError in words: which column, which type (no compiler object reprs)."""
    text = str(exc)
    column = re.search(r"in table '([^']+)', column '([^']+)'", text)
    type_ = re.search(r"element of type (\w+)", text)
    if column and type_:
        return f"column {column[1]}.{column[2]} is {type_[1]}, which it cannot store"
    return re.sub(r" <[^>]+>", "", text.splitlines()[0])
