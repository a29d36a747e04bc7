"""How autogenerate compares the models with the database: which tables, which types
and server defaults count as a change, and how types and defaults are written.

Loaded only by commands that compare (revision, check): a deploy's `alembic upgrade
head` never imports it, nor the models, sqlmodel or alembic-postgresql-enum.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import traceback
from collections.abc import Callable, Iterable
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from alembic.operations import ops
from alembic.runtime.migration import MigrationContext
from alembic.runtime.plugins import Plugin
from alembic.util import CommandError, DispatchPriority, PriorityDispatchResult
from sqlalchemy import MetaData
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import CompileError
from sqlalchemy.schema import DefaultClause
from sqlalchemy.types import TypeDecorator, TypeEngine

from migrations import commands

log = logging.getLogger("alembic.env")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
MODELS_FOLDER = "{{ cookiecutter.package_name }}/models/"

EXCLUDE_SECTION = "alembic:exclude"


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


def where(exc: BaseException) -> str:
    """An exception in one line: type, message, and the file and line it came from."""
    if isinstance(exc, SyntaxError):
        return f"SyntaxError: {exc.msg} ({exc.filename}, line {exc.lineno})"
    # The innermost frame of the project's own code (a model module), not of the
    # import machinery or of a library it called (sqlalchemy/sql/naming.py...).
    every = traceback.extract_tb(exc.__traceback__)
    frames = [frame for frame in every if _is_project_file(frame.filename)] or every
    place = f" ({frames[-1].filename}, line {frames[-1].lineno})" if frames else ""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {message}{place}"


def _is_project_file(filename: str) -> bool:
    path = Path(filename).resolve()
    return path.is_relative_to(PROJECT_ROOT) and not any(
        part in (".venv", "site-packages") for part in path.parts
    )


def cannot_store(metadata: sa.MetaData, dialect_name: str) -> str | None:
    """The first model column `dialect_name` cannot create, and what to do, in words
    (None when every column fits). Autogenerate and the project's tests both ask."""
    if dialect_name == "sqlite" and (problem := _sqlite_cannot_store(metadata)):
        return (
            f"{problem}: run against PostgreSQL (DATABASE_URL=postgresql://..., and "
            "TEST_DATABASE_URL for the tests)"
        )
    return None


def _sqlite_cannot_store(metadata: sa.MetaData) -> str | None:
    """The first model column of a type SQLite cannot store (ARRAY, JSONB...), or with
    a server default it cannot compute (gen_random_uuid(), now()...)."""
    scratch = sqlite3.connect(":memory:")
    try:
        for table in metadata.tables.values():
            for column in table.columns:
                if problem := _sqlite_problem(column, scratch):
                    return f"column {table.name}.{column.name} {problem}"
    finally:
        scratch.close()
    return None


def _sqlite_problem(column: sa.Column[Any], scratch: sqlite3.Connection) -> str | None:
    dialect = sqlite.dialect()
    try:
        column.type.compile(dialect=dialect)
    except (CompileError, NotImplementedError):
        return f"is {type(column.type).__name__.upper()}, a type SQLite cannot store"
    default = column.server_default
    if not isinstance(default, DefaultClause) or isinstance(default.arg, str):
        return None  # none, or a plain value (written as a quoted literal)
    try:
        # SQLite takes any default in CREATE TABLE and fails on the first INSERT
        # that needs it: have it compute this one now.
        scratch.execute(f"SELECT {_default_text(default, dialect)}")
    except (CompileError, sqlite3.Error) as exc:
        reason = str(exc).splitlines()[0]
        return f"has a server default SQLite cannot compute ({reason})"
    return None


