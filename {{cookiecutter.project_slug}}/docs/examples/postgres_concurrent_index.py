"""Example: index a busy table without blocking writes (CREATE INDEX CONCURRENTLY)

Copy into migrations/versions/, give it a fresh revision id and set down_revision to the
output of `alembic heads`. See docs/deploying.md.

Revision ID: example_concurrent_index
Revises:
Create Date: 2026-01-01 00:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "example_concurrent_index"
down_revision: str | Sequence[str] | None = None  # set to your current head
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX, TABLE, COLUMNS = "ix_orders_created_at", "orders", ["created_at"]


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        op.create_index(INDEX, TABLE, COLUMNS)
        return
    # A plain CREATE INDEX blocks every write to the table while it builds. The
    # CONCURRENTLY form does not, but cannot run inside a transaction: autocommit_block
    # commits the revision's transaction first. A big table may need a longer
    # MIGRATION_STATEMENT_TIMEOUT for this run.
    with op.get_context().autocommit_block():
        # A run that failed half-way (a timeout, a cancel) left an INVALID index of
        # this name behind, and every retry would fail "already exists": drop that
        # leftover first. Never downgrade to clean up: that undoes the revision before.
        if _invalid_leftover():
            op.drop_index(INDEX, table_name=TABLE, postgresql_concurrently=True)
        op.create_index(INDEX, TABLE, COLUMNS, postgresql_concurrently=True)


def _invalid_leftover() -> bool:
    query = sa.text(
        "SELECT NOT i.indisvalid FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = :name"
    )
    return bool(op.get_bind().execute(query, {"name": INDEX}).scalar())


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        op.drop_index(INDEX, table_name=TABLE)
        return
    with op.get_context().autocommit_block():
        op.drop_index(
            INDEX, table_name=TABLE, postgresql_concurrently=True, if_exists=True
        )
