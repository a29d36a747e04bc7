"""The service's configuration: one resolver shared by the app and its migrations.

Each setting comes from the process environment, else from .env in the project root.
Imports nothing heavy: `alembic upgrade head` reads DATABASE_URL through it on every
deploy.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_FILE = PROJECT_ROOT / ".env"
DEFAULT_SQLITE_FILE = PROJECT_ROOT / "{{ cookiecutter.package_name }}.db"

# SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3 and rejects postgres:// (what
# many hosts hand out); this project ships psycopg2, so both mean psycopg2 here.
_BARE_SCHEMES = {
    "postgres": "postgresql+psycopg2",
    "postgresql": "postgresql+psycopg2",
}
_EXAMPLE = "e.g. postgresql://user:password@localhost:5432/dbname or sqlite:///app.db"


class SettingError(ValueError):
    """A setting cannot be used; the message names it and never shows a password."""


class DatabaseURLError(SettingError):
    """DATABASE_URL cannot be used."""


def setting(
    name: str, environ: Mapping[str, str] | None = None, env_file: Path = ENV_FILE
) -> tuple[str, str]:
    """A setting's value ("" when unset) and where it came from, for messages."""
    environ = os.environ if environ is None else environ
    value = environ.get(name, "").strip()
    if value or not env_file.is_file():
        return value, name
    # Imported late: a deploy sets the environment and never needs to read .env.
    from dotenv import dotenv_values

    value = (dotenv_values(env_file).get(name) or "").strip()
    return value, f"{name} (from {env_file})"


def database_url(
    environ: Mapping[str, str] | None = None, env_file: Path = ENV_FILE
) -> URL:
    """Return the database URL: environment, then .env, then a SQLite file here."""
    raw, source = setting("DATABASE_URL", environ, env_file)
    if not raw:
        return URL.create("sqlite", database=str(DEFAULT_SQLITE_FILE))
    return parse_database_url(raw, source)


def parse_database_url(raw: str, source: str = "DATABASE_URL") -> URL:
    """Parse and check a URL, giving bare PostgreSQL schemes the psycopg2 driver."""
    scheme, separator, rest = raw.partition("://")
    if not separator or not scheme:
        raise DatabaseURLError(f"{source} is not a database URL; use {_EXAMPLE}")
    scheme = _BARE_SCHEMES.get(scheme.lower(), scheme)
    try:
        url = make_url(f"{scheme}://{rest}")
    except (ArgumentError, ValueError):
        # The parser's message may quote the URL, password included: never show it.
        raise DatabaseURLError(
            f"{source} is malformed (percent-encode special characters in the "
            f"password, e.g. @ as %40); use {_EXAMPLE}"
        ) from None
    try:
        url.get_dialect().import_dbapi()
    except NoSuchModuleError:
        raise DatabaseURLError(
            f"{source} names an unknown database driver {url.drivername!r}; "
            "use postgresql:// (psycopg2) or sqlite:///"
        ) from None
    except ImportError:
        raise DatabaseURLError(
            f"{source} asks for driver {url.drivername!r}, whose Python package is "
            "not installed; install it or use postgresql:// (psycopg2)"
        ) from None
    return _anchor_sqlite_path(url)


def describe(url: URL) -> str:
    """Render a URL for messages and logs, password masked."""
    return url.render_as_string(hide_password=True)


def _anchor_sqlite_path(url: URL) -> URL:
    # A relative SQLite path means "in this project", wherever the command runs from.
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return url
    if database.startswith("file:") or Path(database).is_absolute():
        return url
    return url.set(database=str(PROJECT_ROOT / database))
