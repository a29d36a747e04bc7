"""Alembic environment: where migrations find the database and the models.

DATABASE_URL goes to SQLAlchemy directly, never through alembic.ini (its interpolation
chokes on a percent-encoded password). safety.py and each database's module guard runs.
"""

from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from migrations import phases, safety
from migrations.settings import MigrationLimits

config = context.config

# Tools that drive migrations from code (tests) may keep their own logging.
if config.config_file_name and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

# Names the migration lock: this project's replicas queue, other projects do not.
PROJECT = "{{ cookiecutter.package_name }}"


def target_metadata() -> MetaData:
    """The models autogenerate compares with the database: every module in models/."""
    from sqlmodel import SQLModel

    import {{ cookiecutter.package_name }}.models  # noqa: F401  (registers the tables)

    return SQLModel.metadata


def options(dialect_name: str) -> dict[str, Any]:
    """context.configure's options: every run's, and comparing the models."""
    # Batch mode runs a revision on every database (SQLite rebuilds tables). Each one
    # commits alone, with its phase in alembic_phases (what older releases may serve).
    every: dict[str, Any] = {"render_as_batch": True, "transaction_per_migration": True}
    every["on_version_apply"] = phases.record
    if not safety.needs_models():
        return every
    from migrations import autogenerate  # never on a deploy's upgrade

    return every | autogenerate.options(config, dialect_name, target_metadata)


def run_migrations_offline() -> None:
    """Print the SQL instead of running it (`--sql`); never connects."""
    url, limits = safety.settings()
    context.configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **options(url.get_backend_name()),
    )
    # A DBA's session gets the same lock and limits as an online run.
    with safety.offline_guards(url, PROJECT, limits), context.begin_transaction():
        context.run_migrations()


def run_migrations(
    connection: Connection, limits: MigrationLimits | None = None
) -> None:
    """Run the migrations on an open connection; a failure names its revision."""
    with safety.guarded(connection, limits) as guards:
        context.configure(
            connection=connection, **guards, **options(connection.dialect.name)
        )
        with context.begin_transaction():
            context.run_migrations()


def run_migrations_online() -> None:
    """Run on a connection handed in by a caller, else on DATABASE_URL's database."""
    # A caller's connection (Alembic cookbook: "Sharing a Connection") stays its own.
    if (given := config.attributes.get("connection")) is not None:
        safety.borrowed(given, run_migrations)
    else:
        url, limits = safety.settings()
        safety.one_run_at_a_time(url, PROJECT, limits, run_migrations)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
