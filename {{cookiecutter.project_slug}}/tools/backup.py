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


def libpq_environment(url: URL) -> dict[str, str]:
    """PG* variables for pg_dump, taken from the SQLAlchemy URL."""
    values = {
        "PGHOST": url.host,
        "PGPORT": url.port and str(url.port),
        "PGUSER": url.username,
        "PGPASSWORD": url.password,
        "PGDATABASE": url.database,
    }
    return {key: value for key, value in values.items() if value}


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
    args.output_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = args.output_dir / f"{url.database}-{stamp}.dump"
    # No timeout: a large database takes as long as it takes; pg_dump reports errors.
    result = subprocess.run(
        [pg_dump, "--format=custom", "--file", str(target)],
        env={**os.environ, **libpq_environment(url)},
    )
    if result.returncode != 0:
        target.unlink(missing_ok=True)  # never leave a truncated dump that looks fine
        return fail("pg_dump failed; no backup was written", result.returncode)
    print(f"{target} ({target.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
