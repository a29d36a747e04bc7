{%- if cookiecutter.database == "mysql" -%}
"""Back up the database named by DATABASE_URL before a deploy, with mysqldump (or
SQLite's backup API for a SQLite file).

Usage (default directory: backups/):

    python -m tools.backup [--output-dir DIR]

Writes one file named after the database and the time, readable by its owner alone:
an SQL script (restore with `mysql DBNAME < FILE`), or a copy of the SQLite file. The
password never reaches the command line.
"""
{%- else -%}
"""Back up the database named by DATABASE_URL before a deploy, with pg_dump (or
SQLite's backup API for a SQLite file).

Usage (default directory: backups/):

    python -m tools.backup [--output-dir DIR]

Writes one file named after the database and the time, readable by its owner alone:
a custom-format dump (restore with pg_restore), or a copy of the SQLite file. The
password never reaches the command line.
"""
{%- endif %}

import argparse
import os
import re
import shutil
import sqlite3
import subprocess
import sys
{%- if cookiecutter.database == "mysql" %}
import tempfile
{%- endif %}
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import URL

from migrations.settings import PROJECT_ROOT, SettingError, database_url


{%- if cookiecutter.database == "mysql" %}

BACKEND = "mysql"
# The command's names (the first one found is used), what installs it, the file's.
TOOLS, PACKAGE, SUFFIX = ("mysqldump", "mariadb-dump"), "MySQL client tools", ".sql"


def dump(tool: str, url: URL, target: Path) -> subprocess.CompletedProcess[bytes]:
    """Dump a MySQL or MariaDB database as an SQL script.

    The password goes in an option file only its owner can read, deleted afterwards:
    on the command line any user could read it in the process list.
    """
    with tempfile.TemporaryDirectory() as private:
        options = Path(private) / "client.cnf"
        password = url.password or url.query.get("password") or ""
        # Option files take a quoted value with backslash escapes.
        quoted = str(password).replace("\\", "\\\\").replace('"', '\\"')
        options.write_text(f'[client]\npassword="{quoted}"\n')
        options.chmod(0o600)
        socket = url.query.get("unix_socket")
        # As PyMySQL connects: over TCP unless the URL names a socket (a client takes
        # "localhost" for its own socket, and ignores the port, unless told).
        route = ["--protocol=TCP"]
        if socket:
            route = ["--protocol=SOCKET", f"--socket={socket}"]
        command = [
            tool,
            f"--defaults-extra-file={options}",  # must come first
            f"--host={url.host or 'localhost'}",
            f"--port={url.port or 3306}",
            f"--user={url.username or ''}",
            *route,
            "--default-character-set=utf8mb4",
            # A consistent snapshot of InnoDB tables without locking them for writes.
            "--single-transaction",
            "--routines",
            "--triggers",
            f"--result-file={target}",
            # The name alone (no --databases): the script holds no CREATE DATABASE or
            # USE, so it restores into whichever database it is fed to.
            str(url.database),
        ]
        return subprocess.run(command, umask=0o077)
{%- else %}

BACKEND = "postgresql"
# The command's names (the first one found is used), what installs it, the file's.
TOOLS, PACKAGE, SUFFIX = ("pg_dump",), "PostgreSQL client tools", ".dump"


# Query parameters that are secrets, and the variables libpq reads them from instead
# (pwd= and passwd= are other drivers' names for the password: not on the command line).
SECRETS = {
    "password": "PGPASSWORD",
    "pwd": "PGPASSWORD",
    "passwd": "PGPASSWORD",
    "sslpassword": "PGSSLPASSWORD",
}


