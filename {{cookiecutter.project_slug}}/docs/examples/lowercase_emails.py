"""Example: lower-case every e-mail address in batches, keeping the originals

Copy into migrations/versions/, give it a fresh revision id, set down_revision to the
revision migrations/head.txt records, and adapt. See docs/data-migrations.md.

Lower-casing loses information, so the upgrade first keeps each address it is about to
change in user_email_before_lowercase, and the downgrade puts them back from there.
List that table under [alembic:exclude] in alembic.ini (the models do not know it),
and drop it in a later revision once nobody will downgrade past this one.

Revision ID: example_lowercase_emails
Revises:
Create Date: 2026-01-01 00:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from alembic.util import CommandError

from migrations.backfill import (
    case_sensitive,
    execute_in_batches,
    has_table,
    live_connection,
    update_in_batches,
)

revision: str = "example_lowercase_emails"
down_revision: str | Sequence[str] | None = None  # set to your current head
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# expand: rewrites values, takes nothing away from the release before it.
phase = "expand"

BATCH_SIZE = 5_000
KEPT = "user_email_before_lowercase"

users = sa.table("users", sa.column("id", sa.BigInteger), sa.column("email", sa.String))
kept = sa.table(
    KEPT, sa.column("user_id", sa.BigInteger), sa.column("email", sa.String)
)
{%- if cookiecutter.database == "mysql" %}
# SQLite's lower() folds ASCII letters only; MySQL's follows the column's collation.
# Either way this revision and its checks use the database's own lower().
{%- else %}
# SQLite's lower() folds ASCII letters only; PostgreSQL's follows the database's
# LC_CTYPE. Either way this revision and its checks use the database's own lower().
{%- endif %}
lowered = sa.func.lower(users.c.email)
# Correlated to the users row of the statement it is used in.
is_kept = sa.exists().where(kept.c.user_id == users.c.id)


def upgrade() -> None:
    # Compared byte for byte{% if cookiecutter.database == "mysql" %}: on MySQL 'Ada' = 'ada' otherwise{% else %}, on every database{% endif %} (see case_sensitive).
    mixed_case = case_sensitive(users.c.email) != lowered
    refuse_case_duplicates()
    if not has_table(KEPT):
        op.create_table(
            KEPT,
            sa.Column("user_id", sa.BigInteger(), nullable=False),
            sa.Column("email", sa.String(length=255), nullable=False),
            sa.ForeignKeyConstraint(
                ["user_id"],
                ["users.id"],
                name=op.f(f"fk_{KEPT}_user_id_users"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("user_id", name=op.f(f"pk_{KEPT}")),
        )

    # 1. Keep each original. 2. Lower-case only addresses whose original is kept, so
    #    an interruption between (or inside) the two passes loses nothing.
    def keep_originals(batch: sa.ColumnElement[bool]) -> sa.Executable:
        rows = sa.select(users.c.id, users.c.email).where(batch)
        return kept.insert().from_select(["user_id", "email"], rows)

    execute_in_batches(
        users,
        keep_originals,
        pending=mixed_case & ~is_kept,
        batch_size=BATCH_SIZE,
        label="users.email originals",
    )
    update_in_batches(
        users,
        {"email": lowered},
        pending=mixed_case & is_kept,
        batch_size=BATCH_SIZE,
        label="users.email lower-case",
    )


def downgrade() -> None:
    # Only addresses nobody changed since the upgrade: a newer one is not overwritten.
    restorable = sa.exists().where(
        kept.c.user_id == users.c.id,
        case_sensitive(kept.c.email) != users.c.email,
        case_sensitive(sa.func.lower(kept.c.email)) == users.c.email,
    )
    original = (
        sa.select(kept.c.email).where(kept.c.user_id == users.c.id).scalar_subquery()
    )
    update_in_batches(
        users,
        {"email": original},
        pending=restorable,
        batch_size=BATCH_SIZE,
        label="users.email originals back",
    )
    op.drop_table(KEPT)


def refuse_case_duplicates() -> None:
    """Stop before any change if two addresses differ only by case (unique index).
{%- if cookiecutter.database == "mysql" %}

    None can on MySQL: its unique index already ignores case there.
    """
{%- else %}"""
{%- endif %}
    groups = sa.select(lowered).group_by(lowered).having(sa.func.count() > 1)
    clashes = live_connection().execute(
        sa.select(sa.func.count()).select_from(groups.subquery())
    )
    count = clashes.scalar_one()
    if count:
        raise CommandError(
            f"{count} e-mail addresses are shared by several users once lower-cased; "
            "merge or change those users, then run the upgrade again"
        )
