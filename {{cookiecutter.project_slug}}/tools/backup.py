"""Back up the database named by DATABASE_URL before a deploy: pg_dump for PostgreSQL,
mysqldump for MySQL and MariaDB.

Usage (default directory: backups/):

    python -m tools.backup [--output-dir DIR]

Writes one file named after the database and the time, readable by its owner alone:
a custom-format dump for PostgreSQL (restore with pg_restore), an SQL script for MySQL
(restore with `mysql DBNAME < FILE`). The password never reaches the command line.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import URL

from {{ cookiecutter.package_name }}.settings import (
    PROJECT_ROOT,
    SettingError,
    database_url,
)


def libpq_target(url: URL) -> tuple[str, dict[str, str]]:
    """The connection URI pg_dump gets, and the secrets that go by environment instead.

    libpq reads the same URI with the same query parameters (sslmode, host=/socket,
    port, ...), so pg_dump reaches exactly the database Alembic migrates. Passwords,
    from the URL or a query parameter, never reach the command line.
    """
    query = dict(url.query)
    secrets = {"PGPASSWORD": url.password or query.pop("password", None)}
    secrets["PGSSLPASSWORD"] = query.pop("sslpassword", None)
    plain = url.set(drivername="postgresql", password=None, query=query)
    uri = plain.render_as_string(hide_password=False)
    return uri, {key: str(value) for key, value in secrets.items() if value}


@contextmanager
def mysqldump_command(url: URL, target: Path) -> Iterator[list[str]]:
    """The mysqldump command line for `url`, writing `target`.

    The password goes in an option file only its owner can read, deleted afterwards:
    on the command line any user could read it in the process list.
    """
    dump = shutil.which("mysqldump") or shutil.which("mariadb-dump")
    if dump is None:
        raise SettingError("mysqldump is not installed (MySQL or MariaDB client tools)")
    with tempfile.TemporaryDirectory() as private:
        options = Path(private) / "client.cnf"
        password = url.password or url.query.get("password") or ""
        # Option files take a quoted value with backslash escapes.
        quoted = str(password).replace("\\", "\\\\").replace('"', '\\"')
        options.write_text(f'[client]\npassword="{quoted}"\n')
        options.chmod(0o600)
        given = url.query.get("unix_socket")
        socket = [f"--socket={given}"] if given else []
        yield [
            dump,
            f"--defaults-extra-file={options}",  # must come first
            f"--host={url.host or 'localhost'}",
            f"--port={url.port or 3306}",
            f"--user={url.username or ''}",
            "--default-character-set=utf8mb4",
            # A consistent snapshot of InnoDB tables without locking them for writes.
            "--single-transaction",
            "--routines",
            "--triggers",
            f"--result-file={target}",
            *socket,
            # The name alone (no --databases): the script holds no CREATE DATABASE or
            # USE, so it restores into whichever database it is fed to.
            str(url.database),
        ]


def fail(message: str, code: int = 2) -> int:
    """Print one error line; the exit status."""
    print(f"error: {message}", file=sys.stderr)
    return code


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
    if backend not in ("postgresql", "mysql"):
        return fail(
            "DATABASE_URL is not PostgreSQL or MySQL; copy the SQLite file instead"
        )
    pg_dump = shutil.which("pg_dump")
    if backend == "postgresql" and pg_dump is None:
        return fail("pg_dump is not installed (PostgreSQL client tools)")
    # A dump holds every row: its folder and file are the owner's alone.
    args.output_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    args.output_dir.chmod(0o700)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    suffix = ".dump" if backend == "postgresql" else ".sql"
    target = args.output_dir / f"{url.database}-{stamp}{suffix}"
    copy = 1
    while target.exists():  # two backups in one second: never overwrite a dump
        copy += 1
        target = args.output_dir / f"{url.database}-{stamp}-{copy}{suffix}"
    # No timeout: a large database takes as long as it takes; the tools report errors.
    try:
        if backend == "postgresql":
            assert pg_dump is not None
            uri, secrets = libpq_target(url)
            command = [pg_dump, "--format=custom", "--file", str(target), "--dbname"]
            command.append(uri)
            result = subprocess.run(command, env={**os.environ, **secrets}, umask=0o077)
        else:
            with mysqldump_command(url, target) as command:
                result = subprocess.run(command, umask=0o077)
    except SettingError as exc:
        return fail(str(exc))
    if result.returncode != 0:
        target.unlink(missing_ok=True)  # never leave a truncated dump that looks fine
        tool = Path(command[0]).name
        return fail(f"{tool} failed; no backup was written", result.returncode)
    print(f"{target} ({target.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
