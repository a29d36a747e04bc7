"""Batched data backfills for Alembic revisions: a key-ordered walk, a commit per batch.

A revision calls update_in_batches() or execute_in_batches(); docs/data-migrations.md
shows how. Only SQLAlchemy and Alembic are imported here: a deploy that runs a backfill
revision must not have to load the models, sqlmodel or pydantic.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from alembic import op
from alembic.runtime.migration import MigrationContext
from alembic.util import CommandError
from sqlalchemy.engine import Connection
from sqlalchemy.sql.expression import ColumnElement, Executable, TableClause

# A child of "alembic", so the project's alembic.ini shows progress (INFO) next to
# Alembic's own "Running upgrade ..." lines without any logging setup of its own.
log = logging.getLogger("alembic.backfill")

# Large enough that per-batch round trips and commits cost little (see the benchmark
# in docs/data-migrations.md), small enough that one batch holds its row locks briefly.
DEFAULT_BATCH_SIZE = 5_000
LOG_EVERY_SECONDS = 5.0

# Builds the statement for one batch from a WHERE clause naming that batch's rows.
StatementBuilder = Callable[[ColumnElement[bool]], Executable]


@dataclass
class Progress:
    """How far a backfill has got; handed to the progress callback after each batch."""

    label: str
    total: int  # rows matching `pending` when this run started
    done: int = 0  # rows written by this run, all of them committed
    batches: int = 0
    elapsed: float = 0.0  # seconds since this run started
    remaining: int | None = None  # rows still matching `pending` once the walk ended

    @property
    def rate(self) -> float:
        """Rows written per second so far."""
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    def __str__(self) -> str:
        if self.done > self.total:  # the walk also met rows written since it started
            rows = f"{self.done:,} rows ({self.total:,} pending at the start)"
        else:
            share = 100.0 * self.done / self.total if self.total else 100.0
            rows = f"{self.done:,} of {self.total:,} rows ({share:.1f}%)"
        return (
            f"{self.label}: {rows}, {self.batches:,} batches, {self.elapsed:.1f} s, "
            f"{self.rate:,.0f} rows/s"
        )


ProgressCallback = Callable[[Progress], None]


def update_in_batches(
    table: TableClause,
    values: Mapping[str, Any],
    pending: ColumnElement[bool],
    **options: Any,
) -> Progress:
    """In a revision: UPDATE the rows matching `pending` to `values`, batch by batch."""

    def update(batch: ColumnElement[bool]) -> Executable:
        return table.update().where(batch).values(values)

    return execute_in_batches(table, update, pending, **options)


def execute_in_batches(
    table: TableClause,
    statement: StatementBuilder,
    pending: ColumnElement[bool],
    **options: Any,
) -> Progress:
    """In a revision: run `statement(batch)` on the rows matching `pending`, in batches.

    Options are those of run_batches(): key, batch_size, progress, label and
    require_complete.
    """
    context = _live_context()
    # Alembic cannot open an autocommit block on a connection whose transaction the
    # caller opened (a test harness sharing its connection; Alembic keeps that flag
    # private). That transaction is not ours to commit, so the batches run inside it,
    # correct but holding their locks to its end.
    if getattr(context, "_in_external_transaction", False):
        log.warning(
            "the connection given to Alembic is inside the caller's transaction: "
            "the backfill runs in it and commits nothing itself"
        )
        return run_batches(
            live_connection(), table, statement, pending, commit=False, **options
        )
    # The block commits the revision's work so far (a new column, say), then switches
    # the connection to AUTOCOMMIT: each batch's statement commits itself, and its row
    # locks go with it. Alembic opens a new transaction for the rest of the revision.
    with context.autocommit_block():
        assert context.connection is not None
        return run_batches(context.connection, table, statement, pending, **options)


def run_batches(
    connection: Connection,
    table: TableClause,
    statement: StatementBuilder,
    pending: ColumnElement[bool],
    *,
    key: str = "id",
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: ProgressCallback | None = None,
    label: str | None = None,
    commit: bool = True,
    require_complete: bool = False,
) -> Progress:
    """Walk `table` in `key` order, one statement per batch on the rows still pending.

    `pending` must be false for a row once `statement` has handled it: that is what
    makes a re-run after an interruption pick up exactly the rows not yet done. `key`
    must be unique and indexed (the primary key). Each batch is committed before the
    next starts (on an AUTOCOMMIT connection by the statement itself); commit=False
    leaves every commit to the caller.

    Rows still pending once the walk has ended (written meanwhile by another session
    behind the walk, or left pending by `statement`) are logged as a warning. With
    require_complete=True they raise CommandError instead, so the rest of the revision
    (a DROP that relies on the copy, say) does not run; the batches done stay
    committed and a re-run resumes.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    column = table.c[key]
    isolation = connection.get_execution_options().get("isolation_level")
    # In AUTOCOMMIT mode each batch's statement has committed itself already.
    commit = commit and isolation != "AUTOCOMMIT"

    count, first = connection.execute(
        sa.select(sa.func.count(), sa.func.min(column)).where(pending)
    ).one()
    report = Progress(label or table.name, total=count)
    rows, size = f"{count:,}", f"{batch_size:,}"
    log.info("%s: %s rows to do, %s per batch", report.label, rows, size)
    started = logged = time.monotonic()
    # Resume where work remains: every row below the first pending one is done.
    after = None if first is None else column >= first
    while after is not None:
        # Keyset pagination: the batch ends at the `batch_size`-th key after the cursor,
        # read from the key's index alone (no OFFSET, nothing passed is read again).
        # `pending` is left to the statement: filtering here too cost 15-20% more.
        window = (
            sa.select(column.label("key"))
            .where(after)
            .order_by(column)
            .limit(batch_size)
            .subquery()
        )
        last = connection.execute(sa.select(sa.func.max(window.c.key))).scalar()
        if last is None:
            break  # the end of the table, rows added meanwhile included
        written = connection.execute(
            statement(sa.and_(after, column <= last, pending))
        ).rowcount
        if commit:
            connection.commit()
        if commit or isolation == "AUTOCOMMIT":  # for a failure's message (safety.py)
            info = connection.info
            info["committed_batches"] = info.get("committed_batches", 0) + 1
        after = column > last
        report.done += max(written, 0)  # -1: the driver cannot tell
        report.batches += 1
        now = time.monotonic()
        report.elapsed = now - started
        if report.batches == 1 or now - logged >= LOG_EVERY_SECONDS:
            log.info("%s", report)
            logged = now
        if progress is not None:
            progress(report)

    report.remaining = connection.execute(
        sa.select(sa.func.count()).select_from(table).where(pending)
    ).scalar_one()
    if commit:
        connection.commit()
    report.elapsed = time.monotonic() - started
    log.info("%s; done", report)
    if report.remaining:
        # Rows made pending behind the cursor by other sessions, or a statement that
        # does not clear `pending`: nothing that relies on the data may run yet.
        left = f"{report.label}: {report.remaining:,} rows still need work"
        if require_complete:
            raise CommandError(
                f"{left} after the backfill (written meanwhile by another session, or "
                "left pending by its statement); stopped before the rest of the "
                "revision, keeping the batches done: run the command again once "
                "nothing else writes them, or finish the work in a later revision"
            )
        log.warning(
            "%s after the backfill and the revision goes on without them: finish "
            "them in a later revision, or pass require_complete=True to stop here",
            left,
        )
    return report


