"""Back up the PostgreSQL database named by DATABASE_URL with pg_dump, before a deploy.

Usage (default directory: backups/):

    python -m tools.backup [--output-dir DIR]

Writes one custom-format dump (restore with pg_restore) named after the database and
the time. The password goes to pg_dump through the environment, never the command line.
"""

import argparse
import os
import shutil
import subprocess
import sys
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
    if url.get_backend_name() != "postgresql":
        return fail("DATABASE_URL is not PostgreSQL; copy the SQLite file instead")
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        return fail("pg_dump is not installed (PostgreSQL client tools)")
    # A dump holds every row: its folder and file are the owner's alone.
    args.output_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    args.output_dir.chmod(0o700)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = args.output_dir / f"{url.database}-{stamp}.dump"
    copy = 1
    while target.exists():  # two backups in one second: never overwrite a dump
        copy += 1
        target = args.output_dir / f"{url.database}-{stamp}-{copy}.dump"
    uri, secrets = libpq_target(url)
    # No timeout: a large database takes as long as it takes; pg_dump reports errors.
    result = subprocess.run(
        [pg_dump, "--format=custom", "--file", str(target), "--dbname", uri],
        env={**os.environ, **secrets},
        umask=0o077,
    )
    if result.returncode != 0:
        target.unlink(missing_ok=True)  # never leave a truncated dump that looks fine
        return fail("pg_dump failed; no backup was written", result.returncode)
    print(f"{target} ({target.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
