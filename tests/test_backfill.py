"""Batched data backfills: the generated project's backfill helper and its worked examples.

The examples in docs/examples/ are copied into a baked project and run by the real alembic
CLI on SQLite and PostgreSQL: results, exact downgrades (NULLs and non-ASCII text), re-runs
after an interruption, the offline refusal, and row locks released batch by batch.
"""

import importlib.util
import math
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import psycopg2
import psycopg2.errors
import pytest
import sqlalchemy as sa
from alembic.util import CommandError
from sqlalchemy import event, pool

from .helpers import ALEMBIC, Baked, clean_env, failure_line, run

BACKENDS = [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.postgres),
    pytest.param("mysql", marks=pytest.mark.mysql),
]
EXAMPLES = ["add_not_null_column", "move_column_to_table", "lowercase_emails"]
# The contract half of an expand / contract pair, in a later deploy: a column is added
# and filled, then made NOT NULL; moved by a copy, then the old one dropped.
FOLLOW_UPS = {
    "add_not_null_column": ["require_not_null"],
    "move_column_to_table": ["move_column_drop_old"],
}
BATCH = 3  # small, so a few dozen rows take several batches

# A column the examples' premise needs but the models lack: move_column_to_table moves it.
BIO_REVISION = '''\
"""add users.bio: the column move_column_to_table moves (not in the models)"""

import sqlalchemy as sa
from alembic import op

revision = "test_user_bio"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("bio", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("bio")
'''

# NULLs, empty strings, accents, CJK and emoji; addresses in every mix of case.
USERS = [
    (1, "Ada.Lovelace@Example.com", "Ada Lovelace", "Wrote the first program."),
    (2, "zoë@example.com", "Zoë", None),
    (3, "ÉMILE@EXAMPLE.FR", "Émile Zola", "Écrivain — « J’accuse…! »"),
    (4, "bob@example.com", "Bob", ""),
    (5, "Ünal@Example.TR", "Ünal", "多言語のプロフィール 🚀"),
    (6, "SHOUT@EXAMPLE.COM", "Loud", None),
    *[
        (
            i,
            f"User{i}@Example.org" if i % 2 else f"user{i}@example.org",
            f"Nutzer {i} ß",
            None if i % 3 == 0 else f"bio {i} ✓",
        )
        for i in range(7, 21)
    ],
]
ORDERS = [(i, 1 + i % len(USERS), f"{i}.{i % 100:02d}") for i in range(1, 31)]
ITEMS = [
    (order_id, f"SKU-{order_id}-{n}-Ä", 1 + n, "9.99")
    for order_id, _, _ in ORDERS
    for n in range(order_id % 4)
]


@dataclass
class Target:
    """A baked project and the database its alembic commands run against."""

    project: Baked
    url: str  # DATABASE_URL, as the project reads it
    engine: sa.Engine  # the test's own access to the same database

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def alembic(self, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess:
        return self.project.alembic(*args, check=check, DATABASE_URL=self.url, **env)

    def current(self) -> str:
        return self.alembic("current").stdout.split(" ")[0].strip()

    def execute(self, sql: str, **params: object) -> None:
        with self.engine.begin() as connection:
            connection.execute(sa.text(sql), params)

    def rows(self, sql: str, **params: object) -> list[tuple]:
        with self.engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sa.text(sql), params)]

    def snapshot(self) -> dict[str, list[dict]]:
        """Every table's rows as the driver returns them (no type processing), in key order."""
        with self.engine.connect() as connection:
            tables = sa.inspect(connection).get_table_names()
            return {
                name: [
                    dict(row._mapping)
                    for row in connection.execute(
                        sa.select(sa.text("*")).select_from(sa.table(name)).order_by(sa.text("1"))
                    )
                ]
                for name in sorted(tables)
                if name != "alembic_version"
            }

    def columns(self, table: str) -> dict[str, bool]:
        """Column name -> nullable."""
        return {c["name"]: c["nullable"] for c in sa.inspect(self.engine).get_columns(table)}

    def quote(self, name: str) -> str:
        """An identifier quoted where this database reserves it, as SQLAlchemy does."""
        return self.engine.dialect.identifier_preparer.quote(name)

    def lower(self, text: str) -> str:
        """What this database's lower() makes of `text`."""
        return self.rows("SELECT lower(:text)", text=text)[0][0]


