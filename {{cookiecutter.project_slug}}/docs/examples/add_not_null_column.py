"""Example: add order.item_count (NOT NULL), filled in batches

Copy into alembic/versions/, give it a fresh revision id, set down_revision to the
output of `alembic heads`, and adapt. See docs/data-migrations.md.

Revision ID: example_not_null_column
Revises:
Create Date: 2026-01-01 00:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from {{ cookiecutter.package_name }}.backfill import (
    has_column,
    update_in_batches,
)

revision: str = "example_not_null_column"
down_revision: str | Sequence[str] | None = None  # set to your current head
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Rows per batch: each batch holds its row locks only while its own UPDATE runs.
BATCH_SIZE = 5_000

# The columns this revision reads and writes, as they stand at this point of the
# history. Never the models: they keep changing, and this file must not.
order = sa.table(
    "order",
    sa.column("id", sa.BigInteger),
    sa.column("item_count", sa.Integer),
)
item = sa.table("item", sa.column("order_id", sa.BigInteger))


def upgrade() -> None:
    # 1. Expand: a nullable column without a default is a catalog change, no rewrite.
    #    Skipped when a previous, interrupted run already added it.
    if not has_column("order", "item_count"):
        with op.batch_alter_table("order") as batch_op:
            batch_op.add_column(sa.Column("item_count", sa.Integer(), nullable=True))

    # 2. Backfill: a value computed per row, so a server default could not supply it.
    #    Rows still NULL are the ones left to do; each batch commits on its own.
    count = (
        sa.select(sa.func.count())
        .where(item.c.order_id == order.c.id)
        .scalar_subquery()
    )
    update_in_batches(
        order,
        {"item_count": count},
        pending=order.c.item_count.is_(None),
        batch_size=BATCH_SIZE,
        label="order.item_count",
    )

    # 3. Constrain. A row the old code inserted after the walk passed makes this fail
    #    loudly (NOT NULL); run the upgrade again and step 2 fills it.
    with op.batch_alter_table("order") as batch_op:
        batch_op.alter_column("item_count", existing_type=sa.Integer(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("order") as batch_op:
        batch_op.drop_column("item_count")
