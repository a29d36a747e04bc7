"""MySQL and MariaDB: a project baked for MySQL, driven by the real alembic CLI, its
tools and its make targets against this machine's MariaDB (required in CI, like
PostgreSQL): clean drift checks and round trips, text and times that come back as they
went in, one run at a time across replicas, bounded waits, honest partial failures,
one-line refusals, and a backup that restores."""

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pymysql
import pytest
import yaml

from .helpers import (
    BOOKKEEPING,
    Baked,
    add_revision,
    add_slow_revisions,
    assert_fuzzes_clean,
    failure_line,
    fresh_mysql_database,
    imported_from,
    make_run,
    mysql_connect,
    mysql_rows,
    mysql_tables,
    run,
    upgrade_at_once,
)

pytestmark = pytest.mark.mysql
EXAMPLE_TABLES = {"users", "orders", "order_items"}


def version(url: str) -> list[tuple]:
    return mysql_rows(url, "SELECT version_num FROM alembic_version")


def python(project: Baked, code: str, **env: str) -> str:
    """Run Python code in the project folder (its package importable); its stdout."""
    return run([sys.executable, "-c", code], cwd=project.path, **env).stdout


# --- drift, round trips, text and time ----------------------------------------------


def test_upgrade_check_downgrade_upgrade_is_clean(baked_mysql: Baked, mysql_url: str) -> None:
    for _ in range(2):
        baked_mysql.alembic("upgrade", "head", DATABASE_URL=mysql_url)
        # No false drift: keys (Identity), DATETIME(6) and its default read back as written.
        checked = baked_mysql.alembic("check", DATABASE_URL=mysql_url)
        assert "No new upgrade operations detected" in checked.stdout + checked.stderr
        # The initial downgrade drops tables whose foreign keys need their indexes.
        baked_mysql.alembic("downgrade", "base", DATABASE_URL=mysql_url)
        assert mysql_tables(mysql_url) == BOOKKEEPING
        assert version(mysql_url) == []
    baked_mysql.alembic("upgrade", "head", DATABASE_URL=mysql_url)
    database = mysql_url.rsplit("/", 1)[1]
    collations = mysql_rows(
        mysql_url,
        "SELECT table_name, table_collation FROM information_schema.tables WHERE table_schema = %s",
        (database,),
    )
    assert {name for name, _ in collations} == EXAMPLE_TABLES | BOOKKEEPING
    assert all(collation.startswith("utf8mb4_") for _, collation in collations)
    types = mysql_rows(
        mysql_url,
        "SELECT column_type FROM information_schema.columns "
        "WHERE table_schema = %s AND column_name = 'created_at'",
        (database,),
    )
    assert types == [("datetime(6)",), ("datetime(6)",)]


ROUND_TRIP = """
from datetime import datetime, timedelta, timezone
from sqlalchemy import text
from sqlmodel import Session
from {package}.db import get_engine
from {package}.models.examples import User

name = "Zoë Ünal 🚀 多言語"
written = datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=timezone(timedelta(hours=5, minutes=30)))
with Session(get_engine()) as session:
    session.add(User(email="zoe@example.com", name=name, created_at=written))
    session.commit()
with get_engine().connect() as connection:
    connection.execute(text("INSERT INTO users (email, name) VALUES ('sql@example.com', 'x')"))
    connection.commit()
    zone = connection.execute(text("SELECT @@session.time_zone")).scalar()
with Session(get_engine()) as session:
    user = session.query(User).filter_by(email="zoe@example.com").one()
    by_sql = session.query(User).filter_by(email="sql@example.com").one()
assert user.name == name, user.name
assert user.created_at == written and user.created_at.utcoffset() == timedelta(0), user.created_at
assert user.created_at.microsecond == 123456
assert by_sql.created_at.tzinfo is not None
assert abs(datetime.now(timezone.utc) - by_sql.created_at) < timedelta(minutes=1), by_sql.created_at
print(zone)
"""


