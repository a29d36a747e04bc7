"""Example: index a busy table without blocking writes (CREATE INDEX CONCURRENTLY)

Copy into migrations/versions/, give it a fresh revision id and set down_revision to the
revision migrations/head.txt records. See docs/deploying.md.

Revision ID: example_concurrent_index
Revises:
Create Date: 2026-01-01 00:00:00

"""

from collections.abc import Sequence

from migrations import online

revision: str = "example_concurrent_index"
down_revision: str | Sequence[str] | None = None  # set to your current head
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
phase = "expand"

INDEX, TABLE, COLUMNS = "ix_orders_created_at", "orders", ["created_at"]


def upgrade() -> None:
    # A plain CREATE INDEX blocks every write to the table while it builds; online.py
    # builds it CONCURRENTLY, outside the revision's transaction, and first drops the
    # INVALID index a failed earlier run left behind (never downgrade to clean up:
    # that undoes the revision before). A big table may need a longer
    # MIGRATION_STATEMENT_TIMEOUT for this run. On SQLite: a plain CREATE INDEX.
    online.create_index(INDEX, TABLE, COLUMNS)


def downgrade() -> None:
    online.drop_index(INDEX, TABLE)
