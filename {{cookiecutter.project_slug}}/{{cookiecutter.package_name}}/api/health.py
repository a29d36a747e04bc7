{%- set engine_type = "AsyncEngine" if cookiecutter.stack == "async" else "Engine" -%}
{%- set ad = "async " if cookiecutter.stack == "async" else "" -%}
{%- set aw = "await " if cookiecutter.stack == "async" else "" -%}
"""Probes for an orchestrator: is the process up, and may it take traffic?

Ready means the database answers and is at the migrations' head revision, or off it
by what a rolling deploy leaves: ahead by expand revisions only (the next release's
additions, which this release works on), or behind by contract revisions only (what
this release no longer needs, to be taken away once the old release is gone). It is
not ready when an expand revision it needs has not run, or when a contract revision it
does not know has. The head comes from
migrations/head.txt, read once when the app is made; what ran after it comes from the
table alembic_phases, which each migration run keeps: a probe costs two small queries,
never a load of the migration history.
"""

import ast
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from sqlalchemy import inspect, text
{%- if cookiecutter.stack == "async" %}
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
{%- else %}
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
{%- endif %}

from ..settings import PROJECT_ROOT, SettingError
from .deps import DatabaseDep

HEAD_FILE = PROJECT_ROOT / "migrations" / "head.txt"
VERSION_TABLE = "alembic_version"
PHASES_TABLE = "alembic_phases"  # kept by migrations/phases.py

router = APIRouter(prefix="/health", tags=["health"])


class Liveness(BaseModel):
    status: Literal["alive"] = "alive"


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    current: str | None  # the revision the database is at (None: no migrations run)
    expected: str  # the head revision this code was written for
    detail: str


def head_revision(head_file: Path = HEAD_FILE) -> str:
    """The revision the code expects, as `make migration-head` recorded it."""
    try:
        lines = head_file.read_text().splitlines()
    except OSError:
        lines = []
    # The file's comments explain it to whoever meets a merge conflict there.
    revisions = [line.strip() for line in lines if line.strip() and line[0] != "#"]
    if len(revisions) != 1:
        raise SettingError(
            f"{head_file} does not hold one revision, so readiness cannot know "
            "the expected one: run the API from the project folder, after "
            "make migration-head"
        )
    return revisions[0]


{% if cookiecutter.stack == "async" -%}
async def read_table(engine: {{ engine_type }}, table: str, columns: str) -> list[Any]:
    """The rows of one of Alembic's tables; none when no migration ever made it."""
    async with engine.connect() as connection:
        return await connection.run_sync(rows, table, columns)
{%- else -%}
def read_table(engine: {{ engine_type }}, table: str, columns: str) -> list[Any]:
    """The rows of one of Alembic's tables; none when no migration ever made it."""
    with engine.connect() as connection:
        return rows(connection, table, columns)
{%- endif %}


def rows(connection: Connection, table: str, columns: str) -> list[Any]:
    """read_table's query, on a connection."""
    try:
        return list(connection.execute(text(f"SELECT {columns} FROM {table}")))
    except DBAPIError:
        connection.rollback()
        if inspect(connection).has_table(table):
            raise
        return []


def contract_bases(head_file: Path = HEAD_FILE) -> frozenset[str]:
    """The revisions below the head reached through contract revisions only: read once,
    from the revision files' `revision`, `down_revision` and `phase` lines."""
    known: dict[str, tuple[str | None, str]] = {}
    for path in (head_file.parent / "versions").glob("*.py"):
        names: dict[str, Any] = {}
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.AnnAssign | ast.Assign) and node.value is not None:
                targets = (
                    node.targets if isinstance(node, ast.Assign) else [node.target]
                )
                for target in targets:
                    if isinstance(target, ast.Name) and isinstance(
                        node.value, ast.Constant
                    ):
                        names[target.id] = node.value.value
        if isinstance(names.get("revision"), str):
            known[names["revision"]] = (
                names.get("down_revision"),
                names.get("phase", ""),
            )
    bases: set[str] = set()
    revision: str | None = head_revision(head_file)
    while revision in known and known[revision][1] == "contract":
        revision = known[revision][0]
        if revision is not None:
            bases.add(revision)
    return frozenset(bases)


{{ ad }}def database_revision(engine: {{ engine_type }}) -> str | None:
    """The revision in alembic_version; None when no migration ever ran there."""
    revisions = sorted(
        row[0] for row in {{ aw }}read_table(engine, VERSION_TABLE, "version_num")
    )
    return ",".join(revisions) or None


{% if cookiecutter.stack == "async" -%}
async def compatible(
    engine: AsyncEngine, current: str, expected: str
) -> tuple[bool, str]:
{%- else -%}
def compatible(engine: Engine, current: str, expected: str) -> tuple[bool, str]:
{%- endif %}
    """Whether code written for `expected` may serve a database at `current`, and
    why: walk back from `current` through the revisions that ran after `expected`."""
    ran = {
        revision: (down, phase)
        for revision, down, phase in {{ aw }}read_table(
            engine, PHASES_TABLE, "revision, down_revision, phase"
        )
    }
    newer: list[tuple[str, str]] = []
    revision: str = current  # then each one's down_revision (None at the base)
    while revision != expected:
        if revision not in ran or len(newer) > len(ran):  # behind, or not our history
            return False, f"the database is at {current}, not at the head {expected}"
        down, phase = ran[revision]
        newer.append((revision, phase))
        revision = down
    contracts = [revision for revision, phase in newer if phase != "expand"]
    if contracts:
        return False, (
            f"contract revision {contracts[-1]} ran after this release's head "
            f"{expected}: this release is older than the schema"
        )
    return True, (
        f"ahead of the head {expected} by {len(newer)} expand revision(s), "
        "which this release works on"
    )


@router.get("/live")
{{ ad }}def live() -> Liveness:
    """The process is up and serving requests."""
    return Liveness()


NOT_READY = {"model": Readiness, "description": "Not ready; the body says why"}


@router.get("/ready", responses={503: NOT_READY})
{{ ad }}def ready(request: Request, response: Response, engine: DatabaseDep) -> Readiness:
    """200 when the database answers and suits this release's head, else 503 and why."""
    expected: str = request.app.state.head_revision
    try:
        current = {{ aw }}database_revision(engine)
    except DBAPIError:
        response.status_code = 503
        return Readiness(
            status="not ready",
            current=None,
            expected=expected,
            detail="the database does not answer",
        )
    if current is None:
        ok, detail = False, "no migration has run: alembic upgrade head"
    elif current == expected:
        ok, detail = True, "at head"
    elif current in request.app.state.contract_bases:
        ok, detail = (
            True,
            (
                f"behind the head {expected} by contract revision(s) only, which this "
                "release does not need"
            ),
        )
    else:
        try:
            ok, detail = {{ aw }}compatible(engine, current, expected)
        except DBAPIError:
            ok, detail = False, "the database does not answer"
    if not ok:
        response.status_code = 503
    return Readiness(
        status="ready" if ok else "not ready",
        current=current,
        expected=expected,
        detail=detail,
    )
