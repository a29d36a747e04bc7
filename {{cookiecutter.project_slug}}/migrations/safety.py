"""What keeps `alembic upgrade` safe on a live database, whichever database it is.

One run at a time (replicas that start together queue on a lock), bounded waits for
locks and statements, and a failure that names the revision step that failed and,
where DDL cannot be rolled back, the statements that stayed applied. How each database
locks, bounds and reports lives in its own module (postgresql.py, sqlite.py...),
picked by the URL's backend. Imports neither the models nor sqlmodel: the deploy path
loads it on every start.
"""

from __future__ import annotations

{% if cookiecutter.stack == "async" -%}
import asyncio
{% endif -%}
import importlib
import logging
import re
{%- if cookiecutter.stack == "async" %}
import socket
{%- endif %}
import time
import traceback
{%- if cookiecutter.stack == "async" %}
from collections.abc import Callable, Coroutine, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
{%- else %}
from collections.abc import Callable, Iterable, Iterator
{%- endif %}
from contextlib import contextmanager
from types import FrameType, ModuleType
from typing import Any, TypeVar

from alembic import context
from alembic.util import CommandError
{%- if cookiecutter.stack == "async" %}
from sqlalchemy import event, pool
{%- else %}
from sqlalchemy import create_engine, event, pool
{%- endif %}
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import CompileError, DBAPIError
{%- if cookiecutter.stack == "async" %}
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
{%- endif %}

from .settings import (
    MigrationLimits,
    SettingError,
    database_url,
    describe,
    migration_limits,
    setting,
)

log = logging.getLogger("alembic.env")
# The server this project runs on, where what SQLite cannot run does run.
{%- if cookiecutter.database == "mysql" %}
SERVER = (
    "MySQL (DATABASE_URL=mysql://...; DRIFT_DATABASE_URL for make check and "
    "make initial-revision, whose scratch database it names)"
)
{%- else %}
SERVER = (
    "PostgreSQL (DATABASE_URL=postgresql://...; DRIFT_DATABASE_URL for make check and "
    "make initial-revision, whose scratch database it names)"
)
{%- endif %}
_POLL_SECONDS = 0.5
# Commands that may compare the models with the database and so need the models.
_MODEL_COMMANDS = {"revision", "check"}
# Statements after which a server without transactional DDL has committed all so far.
_COMMITS_ITSELF = ("alter", "create", "drop", "rename", "truncate")


def backend(name: str) -> ModuleType:
    """The module of one database: `postgresql`, `sqlite`..., by the dialect's name."""
    return importlib.import_module(f"{__package__}.{name}")


def settings() -> tuple[URL, MigrationLimits]:
    """The database migrations run on (MIGRATION_DATABASE_URL, else DATABASE_URL: the
    server itself where the app goes through a pooler) and the time limits; a bad
    value is one line, not a traceback."""
    try:
        own = setting("MIGRATION_DATABASE_URL")[0]
        name = "MIGRATION_DATABASE_URL" if own else "DATABASE_URL"
        return database_url(name=name), migration_limits()
    except SettingError as exc:
        raise CommandError(str(exc)) from None


def command_name() -> str:
    """The Alembic CLI command running ("" when called from code)."""
    cmd = getattr(context.config.cmd_opts, "cmd", None)
    return getattr(cmd[0], "__name__", "") if cmd else ""


def needs_models() -> bool:
    """Whether this run may autogenerate; plain upgrades skip importing the models."""
    # Called from code (tests, tools), it cannot be told: load them.
    return context.config.cmd_opts is None or command_name() in _MODEL_COMMANDS


def compares() -> bool:
    """Whether this CLI run compares models with the database (revision
    --autogenerate, check); False from code, where it cannot be told."""
    autogenerating = bool(getattr(context.config.cmd_opts, "autogenerate", False))
    return command_name() == "check" or (
        command_name() == "revision" and autogenerating
    )


# A TypeVar, not 3.12's `def f[T]` syntax: the module runs on every Python the project
# supports.
Result = TypeVar("Result")


