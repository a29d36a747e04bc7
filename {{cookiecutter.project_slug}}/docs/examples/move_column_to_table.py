"""Example, step 1 of 2: copy users.bio into a new user_profiles table, in batches

Copy into migrations/versions/, give it a fresh revision id, set down_revision to the
revision migrations/head.txt records, and adapt. See docs/data-migrations.md.

It assumes "users" has a nullable text column "bio", which this project's models do not
have: it stands for the column of yours that moves.

This revision only adds and copies; users.bio stays. While it runs, the release that
is still serving keeps writing users.bio, so bios can be written after the walk has
passed them. Release the code that reads user_profiles next; step 2,
move_column_drop_old.py, copies what is still missing and drops users.bio in a later
deploy, once the old release has stopped.

Revision ID: example_move_column
Revises:
Create Date: 2026-01-01 00:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.backfill import (
    case_sensitive,
    execute_in_batches,
    has_table,
    update_in_batches,
)

revision: str = "example_move_column"
down_revision: str | Sequence[str] | None = None  # set to your current head
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# expand: copies; the old column stays for the release before it.
phase = "expand"

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
    # Skipped when an earlier run created the table and then stopped (where DDL is
    # not transactional, the CREATE stays even when a later step fails).
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

    # A NULL bio gets no row at all, which is how the way back knows to put NULL
    # back. An empty string is a value and moves like any other.
    def copy_bios(batch: sa.ColumnElement[bool]) -> sa.Executable:
        rows = sa.select(users.c.id, users.c.bio).where(batch)
        return user_profiles.insert().from_select(["user_id", "bio"], rows)

    # Not require_complete: the old release still writes bios during this deploy, so
    # some may be left behind. Step 2 copies them and insists that none remain.
    execute_in_batches(
        users,
        copy_bios,
        pending=users.c.bio.is_not(None) & ~has_profile,
        batch_size=BATCH_SIZE,
        label="users.bio -> user_profiles",
    )


def downgrade() -> None:
    # Skipped when an earlier run dropped the table and then stopped.
    if not has_table("user_profiles"):
        return

    # The release that reads user_profiles may have changed bios there: put those
    # values back into users.bio before the table goes.
    profile_bio = (
        sa.select(user_profiles.c.bio)
        .where(user_profiles.c.user_id == users.c.id)
        .scalar_subquery()
    )
    differs = sa.exists().where(
        user_profiles.c.user_id == users.c.id,
        case_sensitive(users.c.bio).is_distinct_from(
            case_sensitive(user_profiles.c.bio)
        ),
    )
    update_in_batches(
        users,
        {"bio": profile_bio},
        pending=differs,
        batch_size=BATCH_SIZE,
        label="user_profiles -> users.bio",
    )

    op.drop_table("user_profiles")