def live_connection() -> Connection:
    """In a revision: the migration's connection; a one-line error under --sql."""
    connection = _live_context().connection
    assert connection is not None  # online, Alembic always has one
    return connection


def has_table(name: str) -> bool:
    """In a revision: whether table `name` exists (to re-run a half-done revision)."""
    return sa.inspect(live_connection()).has_table(name)


def has_column(table: str, column: str) -> bool:
    """In a revision: whether `table` has `column` (to re-run a half-done revision)."""
    columns = sa.inspect(live_connection()).get_columns(table)
    return any(found["name"] == column for found in columns)


def case_sensitive(text: ColumnElement[str]) -> ColumnElement[str]:
    """In a revision: `text` compared byte for byte, on every backend.
{%- if cookiecutter.database == "mysql" %}

    MySQL's usual collations (utf8mb4_..._ci) ignore case, so there 'Ada' = 'ada' and a
    "which rows still differ" test matches nothing; SQLite compares exactly already.
    """
    if op.get_context().dialect.name == "mysql":
        return text.collate("utf8mb4_bin")
{%- else %}

    PostgreSQL and SQLite compare exactly already: `text` as it is.
    """
{%- endif %}
    return text


def _live_context() -> MigrationContext:
    context = op.get_context()
    if context.as_sql:
        # Offline SQL is one script run later by someone else: it cannot see which rows
        # still need work, nor commit batch by batch. Say so in one line.
        raise CommandError(
            "this revision backfills data in batches and needs a live database "
            "connection: run it without --sql"
        )
    return context
