"""Write the initial revision again from today's models (make initial-revision).

For a project that has never been deployed: the examples' first revision gives way to
one that creates your tables, as if the project had started with them. It refuses
when the history already has more than one revision, or when the database of
DATABASE_URL is beyond the initial revision (a database the new file would leave off
the history), or cannot be reached to tell. Like the first bake, it autogenerates
against a scratch in-memory SQLite database, so the file does not depend on what your
own database holds; DRIFT_DATABASE_URL, as for make check, names an empty database of
your server's kind instead (models with types SQLite lacks need one). Once the new
file is written, a database at the initial revision is downgraded to base. On any
failure the old revision stays as it was, and so does the database if the new file
could not be written.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from unittest.mock import patch

from alembic.config import Config
from alembic.config import main as alembic
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import inspect

from migrations.safety import connected
from migrations.settings import SettingError, database_url
from tools.migration_head import database_heads

ALEMBIC_INI = Path(__file__).resolve().parent.parent / "alembic.ini"
HEAD_FILE = ALEMBIC_INI.parent / "migrations" / "head.txt"
ORDINARY = 'write an ordinary revision instead: make revision m="..."'


def refusal(script: ScriptDirectory, heads: list[str] | None) -> str | None:
    """Why the initial revision may not be rewritten, in words; None when it may."""
    revisions = list(script.walk_revisions())
    if len(revisions) > 1:
        return f"the history has {len(revisions)} revisions; {ORDINARY}"
    initial = revisions[0].revision if revisions else None
    beyond = [head for head in heads or () if head != initial]
    if beyond:
        return (
            f"the database of DATABASE_URL is at revision {beyond[0]}, beyond the "
            f"initial revision; {ORDINARY}"
        )
    return None


def cli(*args: str) -> bool:
    """Run an alembic command in this process (Alembic prints its own FAILED: line)."""
    try:
        alembic(argv=["-c", str(ALEMBIC_INI), *args], prog="alembic")
    except SystemExit as exc:
        return not exc.code
    return True


def scratch() -> str:
    """The database autogenerate compares with: empty, so the file holds every table.
    Refused in one line (SettingError) when DRIFT_DATABASE_URL's holds tables."""
    if not os.environ.get("DRIFT_DATABASE_URL"):
        return "sqlite://"
    # Its own password, if any, is in the URL: .env's DATABASE_PASSWORD is your
    # database's.
    environ = {**os.environ, "DATABASE_PASSWORD": ""}
    url = database_url(environ, name="DRIFT_DATABASE_URL")
    if connected(url, lambda connection: inspect(connection).get_table_names()):
        raise SettingError(
            "DRIFT_DATABASE_URL's database holds tables: give an empty one"
        )
    return url.render_as_string(hide_password=False)


def main() -> int:
    script = ScriptDirectory.from_config(Config(str(ALEMBIC_INI)))
    try:
        scratch_url = scratch()
    except (SettingError, CommandError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    heads = database_heads()
    if problem := refusal(script, heads):
        print(f"error: {problem}", file=sys.stderr)
        return 1
    if heads is None:
        # Unchecked, a database already past the initial revision would be orphaned.
        print(
            "error: the database of DATABASE_URL cannot be reached, so whether it is "
            "past the initial revision is unknown: start it, or run with "
            "DATABASE_URL=sqlite:// to check none",
            file=sys.stderr,
        )
        return 1
    old = [Path(revision.path) for revision in script.walk_revisions()]
    versions = Path(script.versions)
    head_text = HEAD_FILE.read_text() if HEAD_FILE.exists() else None
    with tempfile.TemporaryDirectory() as folder:
        aside = Path(folder)
        kept = [Path(shutil.move(path, aside / path.name)) for path in old]
        # Written first, so a model the scratch database refuses changes nothing.
        # DATABASE_URL naming it, without the password and migration route .env
        # gives (they are your database's); the environment as it was afterwards.
        scratch_env = {"DATABASE_PASSWORD": "", "MIGRATION_DATABASE_URL": ""}
        with patch.dict(os.environ, DATABASE_URL=scratch_url, **scratch_env):
            written = cli("revision", "--autogenerate", "-m", "initial schema")
        new = [Path(shutil.move(path, aside)) for path in versions.glob("*.py")]
        for path, original in zip(kept, old, strict=True):
            shutil.move(path, original)  # the old revision back, to downgrade with
        if written and heads:
            print(
                "DATABASE_URL's database is at the initial revision: downgrading it to "
                "base (its tables go, with their rows)"
            )
            written = cli("downgrade", "base")
        if not written:
            if head_text is not None:
                HEAD_FILE.write_text(head_text)  # as the old revision left it
            print("error: the initial revision was kept as it was", file=sys.stderr)
            return 1
        for path in old:
            path.unlink()
        for path in new:
            shutil.move(path, versions / path.name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
