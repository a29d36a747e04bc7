"""Production safety on the real PostgreSQL server (SQLite where it applies): concurrent
deploys, bounded lock and statement waits, failures that leave nothing half-done,
offline SQL, worked examples, squawk lint and a backup that restores."""

import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from sqlalchemy import create_engine

from .helpers import (
    ALEMBIC,
    BIN,
    SYSTEM_PATH,
    Baked,
    add_revision,
    add_slow_revisions,
    advisory_lock_key,
    clean_env,
    copy_of,
    failure_line,
    free_port,
    imported_from,
    login_role,
    postgres_rows,
    postgres_tables,
    run,
    sqlite_rows,
    sqlite_tables,
    upgrade_at_once,
)


def version(url: str) -> list[tuple]:
    return postgres_rows(url, "SELECT version_num FROM alembic_version")


# --- concurrent deploys -------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("replicas", [2, 4, 8])
def test_replicas_upgrading_at_once_apply_each_revision_once(
    project: Baked, postgres_url: str, replicas: int
) -> None:
    add_slow_revisions(project, "SELECT pg_sleep(0.2)")
    logs = upgrade_at_once(project, postgres_url, replicas)
    assert logs.count("Running upgrade") == 4  # the initial revision and three more
    assert version(postgres_url) == [("slow2",)]
    assert {"t0", "t1", "t2", "users"} <= postgres_tables(postgres_url)


def test_sqlite_runs_started_together_queue_and_apply_each_revision_once(
    project: Baked, tmp_path: Path
) -> None:
    # A statement that takes a while on SQLite, so the runs overlap.
    slow = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000)"
    add_slow_revisions(project, f"{slow} SELECT count(*) FROM c")
    database = tmp_path / "replicas.db"
    logs = upgrade_at_once(project, f"sqlite:///{database}", 4)
    assert logs.count("Running upgrade") == 4
    assert sqlite_rows(database, "SELECT version_num FROM alembic_version") == [("slow2",)]


def test_a_sqlite_migration_waits_for_the_apps_write_up_to_the_lock_timeout(
    project: Baked, tmp_path: Path
) -> None:
    database = tmp_path / "busy.db"
    url = f"sqlite:///{database}"
    app = sqlite3.connect(database, isolation_level=None)
    app.execute("BEGIN IMMEDIATE")  # the app in the middle of a write
    try:
        refused = project.alembic(
            "upgrade", "head", check=False, DATABASE_URL=url, MIGRATION_LOCK_TIMEOUT="1s"
        )
        assert "could not take a lock within MIGRATION_LOCK_TIMEOUT=1s" in failure_line(
            refused, alone=True
        )
        assert "users" not in sqlite_tables(database)
        # Given longer, the run waits for the write to end, then goes on.
        command = [ALEMBIC, "-c", str(project.alembic_ini), "upgrade", "head"]
        env = clean_env(DATABASE_URL=url, MIGRATION_LOCK_TIMEOUT="30s")
        waiting = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
        time.sleep(1)
        assert waiting.poll() is None
    finally:
        app.execute("ROLLBACK")
        app.close()
    _, errors = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, errors
    assert "users" in sqlite_tables(database)


@pytest.mark.postgres
def test_a_connection_handed_in_is_left_alone(project: Baked, postgres_url: str) -> None:
    result = run(
        [
            sys.executable,
            "-c",
            f"""
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

config = Config("alembic.ini")
config.attributes["configure_logger"] = False
url = "{postgres_url.replace("postgresql://", "postgresql+psycopg2://")}"
with create_engine(url).connect() as c:
    config.attributes["connection"] = c
    command.upgrade(config, "head")
    c.commit()
    print("LOCK_TIMEOUT", c.exec_driver_sql("SHOW lock_timeout").scalar())
    locks = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
    print("ADVISORY", c.exec_driver_sql(locks).scalar())
""",
        ],
        cwd=project.path,
    )
    assert "LOCK_TIMEOUT 0" in result.stdout
    assert "ADVISORY 0" in result.stdout
    assert "users" in postgres_tables(postgres_url)


