"""Example, step 2 of 2: copy the bios still missing from user_profiles, drop users.bio

Copy into migrations/versions/ in a later deploy than step 1 (move_column_to_table.py),
give it a fresh revision id, set down_revision to the revision migrations/head.txt
records (step 1 or a later revision), and adapt. See docs/data-migrations.md.

Deploy it only once the code that reads user_profiles serves everywhere and the old
release, which writes bios to users.bio alone, has stopped. Bios the old release wrote
after step 1's walk have no profile yet: they are copied here first. If any are still
missing after that (the old release still runs somewhere), the revision stops before
the DROP, with one line, and running it again once those writers are gone finishes it.

Revision ID: example_move_column_drop_old
Revises: example_move_column
Create Date: 2026-01-01 00:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.backfill import (
    execute_in_batches,
    has_column,
    update_in_batches,
)

revision: str = "example_move_column_drop_old"
down_revision: str | Sequence[str] | None = None  # set to your current head
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# contract: the old column goes, once no release reads it.
phase = "contract"

BATCH_SIZE = 5_000

users = sa.table("users", sa.column("id", sa.BigInteger), sa.column("bio", sa.Text))
user_profiles = sa.table(
    "user_profiles",
    sa.column("user_id", sa.BigInteger),
    sa.column("bio", sa.Text),
)
has_profile = sa.exists().where(user_profiles.c.user_id == users.c.id)


def upgrade() -> None:
    # Gone already: an earlier run dropped it and stopped before recording this
    # revision (where DDL is not transactional, the DROP stays even then). Everything
    # below is done.
    if not has_column("users", "bio"):
        return

    def copy_bios(batch: sa.ColumnElement[bool]) -> sa.Executable:
        rows = sa.select(users.c.id, users.c.bio).where(batch)
        return user_profiles.insert().from_select(["user_id", "bio"], rows)

    # require_complete: a bio still without a profile after the walk would be lost by
    # the DROP below, so the revision stops here instead (the copies made stay).
    execute_in_batches(
        users,
        copy_bios,
        pending=users.c.bio.is_not(None) & ~has_profile,
        batch_size=BATCH_SIZE,
        label="users.bio -> user_profiles, the rest",
        require_complete=True,
    )

    # Contract. Code still reading users.bio breaks from here on.
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("bio")


def downgrade() -> None:
    # Skipped when an earlier run added it and then stopped.
    if not has_column("users", "bio"):
        with op.batch_alter_table("users") as batch_op:
            batch_op.add_column(sa.Column("bio", sa.Text(), nullable=True))

    # The column is new and all NULL: every user with a profile gets its bio back,
    # and the rows still NULL are the ones left to do.
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