def test_text_and_times_come_back_as_they_went_in(baked_mysql: Baked, mysql_url: str) -> None:
    baked_mysql.alembic("upgrade", "head", DATABASE_URL=mysql_url)
    zone = python(
        baked_mysql, ROUND_TRIP.format(package=baked_mysql.package), DATABASE_URL=mysql_url
    )
    assert zone.strip() == "+00:00"  # CURRENT_TIMESTAMP defaults are UTC, like the app's values
    # Stored as UTC wall time: 01:30:15 at +05:30 is 20:00:15 the day before.
    stored = mysql_rows(
        mysql_url, "SELECT CAST(created_at AS CHAR) FROM users WHERE email = 'zoe@example.com'"
    )
    assert stored == [("2026-03-28 20:00:15.123456",)]
    # docs/models.md: text compares without regard to case, a unique e-mail's too.
    with pytest.raises(pymysql.err.IntegrityError, match="Duplicate entry"):
        mysql_rows(mysql_url, "INSERT INTO users (email, name) VALUES ('ZOE@example.com', 'Z')")


# --- one run at a time, bounded waits, partial failures ------------------------------


def test_eight_replicas_upgrading_at_once_apply_each_revision_once(
    mysql_project: Baked, mysql_url: str
) -> None:
    add_slow_revisions(mysql_project, "SELECT SLEEP(0.2)")
    logs = upgrade_at_once(mysql_project, mysql_url, 8)
    assert logs.count("Running upgrade") == 4  # the initial revision and three more
    assert version(mysql_url) == [("slow2",)]
    assert {"t0", "t1", "t2"} | EXAMPLE_TABLES <= mysql_tables(mysql_url)


def test_a_waiting_replica_gives_up_after_the_wait_timeout(
    baked_mysql: Baked, mysql_url: str
) -> None:
    database = mysql_url.rsplit("/", 1)[1]
    holder = mysql_connect(mysql_url)  # another replica's run, holding the project's lock
    with holder.cursor() as cursor:
        cursor.execute("SELECT GET_LOCK(%s, 0)", (f"alembic:{baked_mysql.package}:{database}",))
        assert cursor.fetchone() == (1,)
    try:
        start = time.perf_counter()
        result = baked_mysql.alembic(
            "upgrade", "head", check=False, DATABASE_URL=mysql_url, MIGRATION_WAIT_TIMEOUT="1s"
        )
        assert time.perf_counter() - start < 15
    finally:
        holder.close()
    message = failure_line(result)
    assert "MIGRATION_WAIT_TIMEOUT=1s" in message and "nothing was changed" in message
    assert mysql_tables(mysql_url) == set()


def test_a_blocked_alter_gives_up_in_time_and_says_what_stayed_applied(
    either_stack_mysql: Baked, mysql_url: str
) -> None:
    mysql_project = either_stack_mysql  # PyMySQL, and asyncmy under stack=async
    mysql_project.alembic("upgrade", "head", DATABASE_URL=mysql_url)
    first = mysql_project.initial_revision()
    add_revision(
        mysql_project,
        "addphone",
        first,
        'op.create_table("half", sa.Column("id", sa.Integer, primary_key=True))\n'
        'op.add_column("users", sa.Column("phone", sa.String(20)))',
        'op.drop_column("users", "phone")\nop.drop_table("half")',
    )
    blocker = mysql_connect(mysql_url)
    blocker.autocommit(False)
    blocker.cursor().execute("SELECT * FROM users")  # an open transaction: a metadata lock
    try:
        start = time.perf_counter()
        result = mysql_project.alembic(
            "upgrade", "head", check=False, DATABASE_URL=mysql_url, MIGRATION_LOCK_TIMEOUT="1s"
        )
        elapsed = time.perf_counter() - start
    finally:
        blocker.rollback()
        blocker.close()
    message = failure_line(result)
    assert elapsed < 15
    assert "addphone" in message and "MIGRATION_LOCK_TIMEOUT=1s" in message
    assert "ALTER TABLE users ADD COLUMN phone" in message
    # MySQL committed the CREATE TABLE: said, and alembic_version does not claim it.
    assert "stay applied (CREATE TABLE half" in message
    assert "docs/deploying.md" in message
    assert version(mysql_url) == [(first,)]
    assert "half" in mysql_tables(mysql_url)
    # The documented recovery: undo what stayed, then run it again.
    mysql_rows(mysql_url, "DROP TABLE half")
    mysql_project.alembic("upgrade", "head", DATABASE_URL=mysql_url)
    assert version(mysql_url) == [("addphone",)]