def libpq_target(url: URL) -> tuple[str, dict[str, str]]:
    """The connection URI pg_dump gets, and the secrets that go by environment instead.

    libpq reads the same URI with the same query parameters (sslmode, host=/socket,
    port, ...), so pg_dump reaches exactly the database Alembic migrates. Passwords,
    from the URL or a query parameter, never reach the command line.
    """
    query = dict(url.query)
    # Whatever their case or stray spaces: libpq refuses PASSWORD= or "password "=,
    # but only after ps has shown it.
    given = {
        key.strip().lower(): query.pop(key)
        for key in list(query)
        if key.strip().lower() in SECRETS
    }
    secrets: dict[str, object] = {"PGPASSWORD": url.password}
    for key, variable in SECRETS.items():
        secrets[variable] = secrets.get(variable) or given.get(key)
    # A new URL without the password: url.set(password=None) keeps the old one.
    plain = URL.create(
        "postgresql",
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query=query,
    )
    uri = plain.render_as_string(hide_password=False)
    # A repeated parameter's value is a tuple (password=A&password=B): the last counts.
    last = {k: v[-1] if isinstance(v, tuple) else v for k, v in secrets.items()}
    return uri, {key: str(value) for key, value in last.items() if value}


def dump(tool: str, url: URL, target: Path) -> subprocess.CompletedProcess[bytes]:
    """Dump a PostgreSQL database in the custom format (pg_restore reads it)."""
    uri, secrets = libpq_target(url)
    command = [tool, "--format=custom", "--file", str(target), "--dbname", uri]
    return subprocess.run(command, env={**os.environ, **secrets}, umask=0o077)
{%- endif %}


def fail(message: str, code: int = 2) -> int:
    """Print one error line; the exit status."""
    print(f"error: {message}", file=sys.stderr)
    return code


def claim(folder: Path, name: str, suffix: str) -> Path:
    """A new file for a dump in `folder`, its owner's alone; never one another backup
    took, even in the same second (each file is created at once, or the next name
    tried). `name` comes from the database's name: anything but letters, digits, `.`,
    `-` and `_` becomes `_`, so the file stays in `folder` whatever the name holds."""
    name = re.sub(r"[^\w.-]", "_", name).lstrip(".") or "database"
    copy = 1
    while True:
        target = folder / (f"{name}{suffix}" if copy == 1 else f"{name}-{copy}{suffix}")
        try:
            os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            copy += 1
            continue
        return target


def copy_sqlite(url: URL, target: Path) -> None:
    """Copy a SQLite database with SQLite's own backup API: a consistent copy, commits
    still in the -wal file included, while the app keeps running."""
    database = Path(url.database or "")
    if not database.is_file():
        raise OSError(f"{database} does not exist")
    source = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)
    try:
        with closing(sqlite3.connect(target)) as copy:
            source.backup(copy)
    finally:
        source.close()


def main(argv: list[str]) -> int:
    """Dump the database; print the file written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=PROJECT_ROOT / "backups")
    args = parser.parse_args(argv)
    try:
        url = database_url()
    except SettingError as exc:
        return fail(str(exc))
    backend = url.get_backend_name()
    tool = next(filter(None, map(shutil.which, TOOLS)), None)
    if backend == BACKEND and tool is None:
        return fail(f"{TOOLS[0]} is not installed ({PACKAGE})")
    # A dump holds every row: its folder and file are the owner's alone.
    args.output_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    args.output_dir.chmod(0o700)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    if backend == "sqlite":
        name = Path(url.database or "").stem
        target = claim(args.output_dir, f"{name}-{stamp}", ".db")
        try:
            copy_sqlite(url, target)
        except (OSError, sqlite3.Error) as exc:
            target.unlink(missing_ok=True)
            return fail(f"the SQLite copy failed ({exc}); no backup was written")
    else:
        target = claim(args.output_dir, f"{url.database}-{stamp}", SUFFIX)
        # No timeout: a large database takes as long as it takes; tools say why.
        result = dump(tool or TOOLS[0], url, target)
        if result.returncode != 0:
            target.unlink(missing_ok=True)  # never leave a truncated dump behind
            return fail(f"{TOOLS[0]} failed; no backup was written", result.returncode)
    print(f"{target} ({target.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