def cannot_connect(url: URL, exc: Exception) -> CommandError:
    """Why there is no connection to `url`, in one line without its password."""
    if isinstance(exc, DBAPIError):  # unreachable, refused, or an invalid option
        reason = str(exc.orig or exc).strip().splitlines()[0]
        return CommandError(f"cannot connect to {describe(url)}: {reason}")
{%- if cookiecutter.stack == "async" %}
    if isinstance(exc, ConnectionError | TimeoutError | socket.gaierror):
        # The network's own error (asyncpg raises it as it is): refused, timed out,
        # no such host. Its text names the address, never the password.
        reason = str(exc).strip().splitlines()[0] or type(exc).__name__
        return CommandError(f"cannot connect to {describe(url)}: {reason}")
{%- endif %}
    # What the driver checks only as it connects (a certificate file that is not
    # there); its text may quote the URL's options, so only its kind.
    return CommandError(
        f"cannot connect to {describe(url)}: its driver refused an option of the URL "
        f"({type(exc).__name__}); check its query parameters"
    )
{%- if cookiecutter.stack == "async" %}


def engine_for(url: URL) -> Engine:
    """An engine of its own for `url`, used with SQLAlchemy's sync API: Alembic's.

    Its async driver is awaited on greenlets, so it works only inside `connected`."""
    return create_async_engine(url, poolclass=pool.NullPool).sync_engine


def connected(url: URL, run: Callable[[Connection], Result]) -> Result:  # noqa: UP047
    """`run(connection)` on a connection to `url`, on an engine of its own.

    Alembic and the guards speak SQLAlchemy's sync API: here it runs over the async
    driver (AsyncConnection.run_sync), on an event loop of its own."""

    async def on_loop() -> Result:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        backend(engine.dialect.name).prepare_engine(engine.sync_engine)
        try:
            try:
                connection = await engine.connect()
            except (DBAPIError, OSError, ValueError) as exc:
                raise cannot_connect(url, exc) from None
            try:
                return await connection.run_sync(run)
            finally:
                await connection.close()
        finally:
            await engine.dispose()

    return on_own_loop(on_loop())


def on_own_loop(coroutine: Coroutine[Any, Any, Result]) -> Result:  # noqa: UP047
    """Run `coroutine` to its end on an event loop of its own, and return its result."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    # Called from code that runs an event loop (an app's lifespan, an async test):
    # asyncio.run cannot nest in it (Alembic issue 1353), so the run gets a thread and
    # a loop of its own while the caller waits. Async code that must not block its
    # loop calls Alembic with asyncio.to_thread (docs/migrations.md).
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()
{%- else %}


def engine_for(url: URL) -> Engine:
    """An engine of its own for `url`: Alembic's, never the app's pool."""
    return create_engine(url, poolclass=pool.NullPool)


def connected(url: URL, run: Callable[[Connection], Result]) -> Result:  # noqa: UP047
    """`run(connection)` on a connection to `url`, on an engine of its own."""
    engine = engine_for(url)
    backend(engine.dialect.name).prepare_engine(engine)
    try:
        connection = engine.connect()
    except (DBAPIError, OSError, ValueError) as exc:
        raise cannot_connect(url, exc) from None
    with connection:
        return run(connection)
{%- endif %}


def one_run_at_a_time(
    url: URL,
    project: str,
    limits: MigrationLimits,
    run: Callable[[Connection, MigrationLimits], None],
) -> None:
    """`run(connection, limits)` holding this project's migration lock on `url`."""

    def locked(connection: Connection) -> None:
        database = backend(connection.dialect.name)
        with database.one_run_at_a_time(connection, url, project, limits):
            run(connection, limits)

    connected(url, locked)
{%- if cookiecutter.stack == "async" %}


def borrowed(
    given: Connection | Engine | AsyncEngine, run: Callable[[Connection], None]
) -> None:
{%- else %}


def borrowed(given: Connection | Engine, run: Callable[[Connection], None]) -> None:
{%- endif %}
    """`run(connection)` on a caller's connection, or on one of a caller's engine, left
    in the caller's charge: no lock, no session settings, the caller's transaction."""
    if isinstance(given, Connection):
        run(given)
{%- if cookiecutter.stack == "async" %}
    elif isinstance(given, AsyncEngine):

        async def on_loop() -> None:
            async with given.connect() as connection:
                await connection.run_sync(run)

        on_own_loop(on_loop())
{%- endif %}
    else:
        with given.connect() as connection:
            run(connection)


