"""Lint each revision's PostgreSQL SQL with squawk, one revision at a time.

Usage (default: every revision, oldest first):

    python -m tools.lint_migrations [REVISION ...]

Each revision is rendered offline (`alembic upgrade A:B --sql`, so no database is
needed) and linted on its own: linting a whole history at once reports findings that
belong to no single revision. A finding you accept on purpose (a table you mean to
drop) is silenced for one revision by a line in its file, reviewed like the rest:

    # squawk-ignore: ban-drop-table
"""

import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import Script, ScriptDirectory
from alembic.util import CommandError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Offline rendering never connects; the URL only picks the PostgreSQL dialect.
RENDER_URL = "postgresql://lint@localhost/lint"


def find_squawk() -> str | None:
    """The squawk command beside this interpreter, else on PATH."""
    beside = shutil.which("squawk", path=str(Path(sys.executable).parent))
    return beside or shutil.which("squawk")


def revision_sql(script: Script) -> tuple[str, str | None]:
    """The SQL that upgrading through `script` alone runs on PostgreSQL, and why it
    stops early if it does (a batched backfill has no offline form: its SQL ends
    where the backfill starts)."""
    buffer = io.StringIO()
    config = Config(str(PROJECT_ROOT / "alembic.ini"), output_buffer=buffer)
    config.attributes["configure_logger"] = False
    down = script.down_revision
    start = down[0] if isinstance(down, tuple) else down
    target = f"{start}:{script.revision}" if start else script.revision
    try:
        command.upgrade(config, target, sql=True)
    except CommandError as exc:
        # Closed as the whole script would be: its transaction is still open there.
        return buffer.getvalue() + "\nCOMMIT;\n", str(exc)
    return buffer.getvalue(), None


def accepted(revision_file: Path) -> str:
    """squawk's own ignore comments for the rules a revision's file accepts."""
    text = revision_file.read_text()
    found = re.findall(r"^\s*# squawk-ignore: *([\w, -]+)$", text, re.M)
    rules = sorted({rule.strip() for line in found for rule in line.split(",")} - {""})
    return f"-- squawk-ignore-file {', '.join(rules)}\n" if rules else ""


def lint(scripts: list[Script], squawk: str) -> tuple[int, int]:
    """Lint each script; the numbers of revisions with findings and of revisions
    linted only in part."""
    failed = partly = 0
    # squawk colours its report and links each rule even into a pipe; a log or a file
    # gets its plain report instead, one line per finding.
    reporter = [] if sys.stdout.isatty() else ["--reporter", "gcc"]
    with tempfile.TemporaryDirectory() as scratch:
        for script in scripts:
            label = f"{script.revision} ({script.doc})"
            sql, stopped = revision_sql(script)
            if stopped:
                partly += 1
                label += f", linted up to where its SQL stops ({stopped})"
            sql_file = Path(scratch) / f"{script.revision}.sql"
            sql_file.write_text(accepted(Path(script.path)) + sql)
            config = ["--config", str(PROJECT_ROOT / ".squawk.toml")]
            result = subprocess.run(
                [squawk, *config, *reporter, sql_file.name],
                cwd=scratch,
                capture_output=True,
                text=True,
                timeout=120,
            )
            if result.returncode == 0:
                print(f"{label}: clean")
            else:
                failed += 1
                print(f"{label}:\n{result.stdout}{result.stderr}")
    return failed, partly


def main(revisions: list[str]) -> int:
    """Lint the named revisions, or the whole history, oldest first."""
    squawk = find_squawk()
    if squawk is None:
        print("squawk is not installed: pip install squawk-cli", file=sys.stderr)
        return 2
    os.environ["DATABASE_URL"] = RENDER_URL
    directory = ScriptDirectory.from_config(Config(str(PROJECT_ROOT / "alembic.ini")))
    history = list(reversed(list(directory.walk_revisions())))
    scripts = [s for s in history if not revisions or s.revision in revisions]
    unknown = set(revisions) - {s.revision for s in scripts}
    if unknown:
        print(f"unknown revision(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    failed, partly = lint(scripts, squawk)
    summary = f"{len(scripts) - failed} clean, {failed} with findings"
    print(summary + (f" ({partly} linted only in part, see above)" if partly else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