@pytest.fixture(params=BACKENDS)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    # The MySQL case drives a project baked for MySQL; the others, the default bake.
    project: Baked = request.getfixturevalue(
        "mysql_project" if request.param == "mysql" else "project"
    )
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'backfill.db'}"
        engine = sa.create_engine(url, poolclass=pool.NullPool)
    elif request.param == "mysql":
        url = request.getfixturevalue("mysql_url")
        engine = sa.create_engine(
            url.replace("mysql://", "mysql+pymysql://", 1) + "?charset=utf8mb4",
            poolclass=pool.NullPool,
        )
    else:
        url = request.getfixturevalue("postgres_url")
        engine = sa.create_engine(
            url.replace("postgresql://", "postgresql+psycopg2://", 1), poolclass=pool.NullPool
        )
    yield Target(project, url, engine)
    engine.dispose()


def add_bio_revision(project: Baked) -> str:
    """Give "users" a nullable bio column, as example move_column_to_table assumes."""
    path = project.path / "migrations" / "versions" / "test_user_bio.py"
    path.write_text(BIO_REVISION.format(down=project.initial_revision()))
    return "test_user_bio"


def install_example(project: Baked, name: str, down: str, batch_size: int = BATCH) -> str:
    """Install an example with a small batch size, so a few dozen rows take batches."""
    return project.install_example(
        name, down, **{"BATCH_SIZE = 5_000": f"BATCH_SIZE = {batch_size}"}
    )


def install_examples(project: Baked, name: str, down: str) -> str:
    """Install an example and the revisions that follow it; the last one's id."""
    for part in [name, *FOLLOW_UPS.get(name, [])]:
        down = install_example(project, part, down)
    return down


def seed(target: Target, with_bio: bool = True) -> None:
    """Users (with their bios when the column exists), orders and items."""

    def insert(table: str, columns: list[str], rows: list[tuple]) -> None:
        stub = sa.table(table, *map(sa.column, columns))
        values = [dict(zip(columns, row, strict=False)) for row in rows]
        with target.engine.begin() as connection:
            connection.execute(stub.insert(), values)

    insert("users", ["id", "email", "name", "bio"][: 4 if with_bio else 3], USERS)
    insert("orders", ["id", "user_id", "total"], ORDERS)
    insert("order_items", ["order_id", "sku", "quantity", "unit_price"], ITEMS)


def item_counts() -> dict[int, int]:
    counts = {order_id: 0 for order_id, _, _ in ORDERS}
    for order_id, *_ in ITEMS:
        counts[order_id] += 1
    return counts


def final_progress(output: str, label: str) -> str:
    """The helper's last progress line for `label`."""
    lines = [line for line in output.splitlines() if f"[alembic.backfill] {label}:" in line]
    assert lines, f"no progress for {label} in:\n{output}"
    assert lines[-1].endswith("; done"), lines[-1]
    return lines[-1]


# --- the worked examples, through the real CLI --------------------------------------------


def check_add_not_null_column(target: Target, output: str) -> None:
    assert target.rows("SELECT id, item_count FROM orders ORDER BY id") == sorted(
        item_counts().items()
    )
    assert target.columns("orders")["item_count"] is False  # constrained: NOT NULL
    batches = math.ceil(len(ORDERS) / BATCH)
    line = final_progress(output, "orders.item_count")
    assert f"{len(ORDERS)} of {len(ORDERS)} rows (100.0%), {batches} batches" in line
    # No order was inserted between the two revisions: the second one found none left.
    assert "0 of 0 rows" in final_progress(output, "orders.item_count, the rest")


MOVED = [(user_id, about) for user_id, _, _, about in USERS if about is not None]
COPY, REST = "users.bio -> user_profiles", "users.bio -> user_profiles, the rest"


def profiles(target: Target) -> list[tuple]:
    return target.rows("SELECT user_id, bio FROM user_profiles ORDER BY user_id")


def check_move_column_to_table(target: Target, output: str) -> None:
    assert "bio" not in target.columns("users")
    assert profiles(target) == MOVED
    assert f"{len(MOVED)} of {len(MOVED)} rows" in final_progress(output, COPY)
    # Nobody wrote bios between the two revisions: the second one found none left.
    assert "0 of 0 rows" in final_progress(output, REST)


def check_lowercase_emails(target: Target, output: str) -> None:
    if target.backend == "sqlite":
        # SQLite's lower() folds ASCII only: the accented capital stays.
        expected = {e: re.sub("[A-Z]+", lambda m: m.group().lower(), e) for _, e, _, _ in USERS}
        assert expected["ÉMILE@EXAMPLE.FR"] == "Émile@example.fr"
    else:
        expected = {e: target.lower(e) for _, e, _, _ in USERS}
    assert target.rows("SELECT id, email FROM users ORDER BY id") == [
        (user_id, expected[email]) for user_id, email, _, _ in USERS
    ]
    changed = [(user_id, email) for user_id, email, _, _ in USERS if expected[email] != email]
    kept = target.rows("SELECT user_id, email FROM user_email_before_lowercase ORDER BY user_id")
    assert kept == changed
    assert f"{len(changed)} of {len(changed)} rows" in final_progress(
        output, "users.email lower-case"
    )


