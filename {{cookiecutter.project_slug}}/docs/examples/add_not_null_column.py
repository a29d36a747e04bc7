"""Example, step 1 of 2: add orders.item_count, nullable, and fill it in batches

Copy into migrations/versions/, give it a fresh revision id, set down_revision to the
revision migrations/head.txt records, and adapt. See docs/data-migrations.md. The
release that ships it writes item_count on every new order; step 2
(require_not_null.py), in a later deploy, makes the column NOT NULL.

Revision ID: example_not_null_column
Revises:
Create Date: 2026-01-01 00:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.backfill import (
    has_column,
    update_in_batches,
)

revision: str = "example_not_null_column"
down_revision: str | Sequence[str] | None = None  # set to your current head
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# A nullable column: the release still running ignores it (docs/deploying.md).
phase = "expand"

# Rows per batch: each batch holds its row locks only while its own UPDATE runs.
BATCH_SIZE = 5_000
# A 64-bit integer, as a model's sa_type=columns.BIGINT declares it.
BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# The columns this revision reads and writes, as they stand at this point of the
# history. Never the models: they keep changing, and this file must not.
orders = sa.table(
    "orders",
    sa.column("id", sa.BigInteger),
    sa.column("item_count", sa.Integer),
)
order_items = sa.table("order_items", sa.column("order_id", sa.BigInteger))


def upgrade() -> None:
    # 1. A nullable column without a default is a catalog change, no rewrite.
    #    Skipped when a previous, interrupted run already added it.
    if not has_column("orders", "item_count"):
        with op.batch_alter_table("orders") as batch_op:
            batch_op.add_column(sa.Column("item_count", BIGINT, nullable=True))

    # 2. Backfill: a value computed per row, so a server default could not supply it.
    #    Rows still NULL are the ones left to do; each batch commits on its own.
    count = (
        sa.select(sa.func.count())
        .where(order_items.c.order_id == orders.c.id)
        .scalar_subquery()
    )
    update_in_batches(
        orders,
        {"item_count": count},
        pending=orders.c.item_count.is_(None),
        batch_size=BATCH_SIZE,
        label="orders.item_count",
    )


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch_op:
        batch_op.drop_column("item_count")
