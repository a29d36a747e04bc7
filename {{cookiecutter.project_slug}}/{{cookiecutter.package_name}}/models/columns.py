"""Column helpers for any model: bigint identity keys, UTC creation times."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Identity, Integer, text
from sqlmodel import Field

{% if cookiecutter.database == "mysql" -%}
# 64-bit keys, numbered by the server (AUTO_INCREMENT); SQLite numbers rows itself only
# for a column declared exactly INTEGER PRIMARY KEY.
{%- else -%}
# 64-bit keys, numbered by PostgreSQL identity columns (what squawk's lint asks for);
# SQLite numbers rows itself only for a column declared exactly INTEGER PRIMARY KEY.
{%- endif %}
BIGINT = BigInteger().with_variant(Integer(), "sqlite")


def primary_key() -> Any:
    """A bigint identity primary key (a plain auto-numbered INTEGER on SQLite)."""
    return Field(
        default=None, primary_key=True, sa_type=BIGINT, sa_column_args=[Identity()]
    )


def utcnow() -> datetime:
    """The current time, timezone-aware (naive datetimes are refused)."""
    return datetime.now(UTC)


def creation_time() -> Any:
    """A timestamp of a row's creation, by the app or, for plain SQL, the database."""
    # The server default covers rows written by plain SQL (data migrations).
    return Field(
        default_factory=utcnow,
        sa_column_kwargs={"server_default": text("CURRENT_TIMESTAMP")},
    )