def test_an_index_on_a_table_in_use_is_built_with_writes_going_on(
    mysql_project: Baked, mysql_url: str
) -> None:
    database = {"DATABASE_URL": mysql_url}
    mysql_project.alembic("upgrade", "head", **database)
    referrer = (
        "referrer_id: int | None = "
        "Field(default=None, foreign_key='users.id', index=True, sa_type=BigInteger)"
    )
    mysql_project.add_field("Order", referrer)
    mysql_project.alembic("revision", "--autogenerate", "-m", "referrer", **database)
    (added,) = mysql_project.path.glob("migrations/versions/*_referrer.py")
    assert "online.create_index(" in added.read_text()
    script = mysql_project.alembic("upgrade", "head", "--sql", **database).stdout
    index = "ALTER TABLE orders ADD INDEX ix_orders_referrer_id (referrer_id)"
    assert f"{index}, ALGORITHM=INPLACE, LOCK=NONE;" in script
    mysql_project.alembic("upgrade", "head", **database)
    indexes = "SELECT index_name FROM information_schema.statistics WHERE table_name = 'orders'"
    assert ("ix_orders_referrer_id",) in mysql_rows(mysql_url, indexes)

    # Taken away: the foreign key goes before the index it needs, then the column.
    mysql_project.drop_field("Order", "referrer_id")
    mysql_project.alembic("revision", "--autogenerate", "-m", "no referrer", **database)
    mysql_project.alembic("upgrade", "head", **database)
    assert ("ix_orders_referrer_id",) not in mysql_rows(mysql_url, indexes)
    head = version(mysql_url)

    # An index the server cannot build with writes going on is refused at once.
    add_revision(
        mysql_project,
        "fulltext",
        head[0][0],
        "from migrations import online\n"
        'online.create_index("ft_users_name", "users", ["name"], mysql_prefix="FULLTEXT")',
    )
    message = failure_line(mysql_project.alembic("upgrade", "head", check=False, **database))
    assert "fulltext" in message and "LOCK=NONE is not supported" in message
    assert version(mysql_url) == head
    assert ("ft_users_name",) not in mysql_rows(mysql_url, indexes.replace("orders", "users"))


def test_a_failed_backfill_revision_says_its_committed_batches_stay(
    mysql_project: Baked, mysql_url: str
) -> None:
    mysql_project.alembic("upgrade", "head", DATABASE_URL=mysql_url)
    for n in range(3):
        mysql_rows(mysql_url, f"INSERT INTO users (email, name) VALUES ('u{n}@x.org', 'U{n}')")
    add_revision(
        mysql_project,
        "nickfill",
        mysql_project.initial_revision(),
        "from migrations.backfill import update_in_batches\n"
        'op.add_column("users", sa.Column("nick", sa.String(20)))\n'
        'users = sa.table("users", sa.column("id", sa.Integer), sa.column("nick", sa.String))\n'
        'update_in_batches(users, {"nick": "n"}, users.c.nick.is_(None), batch_size=1)\n'
        'op.execute("SELECT no_such_column FROM users")',
    )
    message = failure_line(
        mysql_project.alembic("upgrade", "head", check=False, DATABASE_URL=mysql_url)
    )
    assert "nickfill" in message and "stay applied (ALTER TABLE users ADD COLUMN nick" in message
    # The three batches committed one by one: they stay, and the line says so.
    assert "batches a backfill committed" in message
    assert mysql_rows(mysql_url, "SELECT count(*) FROM users WHERE nick = 'n'") == [(3,)]