# --- bounded waits ----------------------------------------------------------------


@pytest.mark.postgres
def test_a_blocked_migration_gives_up_and_changes_nothing(
    either_stack: Baked, postgres_url: str
) -> None:
    project = either_stack  # psycopg2, and asyncpg under stack=async
    project.alembic("upgrade", "head", DATABASE_URL=postgres_url)
    head = version(postgres_url)
    add_revision(
        project,
        "addphone",
        project.initial_revision(),
        'op.add_column("users", sa.Column("phone", sa.String(20)))',
        'op.drop_column("users", "phone")',
    )
    blocker = psycopg2.connect(postgres_url)
    blocker.cursor().execute("SELECT * FROM users")  # an open transaction: a table lock
    try:
        start = time.perf_counter()
        result = project.alembic(
            "upgrade", "head", check=False, DATABASE_URL=postgres_url, MIGRATION_LOCK_TIMEOUT="1s"
        )
        elapsed = time.perf_counter() - start
        message = failure_line(result)
        assert result.returncode != 0
        assert elapsed < 15
        assert "addphone" in message and "MIGRATION_LOCK_TIMEOUT=1s" in message
        assert "ALTER TABLE users" in message
        assert version(postgres_url) == head
        columns = postgres_rows(
            postgres_url,
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'users'",
        )
        assert ("phone",) not in columns
    finally:
        blocker.rollback()
        blocker.close()
    project.alembic("upgrade", "head", DATABASE_URL=postgres_url, MIGRATION_LOCK_TIMEOUT="1s")
    assert version(postgres_url) == [("addphone",)]


@pytest.mark.postgres
def test_a_runaway_statement_is_cancelled(project: Baked, postgres_url: str) -> None:
    project.alembic("upgrade", "head", DATABASE_URL=postgres_url)
    add_revision(
        project, "slowpoke", project.initial_revision(), 'op.execute("SELECT pg_sleep(30)")'
    )
    start = time.perf_counter()
    result = project.alembic(
        "upgrade",
        "head",
        check=False,
        DATABASE_URL=postgres_url,
        MIGRATION_STATEMENT_TIMEOUT="500ms",
    )
    assert time.perf_counter() - start < 15
    message = failure_line(result)
    assert "slowpoke" in message and "MIGRATION_STATEMENT_TIMEOUT=500ms" in message
    assert version(postgres_url) == [(project.initial_revision(),)]


def test_a_bad_timeout_setting_is_a_one_line_error(project: Baked) -> None:
    result = project.alembic("upgrade", "head", check=False, MIGRATION_LOCK_TIMEOUT="soon")
    message = failure_line(result)
    assert "MIGRATION_LOCK_TIMEOUT" in message and "'soon'" in message


@pytest.mark.postgres
def test_a_waiting_replica_gives_up_after_the_wait_timeout(
    either_stack: Baked, postgres_url: str
) -> None:
    project = either_stack  # psycopg2, and asyncpg under stack=async
    project.alembic("upgrade", "head", DATABASE_URL=postgres_url)
    key = advisory_lock_key(project)
    holder = psycopg2.connect(postgres_url)
    holder.autocommit = True
    holder.cursor().execute(f"SELECT pg_advisory_lock({key})")
    try:
        result = project.alembic(
            "upgrade", "head", check=False, DATABASE_URL=postgres_url, MIGRATION_WAIT_TIMEOUT="1s"
        )
        assert "MIGRATION_WAIT_TIMEOUT=1s" in failure_line(result)
    finally:
        holder.close()


