"""The migration runtime's settings, read on its own: the database (DATABASE_URL, or
MIGRATION_DATABASE_URL, and DATABASE_PASSWORD) and how long a run may wait
(MIGRATION_*_TIMEOUT), so a deploy fails fast.

Each comes from the process environment, else from .env in the project root: a
variable the environment sets, even to blank, wins, and .env is read only for those it
lacks. Nothing here imports the service, whose settings are its team's to change; the
service reads the same variables, and its tests check both find the same database.
Imports nothing heavy: `alembic upgrade head` reads it on every deploy.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_FILE = PROJECT_ROOT / ".env"
DEFAULT_SQLITE_FILE = PROJECT_ROOT / "{{ cookiecutter.package_name }}.db"
# The backends whose migrations this project guards (one run at a time, bounded
# waits): its server's, and SQLite, the scratch database of its checks and tests.
{%- if cookiecutter.database == "mysql" %}
SUPPORTED_BACKENDS = ("mysql", "sqlite")
{%- else %}
SUPPORTED_BACKENDS = ("postgresql", "sqlite")
{%- endif %}
# Query parameters that carry a secret, masked like the password in every message.
_SECRET_PARAMETERS = {"password", "passwd", "pwd", "sslpassword"}
{%- if cookiecutter.stack == "async" %}

# The async stack: a bare scheme means the asyncio driver this project installs.
{%- if cookiecutter.database == "mysql" %}
# asyncmy needs no blocking driver beside it; MariaDB speaks the same protocol.
_BARE_SCHEMES = {
    "mysql": "mysql+asyncmy",
    "mariadb": "mysql+asyncmy",
    "sqlite": "sqlite+aiosqlite",
}
_EXAMPLE = "e.g. mysql://user:password@localhost:3306/dbname or sqlite:///app.db"
_USE = "use mysql:// (asyncmy) or sqlite:/// (aiosqlite)"
{%- else %}
# postgres:// too, what many hosts hand out.
_BARE_SCHEMES = {
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
}
_EXAMPLE = "e.g. postgresql://user:password@localhost:5432/dbname or sqlite:///app.db"
_USE = "use postgresql:// (asyncpg) or sqlite:/// (aiosqlite)"
{%- endif %}
{%- elif cookiecutter.database == "mysql" %}

# A bare mysql:// would mean mysqlclient, a C extension to compile; this project ships
# PyMySQL, pure Python. MariaDB speaks the same protocol.
_BARE_SCHEMES = {"mysql": "mysql+pymysql", "mariadb": "mysql+pymysql"}
_EXAMPLE = "e.g. mysql://user:password@localhost:3306/dbname or sqlite:///app.db"
_USE = "use mysql:// (PyMySQL) or sqlite:///"
{%- else %}

# SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3 and rejects postgres:// (what
# many hosts hand out); this project ships psycopg2, so both mean psycopg2 here.
_BARE_SCHEMES = {"postgres": "postgresql+psycopg2", "postgresql": "postgresql+psycopg2"}
_EXAMPLE = "e.g. postgresql://user:password@localhost:5432/dbname or sqlite:///app.db"
_USE = "use postgresql:// (psycopg2) or sqlite:///"
{%- endif %}


class SettingError(ValueError):
    """A setting cannot be used; the message names it and never shows a password."""


class DatabaseURLError(SettingError):
    """DATABASE_URL cannot be used."""


def setting(
    name: str,
    environ: Mapping[str, str] | None = None,
    env_file: Path = ENV_FILE,
    strip: bool = True,
) -> tuple[str, str]:
    """A setting's value ("" when unset) and where it came from, for messages.

    A variable in the environment is the value, even blank ("" then: not configured,
    on purpose, whatever .env says); .env is read only for a variable the environment
    lacks. Spaces around it go, unless `strip` is False (a password may begin or end
    with one).
    """
    environ = os.environ if environ is None else environ
    if name in environ:
        value = environ.get(name, "")
        return value.strip() if strip else value, name
    if not env_file.is_file():
        if env_file.is_symlink() or env_file.exists():  # a folder, a broken link...
            what = "a link to nothing" if not env_file.exists() else "not a file"
            raise SettingError(
                f"{env_file} is {what}: make it a file of settings or remove it, or "
                f"set {name} in the environment"
            )
        return "", name
    # Imported late: a deploy sets the environment and never needs to read .env.
    from dotenv.parser import parse_stream

    try:
        text = env_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        raise SettingError(
            f"{env_file} cannot be read ({reason}): fix or remove it, or set {name} "
            "in the environment"
        ) from None
    # python-dotenv's parser, without what dotenv_values adds: a value is taken as
    # written (no ${VAR} expansion), and a line it cannot parse, which dotenv_values
    # skips with a warning (a token on it silently unset), is named: its number,
    # never its text. The last of a repeated name counts.
    value = ""
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            raise SettingError(
                f"{env_file}, line {binding.original.line}, is not NAME=value (an "
                "unclosed quote?): fix or remove that line"
            )
        if binding.key == name:
            value = binding.value or ""
    return value.strip() if strip else value, f"{name} (from {env_file})"


def database_url(
    environ: Mapping[str, str] | None = None,
    env_file: Path = ENV_FILE,
    name: str = "DATABASE_URL",
) -> URL:
    """Return the database URL: environment, then .env, then a SQLite file here."""
    raw, source = setting(name, environ, env_file)
    if not raw:
{%- if cookiecutter.stack == "async" %}
        return URL.create("sqlite+aiosqlite", database=str(DEFAULT_SQLITE_FILE))
{%- else %}
        return URL.create("sqlite", database=str(DEFAULT_SQLITE_FILE))
{%- endif %}
    url = parse_database_url(raw, source)
    # The password on its own, as it is (no percent-encoding): what a secret store
    # hands over, whatever characters it holds but NUL.
    password, where = setting("DATABASE_PASSWORD", environ, env_file, strip=False)
    if "\x00" in password:
        raise DatabaseURLError(f"{where} holds a NUL character, which no driver takes")
    if password and url.get_backend_name() == "sqlite":
        raise DatabaseURLError(f"{where} is set, but SQLite takes none: unset it")
    return url.set(password=password) if password else url


def parse_database_url(raw: str, source: str = "DATABASE_URL") -> URL:
    """Parse and check a URL, giving bare schemes this project's driver."""
    scheme, separator, rest = raw.partition("://")
    if not separator or not scheme:
        raise DatabaseURLError(f"{source} is not a database URL; use {_EXAMPLE}")
    scheme = _BARE_SCHEMES.get(scheme.lower(), scheme)
{%- if cookiecutter.database == "mysql" %}
    if scheme.lower().startswith("mariadb+"):
        # One dialect for both servers: SQLAlchemy tells MariaDB apart when it
        # connects, and every check in this project then reads "mysql".
        scheme = "mysql+" + scheme.partition("+")[2]
{%- endif %}
    if "@" in re.split(r"[/?]", rest.partition("@")[2], maxsplit=1)[0]:
        # A second '@' before the path (a '?' or '/' in the password does not end it):
        # parsed as it stands, part of the password would become the host name, and
        # be shown as such in every "cannot connect" message.
        raise DatabaseURLError(
            f"{source} has more than one '@': percent-encode '@' in the password as "
            f"%40; use {_EXAMPLE}"
        )
    try:
        url = make_url(f"{scheme}://{rest}")
    except (ArgumentError, ValueError):
        # The parser's message may quote the URL, password included: never show it.
        raise DatabaseURLError(
            f"{source} is malformed (percent-encode special characters in the "
            f"password, e.g. @ as %40); use {_EXAMPLE}"
        ) from None
    query = [
        item
        for value in url.query.values()  # a tuple for a repeated parameter
        for item in (value if isinstance(value, tuple) else (value,))
    ]
    names = list(url.query)
    parts = (url.username, url.password, url.host, url.database, *names, *query)
    if any("\x00" in str(part) for part in parts if part is not None):
        # Drivers and files refuse it with a traceback; %00 decodes to it.
        raise DatabaseURLError(f"{source} holds a NUL character (%00): remove it")
    try:
        dialect = url.get_dialect()
    except NoSuchModuleError:
        raise DatabaseURLError(
            f"{source} names an unknown database driver {url.drivername!r}; {_USE}"
        ) from None
    if url.get_backend_name() not in SUPPORTED_BACKENDS:
        raise DatabaseURLError(
            f"{source} names {url.get_backend_name()}, whose migrations this project "
            f"does not guard (one run at a time, bounded waits); {_USE}"
        )
{%- if cookiecutter.stack == "async" %}
    if not dialect.is_async:
        raise DatabaseURLError(
            f"{source} asks for driver {url.drivername!r}, which blocks, and this "
            f"project's stack is async; {_USE}"
        )
{%- endif %}
    try:
        dialect.import_dbapi()
    except ImportError:
        raise DatabaseURLError(
            f"{source} asks for driver {url.drivername!r}, whose Python package is "
            f"not installed; install it or {_USE}"
        ) from None
    try:
        # What the driver will be handed: a port or option it cannot take fails here,
        # in one line, not at the first connection with a traceback (some drivers
        # take any port and find out only as they connect).
        _, arguments = dialect().create_connect_args(url)
        port = str(arguments.get("port", 1))
        if not (port.isdigit() and 0 < int(port) < 65536):
            raise ValueError
    except (ArgumentError, ValueError, TypeError):
        # The message may quote the URL, password included: never show it.
        raise DatabaseURLError(
            f"{source} has a part or option its driver cannot take (a port that is "
            f"not from 1 to 65535, a host in a SQLite URL, ...); use {_EXAMPLE}"
        ) from None
{%- if cookiecutter.database == "mysql" %}
    if url.get_backend_name() == "mysql":
        return _utf8mb4(url, source)
{%- endif %}
    return _anchor_sqlite_path(url)