def test_a_runaway_statement_is_stopped_on_mariadb(mysql_project: Baked, mysql_url: str) -> None:
    mysql_project.alembic("upgrade", "head", DATABASE_URL=mysql_url)
    first = mysql_project.initial_revision()
    # MariaDB's sequence engine: a billion rows to filter, far beyond the limit (a bare
    # COUNT or SUM of a sequence is computed without reading it).
    slow = "SELECT COUNT(*) FROM seq_1_to_1000000000 WHERE MOD(seq, 7) = 3"
    add_revision(mysql_project, "slowpoke", first, f'op.execute("{slow}")')
    start = time.perf_counter()
    result = mysql_project.alembic(
        "upgrade", "head", check=False, DATABASE_URL=mysql_url, MIGRATION_STATEMENT_TIMEOUT="1s"
    )
    assert time.perf_counter() - start < 15
    message = failure_line(result)
    assert "slowpoke" in message and "MIGRATION_STATEMENT_TIMEOUT=1s" in message
    assert "rolled back" in message and "stay applied (" not in message
    assert "backfill" not in message  # none ran
    assert version(mysql_url) == [(first,)]


# --- one-line refusals ---------------------------------------------------------------


def test_a_database_that_is_not_utf8mb4_is_refused_before_any_table(
    baked_mysql: Baked, mysql_admin: str
) -> None:
    with fresh_mysql_database(mysql_admin, "latin1") as url:
        result = baked_mysql.alembic("upgrade", "head", check=False, DATABASE_URL=url)
        message = failure_line(result, alone=True)
        assert "latin1" in message and "ALTER DATABASE" in message and "utf8mb4" in message
        assert mysql_tables(url) == set()
        # The project's own suite holds the same line, where it used to pass.
        suite = run(
            ["make", "-C", str(baked_mysql.path), "test", f"PYTHON={sys.executable}"],
            check=False,
            TEST_DATABASE_URL=url,
        )
        assert suite.returncode != 0
        assert "latin1" in suite.stdout and "ALTER DATABASE" in suite.stdout
        assert "Traceback" not in suite.stdout + suite.stderr
        assert mysql_tables(url) == set()


NOTES = '''"""Notes: a str whose length nobody gave, and a Text."""

from sqlalchemy import Text
from sqlmodel import Field, SQLModel


class Note(SQLModel, table=True):
    __tablename__ = "notes"

    id: int | None = Field(default=None, primary_key=True)
    body: str
    summary: str | None = Field(default=None, sa_type=Text)
'''


def test_a_str_without_max_length_is_varchar_255_and_a_text_stays_text(
    mysql_project: Baked, mysql_url: str
) -> None:
    (mysql_project.path / mysql_project.package / "models" / "notes.py").write_text(NOTES)
    mysql_project.alembic("upgrade", "head", DATABASE_URL=mysql_url)
    mysql_project.alembic("revision", "--autogenerate", "-m", "notes", DATABASE_URL=mysql_url)
    (written,) = [p for p in mysql_project.versions if p.name.endswith("_notes.py")]
    assert 'sa.Column("body", sa.String(), nullable=False)' in written.read_text()
    mysql_project.alembic("upgrade", "head", DATABASE_URL=mysql_url)
    columns = mysql_rows(
        mysql_url,
        "SELECT column_name, column_type FROM information_schema.columns WHERE "
        "table_schema = DATABASE() AND table_name = 'notes' AND column_name != 'id' "
        "ORDER BY column_name",
    )
    assert columns == [("body", "varchar(255)"), ("summary", "text")]
    assert (
        "No new upgrade operations" in mysql_project.alembic("check", DATABASE_URL=mysql_url).stdout
    )