# --- failures -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_a_failed_revision_leaves_nothing_half_done(
    project: Baked, tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'fail.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    first = project.initial_revision()
    add_revision(
        project,
        "goodone",
        first,
        'op.create_table("kept", sa.Column("id", sa.Integer, primary_key=True))',
        'op.drop_table("kept")',
    )
    add_revision(
        project,
        "badone",
        "goodone",
        'op.create_table("half", sa.Column("id", sa.Integer, primary_key=True))\n'
        'op.add_column("users", sa.Column("x", sa.Integer))\n'
        'op.execute("SELECT no_such_column FROM kept")',
    )
    result = project.alembic("upgrade", "head", check=False, DATABASE_URL=url)
    message = failure_line(result)
    assert "badone" in message and "rolled back" in message
    assert "backfill" not in message  # none ran: the line does not speak of one

    if backend == "sqlite":
        database = tmp_path / "fail.db"
        tables = sqlite_tables(database)
        current = sqlite_rows(database, "SELECT version_num FROM alembic_version")
        columns = {row[1] for row in sqlite_rows(database, "PRAGMA table_info(users)")}
    else:
        tables, current = postgres_tables(url), version(url)
        query = "SELECT column_name FROM information_schema.columns WHERE table_name = 'users'"
        columns = {name for (name,) in postgres_rows(url, query)}
    assert "kept" in tables and "half" not in tables
    assert "x" not in columns
    assert current == [("goodone",)]


@pytest.mark.postgres
def test_a_user_without_rights_is_told_so_not_to_fix_a_revision(
    project: Baked, postgres_url: str
) -> None:
    # PostgreSQL 15 and later: only the database's owner may create in schema public.
    role = f"tpl_no_rights_{os.getpid()}"  # roles are the whole server's
    postgres_rows(postgres_url, f"DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN")
    try:
        url = postgres_url.replace("postgres@", f"{role}@", 1)
        message = failure_line(project.alembic("upgrade", "head", check=False, DATABASE_URL=url))
    finally:
        postgres_rows(postgres_url, f"DROP ROLE {role}")
    assert "permission denied for schema public" in message
    assert "no revision ran it: check what the database user may do there" in message
    assert "fix the revision" not in message


# --- offline SQL -------------------------------------------------------------------


def schema_dump(url: str) -> str:
    result = run(["pg_dump", "--schema-only", "--no-owner", url])
    # Comments and pg_dump's per-run \restrict token differ between any two dumps.
    noise = ("--", "\\restrict", "\\unrestrict")
    return "\n".join(line for line in result.stdout.splitlines() if not line.startswith(noise))


def psql_file(url: str, sql: str, tmp_path: Path) -> None:
    script = tmp_path / "script.sql"
    script.write_text(sql)
    run(["psql", "--quiet", "--set", "ON_ERROR_STOP=1", "-f", str(script), url])


@pytest.mark.postgres
def test_offline_sql_yields_the_online_schema(
    project: Baked, postgres_url: str, second_postgres_url: str, tmp_path: Path
) -> None:
    add_revision(
        project,
        "phone2",
        project.initial_revision(),
        'op.add_column("users", sa.Column("phone", sa.String(20)))\n'
        'op.create_index("ix_users_phone", "users", ["phone"])',
        'op.drop_index("ix_users_phone", table_name="users")\nop.drop_column("users", "phone")',
    )
    offline = project.alembic("upgrade", "head", "--sql", DATABASE_URL=postgres_url).stdout
    assert "SET lock_timeout = '5s'" in offline and "SET statement_timeout = '1min'" in offline
    assert "pg_advisory_lock" in offline and "pg_advisory_unlock" in offline

    online_url = second_postgres_url
    psql_file(postgres_url, offline, tmp_path)
    project.alembic("upgrade", "head", DATABASE_URL=online_url)
    assert schema_dump(postgres_url) == schema_dump(online_url)

    # A range: from the initial revision to the next, applied to a database there.
    project.alembic("downgrade", project.initial_revision(), DATABASE_URL=online_url)
    step = project.alembic(
        "upgrade", f"{project.initial_revision()}:phone2", "--sql", DATABASE_URL=online_url
    ).stdout
    assert "CREATE TABLE users" not in step and "ADD COLUMN phone" in step
    psql_file(online_url, step, tmp_path)
    assert schema_dump(postgres_url) == schema_dump(online_url)


# --- worked examples ---------------------------------------------------------------


