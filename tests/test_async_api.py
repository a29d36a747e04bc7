"""The stack=async API served by uvicorn, on each database: ready only at head, the
documented answers (docs/api.md's session, clients racing on one row), schemathesis
with every check, and a deadlock answered 409 rather than 503."""

from pathlib import Path

import pytest

from .helpers import Baked, assert_fuzzes_clean, assert_readme_session, copy_of, make_run
from .test_api import TOKEN, Client, race_rounds

DATABASES = [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.postgres),
    pytest.param("mysql", marks=pytest.mark.mysql),
]


def database_of(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database of `backend`: a SQLite file of the test's, or one on the server."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'api.db'}"
    return request.getfixturevalue("postgres_url" if backend == "postgresql" else "mysql_url")


@pytest.mark.parametrize("backend", DATABASES)
def test_the_async_api_is_ready_at_head_answers_as_documented_and_fuzzes_clean(
    baked_async: dict[str, Baked], backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    project = baked_async[backend]
    database = database_of(backend, request, tmp_path)
    server = make_run(project, tmp_path / "server.log", DATABASE_URL=database, API_TOKENS=TOKEN)
    try:
        status, body = server.call("GET", "/health/ready")
        assert status == 503 and body["current"] is None, body
        project.alembic("upgrade", "head", DATABASE_URL=database)
        status, body = server.call("GET", "/health/ready")
        assert status == 200 and body["current"] == body["expected"], body
        assert_readme_session(server, TOKEN)
        # docs/api.md's promises when clients race on one row (SQLite's write lock
        # taken at BEGIN, through aiosqlite, included).
        race_rounds(server, rounds=2)
    except BaseException:
        server.stop()
        raise
    assert_fuzzes_clean(server, TOKEN)  # stops the server; its log holds no 500


ASYNC_DEADLOCK_ROUTE = """
import asyncio

from fastapi import APIRouter
from sqlalchemy import text

from ...db import get_engine

router = APIRouter()


@router.post("/a-deadlock")
async def a_deadlock() -> None:
    engine = get_engine()
    async with engine.begin() as setup:
        await setup.execute(text("CREATE TABLE pair (id INT PRIMARY KEY, v INT)"))
        await setup.execute(text("INSERT INTO pair VALUES (1, 0), (2, 0)"))
    first, second = await engine.connect(), await engine.connect()
    failed = []

    async def update(connection, row):
        try:
            await connection.execute(text(f"UPDATE pair SET v = v + 1 WHERE id = {row}"))
        except Exception as exc:  # the one the server picks to fail
            failed.append(exc)
            await connection.rollback()

    await update(first, 1)
    await update(second, 2)
    crossing = asyncio.create_task(update(first, 2))
    await asyncio.sleep(0.3)  # first now waits for second's row: second closes the circle
    await update(second, 1)
    await crossing
    for connection in (first, second):
        await connection.rollback()
        await connection.close()
    raise failed[0]
"""


@pytest.mark.parametrize("backend", DATABASES[1:])
def test_an_async_deadlock_is_a_conflict_to_send_again_not_an_outage(
    baked_async: dict[str, Baked], backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    # asyncpg reports a deadlock as a bare DBAPIError: db.py gives it psycopg2's class.
    project = copy_of(baked_async[backend], tmp_path)
    routes = project.path / project.package / "api" / "routes"
    (routes / "a_deadlock.py").write_text(ASYNC_DEADLOCK_ROUTE)
    database = database_of(backend, request, tmp_path)
    project.alembic("upgrade", "head", DATABASE_URL=database)
    server = make_run(project, tmp_path / "server.log", DATABASE_URL=database, API_TOKENS=TOKEN)
    try:
        status, answer = Client(server).send("POST", "/a-deadlock")
    finally:
        log = server.stop()
    assert status == 409, (answer, log[-3000:])
    assert "send it again" in answer["detail"]