def test_offline_sql_carries_the_session_limits_and_microseconds(baked_mysql: Baked) -> None:
    url = "mysql://app@127.0.0.1:1/app"  # offline never connects; nothing listens here
    sql = baked_mysql.alembic(
        "upgrade", "head", "--sql", DATABASE_URL=url, MIGRATION_LOCK_TIMEOUT="1500ms"
    ).stdout
    assert "SET SESSION lock_wait_timeout = 2;" in sql  # whole seconds, rounded up
    assert "SET SESSION innodb_lock_wait_timeout = 2;" in sql
    assert "SET SESSION time_zone = '+00:00';" in sql
    assert "created_at DATETIME(6) NOT NULL" in sql
    assert "GET_LOCK" not in sql  # a script cannot stop when it fails to take it


# --- backup, drift check, compose and CI ---------------------------------------------


def test_backup_restores_and_never_shows_the_password(
    mysql_project: Baked, mysql_url: str, second_mysql_url: str, tmp_path: Path
) -> None:
    database = mysql_url.rsplit("/", 1)[1]
    user, password = f"u{database[-10:]}", 'p@ss"w\\rd #1'
    mysql_rows(mysql_url, f"CREATE USER '{user}'@'%%' IDENTIFIED BY %s", (password,))
    try:
        mysql_rows(mysql_url, f"GRANT ALL ON `{database}`.* TO '{user}'@'%%'")
        url = mysql_url.replace("root@", f"{user}@", 1)
        env = {"DATABASE_URL": url, "DATABASE_PASSWORD": password}
        mysql_project.alembic("upgrade", "head", **env)
        mysql_rows(
            mysql_url, "INSERT INTO users (email, name) VALUES ('zoe@example.com', 'Zoë 🚀')"
        )
        result = run(
            ["make", "-C", str(mysql_project.path), f"PYTHON={sys.executable}", "backup"],
            **env,
        )
    finally:
        mysql_rows(mysql_url, f"DROP USER '{user}'@'%%'")
    (dump,) = (mysql_project.path / "backups").glob("*.sql")
    assert str(dump) in result.stdout
    assert password not in result.stdout + result.stderr
    assert dump.stat().st_mode & 0o777 == 0o600
    assert dump.parent.stat().st_mode & 0o777 == 0o700

    # The script names no database: it restores into whichever it is fed to.
    restored = second_mysql_url
    with dump.open("rb") as script:
        subprocess.run(
            ["mysql", "-h", "127.0.0.1", "-u", "root", restored.rsplit("/", 1)[1]],
            stdin=script,
            check=True,
            timeout=60,
        )
    assert version(restored) == [(mysql_project.initial_revision(),)]
    assert mysql_rows(restored, "SELECT name FROM users") == [("Zoë 🚀",)]


def test_make_check_on_mysql_finds_no_drift_then_a_model_change(
    mysql_project: Baked, mysql_url: str, second_mysql_url: str
) -> None:
    check = ["make", "-C", str(mysql_project.path), f"PYTHON={sys.executable}", "check"]
    run(check, DRIFT_DATABASE_URL=mysql_url)
    mysql_project.add_field("UserBase", "phone: str | None = Field(None, max_length=20)")
    result = run(check, check=False, DRIFT_DATABASE_URL=second_mysql_url)
    assert result.returncode != 0
    assert 'make revision m="describe the change"' in result.stderr