def render_item(
    type_: str, obj: Any, _autogen_context: AutogenContext
) -> str | Literal[False]:
    """Write types and server defaults as code every backend runs."""
    # sqlmodel's AutoString and UTCDateTime are internals that may be renamed; a
    # migration naming them would break on upgrade. Their `impl` is plain SQLAlchemy.
    library = type(obj).__module__.split(".")[0]
    if type_ == "type" and isinstance(obj, TypeDecorator) and library == "sqlmodel":
        return f"sa.{obj.impl_instance!r}"
    if type_ == "type" and isinstance(obj, postgresql.JSON) and not obj.none_as_null:
        # Written against another backend, Alembic renders astext_type=Text() with
        # no import of Text; PostgreSQL's own renderer writes sa.Text().
        _autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return f"postgresql.{type(obj).__name__}(astext_type=sa.Text())"
    if type_ == "server_default" and isinstance(obj, DefaultClause):
        # Alembic writes an expression compiled for the backend at hand: sa.true()
        # becomes sa.text("1") on SQLite, which PostgreSQL refuses for a boolean.
        arg = obj.arg
        if isinstance(arg, sa.sql.elements.True_):
            return "sa.true()"
        if isinstance(arg, sa.sql.elements.False_):
            return "sa.false()"
        if isinstance(arg, sa.sql.functions.Function) and not arg.clauses.clauses:
            return f"sa.func.{arg.name}()"
    return False


def server_default_comparison(dialect_name: str) -> Callable[..., bool | None] | bool:
    """Alembic's `compare_server_default` option for a dialect."""
    # SQLite and MySQL have no identity columns (an INTEGER PRIMARY KEY, or
    # AUTO_INCREMENT, numbers rows instead), so a reflected key never shows the
    # models' Identity(): that is not drift. Not on PostgreSQL: there Alembic 1.20
    # crashes handing a reflected identity column to a comparison function (see
    # _compare_defaults_as_text for PostgreSQL).
    if dialect_name == "postgresql":
        return True
    return _compare_mysql_defaults if dialect_name == "mysql" else _ignore_identity


def _ignore_identity(
    _context: MigrationContext, _inspected: Any, metadata_column: Any, *_: Any
) -> bool | None:
    return False if metadata_column.identity is not None else None


def _compare_mysql_defaults(
    context: MigrationContext,
    inspected_column: Any,
    metadata_column: Any,
    inspected_default: str | None,
    _metadata_default: Any,
    rendered_metadata_default: str | None,
) -> bool | None:
    if metadata_column.identity is not None:
        return False
    model, found = rendered_metadata_default, inspected_default
    if model and found and _mysql_default(model) == _mysql_default(found):
        return False
    return None  # Alembic compares the rest


def _mysql_default(text: str) -> str:
    """A MySQL server default as the same text whichever way it was written or read:
    MariaDB reads back '{}' quoted, sa.true() as 1, and a DATETIME(6)'s
    CURRENT_TIMESTAMP as current_timestamp(6)."""
    text = _normalize_default(text)
    text = re.sub(r"^(current_timestamp|now)(\(\d*\))?$", "current_timestamp", text)
    return {"true": "1", "false": "0"}.get(text, text)


def compare_type(
    context: MigrationContext,
    _inspected_column: Any,
    _metadata_column: Any,
    inspected_type: TypeEngine[Any],
    metadata_type: TypeEngine[Any],
) -> bool | None:
    """What Alembic's type comparison misses; None leaves the rest to Alembic."""
    model = _unwrap(metadata_type)
    dialect = context.dialect
    if isinstance(model, sa.Enum):
        # SQLite keeps an enum as a plain string (no type, no values to compare); its
        # values are compared on PostgreSQL, by alembic-postgresql-enum.
        if dialect.name == "sqlite" and isinstance(inspected_type, sa.String):
            return False
        return None
    if dialect.name == "sqlite":
        # SQLite reads back a type it does not know by its affinity (UUID as
        # NUMERIC): what it would read back for the model's type is no change.
        compiled = model.compile(dialect=dialect)
        readback = dialect._resolve_type_affinity(compiled)  # type: ignore[attr-defined]
        if repr(readback) == repr(inspected_type):
            return False
    plain_str = isinstance(model, sa.String) and model.length is None
    if dialect.name == "mysql" and plain_str:
        # A plain `str` is VARCHAR(255) on MySQL, as SQLModel makes it (mysql.py).
        model = sa.String(255)
    # Alembic skips a VARCHAR without a length: a plain `str` gaining or losing
    # max_length would go unnoticed.
    if (
        isinstance(model, sa.String)
        and isinstance(inspected_type, sa.String)
        and (model.length is None) != (inspected_type.length is None)
    ):
        return True
    return None


