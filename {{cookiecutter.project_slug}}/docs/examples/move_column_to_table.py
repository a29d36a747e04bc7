"""Example: move users.bio into a new user_profiles table, in batches, and back

Copy into migrations/versions/, give it a fresh revision id, set down_revision to the
output of `alembic heads`, and adapt. See docs/data-migrations.md.

It assumes "users" has a nullable text column "bio", which this project's models do not
have: it stands for the column of yours that moves.

Revision ID: example_move_column
Revises:
Create Date: 2026-01-01 00:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.backfill import (
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

# Table stubs: SQLAlchemy quotes any name that needs quoting (a reserved word, say).
users = sa.table("users", sa.column("id", sa.BigInteger), sa.column("bio", sa.Text))
user_profiles = sa.table(
    "user_profiles",
    sa.column("user_id", sa.BigInteger),
    sa.column("bio", sa.Text),
)
# Correlated to the users row of the statement it is used in.
has_profile = sa.exists().where(user_profiles.c.user_id == users.c.id)


def upgrade() -> None:
    if not has_table("user_profiles"):
        op.create_table(
            "user_profiles",
            sa.Column("user_id", sa.BigInteger(), nullable=False),
            sa.Column("bio", sa.Text(), nullable=False),
            sa.ForeignKeyConstraint(
                ["user_id"],
                ["users.id"],
                name=op.f("fk_user_profiles_user_id_users"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_profiles")),
        )

    # A NULL bio gets no row at all, which is how the downgrade knows to put NULL
    # back. An empty string is a value and moves like any other.
    def copy_bios(batch: sa.ColumnElement[bool]) -> sa.Executable:
        rows = sa.select(users.c.id, users.c.bio).where(batch)
        return user_profiles.insert().from_select(["user_id", "bio"], rows)

    execute_in_batches(
        users,
        copy_bios,
        pending=users.c.bio.is_not(None) & ~has_profile,
        batch_size=BATCH_SIZE,
        label="users.bio -> user_profiles",
    )

    # Contract. Code still reading users.bio breaks from here on: release the code
    # that reads user_profiles first (or move this step to a later revision).
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("bio")


def downgrade() -> None:
    if not has_column("users", "bio"):
        with op.batch_alter_table("users") as batch_op:
            batch_op.add_column(sa.Column("bio", sa.Text(), nullable=True))

    profile_bio = (
        sa.select(user_profiles.c.bio)
        .where(user_profiles.c.user_id == users.c.id)
        .scalar_subquery()
    )
    update_in_batches(
        users,
        {"bio": profile_bio},
        pending=users.c.bio.is_(None) & has_profile,
        batch_size=BATCH_SIZE,
        label="user_profiles -> users.bio",
    )

    op.drop_table("user_profiles")