def test_a_revision_written_on_the_sqlite_default_downgrades_on_mysql(
    mysql_project: Baked, mysql_url: str
) -> None:
    # The examples replaced before DATABASE_URL names the server: the revision is written
    # on SQLite, which reads the BIGINT keys back as INTEGER and the columns referring
    # to them as BIGINT. Recreating the examples, its downgrade must keep each foreign
    # key's type equal to its target's, or MySQL refuses the table (errno 150).
    make = ["make", "-C", str(mysql_project.path), f"PYTHON={sys.executable}"]
    run([*make, "migrate"])  # the SQLite default, as a new project has it
    mysql_project.remove_examples()
    models = mysql_project.path / mysql_project.package / "models"
    (models / "books.py").write_text(
        "from sqlmodel import Field, SQLModel\n\n\n"
        "class Book(SQLModel, table=True):\n"
        "    id: int | None = Field(default=None, primary_key=True)\n"
        "    title: str = Field(max_length=200)\n"
    )
    run([*make, "revision", "m=our models"])
    for target in ("migrate", "downgrade", "migrate"):
        run([*make, target], DATABASE_URL=mysql_url)
    assert "book" in mysql_tables(mysql_url)


def test_compose_and_ci_use_a_mysql_server(baked_mysql: Baked) -> None:
    compose = yaml.safe_load((baked_mysql.path / "compose.yaml").read_text())
    db = compose["services"]["db"]
    assert db["image"].startswith("mysql:8")
    assert "ports" not in db  # only the stack's services reach the database
    url = compose["services"]["migrate"]["environment"]["DATABASE_URL"]
    assert url.startswith("mysql://${MYSQL_USER:-app}@db:3306/")
    assert "$$MYSQL_PASSWORD" in db["healthcheck"]["test"][1]
    env_example = (baked_mysql.path / ".env.example").read_text()
    for line in ("# MYSQL_USER=app", "# MYSQL_PASSWORD=change-me", "DATABASE_URL=mysql://"):
        assert line in env_example
    assert "POSTGRES" not in env_example + (baked_mysql.path / "compose.yaml").read_text()

    flow = yaml.safe_load((baked_mysql.path / ".github/workflows/ci.yml").read_text())
    test, drift = flow["jobs"]["test"], flow["jobs"]["drift"]
    legs = {
        leg["database"]: leg["test-database-url"] for leg in test["strategy"]["matrix"]["include"]
    }
    assert set(legs) == {"sqlite", "mysql"}
    for job, url in ((test, legs["mysql"]), (drift, drift["env"]["DRIFT_DATABASE_URL"])):
        service = job["services"]["mysql"]
        assert service["image"].startswith("mysql:8")
        assert "3306:3306" in service["ports"] and "mysqladmin ping" in service["options"]
        assert url.startswith("mysql://root:") and url.endswith(service["env"]["MYSQL_DATABASE"])
        assert f":{service['env']['MYSQL_ROOT_PASSWORD']}@" in url


# --- the MySQL helpers, in-process ----------------------------------------------------


@pytest.fixture
def mysql_module(baked_mysql: Baked) -> Iterator[ModuleType]:
    """The baked project's migrations/mysql.py, imported from its folder."""
    with imported_from(baked_mysql, "migrations.mysql") as module:
        yield module


def test_lock_names_fit_mysql_and_differ_per_database(mysql_module) -> None:
    short = mysql_module.lock_name("orders_service", "orders")
    assert short == "alembic:orders_service:orders"
    longest = "a" * 40  # the longest package name the template accepts
    names = {mysql_module.lock_name(longest, f"{'d' * 60}{n}") for n in range(3)}
    assert len(names) == 3 and all(len(name) <= 64 for name in names)


def test_statements_that_stayed_applied_end_at_the_last_ddl(mysql_module) -> None:
    ran = [
        "SELECT 1",
        "CREATE TABLE half (id INTEGER)",
        "UPDATE users SET name = 'x'",  # committed by the ALTER after it
        "  alter TABLE users ADD COLUMN phone VARCHAR(20)",
        "UPDATE users SET phone = ''",  # rolled back with the transaction
    ]
    applied_statements = sys.modules["migrations.safety"].applied_statements
    assert applied_statements(ran) == ran[:4]
    assert applied_statements(["SELECT 1", "UPDATE t SET a = 1"]) == []