@contextmanager
def offline_guards(url: URL, project: str, limits: MigrationLimits) -> Iterator[None]:
    """In a `--sql` script: the database's lock and limits around the revisions. A
    failure is logged too: Alembic prints it on stdout, which is the script's file."""
    before, after = backend(url.get_backend_name()).offline_statements(project, limits)
    for statement in before:
        context.execute(statement)
    try:
        yield
    except CommandError as exc:
        log.error("%s (the script stops here)", exc)
        raise
    for statement in after:
        context.execute(statement)


@contextmanager
def server_lock(
    connection: Connection,
    take: Callable[[], bool],
    release: Callable[[], None],
    session_settings: list[str],
    limits: MigrationLimits,
) -> Iterator[None]:
    """Hold a lock the server keeps for the session, with its limits set, for a run."""

    # A session-level lock survives the commit after each revision, unlike a
    # transaction-level one; the replica that waits then finds nothing left to do.
    def attempt() -> bool:
        taken = take()
        connection.commit()  # a waiting replica holds no snapshot open
        return taken

    wait_for(attempt, limits)
    try:
        try:
            for statement in session_settings:
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


@contextmanager
def guarded(
    connection: Connection, limits: MigrationLimits | None
) -> Iterator[dict[str, Any]]:
    """Around a run on `connection`: the options to configure it with, and a failure
    in one line naming its revision step. `limits` None: the connection is a caller's,
    with the caller's own timeouts and transactions."""
    database = backend(connection.dialect.name)
    # Our own engine makes DDL transactional where the database allows it.
    options = (
        {"transactional_ddl": True} if limits and database.TRANSACTIONAL_DDL else {}
    )
    connection.info.pop("committed_batches", None)  # counted afresh for this run
    with statements_by_step(connection) as ran:
        try:
            # (Its first statement may wait for a lock: SQLite's BEGIN IMMEDIATE.)
            checked = False
            database.check_connection(connection)
            checked = True
            yield options
        except DBAPIError as exc:
            step = failing_step(exc)
            if step is None and compares():
                reason = str(exc.orig or exc).strip().splitlines()[0]
                raise CommandError(
                    "comparing the models with the database failed (no revision ran, "
                    f"nothing was changed): {reason}"
                ) from exc
            # Failing the check, nothing had run, and Alembic had no context yet.
            rolled_back = not checked or context.get_context().impl.transactional_ddl
            kind = database.timeout_kind(exc)
            of_step = [sql for ran_in, sql in ran if step and ran_in == step]
            # backfill.py counts the batches it committed on this connection.
            backfilled = bool(connection.info.get("committed_batches"))
            message = explain_failure(
                exc, step, of_step, limits, rolled_back, kind, backfilled
            )
            raise CommandError(message) from exc
        except CompileError as exc:
            # Mostly a revision written for the server (ARRAY, JSONB...) run on SQLite.
            dialect = connection.dialect.name
            advice = "fix the revision"
            if dialect == "sqlite":
                advice = f"run it against {SERVER}"
            step = failing_step(exc)
            what = (
                f"migration step '{step}'"
                if step
                else "comparing the models with the database"
            )
            raise CommandError(
                f"{what} cannot run on {dialect}: {uncompilable(exc)}; {advice}"
            ) from None


# A revision file is a module with `revision` and `down_revision` (Alembic's template)
# whose upgrade() or downgrade() runs each step: that frame on the Python stack names
# the step, which Alembic says only in a log line or, once it succeeded, to
# on_version_apply.
def step_in(frames: Iterable[tuple[FrameType, int]]) -> str | None:
    """The first revision step among `frames`, as Alembic logs it: "upgrade a -> b,
    message"."""
    for frame, _line in frames:
        names, action = frame.f_globals, frame.f_code.co_name
        if action in ("upgrade", "downgrade") and "down_revision" in names:
            down = names["down_revision"]
            before = ", ".join(down) if isinstance(down, tuple) else down or ""
            after = names.get("revision", "")
            if action == "downgrade":
                before, after = after, before
            message = (names.get("__doc__") or "").strip().split("\n", 1)[0]
            return f"{action} {before} -> {after}, {message}"
    return None


