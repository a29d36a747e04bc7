"""Keep the migration history linear: migrations/head.txt records its one head.

Every new revision rewrites that one committed line (Alembic's post-write hook runs
`update`), so two branches that each add a revision conflict in git on it when they
meet, instead of failing at deploy with "Multiple head revisions are present". The
file and the git-aware rebase come from alembic-linear-migrations; this wrapper adds
what a team needs around them.

    python -m tools.migration_head update [REVISION_FILE]  # rewrite head.txt
    python -m tools.migration_head check                   # head.txt is the real head
    python -m tools.migration_head rebase [--onto REV] [--force]

`rebase` (make rebase-migration) re-parents this branch's new revision(s) onto the
other branch's head after a conflict on head.txt, rewriting `down_revision` and the
"Revises:" line, and refuses when the revision is already applied to the database it
can see (DATABASE_URL), unless --force.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from alembic.script import ScriptDirectory

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FIX_STALE = "make migration-head"
FIX_HEADS = "make rebase-migration"

try:
    from alembic_linear_migrations import AlembicLinearError
    from alembic_linear_migrations import commands as linear
    from alembic_linear_migrations import head as linear_head
    from alembic_linear_migrations.config import Project, discover
    from alembic_linear_migrations.rebase import rebase as linear_rebase
except ImportError:  # a deploy has no dev tools; a new revision still works
    linear = None  # type: ignore[assignment]


def project() -> Project:
    return discover(config_arg=str(PROJECT_ROOT / "alembic.ini"))


def update() -> int:
    """Rewrite head.txt to the graph's head (Alembic's post-write hook)."""
    if linear is None:
        print("alembic-linear-migrations is not installed: head.txt not updated")
        return 0
    try:
        found = project()
        if record(found, linear.single_head(found, found.load_script())):
            print("migrations/head.txt now records the new head")
    except AlembicLinearError as exc:
        return fail(exc)
    return 0


def record(found: Project, revision: str) -> bool:
    """Write head.txt as the library does, but with a header naming this project's
    command (the library's rebase skips the database check). True if it changed."""
    content = linear_head.render(revision).replace("alembic-linear rebase", FIX_HEADS)
    path = found.head_file
    if path.exists() and path.read_text() == content:
        return False
    path.write_text(content)
    return True


def check() -> int:
    """Fail in one line, naming the fix, unless head.txt records the one real head."""
    if linear is None:
        return missing()
    try:
        linear.check(project())
    except AlembicLinearError as exc:
        return fail(exc)
    return 0


def missing() -> int:
    """The dev tools are not installed here."""
    print("alembic-linear-migrations is not installed: make install", file=sys.stderr)
    return 2


def fail(exc: Exception) -> int:
    """One line: what is wrong with the history and the make target that fixes it,
    read from the history itself (the library's messages are for its own CLI)."""
    problem, fix = str(exc).strip().splitlines()[0], FIX_STALE
    try:
        found = project()
        heads = found.heads(found.load_script())
    except AlembicLinearError:
        heads = ()  # the history cannot be read: the library's own words say why
    if len(heads) > 1:
        problem = "the migration history has more than one head (two branches met)"
        fix = FIX_HEADS
    elif heads and (recorded := recorded_head(found)) != heads[0]:
        problem = (
            f"migrations/head.txt records {recorded or 'no single revision'} but the "
            f"head is {heads[0]}"
        )
    print(f"error: {problem}; run: {fix}", file=sys.stderr)
    return 1


def recorded_head(found: Project) -> str | None:
    """The revision head.txt records; None when it is missing, empty, or holds git's
    conflict markers."""
    try:
        return linear_head.read(found.head_file)
    except AlembicLinearError:
        return None


def database_heads() -> list[str] | None:
    """The revisions the database of DATABASE_URL is at; None if unreachable."""
    from alembic.runtime.migration import MigrationContext
    from alembic.util import CommandError
    from sqlalchemy.engine import Connection
    from sqlalchemy.exc import ArgumentError, DBAPIError

    from migrations.safety import connected
    from migrations.settings import SettingError, database_url

    def heads(connection: Connection) -> list[str]:
        # Alembic's own reading of alembic_version (none when the table is missing).
        return list(MigrationContext.configure(connection).get_current_heads())

    try:
        return connected(database_url(), heads)
    except (SettingError, CommandError, DBAPIError, ArgumentError):
        return None


def applied_revisions(script: ScriptDirectory) -> set[str] | None:
    """Every revision the database of DATABASE_URL has applied; None if unreachable."""
    heads = database_heads()
    if heads is None:
        return None
    return {
        revision.revision
        for head in heads
        if head in {r.revision for r in script.walk_revisions()}
        for revision in script.iterate_revisions(head, "base")
    }


def rebase(onto: str | None, force: bool) -> int:
    """Re-parent this branch's revision(s) onto the other head (see the docstring)."""
    if linear is None:
        return missing()
    try:
        found = project()
        versions = sorted(found.script_dir.glob("versions/*.py"))
        before = {path: path.read_text() for path in versions}
        head_before = found.head_file.read_text() if found.head_file.exists() else None
        result = linear_rebase(found, onto=onto)
    except AlembicLinearError as exc:
        return rebase_failed(exc, onto)
    script = found.load_script()
    moved = [
        revision.revision
        for revision in script.iterate_revisions(result.ours, result.theirs)
        if revision.revision != result.theirs
    ]
    applied = applied_revisions(script)
    was = result.previous_down_revision or "base"
    ran = sorted(set(moved) & (applied or set()))
    if ran and not force:
        for path, text in before.items():  # put everything back as it was
            path.write_text(text)
        if head_before is not None:
            found.head_file.write_text(head_before)
        print(
            f"error: revision {ran[0]} is already applied to the database of "
            "DATABASE_URL, so re-parenting it would leave that database off the "
            f"history: downgrade it first (alembic downgrade {was}), or run with "
            "FORCE=1 for a database you will rebuild",
            file=sys.stderr,
        )
        return 1
    _rewrite_parent(result.path, result.theirs)
    record(found, result.ours)
    path = result.path.relative_to(PROJECT_ROOT)
    print(
        f"{path} now follows {result.theirs} (it followed {was}), and "
        f"migrations/head.txt records {result.ours}.\n"
        "That orders the two branches' migrations; if both touch the same tables, "
        "read them together.\n"
        f"Then: git add {path} migrations/head.txt"
    )
    if applied is None:
        print("(no database reachable at DATABASE_URL: nothing was checked there)")
    if ran:  # FORCE: that database is at this branch's head without theirs
        print(
            f"warning: the database of DATABASE_URL ran {', '.join(ran)} but not "
            f"{result.theirs}, which now comes first, and make migrate will not run "
            f"it: rebuild that database, or put it back on the history with: alembic "
            f"downgrade {result.theirs} && alembic stamp {was} && make migrate",
            file=sys.stderr,
        )
    return 0


def rebase_failed(exc: Exception, onto: str | None) -> int:
    """One line naming the fix: which heads ONTO may name, or that there is one."""
    problem = str(exc).strip().splitlines()[0]
    try:
        found = project()
        heads = found.heads(found.load_script())
    except AlembicLinearError:
        heads = ()
    if len(heads) == 1:
        problem = f"the history has one head ({heads[0]}): nothing to rebase"
        problem += f"; if migrations/head.txt is stale, run: {FIX_STALE}"
    elif len(heads) == 2 and onto is None:
        # No merge or rebase in progress with a conflict in head.txt tells the sides.
        problem = (
            "which head is this branch's cannot be told outside a merge or rebase "
            f"that conflicts on migrations/head.txt; run: {FIX_HEADS} "
            "ONTO=<the other branch's head>, {} or {}".format(*sorted(heads))
        )
    print(f"error: {problem}", file=sys.stderr)
    return 1


def _rewrite_parent(path: Path, down_revision: str) -> None:
    """down_revision in the double quotes Alembic writes (the library writes a repr),
    and the docstring's "Revises:" line saying the same."""
    text = re.sub(
        r"^(down_revision\b.*= )'(\w+)'$", r'\1"\2"', path.read_text(), flags=re.M
    )
    path.write_text(
        re.sub(r"^Revises:.*$", f"Revises: {down_revision}", text, count=1, flags=re.M)
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("update").add_argument("revision_file", nargs="?")
    commands.add_parser("check")
    rebasing = commands.add_parser("rebase")
    rebasing.add_argument("--onto", help="the other branch's head revision")
    rebasing.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "update":
        return update()
    if args.command == "check":
        return check()
    return rebase(args.onto, args.force)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
