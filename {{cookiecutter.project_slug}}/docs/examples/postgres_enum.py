"""Example: add a column of a PostgreSQL enum type, and remove it again

Copy into migrations/versions/, give it a fresh revision id and set down_revision to the
revision migrations/head.txt records. See docs/deploying.md.

Revision ID: example_enum
Revises:
Create Date: 2026-01-01 00:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "example_enum"
down_revision: str | Sequence[str] | None = None  # set to your current head
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
phase = "expand"

PRIORITY = sa.Enum("low", "normal", "high", name="order_priority")


def upgrade() -> None:
    # add_column does not create the enum type on PostgreSQL (create_table would), and
    # dropping the column later leaves the type behind: both are done here by hand.
    # SQLite stores the values as VARCHAR; there is no type to create there.
    PRIORITY.create(op.get_bind(), checkfirst=True)
    with op.batch_alter_table("orders") as batch_op:
        batch_op.add_column(
            sa.Column("priority", PRIORITY, server_default="normal", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch_op:
        batch_op.drop_column("priority")
    # Without this, upgrading again fails: type "order_priority" already exists.
    PRIORITY.drop(op.get_bind(), checkfirst=True)
