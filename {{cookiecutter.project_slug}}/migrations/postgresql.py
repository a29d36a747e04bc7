"""PostgreSQL: how its migration runs are guarded and its models compared.

- One run at a time: a session advisory lock keyed by the project's name, so replicas
  of one project queue while other projects on the server keep their own keys.
  A pooler that hands the server session to other clients between transactions
  (PgBouncer's transaction mode) would carry that lock away: such a URL is refused.
- Bounded waits: the session's lock_timeout and statement_timeout.
- Autogenerate: server defaults that read back as the same text are no change.
  Alembic asks the server `SELECT <old> = <new>` for the rest, which fails for types
  without an equality operator (json: "operator does not exist").
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate.api import AutogenContext
from alembic.operations import ops
from alembic.runtime.plugins import Plugin
from alembic.util import CommandError, DispatchPriority, PriorityDispatchResult
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.schema import DefaultClause

from .safety import engine_for, server_lock
from .settings import MigrationLimits

# SQLSTATEs: lock_not_available (lock_timeout) and query_canceled (statement_timeout).
_TIMEOUTS = {"55P03": "lock", "57014": "statement"}


def lock_key(project: str) -> int:
    """The advisory lock key every replica of `project` computes alike."""
    return zlib.crc32(f"{project}:alembic upgrade".encode())


def session_settings(limits: MigrationLimits) -> list[str]:
    """SET statements bounding every wait of a migration session."""
    return [
        f"SET lock_timeout = '{limits.lock_timeout.text}'",
        f"SET statement_timeout = '{limits.statement_timeout.text}'",
    ]


# DDL runs in the revision's transaction: a failed revision leaves nothing behind.
TRANSACTIONAL_DDL = True


def prepare_engine(engine: Engine) -> None:
    """Nothing to add: PostgreSQL's DDL is transactional as it is."""


def check_connection(connection: Connection) -> None:
    """Nothing to refuse here."""


def pooled_per_transaction(connection: Connection, url: URL) -> bool:
    """Whether `connection` reaches the server through a pooler that lends its server
    session to other clients between transactions."""
    # At login the server names its process; a pooler answers with a number of its own.
{%- if cookiecutter.stack == "async" %}
    said = connection.connection.driver_connection.get_server_pid()  # type: ignore[union-attr]
{%- else %}
    said = connection.connection.driver_connection.info.backend_pid  # type: ignore[union-attr]
{%- endif %}
    actual = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    connection.rollback()
    if said == actual:
        return False
    # A pooler. Between our transactions, a transaction-mode pool lends our server
    # session to the next client (PgBouncer lends the one freed last); a session-mode
    # pool keeps it ours.
    engine = engine_for(url)
    try:
        with engine.connect() as other:
            lent = other.exec_driver_sql("SELECT pg_backend_pid()").scalar() == actual
    finally:
        engine.dispose()
    return lent


@contextmanager
def one_run_at_a_time(
    connection: Connection, url: URL, project: str, limits: MigrationLimits
) -> Iterator[None]:
    """Hold the project's advisory lock, with the session's limits set, for the run."""
    if pooled_per_transaction(connection, url):
        raise CommandError(
            "DATABASE_URL reaches PostgreSQL through a pooler in transaction mode "
            "(PgBouncer's pool_mode = transaction), which would carry the migration "
            "lock to other clients: set MIGRATION_DATABASE_URL to the server itself or "
            "to a session-mode pool; nothing was run"
        )
    key = lock_key(project)

    def take() -> bool:
        return bool(
            connection.exec_driver_sql(f"SELECT pg_try_advisory_lock({key})").scalar()
        )

    def release() -> None:
        connection.exec_driver_sql(f"SELECT pg_advisory_unlock({key})")

    with server_lock(connection, take, release, session_settings(limits), limits):
        yield


def offline_statements(
    project: str, limits: MigrationLimits
) -> tuple[list[str], list[str]]:
    """What a `--sql` script runs before and after the revisions: the same guards."""
    key = lock_key(project)
    before = [*session_settings(limits), f"SELECT pg_advisory_lock({key})"]
    return before, [f"SELECT pg_advisory_unlock({key})"]


def timeout_kind(exc: DBAPIError) -> str | None:
    """Which MIGRATION_*_TIMEOUT stopped a statement: "lock", "statement" or None."""
    return _TIMEOUTS.get(getattr(exc.orig, "pgcode", None) or "")


def cannot_store(_metadata: sa.MetaData) -> str | None:
    """Every type and default the models use exists here."""
    return None


# Alembic's own comparison, which gets identity columns right. A function of ours
# would be handed reflected identity columns, on which Alembic 1.20 crashes.
compare_server_default = True


def compare_type(*_: Any) -> bool | None:
    """Alembic's own type comparison is right here."""
    return None


def _compare_defaults_as_text(
    autogen_context: AutogenContext,
    alter_column_op: ops.AlterColumnOp,
    _schema: str | None,
    _table: str,
    _column: str,
    conn_col: sa.Column[Any],
    metadata_col: sa.Column[Any],
) -> PriorityDispatchResult:
    # The autogenerate helpers are loaded by autogenerate only, never by a deploy.
    from .autogenerate import default_text, normalize_default, unwrap

    conn_default, model_default = conn_col.server_default, metadata_col.server_default
    identities = (sa.Identity, sa.Sequence)
    if isinstance(conn_default, identities) != isinstance(model_default, identities):
        # An identity on one side, a default or none on the other: a change, which
        # Alembic's identity comparison asserts cannot happen (a key becoming a UUID).
        alter_column_op.existing_server_default = conn_default
        alter_column_op.modify_server_default = model_default
        return PriorityDispatchResult.STOP
    if not (
        isinstance(conn_default, DefaultClause)
        and isinstance(model_default, DefaultClause)
    ):
        return PriorityDispatchResult.CONTINUE
    assert autogen_context.dialect is not None
    model_text = default_text(model_default, autogen_context.dialect)
    if normalize_default(str(conn_default.arg)) == normalize_default(model_text):
        return PriorityDispatchResult.STOP
    if isinstance(unwrap(metadata_col.type), (sa.JSON, postgresql.JSON)):
        alter_column_op.existing_server_default = conn_default
        alter_column_op.modify_server_default = model_default
        return PriorityDispatchResult.STOP
    return PriorityDispatchResult.CONTINUE


# A plain `str` stays a VARCHAR without a length here.
PLAIN_STRING: sa.String | None = None

_PLUGIN = Plugin("project.postgresql")
_PLUGIN.add_autogenerate_comparator(
    _compare_defaults_as_text,
    "column",
    "server_default",
    qualifier="postgresql",
    priority=DispatchPriority.FIRST,
)


def autogenerate_plugins() -> list[str]:
    """The comparisons autogenerate adds here (Alembic's own come first)."""
    # alembic-postgresql-enum registers its enum comparisons on import; revisions
    # that run its operations import it themselves (review.py sees to that).
    import alembic_postgresql_enum  # noqa: F401

    return [_PLUGIN.name]
