"""Example, step 2 of 2: orders.item_count becomes NOT NULL

Copy into migrations/versions/ in a later deploy than step 1 (add_not_null_column.py),
give it a fresh revision id, set down_revision to the revision migrations/head.txt
records, and adapt. See docs/data-migrations.md.

Deploy it once the old release, which inserts orders without item_count, has stopped
(the contract step of a rolling deploy, docs/deploying.md). Orders it inserted after
step 1's walk are still NULL: they are counted here first, then the column is
constrained.

Revision ID: example_require_not_null
Revises: example_not_null_column
Create Date: 2026-01-01 00:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

{% if cookiecutter.database != "mysql" -%}
from migrations import online
{% endif -%}
from migrations.backfill import update_in_batches

revision: str = "example_require_not_null"
down_revision: str | Sequence[str] | None = None  # set to your current head
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# NOT NULL: a release that inserts orders without item_count would break.
phase = "contract"

# Rows per batch: each batch holds its row locks only while its own UPDATE runs.
BATCH_SIZE = 5_000
# The column's type as step 1 made it (64-bit; SQLite's own INTEGER there).
BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# As they stand at this point of the history (never the models).
orders = sa.table("orders", sa.column("id"), sa.column("item_count", sa.Integer))
order_items = sa.table("order_items", sa.column("order_id"))


def upgrade() -> None:
    # Only the rows the old release inserted late are left; none, on most deploys.
    count = sa.select(sa.func.count()).where(order_items.c.order_id == orders.c.id)
    update_in_batches(
        orders,
        {"item_count": count.scalar_subquery()},
        pending=orders.c.item_count.is_(None),
        batch_size=BATCH_SIZE,
        label="orders.item_count, the rest",
    )
{%- if cookiecutter.database == "mysql" %}
    # In place, with writes going on (docs/deploying.md, "Rolling deploys").
    with op.batch_alter_table("orders") as batch_op:
        batch_op.alter_column("item_count", existing_type=BIGINT, nullable=False)
{%- else %}
    # Proven by a validated CHECK first on PostgreSQL: no scan while writes wait.
    # squawk-ignore: ban-drop-constraint
    online.set_not_null("orders", "item_count")
{%- endif %}


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch_op:
        batch_op.alter_column("item_count", existing_type=BIGINT, nullable=True)
