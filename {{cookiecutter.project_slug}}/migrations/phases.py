"""Expand and contract: which revisions the release before them survives.

An *expand* revision only adds (tables, nullable or defaulted columns, indexes, enum
values): the previous release keeps working on its schema, so it runs before the new
release starts. A *contract* revision takes away or narrows (drops, renames, NOT NULL,
a new type, enum values removed): it runs once the previous release is gone. Each
revision says which it is in `phase = ...`; autogenerate writes it from the operations,
and `make check` refuses a revision marked expand that does contract work, unless its
`contract_reviewed = "why the previous release does not mind"` says so.

Each applied revision is recorded, with its phase and the revision before it, in the
table alembic_phases, so a release that does not know a newer revision can still tell
whether it may serve: a readiness probe walks that chain back to its own head
{% if cookiecutter.include_api == "y" -%}
(the API's does).
{%- else -%}
(a probe of yours: nothing in this project reads the table).
{%- endif %}
"""

from __future__ import annotations

import ast
import logging
import sys
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext, MigrationInfo
from alembic.script import ScriptDirectory

PROJECT_ROOT = Path(__file__).resolve().parent.parent
Phase = Literal["expand", "contract"]
TABLE = "alembic_phases"
# Operations the previous release may not survive, whatever their arguments.
TAKES_AWAY = {
    "drop_table",
    "drop_column",
    "drop_index",
    "drop_constraint",
    "rename_table",
    "set_not_null",  # migrations/online.py
}
# alter_column arguments that narrow a column or rename it.
NARROWS = {"nullable": False, "type_": None, "new_column_name": None}

phases = sa.Table(
    TABLE,
    sa.MetaData(),
    sa.Column("revision", sa.String(32), primary_key=True),
    sa.Column("down_revision", sa.String(32), nullable=True),
    sa.Column("phase", sa.String(16), nullable=False),
)


def contract_work(source: str) -> list[str]:
    """What a revision's upgrade() does that the previous release may not survive,
    one short line each (an empty list: the revision is an expand)."""
    functions = {
        node.name: node
        for node in ast.parse(source).body
        if isinstance(node, ast.FunctionDef)
    }
    found = [
        _describe(call) for call in _calls(functions.get("upgrade")) if _narrows(call)
    ]
    removed = _enum_values(functions.get("downgrade")) - _enum_values(
        functions.get("upgrade")
    )
    found += [
        f"removes enum value {value!r} of {enum}" for enum, value in sorted(removed)
    ]
    return found


def _calls(function: ast.FunctionDef | None) -> Iterator[ast.Call]:
    for node in ast.walk(function) if function else ():
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            yield node


def _narrows(call: ast.Call) -> bool:
    name = call.func.attr  # type: ignore[attr-defined]
    keywords = {keyword.arg: keyword.value for keyword in call.keywords}
    if name in TAKES_AWAY:
        return True
    if name == "alter_column":
        return any(
            key in keywords and (value is None or _constant(keywords[key]) is value)
            for key, value in NARROWS.items()
            if not (key == "type_" and _adds_enum_values(keywords))
        )
    if name == "add_column":  # NOT NULL with nothing to fill the old release's rows
        column = next((a for a in call.args if isinstance(a, ast.Call)), None)
        if column is not None:
            arguments = {keyword.arg: keyword.value for keyword in column.keywords}
            not_null = _constant(arguments.get("nullable")) is False
            return not_null and "server_default" not in arguments
    return False


def _adds_enum_values(keywords: dict[str | None, ast.expr]) -> bool:
    """An enum column's new type keeps every old value (where an enum is its column's
    own type, not a named type of the database, a new value is a type change): the
    old release writes nothing the new type refuses."""
    old, new = (_enum_literals(keywords.get(key)) for key in ("existing_type", "type_"))
    return old is not None and new is not None and old <= new


def _enum_literals(node: ast.expr | None) -> set[str] | None:
    if not isinstance(node, ast.Call):
        return None
    function = node.func
    name = function.attr if isinstance(function, ast.Attribute) else None
    values = [_constant(argument) for argument in node.args]
    if name not in ("Enum", "ENUM") or not all(isinstance(v, str) for v in values):
        return None
    return set(values)


def _constant(node: ast.expr | None) -> Any:
    return node.value if isinstance(node, ast.Constant) else None


def _describe(call: ast.Call) -> str:
    text = ast.unparse(call)
    return text if len(text) <= 80 else text[:77] + "..."


def _enum_values(function: ast.FunctionDef | None) -> set[tuple[str, str]]:
    """(enum, value) pairs that sync_enum_values calls in `function` leave in place."""
    values = set()
    for call in _calls(function):
        keywords = {keyword.arg: keyword.value for keyword in call.keywords}
        if call.func.attr == "sync_enum_values" and "new_values" in keywords:  # type: ignore[attr-defined]
            enum = _constant(keywords.get("enum_name"))
            listed = keywords["new_values"]
            if isinstance(listed, ast.List | ast.Tuple):
                values |= {(str(enum), str(_constant(item))) for item in listed.elts}
    return values


