"""Example: move user.bio into a new user_profile table, in batches, and back

Copy into alembic/versions/, give it a fresh revision id, set down_revision to the
output of `alembic heads`, and adapt. See docs/data-migrations.md.

It assumes "user" has a nullable text column "bio", which this project's models do not
have: it stands for the column of yours that moves.

Revision ID: example_move_column
Revises:
Create Date: 2026-01-01 00:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from {{ cookiecutter.package_name }}.backfill import (
    execute_in_batches,
    has_column,
    has_table,
    update_in_batches,
)

revision: str = "example_move_column"
down_revision: str | Sequence[str] | None = None  # set to your current head
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH_SIZE = 5_000

# Table stubs: SQLAlchemy quotes "user" (a reserved word in PostgreSQL) for us.
user = sa.table("user", sa.column("id", sa.BigInteger), sa.column("bio", sa.Text))
user_profile = sa.table(
    "user_profile",
    sa.column("user_id", sa.BigInteger),
    sa.column("bio", sa.Text),
)
# Correlated to the "user" row of the statement it is used in.
has_profile = sa.exists().where(user_profile.c.user_id == user.c.id)


def upgrade() -> None:
    if not has_table("user_profile"):
        op.create_table(
            "user_profile",
            sa.Column("user_id", sa.BigInteger(), nullable=False),
            sa.Column("bio", sa.Text(), nullable=False),
            sa.ForeignKeyConstraint(
                ["user_id"],
                ["user.id"],
                name=op.f("fk_user_profile_user_id_user"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_profile")),
        )

    # A NULL bio gets no row at all, which is how the downgrade knows to put NULL
    # back. An empty string is a value and moves like any other.
    def copy_bios(batch: sa.ColumnElement[bool]) -> sa.Executable:
        rows = sa.select(user.c.id, user.c.bio).where(batch)
        return user_profile.insert().from_select(["user_id", "bio"], rows)

    execute_in_batches(
        user,
        copy_bios,
        pending=user.c.bio.is_not(None) & ~has_profile,
        batch_size=BATCH_SIZE,
        label="user.bio -> user_profile",
    )

    # Contract. Code still reading user.bio breaks from here on: release the code
    # that reads user_profile first (or move this step to a later revision).
    with op.batch_alter_table("user") as batch_op:
        batch_op.drop_column("bio")


def downgrade() -> None:
    if not has_column("user", "bio"):
        with op.batch_alter_table("user") as batch_op:
            batch_op.add_column(sa.Column("bio", sa.Text(), nullable=True))

    profile_bio = (
        sa.select(user_profile.c.bio)
        .where(user_profile.c.user_id == user.c.id)
        .scalar_subquery()
    )
    update_in_batches(
        user,
        {"bio": profile_bio},
        pending=user.c.bio.is_(None) & has_profile,
        batch_size=BATCH_SIZE,
        label="user_profile -> user.bio",
    )

    op.drop_table("user_profile")
