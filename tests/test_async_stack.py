"""stack=async: AsyncSession on asyncpg, aiosqlite or asyncmy, with Alembic keeping every
guard of the sync stack (one run at a time, bounded waits, a failure that names its
revision, offline SQL, runs called from code that already runs an event loop). A lock
timeout and a wait timeout named on PostgreSQL, and what stayed applied on MariaDB, are
proved for both stacks in test_deploy_safety.py and test_mysql.py (the either_stack
fixtures); the served async API in test_async_api.py.

Each database's async project is baked once (conftest.py); tests that change one work
on a copy.
"""

import sys
import time
import tomllib
from pathlib import Path

import psycopg2
import pytest
import yaml

from .helpers import (
    ASYNC_PROJECT_PYTEST,
    SYSTEM_PATH,
    Baked,
    add_slow_revisions,
    advisory_lock_key,
    bake,
    copy_of,
    failure_line,
    mysql_rows,
    postgres_rows,
    postgres_tables,
    run,
    upgrade_at_once,
)
from .test_deploy_safety import pgbouncer

# What each stack's projects may hold, whatever the database: the other stack's drivers
# never come along.
ASYNC_ONLY = {"asyncpg", "aiosqlite", "asyncmy", "greenlet", "pytest-asyncio"}
SYNC_ONLY = {"psycopg2-binary", "pymysql"}


@pytest.fixture
def async_project(baked_async: dict[str, Baked], tmp_path: Path) -> Baked:
    """A private copy of the async SQLite project (which runs on PostgreSQL too)."""
    return copy_of(baked_async["sqlite"], tmp_path)


@pytest.fixture
def async_mysql_project(baked_async: dict[str, Baked], tmp_path: Path) -> Baked:
    return copy_of(baked_async["mysql"], tmp_path)


def make(project: Baked, target: str, **env: str) -> str:
    """`make <target>` in the project with this interpreter; its output."""
    result = run(
        ["make", "-C", str(project.path), target, f"PYTHON={sys.executable}"],
        PATH=SYSTEM_PATH,
        PYTEST_ADDOPTS=ASYNC_PROJECT_PYTEST,
        **env,
    )
    return result.stdout + result.stderr


def locked_packages(project: Path) -> set[str]:
    lock = tomllib.loads((project / "uv.lock").read_text())
    return {package["name"] for package in lock["package"]}


@pytest.mark.parametrize("database", ["postgresql", "mysql"])
def test_each_stack_installs_its_own_drivers_and_no_other(
    baked_async: dict[str, Baked],
    baked_postgresql: Baked,
    baked_mysql: Baked,
    database: str,
) -> None:
    sync = {"postgresql": baked_postgresql, "mysql": baked_mysql}[database]
    driver = {"postgresql": "asyncpg", "mysql": "asyncmy"}[database]
    asynchronous = locked_packages(baked_async[database].path)
    assert {driver, "aiosqlite", "greenlet", "pytest-asyncio"} <= asynchronous
    assert not asynchronous & SYNC_ONLY
    assert not locked_packages(sync.path) & ASYNC_ONLY
    dependencies = tomllib.loads((baked_async[database].path / "pyproject.toml").read_text())
    required = dependencies["project"]["dependencies"]
    assert not any("psycopg2" in d or "pymysql" in d for d in required)


@pytest.mark.parametrize(
    "database",
    [
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.postgres),
        pytest.param("mysql", marks=pytest.mark.mysql),
    ],
)
def test_an_async_project_passes_its_suite_lint_and_check(
    baked_async: dict[str, Baked], database: str, request: pytest.FixtureRequest
) -> None:
    project = baked_async[database]
    env = {}
    if database != "sqlite":
        env["TEST_DATABASE_URL"] = request.getfixturevalue(
            "postgres_url" if database == "postgresql" else "mysql_url"
        )
    output = make(project, "test", **env)
    assert " passed" in output and "failed" not in output and "skipped" not in output
    assert "async def" in (project.path / project.package / "crud.py").read_text()
    make(project, "lint")  # ruff, strict mypy
    make(project, "check")  # the models match the migrations (scratch SQLite, aiosqlite)


# --- one run at a time, the pooler check, offline SQL -------------------------------


@pytest.mark.postgres
def test_async_replicas_upgrading_at_once_apply_each_revision_once(
    async_project: Baked, postgres_url: str
) -> None:
    add_slow_revisions(async_project, "SELECT pg_sleep(0.2)")
    logs = upgrade_at_once(async_project, postgres_url, 4)
    assert logs.count("Running upgrade") == 4  # the initial revision and three more
    assert postgres_rows(postgres_url, "SELECT version_num FROM alembic_version") == [("slow2",)]


@pytest.mark.mysql
def test_async_replicas_queue_on_mariadb_too(async_mysql_project: Baked, mysql_url: str) -> None:
    add_slow_revisions(async_mysql_project, "SELECT SLEEP(0.2)")
    logs = upgrade_at_once(async_mysql_project, mysql_url, 4)
    assert logs.count("Running upgrade") == 4
    assert "asyncmy" not in logs  # the server's notes on DDL, which asyncmy would log
    assert mysql_rows(mysql_url, "SELECT version_num FROM alembic_version") == [("slow2",)]