def describe(url: URL) -> str:
    """Render a URL for messages and logs, password masked (in the query too)."""
    masked = "MASKED"  # rendered as is (a "*" in a query value is percent-encoded)
    query = {
        key: masked if key.lower() in _SECRET_PARAMETERS else value
        for key, value in url.query.items()
    }
    text = url.set(query=query).render_as_string(hide_password=True)
    return text.replace(f"={masked}", "=***")
{%- if cookiecutter.database == "mysql" %}


def _utf8mb4(url: URL, source: str) -> URL:
    # MySQL's "utf8" holds 3 bytes a character at most: an emoji cannot be stored, or
    # is cut off. Connections always speak utf8mb4; a URL asking for less is refused.
    charset = url.query.get("charset", "utf8mb4")
    if charset != "utf8mb4":
        raise DatabaseURLError(
            f"{source} asks for charset={charset}, which cannot hold every character; "
            "use charset=utf8mb4 or leave it out"
        )
    return url.update_query_dict({"charset": "utf8mb4"})
{%- endif %}


def same_database(one: URL, other: URL) -> bool:
    """Whether two URLs reach one database, however each spells the way there:
    localhost or 127.0.0.1, the default port written or left out, a name's case."""
    backend = one.get_backend_name()
    if other.get_backend_name() != backend:
        return False
    if backend == "sqlite":
        files = [url.database for url in (one, other)]
        if not all(files) or ":memory:" in files:
            return False  # an in-memory database belongs to its connection alone
        return Path(str(files[0])).resolve() == Path(str(files[1])).resolve()
    port = {{ 3306 if cookiecutter.database == "mysql" else 5432 }}  # the server's default
    return (
        (one.port or port) == (other.port or port)
        and (one.database or "").casefold() == (other.database or "").casefold()
        and bool(_addresses(one.host) & _addresses(other.host))
    )