def failing_step(exc: BaseException) -> str | None:
    """The revision step a failure came from: the innermost its traceback went
    through (under an async driver the raise itself is on the event loop's side)."""
    return step_in(reversed([*traceback.walk_tb(exc.__traceback__)]))


@contextmanager
def statements_by_step(connection: Connection) -> Iterator[list[tuple[str, str]]]:
    """What `connection` runs meanwhile: (the revision step running, the statement)."""

    def executed(_conn: Connection, _cursor: Any, sql: str, *_: Any) -> None:
        ran.append((step_in(traceback.walk_stack(None)) or "", sql))

    ran: list[tuple[str, str]] = []
    event.listen(connection, "after_cursor_execute", executed)
    try:
        yield ran
    finally:
        event.remove(connection, "after_cursor_execute", executed)


def explain_failure(
    exc: DBAPIError,
    step: str | None,
    ran: list[str],
    limits: MigrationLimits | None,
    rolled_back: bool,
    timeout_kind: str | None,
    backfilled: bool,
) -> str:
    """One line: which step failed, why, and what (of the statements it `ran`) was
    left behind."""
    where = f"migration step '{step}'" if step else "the migration"
    statement = _short(str(exc.statement or ""), 100)
    # Without limits the connection was the caller's, with the caller's timeouts.
    if timeout_kind == "lock":
        limit = f"={limits.lock_timeout.text}" if limits else ""
        why = (
            f"could not take a lock within MIGRATION_LOCK_TIMEOUT{limit}: another "
            "session holds it"
        )
        advice = "retry when that session ends, or raise MIGRATION_LOCK_TIMEOUT"
    elif timeout_kind == "statement":
        limit = f"={limits.statement_timeout.text}" if limits else ""
        why = f"ran longer than MIGRATION_STATEMENT_TIMEOUT{limit}"
        advice = "raise MIGRATION_STATEMENT_TIMEOUT for this run if that is expected"
    else:
        why = "failed: " + str(exc.orig or exc).strip().splitlines()[0]
        # Outside every step, the statement was Alembic's own bookkeeping.
        advice = (
            "fix the revision and run the command again"
            if step
            else "no revision ran it: check what the database user may do there"
        )
    applied = [] if rolled_back else applied_statements(ran)
    batches = "batches a backfill committed"
    if applied:
        # alembic_version still names the revision before, so a rerun would repeat
        # those statements and fail on them.
        done = " | ".join(_short(sql, 60) for sql in applied)
        left = (
            "DDL cannot be rolled back here, so the statements of this step that ran "
            f"stay applied ({done}){', as do ' + batches if backfilled else ''}, while "
            "alembic_version still names the revision before it: undo them by hand, "
            "unless the revision skips what exists (docs/deploying.md, 'A revision "
            "that failed halfway')"
        )
        advice = "then " + advice
    elif rolled_back or step is not None:
        # A batched backfill (backfill.py) commits batch by batch: those batches stay,
        # and running the revision again resumes where it stopped.
        left = (
            "its open transaction was rolled back"
            + (f" ({batches} stay)" if backfilled else "")
            + " and earlier revisions stay applied"
        )
    else:
        left = "check the schema: this connection could not roll it back"
    return f"{where} {why} (while running: {statement}); {left}; {advice}"


def applied_statements(ran: list[str]) -> list[str]:
    """Of the statements a failed revision ran without transactional DDL, those the
    server has committed: each DDL statement commits itself and all before it, and
    what ran after the last one was rolled back with the revision's transaction."""
    ddl = [
        i
        for i, sql in enumerate(ran)
        if sql.lstrip().lower().startswith(_COMMITS_ITSELF)
    ]
    return ran[: ddl[-1] + 1] if ddl else []


def _short(sql: str, width: int) -> str:
    sql = " ".join(sql.split())
    return sql if len(sql) <= width else sql[: width - 3] + "..."


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