def declared(module: Any) -> Phase:
    """A revision module's phase; one written before phases existed counts as expand."""
    return "contract" if getattr(module, "phase", "expand") == "contract" else "expand"


def review(path: Path) -> str | None:
    """Why the revision at `path` has the wrong phase, in one line (None: right)."""
    source = path.read_text()
    tree = ast.parse(source)
    names = {
        target.id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Name) and node.value is not None
    }
    if _constant(names.get("phase")) == "contract" or "contract_reviewed" in names:
        return None
    work = contract_work(source)
    if not work:
        return None
    return (
        f"{path.name} is marked expand but {work[0]}"
        + (f" (and {len(work) - 1} more)" if len(work) > 1 else "")
        + ": split it into an expand revision and a contract one, or set phase = "
        '"contract" (or contract_reviewed = "why the previous release does not mind")'
    )


# --- autogenerate: the phase a new revision declares ---------------------------------


def classify(upgrade: Any, downgrade: Any) -> Phase:
    """The phase of a revision about to be written, from its operations as they will
    read in the file (the same test `make check` applies to the file later)."""
    from alembic.autogenerate import render_python_code

    # render_python_code makes a context of its own, which would announce itself.
    announcer = logging.getLogger("alembic.runtime.migration")
    level = announcer.level
    announcer.setLevel(logging.WARNING)
    try:
        source = "".join(
            f"def {name}():\n    {render_python_code(operations)}\n"
            for name, operations in (("upgrade", upgrade), ("downgrade", downgrade))
        )
    finally:
        announcer.setLevel(level)
    return "contract" if contract_work(source) else "expand"


# --- deploys: what each applied revision was, recorded beside alembic_version --------

_ready: weakref.WeakSet[MigrationContext] = weakref.WeakSet()


def record(ctx: MigrationContext, step: MigrationInfo, **_: Any) -> None:
    """Alembic's on_version_apply hook: keep alembic_phases in step with each revision
    applied or undone, in that revision's own transaction."""
    if step.is_stamp or step.up_revision_id is None:
        return
    if ctx not in _ready:
        # A printed script (--sql) cannot look: it creates the table if missing.
        if ctx.as_sql or not sa.inspect(ctx.connection).has_table(TABLE):
            ctx.execute(sa.schema.CreateTable(phases, if_not_exists=True))
        _ready.add(ctx)
    revision = step.up_revision_id
    ctx.execute(phases.delete().where(phases.c.revision == revision))
    if step.is_upgrade:
        script = step.up_revision
        down = step.down_revision_ids[0] if step.down_revision_ids else None
        phase = declared(getattr(script, "module", None))
        ctx.execute(
            phases.insert().values(revision=revision, down_revision=down, phase=phase)
        )


def pending(script: ScriptDirectory, after: str | None) -> list[Any]:
    """The revisions newer than `after` (None: all of them), oldest first."""
    return list(reversed(list(script.iterate_revisions("heads", after or "base"))))


def expand_target(script: ScriptDirectory, current: str | None) -> str | None:
    """The newest pending revision reached through expand revisions only (None: the
    next pending revision is a contract, or nothing is pending)."""
    target = None
    for revision in pending(script, current):
        if declared(revision.module) != "expand":
            break
        target = revision.revision
    return target


def main(argv: list[str]) -> int:
    """`python -m migrations.phases review`: fail, one line per revision, when a
    revision marked expand does contract work (make check).
    `python -m migrations.phases expand`: apply the pending expand revisions, up to
    the first contract one, through Alembic's CLI (make migrate-expand)."""
    if argv == ["review"]:
        problems = [
            problem
            for path in sorted((PROJECT_ROOT / "migrations" / "versions").glob("*.py"))
            if (problem := review(path))
        ]
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    if argv != ["expand"]:
        print("usage: python -m migrations.phases review | expand", file=sys.stderr)
        return 2
    from alembic.config import Config
    from alembic.config import main as alembic
    from alembic.util import CommandError

    from migrations import safety

    ini = str(PROJECT_ROOT / "alembic.ini")
    script = ScriptDirectory.from_config(Config(ini))
    try:
        url, _ = safety.settings()
        heads = safety.connected(
            url, lambda c: MigrationContext.configure(c).get_current_heads()
        )
    except CommandError as exc:  # a bad setting, an unreachable database
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    current = heads[0] if heads else None
    target = expand_target(script, current)
    left = len(pending(script, target or current))
    print(
        f"Expand revisions pending: {len(pending(script, current)) - left}; "
        f"left for the contract step (alembic upgrade head): {left}",
        file=sys.stderr,
    )
    if target:
        alembic(argv=["-c", ini, "upgrade", target], prog="alembic")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