def _addresses(host: str | None) -> set[str]:
    """What `host` resolves to; "local" for this machine (loopback, a socket)."""
    import ipaddress
    import socket

    if not host or host.startswith("/"):
        return {"local"}
    try:
        found = socket.getaddrinfo(host, None)
    except OSError:  # not resolvable here: compared as written
        return {host.casefold()}
    # (An IPv6 address may carry its interface: fe80::1%eth0.)
    addresses = {ipaddress.ip_address(str(i[4][0]).partition("%")[0]) for i in found}
    return {"local" if address.is_loopback else str(address) for address in addresses}


def _anchor_sqlite_path(url: URL) -> URL:
    # A relative SQLite path means "in this project", wherever the command runs from.
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return url
    if database.startswith("file:") or Path(database).is_absolute():
        return url
    return url.set(database=str(PROJECT_ROOT / database))


# A unit is required: a bare number would silently mean milliseconds to PostgreSQL.
_DURATION = re.compile(r"(\d+)\s*(ms|s|min|h)")
_SECONDS = {"ms": 0.001, "s": 1, "min": 60, "h": 3600}
# PostgreSQL keeps these limits in milliseconds, in a 32-bit integer.
_LONGEST_SECONDS = (2**31 - 1) / 1000


@dataclass(frozen=True)
class Duration:
    """A time limit as PostgreSQL reads it ("5s", "500ms", "2min") and in seconds."""

    text: str
    seconds: float


@dataclass(frozen=True)
class MigrationLimits:
    """The waits a migration run bounds."""

    lock_timeout: Duration  # waiting for a table lock held by another session
    statement_timeout: Duration  # any one statement
    wait_timeout: Duration  # waiting for another replica's migration run to finish


def migration_limits(
    environ: Mapping[str, str] | None = None, env_file: Path = ENV_FILE
) -> MigrationLimits:
    """The time limits of a migration run (MIGRATION_*_TIMEOUT), with safe defaults."""

    def duration(name: str, default: str) -> Duration:
        raw, source = setting(name, environ, env_file)
        if match := _DURATION.fullmatch(raw or default):
            seconds = int(match[1]) * _SECONDS[match[2]]
            if 0 < seconds <= _LONGEST_SECONDS:
                return Duration(f"{match[1]}{match[2]}", seconds)
        raise SettingError(
            f"{source} must be a duration with a unit, from 1ms to 24 days, such "
            f"as 5s, 500ms or 2min; not {raw!r}"
        )

    return MigrationLimits(
        lock_timeout=duration("MIGRATION_LOCK_TIMEOUT", "5s"),
        statement_timeout=duration("MIGRATION_STATEMENT_TIMEOUT", "1min"),
        wait_timeout=duration("MIGRATION_WAIT_TIMEOUT", "10min"),
    )
