"""Probes for an orchestrator: is the process up, and may it take traffic?

Ready means the database answers and is at the migrations' head revision, so no
replica serves on a schema that is behind (or ahead of) its code. The head comes from
migrations/head.txt, read once when the app is made: a probe costs one small query,
never a load of the migration history.
"""

from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from ..settings import PROJECT_ROOT, SettingError
from .deps import DatabaseDep

HEAD_FILE = PROJECT_ROOT / "migrations" / "head.txt"
VERSION_TABLE = "alembic_version"

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


def database_revision(engine: Engine) -> str | None:
    """The revision in alembic_version; None when no migration ever ran there."""
    with engine.connect() as connection:
        try:
            rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))
            revisions = sorted(rows.scalars())
        except DBAPIError:
            connection.rollback()
            if inspect(connection).has_table(VERSION_TABLE):
                raise
            return None
    return ",".join(revisions) or None


@router.get("/live")
def live() -> Liveness:
    """The process is up and serving requests."""
    return Liveness()


NOT_READY = {"model": Readiness, "description": "Not ready; the body says why"}


@router.get("/ready", responses={503: NOT_READY})
def ready(request: Request, response: Response, engine: DatabaseDep) -> Readiness:
    """200 when the database answers and is at the head revision, else 503 and why."""
    expected: str = request.app.state.head_revision
    try:
        current = database_revision(engine)
    except DBAPIError:
        response.status_code = 503
        return Readiness(
            status="not ready",
            current=None,
            expected=expected,
            detail="the database does not answer",
        )
    if current != expected:
        response.status_code = 503
        detail = (
            "no migration has run: alembic upgrade head"
            if current is None
            else f"the database is at {current}, not at the head {expected}"
        )
        return Readiness(
            status="not ready", current=current, expected=expected, detail=detail
        )
    return Readiness(
        status="ready", current=current, expected=expected, detail="at head"
    )