CHECKS = {
    "add_not_null_column": check_add_not_null_column,
    "move_column_to_table": check_move_column_to_table,
    "lowercase_emails": check_lowercase_emails,
}


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_upgrades_in_batches_and_downgrades_exactly(target: Target, example: str) -> None:
    base = add_bio_revision(target.project)
    target.alembic("upgrade", base)
    seed(target)
    before = target.snapshot()
    assert any(row["bio"] is None for row in before["users"])
    revision = install_examples(target.project, example, base)

    upgraded = target.alembic("upgrade", "head")
    assert target.current() == revision
    CHECKS[example](target, upgraded.stderr)

    target.alembic("downgrade", base)
    assert target.current() == base
    assert target.snapshot() == before


@pytest.mark.parametrize("example", EXAMPLES)
def test_offline_sql_says_a_backfill_needs_a_connection(project: Baked, example: str) -> None:
    install_examples(project, example, add_bio_revision(project))
    url = "postgresql://app@127.0.0.1:1/app"  # offline never connects; nothing listens here
    result = project.alembic("upgrade", "head", "--sql", check=False, DATABASE_URL=url)
    assert result.returncode != 0
    assert "CREATE TABLE users (" in result.stdout  # the revisions before it were rendered
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    (failure,) = [line for line in output.splitlines() if line.startswith("FAILED:")]
    assert failure.endswith("needs a live database connection: run it without --sql")
    # stdout is the script's file when redirected: the terminal is told too.
    assert "backfills data in batches" in result.stderr and "script stops here" in result.stderr