def _unwrap(type_: TypeEngine[Any]) -> TypeEngine[Any]:
    return type_.impl_instance if isinstance(type_, TypeDecorator) else type_


def _compare_defaults_as_text(
    autogen_context: AutogenContext,
    alter_column_op: ops.AlterColumnOp,
    _schema: str | None,
    _table: str,
    _column: str,
    conn_col: sa.Column[Any],
    metadata_col: sa.Column[Any],
) -> PriorityDispatchResult:
    """On PostgreSQL, settle server defaults that are the same text without a query.

    Alembic compares the rest by asking the server `SELECT <old> = <new>`, which fails
    for types without an equality operator (json: "operator does not exist"); those
    are compared as text too.
    """
    conn_default, model_default = conn_col.server_default, metadata_col.server_default
    if not (
        isinstance(conn_default, DefaultClause)
        and isinstance(model_default, DefaultClause)
    ):
        return PriorityDispatchResult.CONTINUE
    dialect = autogen_context.dialect
    assert dialect is not None
    model_text = _default_text(model_default, dialect)
    same = _normalize_default(str(conn_default.arg)) == _normalize_default(model_text)
    if same:
        return PriorityDispatchResult.STOP
    if isinstance(_unwrap(metadata_col.type), (sa.JSON, postgresql.JSON)):
        alter_column_op.existing_server_default = conn_default
        alter_column_op.modify_server_default = model_default
        return PriorityDispatchResult.STOP
    return PriorityDispatchResult.CONTINUE


def _default_text(default: DefaultClause, dialect: Dialect) -> str:
    arg = default.arg
    if isinstance(arg, str):
        return arg
    return str(arg.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def _normalize_default(text: str) -> str:
    """A server default without the casts, quotes and parentheses a database adds."""
    text = text.strip()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    text = re.sub(r"::[\w ]+(\[\])?", "", text)
    return text.strip("'").lower()


_PLUGIN = Plugin("project.autogenerate")
_PLUGIN.add_autogenerate_comparator(
    _compare_defaults_as_text,
    "column",
    "server_default",
    qualifier="postgresql",
    priority=DispatchPriority.FIRST,
)
# For context.configure(autogenerate_plugins=...): Alembic's own, then this module's.
PLUGINS = ["alembic.autogenerate.*", _PLUGIN.name]


def load_models(config: Config, dialect_name: str) -> MetaData:
    """Import every model module; refuse, in one line, what cannot be compared."""
    # Registers PostgreSQL enum handling with autogenerate (revisions that use its
    # operations import it themselves: review.py sees to that).
    import alembic_postgresql_enum  # noqa: F401
    from sqlmodel import SQLModel

    try:
        import {{ cookiecutter.package_name }}.models  # noqa: F401  (registers the tables)
    except Exception as exc:
        raise CommandError(f"importing the models failed: {where(exc)}") from None
    metadata = SQLModel.metadata
    if not metadata.tables and commands.compares(config):
        # Compared with nothing, every table in the database looks like one to drop.
        raise CommandError(
            "the models define no tables, so autogenerate would drop every table: put "
            f"your model modules in {MODELS_FOLDER} (each is imported by itself), or "
            "write this revision by hand (alembic revision -m)"
        )
    if problem := cannot_store(metadata, dialect_name):
        raise CommandError(problem)
    return metadata


def options(config: Config, dialect_name: str) -> dict[str, Any]:
    """The context.configure options of a run that may compare models and database."""
    from migrations import review

    return {
        "target_metadata": load_models(config, dialect_name),
        "compare_type": compare_type,
        "compare_server_default": server_default_comparison(dialect_name),
        "autogenerate_plugins": PLUGINS,
        "include_object": include_object_filter(excluded_tables(config)),
        "render_item": render_item,
        "process_revision_directives": review.review_revision,
    }
