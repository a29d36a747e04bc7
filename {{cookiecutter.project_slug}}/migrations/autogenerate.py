"""How autogenerate compares the models with the database: which tables, which types
and server defaults count as a change, and how types and defaults are written.

Loaded only by commands that compare (revision, check): a deploy's `alembic upgrade
head` never imports it, nor the models, sqlmodel or alembic-postgresql-enum.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Callable, Iterable
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.util import CommandError
from sqlalchemy import MetaData
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.schema import DefaultClause
from sqlalchemy.types import TypeDecorator, TypeEngine

from migrations.phases import TABLE as PHASES_TABLE
from migrations.safety import SERVER, backend, compares

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
    patterns = ["alembic_version", PHASES_TABLE, *patterns]

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
    if problem := backend(dialect_name).cannot_store(metadata):
        return f"{problem}: run against {SERVER}, and TEST_DATABASE_URL for the tests"
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


def compare_type(
    context: MigrationContext,
    _inspected_column: Any,
    _metadata_column: Any,
    inspected_type: TypeEngine[Any],
    metadata_type: TypeEngine[Any],
) -> bool | None:
    """What Alembic's type comparison misses; None leaves the rest to Alembic."""
    model = unwrap(metadata_type)
    database = backend(context.dialect.name)
    verdict: bool | None = database.compare_type(context, inspected_type, model)
    if verdict is not None or isinstance(model, sa.Enum):
        return verdict
    # A plain `str` (Text is a String without a length too, but a type of its own).
    if (
        isinstance(model, sa.String)
        and not isinstance(model, sa.Text)
        and model.length is None
    ):
        model = database.PLAIN_STRING or model
    # Alembic skips a VARCHAR without a length: a plain `str` gaining or losing
    # max_length would go unnoticed.
    return length_changed(model, inspected_type)


def length_changed(model: TypeEngine[Any], inspected: TypeEngine[Any]) -> bool | None:
    """True when one of two strings has a length and the other none; else None."""
    if isinstance(model, sa.String) and isinstance(inspected, sa.String):
        return (model.length is None) != (inspected.length is None) or None
    return None


def unwrap(type_: TypeEngine[Any]) -> TypeEngine[Any]:
    return type_.impl_instance if isinstance(type_, TypeDecorator) else type_


def default_text(default: DefaultClause, dialect: Dialect) -> str:
    arg = default.arg
    if isinstance(arg, str):
        return arg
    return str(arg.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def normalize_default(text: str) -> str:
    """A server default without the casts, quotes and parentheses a database adds."""
    text = text.strip()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    text = re.sub(r"::[\w ]+(\[\])?", "", text)
    return text.strip("'").lower()


def load_models(target_metadata: Callable[[], MetaData], dialect_name: str) -> MetaData:
    """env.py's models; refuse, in one line, what cannot be compared."""
    try:
        metadata = target_metadata()
    except Exception as exc:
        raise CommandError(f"importing the models failed: {where(exc)}") from None
    if not metadata.tables and compares():
        # Compared with nothing, every table in the database looks like one to drop.
        raise CommandError(
            "the models define no tables, so autogenerate would drop every table: put "
            f"your model modules in {MODELS_FOLDER} (each is imported by itself), or "
            "write this revision by hand (alembic revision -m)"
        )
    if problem := cannot_store(metadata, dialect_name):
        raise CommandError(problem)
    return metadata


def options(
    config: Config, dialect_name: str, target_metadata: Callable[[], MetaData]
) -> dict[str, Any]:
    """The context.configure options of a run that may compare models and database."""
    from migrations import dependency_order, review

    database = backend(dialect_name)
    return {
        "target_metadata": load_models(target_metadata, dialect_name),
        "compare_type": compare_type,
        "compare_server_default": database.compare_server_default,
        # Alembic's own comparisons, then the project's and the database's.
        "autogenerate_plugins": [
            "alembic.autogenerate.*",
            dependency_order.PLUGIN.name,
            *database.autogenerate_plugins(),
        ],
        "include_object": include_object_filter(excluded_tables(config)),
        "render_item": render_item,
        "process_revision_directives": review.review_revision,
    }