def test_lint_checks_a_backfill_revisions_ddl_up_to_the_backfill(project: Baked) -> None:
    install_example(project, "add_not_null_column", project.initial_revision())
    result = run([sys.executable, "-m", "tools.lint_migrations"], cwd=project.path, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    # Its column is linted (a 64-bit integer: clean); the backfill has no SQL to lint.
    assert "linted up to where its SQL stops (this revision backfills" in result.stdout
    assert "live database connection: run it without --sql): clean" in result.stdout
    assert "1 linted only in part" in result.stdout and "0 with findings" in result.stdout
    assert "Traceback" not in result.stderr


def test_lowercasing_refuses_addresses_that_would_collide(target: Target) -> None:
    base = target.project.initial_revision()
    target.alembic("upgrade", base)
    seed(target, with_bio=False)
    duplicate = "INSERT INTO users (id, email, name) VALUES (99, 'ada.lovelace@example.com', 'Ada')"
    if target.backend == "mysql":
        # Its unique index ignores case (utf8mb4_unicode_ci): no such pair can exist.
        with pytest.raises(sa.exc.IntegrityError, match="Duplicate entry"):
            target.execute(duplicate)
        return
    target.execute(duplicate)
    before = target.snapshot()
    install_example(target.project, "lowercase_emails", base)

    result = target.alembic("upgrade", "head", check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "FAILED: 1 e-mail addresses are shared by several users once lower-cased" in output
    assert target.current() == base
    assert target.snapshot() == before  # nothing changed, no table of originals either


# --- moving a column: a copy, a deploy of the code that reads the copy, then the drop -------

COPY_REVISION, DROP_REVISION = "example_move_column", "example_move_column_drop_old"


def install_move_column(target: Target) -> tuple[str, list[tuple]]:
    """Users with bios at the revision before the move, and both revisions installed.
    The revision before, and the users' (id, bio) rows."""
    base = add_bio_revision(target.project)
    target.alembic("upgrade", base)
    seed(target)
    assert install_examples(target.project, "move_column_to_table", base) == DROP_REVISION
    return base, target.rows("SELECT id, bio FROM users ORDER BY id")


def test_bios_the_old_release_writes_during_the_copy_are_moved_before_the_drop(
    target: Target,
) -> None:
    base, _ = install_move_column(target)
    copied = target.alembic("upgrade", COPY_REVISION)
    assert "bio" in target.columns("users")  # the old release still reads and writes it
    assert profiles(target) == MOVED
    assert f"{len(MOVED)} of {len(MOVED)} rows" in final_progress(copied.stderr, COPY)

    # The old release, still serving, writes bios the walk has passed: a first bio for
    # users 2 and 18, and a new user.
    target.execute("UPDATE users SET bio = :bio WHERE id IN (2, 18)", bio="later ✓")
    target.execute(
        "INSERT INTO users (id, email, name, bio) VALUES (21, 'new@example.com', 'New', '')"
    )
    written = target.rows("SELECT id, bio FROM users ORDER BY id")

    dropped = target.alembic("upgrade", "head")
    assert target.current() == DROP_REVISION
    assert "bio" not in target.columns("users")
    assert profiles(target) == [(i, bio) for i, bio in written if bio is not None]
    assert "3 of 3 rows" in final_progress(dropped.stderr, REST)

    # Both ways back restore every bio, those written between the steps included.
    target.alembic("downgrade", COPY_REVISION)
    assert target.rows("SELECT id, bio FROM users ORDER BY id") == written
    target.alembic("downgrade", base)
    assert target.rows("SELECT id, bio FROM users ORDER BY id") == written
    assert "user_profiles" not in sa.inspect(target.engine).get_table_names()


def test_going_back_from_the_copy_keeps_bios_changed_in_the_new_table(target: Target) -> None:
    base, before = install_move_column(target)
    target.alembic("upgrade", COPY_REVISION)
    # The release that reads user_profiles changes a bio there, in case only: MySQL's
    # usual collations would call the two equal.
    target.execute("UPDATE user_profiles SET bio = upper(bio) WHERE user_id = 1")

    target.alembic("downgrade", base)
    assert target.rows("SELECT id, bio FROM users ORDER BY id") == [
        (i, bio.upper() if i == 1 else bio) for i, bio in before
    ]


def test_moving_a_column_resumes_after_a_stop_at_any_step(target: Target) -> None:
    """Each step's work done, alembic_version not yet moved: where a crash (or, on MySQL,
    a failure after DDL that committed itself) leaves it. Running again finishes."""
    base, before = install_move_column(target)

    def stopped_before_recording(revision: str) -> None:
        target.execute("UPDATE alembic_version SET version_num = :rev", rev=revision)

    # The copy: table created and some batches done.
    target.alembic("upgrade", COPY_REVISION)
    target.execute("DELETE FROM user_profiles WHERE user_id > 10")
    stopped_before_recording(base)
    target.alembic("upgrade", COPY_REVISION)
    assert profiles(target) == MOVED

    # The drop: users.bio dropped (the old example failed here, on its gone column).
    target.alembic("upgrade", "head")
    stopped_before_recording(COPY_REVISION)
    target.alembic("upgrade", "head")
    assert target.current() == DROP_REVISION
    assert profiles(target) == MOVED

    # Its way back: users.bio added again and some batches copied back.
    target.alembic("downgrade", COPY_REVISION)
    target.execute("UPDATE users SET bio = NULL WHERE id > 10")
    stopped_before_recording(DROP_REVISION)
    target.alembic("downgrade", COPY_REVISION)
    assert target.rows("SELECT id, bio FROM users ORDER BY id") == before

    # The copy's way back: user_profiles dropped.
    target.alembic("downgrade", base)
    stopped_before_recording(COPY_REVISION)
    target.alembic("downgrade", base)
    assert target.current() == base
    assert target.rows("SELECT id, bio FROM users ORDER BY id") == before
    assert "user_profiles" not in sa.inspect(target.engine).get_table_names()


# While the drop revision copies user 18's bio, the old release (still serving by
# mistake) writes bios for users 2 and 6, whom the walk has passed.
OLD_RELEASE_STILL_WRITES = [
    "CREATE TABLE writers (flag INTEGER)",
    "INSERT INTO writers VALUES (1)",
    """CREATE FUNCTION old_release_writes() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.user_id = 18 AND EXISTS (SELECT 1 FROM writers) THEN
                UPDATE users SET bio = 'written during the upgrade' WHERE id IN (2, 6);
            END IF;
            RETURN NEW;
        END $$""",
    """CREATE TRIGGER old_release_writes AFTER INSERT ON user_profiles
        FOR EACH ROW EXECUTE FUNCTION old_release_writes()""",
]


@pytest.mark.postgres
def test_bios_written_behind_the_drop_revisions_copy_stop_it_before_the_drop(
    project: Baked, postgres_url: str
) -> None:
    engine = sa.create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg2://", 1))
    target = Target(project, postgres_url, engine)
    install_move_column(target)
    target.alembic("upgrade", COPY_REVISION)
    target.execute("UPDATE users SET bio = 'after the copy' WHERE id = 18")
    for statement in OLD_RELEASE_STILL_WRITES:
        target.execute(statement)

    failed = target.alembic("upgrade", "head", check=False)
    assert failure_line(failed) == (
        f"FAILED: {REST}: 2 rows still need work after the backfill (written meanwhile by "
        "another session, or left pending by its statement); stopped before the rest of "
        "the revision, keeping the batches done: run the command again once nothing else "
        "writes them, or finish the work in a later revision"
    )
    assert target.current() == COPY_REVISION
    assert "bio" in target.columns("users")  # not dropped: the two bios are still there
    assert target.rows("SELECT id, bio FROM users WHERE id IN (2, 6) ORDER BY id") == [
        (2, "written during the upgrade"),
        (6, "written during the upgrade"),
    ]
    assert (18, "after the copy") in profiles(target)  # the batch that copied it stays

    target.execute("DELETE FROM writers")  # the old release is gone
    rerun = target.alembic("upgrade", "head")
    assert target.current() == DROP_REVISION
    assert f"{REST}: 2 rows to do" in rerun.stderr
    assert "bio" not in target.columns("users")
    assert profiles(target) == sorted(
        [*MOVED, (2, "written during the upgrade"), (6, "written during the upgrade")]
        + [(18, "after the copy")]
    )
    engine.dispose()


# --- interruption and re-run ------------------------------------------------------------------

INTERRUPT_AT = 17  # an order id in the middle of the sixth batch of three

SQLITE_TRIGGERS = [
    "CREATE TABLE interrupt (flag INTEGER)",
    "INSERT INTO interrupt VALUES (1)",
    "CREATE TABLE order_updates (order_id INTEGER NOT NULL)",
    f"""CREATE TRIGGER interrupt_backfill BEFORE UPDATE ON orders
        WHEN NEW.id = {INTERRUPT_AT} AND EXISTS (SELECT 1 FROM interrupt)
        BEGIN SELECT RAISE(ROLLBACK, 'interrupted at order {INTERRUPT_AT}'); END""",
    """CREATE TRIGGER count_order_updates AFTER UPDATE ON orders
        BEGIN INSERT INTO order_updates VALUES (NEW.id); END""",
]
POSTGRES_TRIGGERS = [
    "CREATE TABLE interrupt (flag INTEGER)",
    "INSERT INTO interrupt VALUES (1)",
    "CREATE TABLE order_updates (order_id BIGINT NOT NULL)",
    f"""CREATE FUNCTION interrupt_backfill() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.id = {INTERRUPT_AT} AND EXISTS (SELECT 1 FROM interrupt) THEN
                RAISE EXCEPTION 'interrupted at order {INTERRUPT_AT}';
            END IF;
            RETURN NEW;
        END $$""",
    """CREATE TRIGGER interrupt_backfill BEFORE UPDATE ON orders
        FOR EACH ROW EXECUTE FUNCTION interrupt_backfill()""",
    """CREATE FUNCTION count_order_updates() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO order_updates VALUES (NEW.id); RETURN NEW; END $$""",
    """CREATE TRIGGER count_order_updates AFTER UPDATE ON orders
        FOR EACH ROW EXECUTE FUNCTION count_order_updates()""",
]


MYSQL_TRIGGERS = [
    "CREATE TABLE interrupt (flag INTEGER)",
    "INSERT INTO interrupt VALUES (1)",
    "CREATE TABLE order_updates (order_id BIGINT NOT NULL)",
    f"""CREATE TRIGGER interrupt_backfill BEFORE UPDATE ON orders FOR EACH ROW
        BEGIN
            IF NEW.id = {INTERRUPT_AT} AND EXISTS (SELECT 1 FROM interrupt) THEN
                SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'interrupted at order {INTERRUPT_AT}';
            END IF;
        END""",
    """CREATE TRIGGER count_order_updates AFTER UPDATE ON orders FOR EACH ROW
        INSERT INTO order_updates VALUES (NEW.id)""",
]
TRIGGERS = {"sqlite": SQLITE_TRIGGERS, "postgresql": POSTGRES_TRIGGERS, "mysql": MYSQL_TRIGGERS}


def test_rerun_after_an_interrupted_backfill_continues(target: Target) -> None:
    base = target.project.initial_revision()
    target.alembic("upgrade", base)
    seed(target, with_bio=False)
    for statement in TRIGGERS[target.backend]:
        target.execute(statement)
    revision = install_example(target.project, "add_not_null_column", base)

    failed = target.alembic("upgrade", "head", check=False)
    assert failed.returncode != 0
    assert f"interrupted at order {INTERRUPT_AT}" in failed.stdout + failed.stderr
    assert target.current() == base
    # The column and every batch before the failing one were committed and stay.
    finished = (INTERRUPT_AT - 1) // BATCH * BATCH
    counts = item_counts()
    assert target.rows("SELECT id, item_count FROM orders ORDER BY id") == [
        (i, counts[i] if i <= finished else None) for i in sorted(counts)
    ]

    target.execute("DELETE FROM interrupt")
    rerun = target.alembic("upgrade", "head")
    assert target.current() == revision
    remaining = len(ORDERS) - finished
    assert f"orders.item_count: {remaining} rows to do" in rerun.stderr
    assert target.rows("SELECT id, item_count FROM orders ORDER BY id") == sorted(counts.items())
    # Every order was written exactly once over both runs: nothing redone, nothing skipped.
    updates = target.rows("SELECT order_id, count(*) FROM order_updates GROUP BY order_id")
    assert sorted(updates) == [(i, 1) for i in sorted(counts)]
    assert target.columns("orders")["item_count"] is True

    # The old release, which knows no item_count, inserts one more order; the contract
    # half, deployed once it has stopped, counts it before NOT NULL.
    target.execute("INSERT INTO orders (id, user_id, total) VALUES (99, 1, 5)")
    install_example(target.project, "require_not_null", revision)
    contract = target.alembic("upgrade", "head")
    assert "1 of 1 rows" in final_progress(contract.stderr, "orders.item_count, the rest")
    assert target.rows("SELECT item_count FROM orders WHERE id = 99") == [(0,)]
    assert target.columns("orders")["item_count"] is False


# --- the helper called directly ---------------------------------------------------------------


def load_backfill(project: Baked) -> ModuleType:
    """The baked project's backfill module, loaded from its file alone."""
    path = project.path / "migrations" / "backfill.py"
    spec = importlib.util.spec_from_file_location(f"backfill_{id(project)}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def reserved_words_table(engine: sa.Engine, rows: int) -> sa.Table:
    """Table "user" with columns "order" and "group": reserved words (MySQL: the last two).

    Not the project's tables (those are plural and need no quoting): a scratch table in an
    empty database, named so that every identifier must be quoted.
    """
    table = sa.Table(
        "user",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("order", sa.Text),
        sa.Column("group", sa.Text, nullable=True),
        sa.Column("touches", sa.Integer, nullable=False),
    )
    table.metadata.create_all(engine)
    values = [
        {"id": 3 * i + 1, "order": f"wërt {i}", "group": None, "touches": 0} for i in range(rows)
    ]
    with engine.begin() as connection:
        connection.execute(table.insert(), values)
    return table


class Interrupted(Exception):
    pass


def test_helper_resumes_where_it_stopped_without_offset(target: Target) -> None:
    backfill = load_backfill(target.project)
    table = reserved_words_table(target.engine, rows=100)
    executed: list[tuple[str, object]] = []
    event.listen(target.engine, "before_cursor_execute", lambda *args: executed.append(args[2:4]))

    def write(batch: sa.ColumnElement[bool]) -> sa.Executable:
        return (
            table.update()
            .where(batch)
            .values({"group": table.c.order + " ✓", "touches": table.c.touches + 1})
        )

    def stop_after_four(progress) -> None:
        if progress.batches == 4:
            raise Interrupted

    pending = table.c.group.is_(None)
    with target.engine.connect() as connection, pytest.raises(Interrupted):
        backfill.run_batches(
            connection, table, write, pending, batch_size=7, progress=stop_after_four
        )
    # Committed batch by batch: another connection sees exactly the four batches done.
    user, group, order = map(target.quote, ("user", "group", "order"))
    done = target.rows(f"SELECT id FROM {user} WHERE {group} IS NOT NULL ORDER BY id")
    assert [i for (i,) in done] == [3 * i + 1 for i in range(28)]

    with target.engine.connect() as connection:
        report = backfill.run_batches(connection, table, write, pending, batch_size=7)
    assert (report.total, report.done, report.batches, report.remaining) == (72, 72, 11, 0)
    rows = target.rows(f"SELECT {order}, {group}, touches FROM {user} ORDER BY id")
    assert all(group == f"{order} ✓" and touches == 1 for order, group, touches in rows)
    assert len(rows) == 100
    # Keyset pagination: nothing is ever skipped by OFFSET (SQLAlchemy's SQLite dialect
    # writes "LIMIT ? OFFSET ?" for any LIMIT, always with 0, its last parameter).
    offsets = [params[-1] for sql, params in executed if "OFFSET" in sql.upper()]
    assert set(offsets) <= {0}
    updates = [sql for sql, _ in executed if sql.lstrip().upper().startswith("UPDATE")]
    assert len(updates) == 4 + 11  # one statement per batch
    if target.backend != "sqlite":  # reserved there, so quoted by SQLAlchemy
        assert all(user in s and group in s and order in s for s in updates)


def test_rows_written_ahead_of_the_walk_are_done_and_reported_as_such(target: Target) -> None:
    backfill = load_backfill(target.project)
    table = reserved_words_table(target.engine, rows=10)
    user, order = target.quote("user"), target.quote("order")
    said: list[str] = []

    def write(batch: sa.ColumnElement[bool]) -> sa.Executable:
        return table.update().where(batch).values({"group": table.c.order + " ✓"})

    def the_app_inserts(progress) -> None:
        said.append(str(progress))
        if progress.batches == 1:  # the service writes new rows, ahead of the cursor
            target.execute(f"INSERT INTO {user} (id, {order}, touches) VALUES (99, 'new', 0)")

    pending = table.c.group.is_(None)
    with target.engine.connect() as connection:
        report = backfill.run_batches(
            connection, table, write, pending, batch_size=4, progress=the_app_inserts
        )
    assert (report.total, report.done, report.remaining) == (10, 11, 0)
    assert said[0].startswith("user: 4 of 10 rows (40.0%), 1 batches")
    # Not "11 of 10 rows (110.0%)":
    assert said[-1].startswith("user: 11 rows (10 pending at the start), 3 batches"), said


def test_helper_stops_and_reports_rows_its_statement_left_pending(target: Target) -> None:
    backfill = load_backfill(target.project)
    table = reserved_words_table(target.engine, rows=10)
    user, order = target.quote("user"), target.quote("order")
    target.execute(f"UPDATE {user} SET {order} = NULL WHERE id IN (4, 19)")

    def write(batch: sa.ColumnElement[bool]) -> sa.Executable:
        return table.update().where(batch).values({"group": table.c.order + " ✓"})

    with target.engine.connect() as connection:
        report = backfill.run_batches(
            connection, table, write, table.c.group.is_(None), batch_size=3
        )
    # NULL || text is NULL: those rows still match, yet the walk ended after one pass.
    assert (report.total, report.batches, report.remaining) == (10, 4, 2)


def test_helper_required_to_complete_fails_in_one_line_and_keeps_its_batches(
    target: Target,
) -> None:
    backfill = load_backfill(target.project)
    table = reserved_words_table(target.engine, rows=10)
    user, group, order = map(target.quote, ("user", "group", "order"))
    target.execute(f"UPDATE {user} SET {order} = NULL WHERE id IN (4, 19)")

    def write(batch: sa.ColumnElement[bool]) -> sa.Executable:
        return table.update().where(batch).values({"group": table.c.order + " ✓"})

    pending = table.c.group.is_(None)
    with target.engine.connect() as connection, pytest.raises(CommandError) as failed:
        backfill.run_batches(connection, table, write, pending, batch_size=3, require_complete=True)
    message = str(failed.value)
    assert "\n" not in message
    assert message.startswith("user: 2 rows still need work after the backfill")
    assert message.endswith("or finish the work in a later revision")
    # The batches done were committed: another connection sees them.
    done = target.rows(f"SELECT count(*) FROM {user} WHERE {group} IS NOT NULL")
    assert done == [(8,)]

    target.execute(f"UPDATE {user} SET {order} = 'fixed' WHERE {order} IS NULL")
    with target.engine.connect() as connection:
        report = backfill.run_batches(
            connection, table, write, pending, batch_size=3, require_complete=True
        )
    assert (report.total, report.done, report.remaining) == (2, 2, 0)


# --- row locks on PostgreSQL ------------------------------------------------------------------

# The guide's way, for contrast: batches, but all inside the revision's one transaction.
ONE_TRANSACTION_REVISION = '''\
"""item_count in batches inside one transaction"""

import sqlalchemy as sa
from alembic import op

revision = "one_transaction"
down_revision = "{down}"
branch_labels = None
depends_on = None

orders = sa.table("orders", sa.column("id"), sa.column("item_count"))
order_items = sa.table("order_items", sa.column("order_id"))


def upgrade() -> None:
    op.add_column("orders", sa.Column("item_count", sa.Integer(), nullable=True))
    count = sa.select(sa.func.count()).where(order_items.c.order_id == orders.c.id)
    for start in range(1, 31, {batch}):
        in_batch = orders.c.id.between(start, start + {batch} - 1)
        op.execute(orders.update().where(in_batch).values(item_count=count.scalar_subquery()))
    op.alter_column("orders", "item_count", nullable=False)


def downgrade() -> None:
    op.drop_column("orders", "item_count")
'''


PAUSE_KEY = 4217
PAUSE_AT_ROW = [
    f"""CREATE FUNCTION pause_backfill() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.id = {INTERRUPT_AT} THEN PERFORM pg_advisory_xact_lock({PAUSE_KEY}); END IF;
            RETURN NEW;
        END $$""",
    """CREATE TRIGGER pause_backfill BEFORE UPDATE ON orders
        FOR EACH ROW EXECUTE FUNCTION pause_backfill()""",
]


def wait_for_lock_wait(target: Target, process: subprocess.Popen) -> None:
    """Return once some session of this database waits for a lock."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        waiting = target.rows(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        if waiting[0][0]:
            return
        if process.poll() is not None:
            pytest.fail(f"alembic ended early:\n{process.communicate()}")
        time.sleep(0.05)
    pytest.fail("the backfill never reached the locked row")


def try_update(url: str, order_id: int) -> int | None:
    """Another session's UPDATE with a 1 s lock_timeout: the row's item_count, or None."""
    connection = psycopg2.connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '1s'")
            cursor.execute(
                "UPDATE orders SET status = 'paid' WHERE id = %s RETURNING item_count",
                (order_id,),
            )
            (item_count,) = cursor.fetchone()
        connection.commit()
        return item_count
    except psycopg2.errors.LockNotAvailable:
        return None
    finally:
        connection.close()


@pytest.mark.postgres
@pytest.mark.parametrize("way", ["helper", "one transaction"])
def test_rows_the_backfill_passed_are_not_locked_until_it_ends(
    project: Baked, postgres_url: str, way: str
) -> None:
    engine = sa.create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg2://", 1))
    target = Target(project, postgres_url, engine)
    base = project.initial_revision()
    target.alembic("upgrade", base)
    seed(target, with_bio=False)
    if way == "helper":
        install_example(project, "add_not_null_column", base)
    else:
        path = project.path / "migrations" / "versions" / "one_transaction.py"
        path.write_text(ONE_TRANSACTION_REVISION.format(down=base, batch=BATCH))

    # The backfill pauses at row 17 (in a trigger) until this session lets it go. A row
    # lock would not do: the revision's ALTER TABLE would wait for it, not the backfill.
    for statement in PAUSE_AT_ROW:
        target.execute(statement)
    holder = psycopg2.connect(postgres_url)
    holder.autocommit = True
    holder.cursor().execute("SELECT pg_advisory_lock(%s)", (PAUSE_KEY,))
    command = [ALEMBIC, "-c", str(project.alembic_ini), "upgrade", "head"]
    env = clean_env(DATABASE_URL=postgres_url, MIGRATION_LOCK_TIMEOUT="60s")
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for_lock_wait(target, process)
        passed = try_update(postgres_url, 2)  # a row of the first batch
        in_flight = try_update(postgres_url, INTERRUPT_AT - 1)  # same batch as row 17
    finally:
        holder.close()  # releases the advisory lock
        _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr.decode()
    assert in_flight is None  # the stalled batch does hold its own rows
    if way == "helper":
        assert passed == item_counts()[2]  # committed, and free for others to write
    else:
        assert passed is None  # locked until the whole revision commits
    engine.dispose()


# --- the connection handed in by a caller, and the deploy path ---------------------------


@pytest.mark.postgres
def test_a_callers_transaction_is_never_committed_by_the_backfill(
    project: Baked, postgres_url: str
) -> None:
    base = project.initial_revision()
    project.alembic("upgrade", base, DATABASE_URL=postgres_url)
    install_example(project, "add_not_null_column", base)
    url = postgres_url.replace("postgresql://", "postgresql+psycopg2://", 1)
    code = f"""
        import sqlalchemy as sa
        from alembic import command
        from alembic.config import Config

        engine = sa.create_engine({url!r})
        with engine.connect() as connection:
            connection.exec_driver_sql(
                "INSERT INTO users (id, email, name) VALUES (1, 'a@example.com', 'A')"
            )
            connection.exec_driver_sql(
                "INSERT INTO orders (id, user_id, total) VALUES (1, 1, 5)"
            )
            config = Config("alembic.ini")
            config.attributes["connection"] = connection  # inside our transaction
            command.upgrade(config, "head")
            print(connection.exec_driver_sql("SELECT item_count FROM orders").scalar())
            connection.rollback()
        with engine.connect() as connection:
            print(connection.exec_driver_sql("SELECT count(*) FROM orders").scalar())
    """
    result = run([sys.executable, "-c", textwrap.dedent(code)], cwd=project.path)
    assert result.stdout.split() == ["0", "0"]  # done inside, all of it rolled back
    assert "inside the caller's transaction" in result.stderr


def test_a_backfill_revision_keeps_the_deploy_path_lean(project: Baked, tmp_path: Path) -> None:
    base = project.initial_revision()
    install_example(project, "add_not_null_column", base)
    code = f"""
        import sys
        from alembic.config import main

        main(["-c", {str(project.alembic_ini)!r}, "upgrade", "head"])
        loaded = sorted(
            name for name in sys.modules
            if name.split(".")[0] in ("sqlmodel", "pydantic") or ".models" in name
        )
        print(loaded)
    """
    url = f"sqlite:///{tmp_path / 'lean.db'}"
    result = run([sys.executable, "-c", textwrap.dedent(code)], DATABASE_URL=url)
    assert "Running upgrade" in result.stderr and "orders.item_count" in result.stderr
    assert result.stdout.strip() == "[]"