# The PostgreSQL examples ship to SQLite and PostgreSQL projects (a MySQL project has
# none): on SQLite they step aside, on PostgreSQL they do what they say.
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
@pytest.mark.parametrize("example", ["postgres_concurrent_index", "postgres_enum"])
def test_worked_examples_upgrade_downgrade_upgrade(
    project: Baked, tmp_path: Path, backend: str, example: str, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'examples.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    rev = project.install_example(example, project.initial_revision())
    first = project.initial_revision()
    for target in ("head", first, "head"):
        if target == "head":
            project.alembic("upgrade", "head", DATABASE_URL=url)
            assert rev in project.alembic("current", DATABASE_URL=url).stdout
        else:
            project.alembic("downgrade", target, DATABASE_URL=url)
        if backend == "postgresql":
            types = {
                t
                for (t,) in postgres_rows(
                    url, "SELECT typname FROM pg_type WHERE typname = 'order_priority'"
                )
            }
            valid = postgres_rows(
                url,
                "SELECT indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE c.relname = 'ix_orders_created_at'",
            )
            at_head = target == "head"
            if example == "postgres_enum":
                assert (types == {"order_priority"}) == at_head
            else:
                assert valid == ([(True,)] if at_head else [])


@pytest.mark.postgres
def test_a_concurrent_index_build_that_failed_is_retried_by_upgrading_again(
    project: Baked, postgres_url: str
) -> None:
    project.alembic("upgrade", "head", DATABASE_URL=postgres_url)
    rev = project.install_example("postgres_concurrent_index", project.initial_revision())
    # A transaction elsewhere holding its snapshot: CREATE INDEX CONCURRENTLY waits for
    # it past the lock timeout and is cancelled, after writing its INVALID index.
    blocker = psycopg2.connect(postgres_url)
    blocker.set_session(isolation_level="REPEATABLE READ")
    blocker.cursor().execute("SELECT count(*) FROM orders")
    try:
        failed = project.alembic(
            "upgrade", "head", check=False, DATABASE_URL=postgres_url, MIGRATION_LOCK_TIMEOUT="1s"
        )
    finally:
        blocker.close()
    assert failed.returncode != 0
    valid = (
        "SELECT indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE c.relname = 'ix_orders_created_at'"
    )
    assert postgres_rows(postgres_url, valid) == [(False,)]  # the leftover
    # The recovery is the upgrade again: never a downgrade (it would undo the revision
    # before this one, the initial schema here).
    project.alembic("upgrade", "head", DATABASE_URL=postgres_url)
    assert postgres_rows(postgres_url, valid) == [(True,)]
    assert rev in project.alembic("current", DATABASE_URL=postgres_url).stdout


# --- lint ---------------------------------------------------------------------------


def lint(project: Baked):
    return run([sys.executable, "-m", "tools.lint_migrations"], cwd=project.path, check=False)


def test_initial_migration_and_a_nullable_column_lint_clean(project: Baked) -> None:
    assert shutil.which("squawk", path=str(Path(sys.executable).parent))
    result = lint(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 clean, 0 with findings" in result.stdout

    add_revision(
        project,
        "addnote",
        project.initial_revision(),
        'op.add_column("users", sa.Column("note", sa.String(200), nullable=True))',
        'op.drop_column("users", "note")',
    )
    result = lint(project)
    assert result.returncode == 0, result.stdout
    assert "2 clean, 0 with findings" in result.stdout


def test_a_blocking_index_build_is_flagged(project: Baked) -> None:
    add_revision(
        project,
        "blockidx",
        project.initial_revision(),
        'op.create_index("ix_orders_total", "orders", ["total"])',
        'op.drop_index("ix_orders_total", table_name="orders")',
    )
    result = lint(project)
    assert result.returncode == 1
    assert "require-concurrent-index-creation" in result.stdout
    assert "blockidx" in result.stdout and "1 clean, 1 with findings" in result.stdout
    assert "\x1b" not in result.stdout  # a pipe gets no colours or terminal links


def test_a_drop_meant_on_purpose_is_accepted_by_one_line_in_its_revision(
    project: Baked,
) -> None:
    drop = 'op.drop_table("order_items")'
    add_revision(project, "dropitems", project.initial_revision(), drop)
    result = lint(project)
    assert result.returncode == 1 and "ban-drop-table" in result.stdout
    revision = project.path / "migrations" / "versions" / "dropitems.py"
    revision.write_text("# squawk-ignore: ban-drop-table\n" + revision.read_text())
    result = lint(project)
    assert result.returncode == 0, result.stdout
    assert "2 clean, 0 with findings" in result.stdout


# --- backup -------------------------------------------------------------------------


@pytest.mark.postgres
def test_backup_restores_to_the_same_revision_and_rows(
    project: Baked, postgres_url: str, second_postgres_url: str, tmp_path: Path
) -> None:
    project.alembic("upgrade", "head", DATABASE_URL=postgres_url)
    postgres_rows(postgres_url, "INSERT INTO users (email, name) VALUES ('ada@example.com', 'Ada')")
    result = run(
        [sys.executable, "-m", "tools.backup", "--output-dir", str(tmp_path)],
        cwd=project.path,
        DATABASE_URL=postgres_url,
    )
    (dump,) = tmp_path.glob("*.dump")
    assert str(dump) in result.stdout
    # Every row is in there: the dump and its folder are the owner's alone.
    assert dump.stat().st_mode & 0o777 == 0o600
    assert tmp_path.stat().st_mode & 0o777 == 0o700

    restored = second_postgres_url
    run(["pg_restore", "--no-owner", "--dbname", restored, str(dump)])
    assert (
        project.alembic("current", DATABASE_URL=restored).stdout.split()[0]
        == project.initial_revision()
    )
    assert postgres_rows(restored, "SELECT email FROM users") == [("ada@example.com",)]


@pytest.mark.postgres
def test_backup_honours_the_urls_connection_parameters(
    project: Baked, postgres_url: str, tmp_path: Path
) -> None:
    # Through the socket named by ?host=, the database Alembic migrates: not the default.
    database = postgres_url.rsplit("/", 1)[1]
    socket_url = f"postgresql://postgres@/{database}?host=/var/run/postgresql"
    project.alembic("upgrade", "head", DATABASE_URL=socket_url)
    backup = [sys.executable, "-m", "tools.backup", "--output-dir", str(tmp_path / "b")]
    run(backup, cwd=project.path, DATABASE_URL=socket_url)
    (dump,) = (tmp_path / "b").glob("*.dump")
    assert dump.name.startswith(database)
    # ?sslmode=require is kept: this server has no SSL, so pg_dump refuses to go on
    # in plaintext (as Alembic does), and no dump is left behind.
    refused = run(
        backup, cwd=project.path, check=False, DATABASE_URL=f"{postgres_url}?sslmode=require"
    )
    assert refused.returncode != 0 and "SSL" in refused.stderr
    assert len(list((tmp_path / "b").glob("*.dump"))) == 1


@pytest.mark.postgres
def test_backup_never_shows_the_password_to_other_users(
    project: Baked, postgres_url: str, postgres_admin_url: str, tmp_path: Path
) -> None:
    # What any local user sees in `ps` is the command line: a pg_dump first on PATH
    # writes its own down, then runs the real one (which must log in by password).
    shims = tmp_path / "shims"
    shims.mkdir()
    seen = tmp_path / "argv"
    real = shutil.which("pg_dump")
    assert real
    shim = shims / "pg_dump"
    shim.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {seen}\nexec {real} "$@"\n')
    shim.chmod(0o755)
    password = "Pg-dump-s3cret"
    with login_role(postgres_admin_url, postgres_url, "tpl_backup", password):
        url = postgres_url.replace("postgres@", f"tpl_backup:{password}@", 1)
        project.alembic("upgrade", "head", DATABASE_URL=url)
        backup = [sys.executable, "-m", "tools.backup", "--output-dir", str(tmp_path / "b")]
        result = run(backup, cwd=project.path, DATABASE_URL=url, PATH=f"{shims}:{SYSTEM_PATH}")
        assert "tpl_backup@" in seen.read_text()  # the shim ran, with the URI
        assert password not in seen.read_text() + result.stdout + result.stderr
        # As a query parameter, in any case and by other drivers' names: off it too.
        for name in ("PASSWORD", "pwd", "passwd", "password%20"):
            query = postgres_url.replace("postgres@", "tpl_backup@", 1) + f"?{name}={password}"
            result = run(
                backup, cwd=project.path, DATABASE_URL=query, PATH=f"{shims}:{SYSTEM_PATH}"
            )
            assert password not in seen.read_text() + result.stdout + result.stderr, name
    assert len([dump for dump in (tmp_path / "b").glob("*.dump") if dump.stat().st_size]) == 5


def test_a_backups_file_stays_in_its_folder_whatever_the_database_is_called(
    project: Baked, tmp_path: Path
) -> None:
    # The file is named after the database, whose name may hold `/` or `..`.
    claim = (
        "import sys; from pathlib import Path; from tools.backup import claim; "
        "print(claim(Path(sys.argv[1]), sys.argv[2], '.dump'))"
    )
    folder = tmp_path / "backups"
    folder.mkdir()
    for name in ("../../escaped", "a/../../b", "/etc/passwd", "..", ".hidden", ""):
        made = run([sys.executable, "-c", claim, str(folder), name], cwd=project.path)
        written = Path(made.stdout.strip())
        assert written.parent == folder and written.is_file(), (name, written)
    assert {path.parent for path in tmp_path.rglob("*.dump")} == {folder}


def test_a_sqlite_backup_holds_what_the_running_app_committed(
    project: Baked, tmp_path: Path
) -> None:
    # The app's engine keeps SQLite in WAL mode: recent commits sit in the -wal file,
    # which copying the database file alone would miss while the app runs.
    project.alembic("upgrade", "head")
    database = project.path / f"{project.package}.db"
    app = sqlite3.connect(database)
    app.execute("PRAGMA journal_mode=WAL")
    app.execute("PRAGMA wal_autocheckpoint=0")  # everything stays in the -wal file
    app.execute("INSERT INTO users (email, name) VALUES ('ada@example.com', 'Ada')")
    app.commit()
    try:
        backup = [sys.executable, "-m", "tools.backup", "--output-dir", str(tmp_path / "b")]
        result = run(backup, cwd=project.path)
    finally:
        app.close()
    (copy,) = (tmp_path / "b").glob("*.db")
    assert str(copy) in result.stdout and copy.stat().st_mode & 0o777 == 0o600
    assert sqlite_rows(copy, "SELECT email FROM users") == [("ada@example.com",)]
    assert sqlite_rows(copy, "SELECT version_num FROM alembic_version") == [
        (project.initial_revision(),)
    ]
    # docs/deploying.md's restore drill, as written, on that copy.
    page = (project.path / "docs" / "deploying.md").read_text()
    (drill,) = [b for b in re.findall(r"```bash\n(.*?)```", page, re.S) if "drill" in b]
    drill = drill.replace("backups/<file>.db", str(copy))
    drill = drill.replace("/tmp/restore_drill.db", str(tmp_path / "drill.db"))
    ran = run(["bash", "-ec", drill], cwd=project.path, PATH=f"{BIN}:{SYSTEM_PATH}")
    assert f"{project.initial_revision()} (head) (current)" in ran.stdout
    assert not (tmp_path / "drill.db").exists() and copy.exists()


def test_backups_started_in_the_same_second_each_keep_their_own_file(
    project: Baked, tmp_path: Path
) -> None:
    # A pg_dump that writes its file only after a pause, as a real dump of a large
    # database does: every backup checks for its name before any file exists.
    shims = tmp_path / "shims"
    shims.mkdir()
    shim = shims / "pg_dump"
    shim.write_text(
        '#!/bin/sh\nwhile [ "$1" != --file ]; do shift; done\nsleep 1\necho $$ > "$2"\n'
    )
    shim.chmod(0o755)
    backup = [sys.executable, "-m", "tools.backup", "--output-dir", str(tmp_path / "b")]
    env = clean_env(DATABASE_URL="postgresql://app@127.0.0.1:1/app", PATH=f"{shims}:{SYSTEM_PATH}")
    runs = [
        subprocess.Popen(backup, cwd=project.path, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    assert [backup.wait(timeout=60) for backup in runs] == [0] * 4
    dumps = list((tmp_path / "b").glob("*.dump"))
    assert len(dumps) == 4
    assert len({dump.read_text() for dump in dumps}) == 4  # one pg_dump each


# --- the make targets -----------------------------------------------------------------


@pytest.mark.postgres
def test_make_targets_lint_and_back_up(project: Baked, postgres_url: str) -> None:
    python = f"PYTHON={sys.executable}"
    linted = run(["make", "-C", str(project.path), python, "lint-migrations"])
    assert "1 clean, 0 with findings" in linted.stdout
    project.alembic("upgrade", "head", DATABASE_URL=postgres_url)
    run(["make", "-C", str(project.path), python, "backup"], DATABASE_URL=postgres_url)
    (dump,) = (project.path / "backups").glob("*.dump")
    assert dump.stat().st_size > 0


# --- behind a connection pooler --------------------------------------------------------------


@contextmanager
def pgbouncer(pool_mode: str) -> Iterator[str]:
    """PgBouncer from Debian's package in front of this machine's PostgreSQL, on a free
    loopback port: yields its address as host:port."""
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not Path(binary).exists():
        message = "pgbouncer is not installed (apt-get install pgbouncer; .ci/run does)"
        if os.environ.get("CI") or os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail(message)
        pytest.skip(message)
    # PgBouncer will not run as root: it drops to the postgres user, who must read this.
    folder = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    folder.chmod(0o755)
    port = free_port()
    (folder / "users.txt").write_text('"postgres" ""\n')
    (folder / "pgbouncer.ini").write_text(
        textwrap.dedent(
            f"""\
            [databases]
            * = host=127.0.0.1 port=5432
            [pgbouncer]
            listen_addr = 127.0.0.1
            listen_port = {port}
            unix_socket_dir =
            auth_type = trust
            auth_file = {folder}/users.txt
            pool_mode = {pool_mode}
            logfile = {folder}/pgbouncer.log
            pidfile = {folder}/pgbouncer.pid
            """
        )
    )
    shutil.chown(folder, "postgres")
    process = subprocess.Popen(
        [binary, "-u", "postgres", str(folder / "pgbouncer.ini")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=15)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.postgres
def test_a_transaction_pool_is_refused_before_anything_runs(
    project: Baked, postgres_url: str
) -> None:
    # Through it, the session advisory lock would go wherever the server session goes.
    with pgbouncer("transaction") as pooler:
        pooled = postgres_url.replace("127.0.0.1:5432", pooler)
        line = failure_line(project.alembic("upgrade", "head", check=False, DATABASE_URL=pooled))
        assert "pooler in transaction mode" in line and "MIGRATION_DATABASE_URL" in line
        assert "alembic_version" not in postgres_tables(postgres_url)
        # The app keeps the pooler; migrations go to the server itself.
        project.alembic("upgrade", "head", DATABASE_URL=pooled, MIGRATION_DATABASE_URL=postgres_url)
    assert {"alembic_version", "users"} <= postgres_tables(postgres_url)


@pytest.mark.postgres
def test_a_session_pool_keeps_the_lock_and_runs(project: Baked, postgres_url: str) -> None:
    with pgbouncer("session") as pooler:
        pooled = postgres_url.replace("127.0.0.1:5432", pooler)
        project.alembic("upgrade", "head", DATABASE_URL=pooled)
    assert version(postgres_url) == [(project.initial_revision(),)]


# --- the failing step, in-process ---------------------------------------------------

REVISION = '''"""add phone

Revision ID: b2
Revises: a1
"""

from sqlalchemy import Connection

revision = "b2"
down_revision = {down!r}


def upgrade(connection: Connection | None = None) -> None:
    if connection is not None:
        connection.exec_driver_sql("SELECT 2")
    fail()


def downgrade() -> None:
    fail()


def fail() -> None:
    raise RuntimeError("the statement failed")
'''


def revision_module(down: object) -> dict[str, Any]:
    names: dict[str, Any] = {}
    exec(compile(REVISION.format(down=down), "b2_add_phone.py", "exec"), names)
    return names


def raised_by(call: Callable[[], object]) -> BaseException:
    with pytest.raises(RuntimeError) as raised:
        call()
    return raised.value


def test_a_failure_is_named_by_the_revision_step_it_came_from(baked_sqlite: Baked) -> None:
    with imported_from(baked_sqlite, "migrations.safety") as safety:
        step = safety.failing_step
        revision = revision_module("a1")
        assert step(raised_by(revision["upgrade"])) == "upgrade a1 -> b2, add phone"
        assert step(raised_by(revision["downgrade"])) == "downgrade b2 -> a1, add phone"
        merge = revision_module(("a1", "a2"))
        assert step(raised_by(merge["upgrade"])) == "upgrade a1, a2 -> b2, add phone"
        first = revision_module(None)
        assert step(raised_by(first["upgrade"])) == "upgrade  -> b2, add phone"
        assert step(raised_by(revision["fail"])) is None  # outside any step


def test_each_statement_is_told_apart_by_the_step_it_ran_in(baked_sqlite: Baked) -> None:
    engine = create_engine("sqlite://")
    revision = revision_module("a1")
    with (
        imported_from(baked_sqlite, "migrations.safety") as safety,
        engine.connect() as connection,
        safety.statements_by_step(connection) as ran,
    ):
        connection.exec_driver_sql("SELECT 1")
        raised_by(lambda: revision["upgrade"](connection))
    assert ran == [("", "SELECT 1"), ("upgrade a1 -> b2, add phone", "SELECT 2")]


@pytest.mark.postgres
def test_the_postgresql_restore_drill_runs_as_written(
    baked_postgresql: Baked, postgres_url: str, tmp_path: Path
) -> None:
    project = copy_of(baked_postgresql, tmp_path)
    project.alembic("upgrade", "head", DATABASE_URL=postgres_url)
    postgres_rows(postgres_url, "INSERT INTO users (email, name) VALUES ('ada@x.org', 'Ada')")
    make = ["make", "-C", str(project.path), "backup", f"PYTHON={sys.executable}"]
    run(make, DATABASE_URL=postgres_url, PATH=f"{BIN}:{SYSTEM_PATH}")
    (dump,) = (project.path / "backups").glob("*.dump")
    # docs/deploying.md's drill, as written, with PGHOST and PGUSER as its comment says,
    # a drill database of this test's own, and this server's admin role for the app's.
    page = (project.path / "docs" / "deploying.md").read_text()
    (drill,) = [b for b in re.findall(r"```bash\n(.*?)```", page, re.S) if "drill" in b]
    name = f"drill_{uuid.uuid4().hex[:8]}"
    server = postgres_url.rsplit("/", 1)[0]
    for old, new in {
        "backups/<file>.dump": str(dump),
        "<the app's role>": "postgres",
        "postgresql://.../": f"{server}/",
        "restore_drill": name,
    }.items():
        assert old in drill
        drill = drill.replace(old, new)
    env = {"PGHOST": "127.0.0.1", "PGUSER": "postgres", "PATH": f"{BIN}:{SYSTEM_PATH}"}
    try:
        ran = run(["bash", "-ec", drill], cwd=project.path, **env)
    finally:  # (dropdb ran unless the drill failed before it)
        admin = psycopg2.connect(f"{server}/postgres")
        admin.autocommit = True
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()
    assert f"{project.initial_revision()} (head) (current)" in ran.stdout
