"""Schema changes on a table that is in use, without stopping its writers.

Autogenerate writes these calls for a table that already exists (a table created in the
same revision has no writers yet), and a revision may call them by hand.
{%- if cookiecutter.database == "mysql" %} On MySQL and
MariaDB, create_index and drop_index are ALTER TABLE ... ALGORITHM=INPLACE, LOCK=NONE:
the server builds the index while writes go on, and refuses at once (error 1846) an
index it could only build by stopping them (mysql_prefix="FULLTEXT", say) instead of
making them wait for it. Every wait for a lock is bounded by MIGRATION_LOCK_TIMEOUT.

A foreign key and NOT NULL stay plain operations: the server already picks its least
locking way (NOT NULL rebuilds the table in place, writes going on; a foreign key
copies it, and writes wait), and there is no way to keep writes going on a foreign
key that still checks the rows (docs/deploying.md). On SQLite each call is the plain
operation.
"""
{%- else %} On PostgreSQL:

- create_index: CREATE INDEX CONCURRENTLY, outside the revision's transaction, first
  dropping the INVALID index a failed earlier try left behind; drop_index: DROP INDEX
  CONCURRENTLY;
- create_foreign_key: the constraint added NOT VALID (no scan while writes wait), then
  VALIDATE CONSTRAINT in a transaction of its own, which lets writes go on;
- set_not_null: a CHECK (column IS NOT NULL) added NOT VALID and validated the same
  way, so SET NOT NULL needs no scan of its own; the CHECK then goes.

Every wait for a lock is bounded by MIGRATION_LOCK_TIMEOUT. On other databases each is
the plain operation (batch mode where SQLite needs it).
"""
{%- endif %}

from __future__ import annotations
{%- if cookiecutter.database == "mysql" %}

from typing import Any

from alembic import op


def _mysql() -> bool:
    return op.get_context().dialect.name == "mysql"


def _quote(name: str) -> str:
    return op.get_context().dialect.identifier_preparer.quote(name)


def _alter_online(table: str, change: str) -> None:
    # LOCK=NONE makes the server refuse, rather than wait out, a change that would
    # stop the table's writers.
    op.execute(f"ALTER TABLE {_quote(table)} {change}, ALGORITHM=INPLACE, LOCK=NONE")


def create_index(
    name: str,
    table: str,
    columns: list[str],
    unique: bool = False,
    mysql_prefix: str | None = None,
    **kw: Any,
) -> None:
    """ADD [UNIQUE | FULLTEXT | SPATIAL] INDEX with writes going on, on MySQL and
    MariaDB; with other options (a prefix length, say) the plain create_index."""
    if not _mysql() or kw:
        if mysql_prefix:
            kw["mysql_prefix"] = mysql_prefix
        op.create_index(name, table, columns, unique=unique, **kw)
        return
    kind = " ".join(filter(None, ["UNIQUE" if unique else None, mysql_prefix, "INDEX"]))
    listed = ", ".join(_quote(column) for column in columns)
    _alter_online(table, f"ADD {kind} {_quote(name)} ({listed})")


def drop_index(name: str, table: str) -> None:
    """DROP INDEX with writes going on, on MySQL and MariaDB."""
    if not _mysql():
        op.drop_index(name, table_name=table)
        return
    _alter_online(table, f"DROP INDEX {_quote(name)}")
{%- else %}

from typing import Any

import sqlalchemy as sa
from alembic import op


def _postgresql() -> bool:
    return op.get_context().dialect.name == "postgresql"


def create_index(name: str, table: str, columns: list[str], **kw: Any) -> None:
    """CREATE INDEX, concurrently on PostgreSQL."""
    if not _postgresql():
        op.create_index(name, table, columns, **kw)
        return
    context = op.get_context()
    with context.autocommit_block():
        # A try that failed half-way (a timeout, a cancel) left an INVALID index of
        # this name, and every retry would fail "already exists": drop it first.
        if not context.as_sql and _invalid(name):
            op.drop_index(name, table_name=table, postgresql_concurrently=True)
        op.create_index(
            name, table, columns, postgresql_concurrently=True, if_not_exists=True, **kw
        )


def drop_index(name: str, table: str) -> None:
    """DROP INDEX, concurrently on PostgreSQL."""
    if not _postgresql():
        op.drop_index(name, table_name=table)
        return
    with op.get_context().autocommit_block():
        op.drop_index(
            name, table_name=table, postgresql_concurrently=True, if_exists=True
        )


def _invalid(name: str) -> bool:
    query = sa.text(
        "SELECT NOT i.indisvalid FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = :name"
    )
    return bool(op.get_bind().execute(query, {"name": name}).scalar())


def create_foreign_key(
    name: str,
    source: str,
    referent: str,
    local: list[str],
    remote: list[str],
    **kw: Any,
) -> None:
    """ADD CONSTRAINT ... FOREIGN KEY: NOT VALID, then VALIDATE, on PostgreSQL."""
    if not _postgresql():
        with op.batch_alter_table(source) as batch:
            batch.create_foreign_key(name, referent, local, remote, **kw)
        return
    op.create_foreign_key(
        name, source, referent, local, remote, postgresql_not_valid=True, **kw
    )
    _validate(source, name)


def _validate(table: str, constraint: str) -> None:
    """VALIDATE CONSTRAINT in a transaction of its own: the one that added the
    constraint holds a lock that would block the table while the rows are checked."""
    with op.get_context().autocommit_block():
        op.execute(f'ALTER TABLE "{table}" VALIDATE CONSTRAINT "{constraint}"')


def set_not_null(table: str, column: str) -> None:
    """ALTER COLUMN ... SET NOT NULL, proven first by a validated CHECK (PostgreSQL)."""
    if not _postgresql():
        with op.batch_alter_table(table) as batch:
            batch.alter_column(column, nullable=False)
        return
    check = f"ck_{table}_{column}_not_null"[:63]
    op.execute(
        f'ALTER TABLE "{table}" ADD CONSTRAINT "{check}" '
        f'CHECK ("{column}" IS NOT NULL) NOT VALID'
    )
    _validate(table, check)
    op.alter_column(table, column, nullable=False)
    op.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{check}"')
{%- endif %}