def test_an_unreachable_server_is_said_so_in_one_line(async_project: Baked) -> None:
    # asyncpg raises the network's own error (OSError), not a driver error.
    secret = "s3cr3t-Pa55"
    url = f"postgresql://app:{secret}@127.0.0.1:1/app"
    result = async_project.alembic("upgrade", "head", check=False, DATABASE_URL=url)
    line = failure_line(result, alone=True)
    assert "cannot connect to postgresql+asyncpg://app:***@127.0.0.1:1/app" in line, line
    assert "refused" in line.lower() or "failed" in line.lower(), line
    assert "query parameters" not in line and secret not in result.stdout + result.stderr


@pytest.mark.postgres
def test_async_migrations_refuse_a_transaction_pool(
    async_project: Baked, postgres_url: str
) -> None:
    # asyncpg names the server process otherwise than psycopg2: the check still finds
    # the pooler, and the lock is never carried away.
    with pgbouncer("transaction") as pooler:
        pooled = postgres_url.replace("127.0.0.1:5432", pooler)
        result = async_project.alembic("upgrade", "head", check=False, DATABASE_URL=pooled)
        assert "pooler in transaction mode" in failure_line(result)
    assert "alembic_version" not in postgres_tables(postgres_url)


@pytest.mark.postgres
def test_async_offline_sql_takes_the_lock_and_the_limits(
    baked_async: dict[str, Baked], postgres_url: str
) -> None:
    project = baked_async["postgresql"]
    script = project.alembic("upgrade", "head", "--sql", DATABASE_URL=postgres_url)
    assert "pg_advisory_lock(" in script.stdout and "SET lock_timeout" in script.stdout
    assert "CREATE TABLE users" in script.stdout
    assert "alembic_version" not in postgres_tables(postgres_url)  # printed, never run


# --- Alembic from code that runs an event loop --------------------------------------

CALLED_FROM_A_LOOP = """
import asyncio, sys
from alembic import command
from alembic.config import Config
from alembic.util import CommandError
from sqlalchemy.ext.asyncio import create_async_engine


def config(connection=None):
    config = Config("alembic.ini")
    config.attributes["configure_logger"] = False
    if connection is not None:
        config.attributes["connection"] = connection
    return config


async def main():
    if sys.argv[2:] == ["locked"]:
        # Bounded waits hold in a loop too: another run holds the lock.
        try:
            command.upgrade(config(), "head")
        except CommandError as exc:
            print("REFUSED", exc)
        return
    # As an app's lifespan calls it: straight from the running loop.
    command.upgrade(config(), "head")
    command.downgrade(config(), "base")
    # In a thread of its own: the loop goes on meanwhile.
    ticks = 0

    async def tick():
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.001)

    ticker = asyncio.create_task(tick())
    await asyncio.to_thread(command.upgrade, config(), "head")
    ticker.cancel()
    print("TICKS", ticks > 5)
    command.downgrade(config(), "base")
    # On a connection of the caller's (Alembic's cookbook for asyncio).
    engine = create_async_engine(sys.argv[1])
    async with engine.begin() as connection:
        await connection.run_sync(lambda sync: command.upgrade(config(sync), "head"))
    await engine.dispose()
    print("DONE")


asyncio.run(main())
"""


@pytest.mark.postgres
def test_alembic_runs_from_code_that_runs_an_event_loop(
    async_project: Baked, postgres_url: str
) -> None:
    async_url = postgres_url.replace("postgresql://", "postgresql+asyncpg://")
    script = async_project.path / "from_a_loop.py"
    script.write_text(CALLED_FROM_A_LOOP)
    command = [sys.executable, str(script), async_url]
    result = run(command, cwd=async_project.path, DATABASE_URL=postgres_url)
    assert "TICKS True" in result.stdout and "DONE" in result.stdout
    assert "users" in postgres_tables(postgres_url)
    assert "Traceback" not in result.stderr

    key = advisory_lock_key(async_project)
    holder = psycopg2.connect(postgres_url)
    holder.autocommit = True
    holder.cursor().execute(f"SELECT pg_advisory_lock({key})")
    try:
        start = time.perf_counter()
        result = run(
            [*command, "locked"],
            cwd=async_project.path,
            DATABASE_URL=postgres_url,
            MIGRATION_WAIT_TIMEOUT="1s",
        )
    finally:
        holder.close()
    assert time.perf_counter() - start < 15
    assert "REFUSED" in result.stdout and "MIGRATION_WAIT_TIMEOUT=1s" in result.stdout


def test_without_the_api_the_documented_async_session_example_runs(tmp_path: Path) -> None:
    project = bake(tmp_path / "bake", stack="async", include_api="n")
    assert not (project.path / project.package / "api").exists()
    project.alembic("upgrade", "head")
    page = (project.path / "docs" / "models.md").read_text()
    example = page.split("```python\n", 1)[1].split("```", 1)[0]
    assert "AsyncSession" in example and "asyncio.run(main())" in example
    result = run([sys.executable, "-c", example], cwd=project.path)
    assert "19.98" in result.stdout
    # Pasted into the package, it passes the project's strict lint, as the rest
    # does: what include_api=n leaves out is left out cleanly.
    pasted = project.path / project.package / "documented_example.py"
    pasted.write_text(example)
    make(project, "lint")
    pasted.unlink()
    # compose's stand-in for the team's program outlives the examples docs/models.md deletes.
    project.remove_examples()
    app = yaml.safe_load((project.path / "compose.yaml").read_text())["services"]["app"]
    program, *arguments = app["command"]
    assert program == "python"  # the image's, which holds the project's packages
    result = run([sys.executable, *arguments], cwd=project.path)
    assert f"at revision {project.initial_revision()}." in result.stdout
