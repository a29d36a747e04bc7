"""The service's settings, yours to change: read with pydantic-settings, the usual
choice of pydantic projects.

Each comes from the process environment, else from .env in the project folder: a
variable the environment sets, even to blank, wins. The migrations read the variables
they need on their own (migrations/settings.py), so this file can change shape without
breaking them; tests/test_settings.py checks that both still find the same database.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Installed from a wheel, the package sits in site-packages: no project folder there to
# hold .env or the default SQLite file, so DATABASE_URL must come from the environment.
IN_PROJECT = (PROJECT_ROOT / "alembic.ini").is_file()
ENV_FILE = PROJECT_ROOT / ".env"
DEFAULT_SQLITE_FILE = PROJECT_ROOT / "{{ cookiecutter.package_name }}.db"
{%- if cookiecutter.stack == "async" %}
# A bare scheme means the asyncio driver this project installs (migrations/settings.py
# says more).
{%- if cookiecutter.database == "mysql" %}
_BARE_SCHEMES = {
    "mysql": "mysql+asyncmy",
    "mariadb": "mysql+asyncmy",
    "sqlite": "sqlite+aiosqlite",
}
{%- else %}
_BARE_SCHEMES = {
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
}
{%- endif %}
{%- elif cookiecutter.database == "mysql" %}
# A bare scheme means the driver this project installs: PyMySQL (pure Python; a bare
# mysql:// would mean mysqlclient, a C extension). MariaDB speaks the same protocol.
_BARE_SCHEMES = {"mysql": "mysql+pymysql", "mariadb": "mysql+pymysql"}
{%- else %}
# A bare scheme means the driver this project installs: psycopg2 (SQLAlchemy 2.1 reads
# postgresql:// as psycopg 3 and refuses postgres://, what many hosts hand out).
_BARE_SCHEMES = {"postgres": "postgresql+psycopg2", "postgresql": "postgresql+psycopg2"}
{%- endif %}


class SettingError(ValueError):
    """A setting cannot be used; the message names it and never shows a secret."""


class Settings(BaseSettings):
    """What the service reads, each under its variable's exact name: the migrations
    read DATABASE_URL and no other spelling, and the app must meet their database."""

    model_config = SettingsConfigDict(case_sensitive=True)

    # Secret too: a URL may carry the password, and a repr() ends up in test reports.
    database_url: SecretStr = Field(
        default=SecretStr(""), validation_alias="DATABASE_URL"
    )
    # On its own, as it is (no percent-encoding): what a secret store hands over.
    # Used instead of the password in DATABASE_URL.
    database_password: SecretStr = Field(
        default=SecretStr(""), validation_alias="DATABASE_PASSWORD"
    )
{%- if cookiecutter.include_api == "y" %}
    # Comma-separated bearer tokens.
    api_tokens: SecretStr = Field(default=SecretStr(""), validation_alias="API_TOKENS")
    # "1": serve without tokens beyond this machine, on purpose.
    api_open: str = Field(default="", validation_alias="API_OPEN")
    # The port `make run` serves on; its --port wins.
    port: str = Field(default="", validation_alias="PORT")
{%- endif %}

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, _LiteralEnvFile(settings_cls)


class _LiteralEnvFile(PydanticBaseSettingsSource):
    """.env taken as written: pydantic-settings' own source expands ${VAR} in values,
    which would change a password or token that holds a $."""

    def get_field_value(
        self, field: FieldInfo, field_name: str
    ) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads the file whole

    def __call__(self) -> dict[str, Any]:
        if not IN_PROJECT or not (ENV_FILE.exists() or ENV_FILE.is_symlink()):
            return {}
        if not ENV_FILE.is_file():  # a folder, a broken link, a pipe, /dev/null...
            raise SettingError(f"{ENV_FILE} is not a file: make it one or remove it")
        # Imported late: a deployment sets the environment and never reads .env.
        from dotenv.parser import parse_stream

        try:
            text = ENV_FILE.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise SettingError(
                f"{ENV_FILE} cannot be read (not a file of UTF-8 text?): fix or "
                "remove it"
            ) from None
        # python-dotenv's parser, as migrations/settings.py reads it: values as
        # written, and a line it cannot parse named (dotenv_values would skip it, a
        # token on it silently unset), by its number, never its text.
        fields = self.settings_cls.model_fields.values()
        names = {field.validation_alias for field in fields}
        values: dict[str, Any] = {}
        for binding in parse_stream(io.StringIO(text)):
            if binding.error:
                raise SettingError(
                    f"{ENV_FILE}, line {binding.original.line}, is not NAME=value (an "
                    "unclosed quote?): fix or remove that line"
                )
            key, value = binding.key, binding.value
            if key is not None and key in names and value is not None:
                values[key] = value
        return values


def database_url(settings: Settings | None = None) -> URL:
    """The app's database: DATABASE_URL (with DATABASE_PASSWORD), else a SQLite file in
    the project. The migrations apply the same rules, and check more (migrations/
    settings.py): a URL they accept works here."""
    settings = settings or Settings()
    raw = settings.database_url.get_secret_value().strip()
    if not raw:
        if not IN_PROJECT:
            raise SettingError(
                "DATABASE_URL is not set, and an installed package has no project "
                "folder for a default database: set it"
            )
{%- if cookiecutter.stack == "async" %}
        return URL.create("sqlite+aiosqlite", database=str(DEFAULT_SQLITE_FILE))
{%- else %}
        return URL.create("sqlite", database=str(DEFAULT_SQLITE_FILE))
{%- endif %}
    scheme, separator, rest = raw.partition("://")
    scheme = _BARE_SCHEMES.get(scheme.lower(), scheme)
{%- if cookiecutter.database == "mysql" %}
    if scheme.lower().startswith("mariadb+"):  # one dialect for both servers
        scheme = "mysql+" + scheme.partition("+")[2]
{%- endif %}
    password = settings.database_password.get_secret_value()
    try:
        # What the migrations refuse is refused here too, before the app takes a
        # request (they say why, in detail). A second '@' before the path would make
        # part of the password the host name, shown in messages.
        host = re.split(r"[/?]", rest.partition("@")[2], maxsplit=1)[0]
        if not separator or "@" in host:
            raise ValueError
        url = make_url(f"{scheme}://{rest}")
        if password and url.get_backend_name() == "sqlite":
            raise ValueError  # SQLite takes no password
        url = url.set(password=password) if password else url
        parts = [url.username, url.password, url.host, url.database, *url.query]
        for value in url.query.values():  # a tuple for a repeated parameter
            parts += [value] if isinstance(value, str) else value
        if any("\x00" in part for part in parts if part):
            raise ValueError  # no driver takes a NUL (%00)
        dialect = url.get_dialect()
{%- if cookiecutter.stack == "async" %}
        if not dialect.is_async:
            raise ValueError  # a blocking driver, in an async service
{%- endif %}
        dialect.import_dbapi()  # installed?
        _, arguments = dialect().create_connect_args(url)  # what the driver is handed
        port = str(arguments.get("port", 1))
        if not (port.isdigit() and 0 < int(port) < 65536):
            raise ValueError
{%- if cookiecutter.database == "mysql" %}
        # MySQL's "utf8" holds 3 bytes a character: connections speak utf8mb4 only.
        if url.get_backend_name() == "mysql":
            if url.query.get("charset", "utf8mb4") != "utf8mb4":
                raise ValueError
            url = url.update_query_dict({"charset": "utf8mb4"})
{%- endif %}
    except (ArgumentError, ValueError, TypeError, ImportError):
        # The parser's or driver's message may quote the URL, password included.
        raise SettingError(
            "DATABASE_URL cannot be used (percent-encode special characters in the "
            "password, @ as %40): `make migrate` says why"
        ) from None
    # A relative SQLite path means "in this project", wherever the command runs from.
    database = url.database or ""
    kept = database in ("", ":memory:") or database.startswith("file:")
    sqlite = url.get_backend_name() == "sqlite"
    if sqlite and not (kept or Path(database).is_absolute()):
        folder = PROJECT_ROOT if IN_PROJECT else Path.cwd()
        url = url.set(database=str(folder / database))
    return url