@pytest.mark.parametrize(
    "lock, statement, mariadb, expected",
    [
        ("500ms", "1min", True, ["= 1", "= 1", "max_statement_time = 60"]),
        ("1500ms", "250ms", True, ["= 2", "= 2", "max_statement_time = 0.25"]),
        ("5s", "1min", False, ["= 5", "= 5", "max_execution_time = 60000"]),
        ("2min", "1min", None, ["= 120", "= 120"]),
    ],
)
def test_session_limits_in_the_units_each_server_takes(
    mysql_module, lock: str, statement: str, mariadb: bool | None, expected: list[str]
) -> None:
    from migrations.settings import migration_limits

    limits = migration_limits(
        {"MIGRATION_LOCK_TIMEOUT": lock, "MIGRATION_STATEMENT_TIMEOUT": statement}
    )
    settings = mysql_module.session_settings(limits, mariadb)
    assert settings[0] == "SET SESSION time_zone = '+00:00'"
    assert len(settings) == 1 + len(expected)
    for line, tail in zip(settings[1:], expected, strict=True):
        assert line.endswith(tail), line


# --- the API on MySQL --------------------------------------------------------------------


def test_the_api_on_mysql_serves_the_readme_session_and_fuzzes_clean(
    baked_mysql: Baked, mysql_url: str, tmp_path: Path
) -> None:
    token = "a-token-for-the-mysql-fuzzer-0123456789"
    baked_mysql.alembic("upgrade", "head", DATABASE_URL=mysql_url)
    server = make_run(
        baked_mysql, tmp_path / "server.log", DATABASE_URL=mysql_url, API_TOKENS=token
    )
    try:
        assert server.call("GET", "/health/ready")[0] == 200
        status, user = server.call(
            "POST", "/users", {"email": "zoe@example.com", "name": "Zoë 🚀"}, token=token
        )
        assert status == 201 and user["name"] == "Zoë 🚀", user
        # The unique index ignores case here as the API does: one address, one user.
        again = {"email": "ZOE@example.com", "name": "Z"}
        assert server.call("POST", "/users", again, token=token)[0] == 409
        status, order = server.call(
            "POST", f"/users/{user['id']}/orders", {"total": "19.98"}, token=token
        )
        assert status == 201 and order["total"] == "19.98", order
        assert (
            server.call("PATCH", f"/orders/{order['id']}", {"status": "lost"}, token=token)[0]
            == 422
        )
    except BaseException:
        server.stop()
        raise
    # Every check schemathesis has, on MySQL: its errors map to the documented codes too.
    assert_fuzzes_clean(server, token)


def test_the_readmes_database_commands_run_as_written(baked_mysql: Baked, mysql_admin: str) -> None:
    # The README's command for the app's database and user (and the user's rights on
    # the tests' database), then docs/testing.md's, which creates that one: as written
    # but for names of this test's own.
    readme = (baked_mysql.path / "README.md").read_text()
    block = readme.split("Get one either way:", 1)[1].split("```bash\n", 1)[1]
    commands = block.split("```", 1)[0]
    commands = commands[commands.index("mysql -u root") :]
    testing = (baked_mysql.path / "docs" / "testing.md").read_text()
    (once,) = [line for line in testing.splitlines() if line.startswith("mysql -u root -e")]
    database, user = f"readme_{os.getpid()}", f"readme_app_{os.getpid()}"
    script = (commands + once).replace(baked_mysql.package, database)
    run(["bash", "-ec", re.sub(r"\bapp\b", user, script)])
    try:
        for name in (database, f"{database}_test"):
            url = f"mysql://{user}:change-me@127.0.0.1:3306/{name}"
            mysql_rows(url, "CREATE TABLE t (id INT PRIMARY KEY)")  # the app's rights
    finally:
        for name in (database, f"{database}_test"):
            mysql_rows(mysql_admin, f"DROP DATABASE IF EXISTS `{name}`")
        mysql_rows(mysql_admin, f"DROP USER IF EXISTS `{user}`")
