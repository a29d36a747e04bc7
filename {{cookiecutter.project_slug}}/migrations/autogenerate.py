"""How autogenerate compares the models with the database: table exclusions, portable
types, server defaults, and no empty revision files.

Imports neither the models nor sqlmodel: `alembic upgrade head` loads this module on
every deploy and should start as fast as Alembic itself.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from fnmatch import fnmatchcase
from typing import Any, Literal

from alembic.autogenerate import renderers
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from alembic.operations import ops
from alembic.operations.ops import MigrationScript
from alembic.runtime.migration import MigrationContext
from sqlalchemy.types import TypeDecorator

log = logging.getLogger("alembic.env")

EXCLUDE_SECTION = "alembic:exclude"
# Commands that may compare the models with the database and so need the models.
_AUTOGENERATING_COMMANDS = {"revision", "check"}


def excluded_tables(config: Config) -> list[str]:
    """Table names (or shell-style patterns) listed under [alembic:exclude] tables."""
    value = config.get_section_option(EXCLUDE_SECTION, "tables") or ""
    return [name for name in re.split(r"[,\s]+", value) if name]


def include_object_filter(patterns: Iterable[str]) -> Callable[..., bool]:
    """An autogenerate `include_object` hook that skips the excluded tables."""
    patterns = ["alembic_version", *patterns]

    def include_object(obj: Any, name: str | None, type_: str, *_: Any) -> bool:
        table = name if type_ == "table" else getattr(obj, "table", None)
        table_name = table if isinstance(table, str) else getattr(table, "name", None)
        return not any(fnmatchcase(table_name or "", p) for p in patterns)

    return include_object


def compares(config: Config) -> bool:
    """Whether this CLI run compares models with the database (revision --autogenerate,
    check); False when called from code, where it cannot be told."""
    cmd = getattr(config.cmd_opts, "cmd", None)
    name = getattr(cmd[0], "__name__", "") if cmd else ""
    autogenerating = getattr(config.cmd_opts, "autogenerate", False)
    return name == "check" or (name == "revision" and bool(autogenerating))


def needs_models(config: Config) -> bool:
    """Whether this run may autogenerate; plain upgrades skip importing the models."""
    cmd = getattr(config.cmd_opts, "cmd", None)
    if not cmd:
        # Called from code (tests, tools): we cannot tell, so load them.
        return True
    return getattr(cmd[0], "__name__", "") in _AUTOGENERATING_COMMANDS


def render_item(
    type_: str, obj: Any, _autogen_context: AutogenContext
) -> str | Literal[False]:
    """Render library-specific column types as the SQLAlchemy type they store as."""
    # sqlmodel's AutoString and UTCDateTime are internals that may be renamed; a
    # migration naming them would break on upgrade. Their `impl` is plain SQLAlchemy.
    library = type(obj).__module__.split(".")[0]
    if type_ == "type" and isinstance(obj, TypeDecorator) and library == "sqlmodel":
        return f"sa.{obj.impl_instance!r}"
    return False


def server_default_comparison(dialect_name: str) -> Callable[..., bool | None] | bool:
    """Alembic's `compare_server_default` option for a dialect."""
    # SQLite has no identity columns (its INTEGER PRIMARY KEY numbers rows itself), so
    # a reflected key never shows the models' Identity(): that is not drift. Only for
    # SQLite: on PostgreSQL, Alembic 1.20 crashes handing a reflected identity column
    # to a comparison function.
    return _ignore_identity if dialect_name == "sqlite" else True


def _ignore_identity(
    _context: MigrationContext, _inspected: Any, metadata_column: Any, *_: Any
) -> bool | None:
    return False if metadata_column.identity is not None else None


class DataLossNote(ops.MigrateOperation):
    """A comment placed before an operation that destroys data (written, never run)."""

    def __init__(self, what: str) -> None:
        self.what = what


@renderers.dispatch_for(DataLossNote)
def _render_data_loss_note(_context: AutogenContext, note: DataLossNote) -> str:
    # Short: the comment lands indented in the revision and must fit ruff's lines.
    return f"# DATA LOSS: {note.what} (a rename would keep the data)"


def review_revision(
    context: MigrationContext, _revision: Any, directives: list[MigrationScript]
) -> None:
    """Write no empty revision file; mark and report every table or column dropped."""
    if not directives:
        return
    script = directives[0]
    # Only the CLI's revision command may skip the file: `alembic check` reads the
    # generated script afterwards and would fail on an empty list.
    cmd_opts = getattr(context.config, "cmd_opts", None)
    if getattr(cmd_opts, "autogenerate", False) and all(
        upgrade.is_empty() for upgrade in script.upgrade_ops_list
    ):
        directives[:] = []
        log.info("No changes between the models and the database; no revision written.")
        return
    for upgrade in script.upgrade_ops_list:
        _mark_data_loss(upgrade.ops)


def _mark_data_loss(operations: list[ops.MigrateOperation]) -> None:
    """Put a DataLossNote before each drop_table / drop_column; say so in the log."""
    for index in reversed(range(len(operations))):
        operation = operations[index]
        if isinstance(operation, ops.ModifyTableOps):
            _mark_data_loss(operation.ops)
            continue
        if isinstance(operation, ops.DropTableOp):
            what = f"drops table {operation.table_name}"
        elif isinstance(operation, ops.DropColumnOp):
            what = f"drops column {operation.table_name}.{operation.column_name}"
        else:
            continue
        operations.insert(index, DataLossNote(what))
        log.warning("DATA LOSS: this revision %s; if it is a rename, edit it", what)
