"""What env.py promises: offline SQL, exclusions, no empty revisions, shared connections,
portable batch migrations that never cascade, formatted revisions, a lean deploy path."""

import sqlite3
import sys
import textwrap
from pathlib import Path

import pytest

from .helpers import RUFF, Baked, failure_line, run, sqlite_rows

SECRET = "s3cr3t-Pa55"


def python_in(project: Baked, code: str, **env: str):
    """Run Python code inside the project folder with the test interpreter."""
    return run([sys.executable, "-c", textwrap.dedent(code)], cwd=project.path, **env)


def add_sample_rows(database: Path) -> None:
    with sqlite3.connect(database) as connection:
        connection.executescript(
            """
            INSERT INTO users (id, email, name) VALUES (1, 'ada@example.com', 'Ada');
            INSERT INTO orders (id, user_id, total) VALUES (1, 1, 19.98);
            INSERT INTO order_items (order_id, sku, quantity, unit_price)
            VALUES (1, 'BOOK', 2, 9.99);
            """
        )


def test_offline_sql_never_connects_and_hides_nothing_it_should_not(project: Baked) -> None:
    url = f"postgresql://app:{SECRET}@127.0.0.1:1/app"  # nothing listens on port 1
    result = project.alembic("upgrade", "head", "--sql", DATABASE_URL=url)
    assert "CREATE TABLE users" in result.stdout
    assert "CREATE UNIQUE INDEX ix_users_email" in result.stdout
    assert "INSERT INTO alembic_version" in result.stdout
    assert SECRET not in result.stdout + result.stderr


def test_offline_sql_on_sqlite(project: Baked) -> None:
    result = project.alembic("upgrade", "head", "--sql")
    assert "CREATE TABLE user" in result.stdout or "CREATE TABLE users" in result.stdout
    assert not (project.path / f"{project.package}.db").exists()


def test_excluded_tables_are_left_alone_by_autogenerate(project: Baked) -> None:
    project.alembic("upgrade", "head")
    database = project.path / f"{project.package}.db"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE legacy_audit (id INTEGER PRIMARY KEY)")

    drift = project.alembic("check", check=False)
    assert drift.returncode != 0
    assert "legacy_audit" in drift.stdout + drift.stderr

    ini = project.alembic_ini.read_text().replace("tables =\n", "tables = legacy_*\n")
    project.alembic_ini.write_text(ini)
    project.alembic("check")
    project.alembic("revision", "--autogenerate", "-m", "should be empty")
    assert len(project.versions) == 1


def test_autogenerate_with_no_changes_writes_no_file(project: Baked) -> None:
    project.alembic("upgrade", "head")
    result = project.alembic("revision", "--autogenerate", "-m", "nothing changed")
    assert len(project.versions) == 1
    assert "no revision written" in result.stdout + result.stderr
    checked = project.alembic("check")
    assert "No new upgrade operations detected" in checked.stdout + checked.stderr


def test_a_connection_handed_in_is_used(project: Baked, tmp_path: Path) -> None:
    handed = tmp_path / "handed.db"
    elsewhere = tmp_path / "elsewhere.db"
    python_in(
        project,
        f"""
        from alembic import command
        from alembic.config import Config
        from sqlalchemy import create_engine

        config = Config("alembic.ini")
        with create_engine("sqlite:///{handed}").connect() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            connection.commit()
        """,
        DATABASE_URL=f"sqlite:///{elsewhere}",
    )
    assert ("users",) in sqlite_rows(handed, "SELECT name FROM sqlite_master")
    assert not elsewhere.exists()


def test_batch_rebuild_keeps_child_rows(project: Baked) -> None:
    # Widening user.name makes SQLite rebuild the user table (copy, DROP, rename).
    project.alembic("upgrade", "head")
    database = project.path / f"{project.package}.db"
    add_sample_rows(database)
    project.set_field("UserBase", "name", "name: str = Field(max_length=200)")
    project.alembic("revision", "--autogenerate", "-m", "widen user name")
    (_, new) = project.versions
    assert "batch_alter_table" in new.read_text()

    project.alembic("upgrade", "head")
    assert sqlite_rows(database, "SELECT count(*) FROM orders") == [(1,)]
    assert sqlite_rows(database, "SELECT count(*) FROM order_items") == [(1,)]
    assert sqlite_rows(database, "PRAGMA foreign_key_check") == []
    project.alembic("downgrade", "-1")
    assert sqlite_rows(database, "SELECT count(*) FROM order_items") == [(1,)]
    project.alembic("check", check=False)  # the model is ahead again: drift expected


@pytest.mark.postgres
@pytest.mark.parametrize("written_on", ["sqlite", "postgresql"])
def test_a_migration_applies_on_both_backends(
    project: Baked, postgres_url: str, tmp_path: Path, written_on: str
) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 'both.db'}"
    urls = {"sqlite": sqlite_url, "postgresql": postgres_url}
    author_url = urls[written_on]
    project.set_field("UserBase", "name", "name: str = Field(max_length=200)")
    project.add_field("User", "phone: str | None = Field(default=None, max_length=20, index=True)")
    project.alembic("upgrade", "head", DATABASE_URL=author_url)
    project.alembic(
        "revision", "--autogenerate", "-m", "phone and longer name", DATABASE_URL=author_url
    )
    assert len(project.versions) == 2
    for url in urls.values():
        project.alembic("upgrade", "head", DATABASE_URL=url)
        project.alembic("check", DATABASE_URL=url)
        project.alembic("downgrade", "base", DATABASE_URL=url)


def test_new_revisions_are_ruff_formatted(project: Baked) -> None:
    project.alembic("upgrade", "head")
    project.set_field("ItemBase", "sku", "sku: str = Field(max_length=80)")
    project.alembic("revision", "--autogenerate", "-m", "longer sku")
    project.alembic("revision", "-m", "hand written")
    run([RUFF, "format", "--check", "--no-cache", *map(str, project.versions)])
    run([RUFF, "check", "--no-cache", str(project.path)])


def test_no_op_upgrade_does_not_import_the_models(project: Baked) -> None:
    project.alembic("upgrade", "head")
    result = python_in(
        project,
        f"""
        import sys
        from alembic.config import main

        main(["-c", "alembic.ini", "upgrade", "head"])
        # Nothing a no-op upgrade needs: the models, their libraries, autogenerate.
        roots = ("sqlmodel", "pydantic", "alembic_postgresql_enum")
        heavy = [m for m in sys.modules if m.split(".")[0] in roots]
        heavy += [m for m in sys.modules if m in ("migrations.autogenerate", "migrations.review")]
        heavy += [m for m in sys.modules if m.startswith("{project.package}.models")]
        print("HEAVY", sorted(heavy))
        """,
    )
    assert "HEAVY []" in result.stdout


def test_models_that_define_no_tables_are_refused_in_one_line(project: Baked) -> None:
    # An empty models package against a populated database: every table would be dropped.
    project.alembic("upgrade", "head")
    (project.path / project.package / "models" / "examples.py").unlink()
    for command in (["revision", "--autogenerate", "-m", "oops"], ["check"]):
        result = project.alembic(*command, check=False)
        line = failure_line(result, alone=True)
        assert "the models define no tables" in line
        assert f"{project.package}/models/" in line
    assert len(project.versions) == 1


def test_a_dropped_column_is_marked_in_the_revision_and_on_the_console(project: Baked) -> None:
    project.alembic("upgrade", "head")
    project.drop_field("UserBase", "name")
    # Before the revision exists, `alembic check` names the drop in one line (the note
    # beside it once crashed Alembic's list of differences with a traceback).
    drift = failure_line(project.alembic("check", check=False))
    assert "remove_column" in drift and "DATA LOSS: drops column users.name" in drift
    result = project.alembic("revision", "--autogenerate", "-m", "drop name")
    (new,) = [path for path in project.versions if "drop_name" in path.name]
    assert "# DATA LOSS: drops column users.name" in new.read_text()
    assert "DATA LOSS: drops column users.name" in result.stderr
    # NOT NULL without a server default: the new release's inserts would fail while
    # the drop waits for a rolling deploy's contract step.
    assert "make it nullable in an expand revision first" in result.stderr
    project.alembic("upgrade", "head")
    project.alembic("check")


def test_a_not_null_column_without_a_server_default_is_flagged(project: Baked) -> None:
    project.alembic("upgrade", "head")
    project.add_field("UserBase", "nickname: str = Field(max_length=30)")
    result = project.alembic("revision", "--autogenerate", "-m", "nickname")
    (new,) = [path for path in project.versions if "nickname" in path.name]
    note = "NOT NULL without a server default: adding users.nickname fails on rows"
    text = new.read_text()
    assert f"# {note}" in text and "# (see docs/data-migrations.md)" in text
    assert note in result.stderr
    # That addition is what makes the revision a contract: nothing to move elsewhere.
    assert 'phase = "contract"' in text and "also adds" not in text


def test_a_model_module_that_fails_to_import_is_one_line(project: Baked) -> None:
    broken = project.path / project.package / "models" / "invoices.py"
    broken.write_text("from sqlmodel import SQLModel\n\n\nclass Invoice(Base):\n    pass\n")
    result = project.alembic("revision", "--autogenerate", "-m", "x", check=False)
    line = failure_line(result, alone=True)
    assert "importing the models failed: NameError: name 'Base' is not defined" in line
    assert f"{broken}, line 4" in line


def test_a_callers_sqlite_engine_with_foreign_keys_on_is_refused_and_left_alone(
    project: Baked, tmp_path: Path
) -> None:
    # SQLAlchemy's connect-event recipe: every connection of this engine enforces keys.
    result = python_in(
        project,
        f"""
        from alembic import command
        from alembic.config import Config
        from alembic.util import CommandError
        from sqlalchemy import create_engine, event

        engine = create_engine("sqlite:///{tmp_path / "caller.db"}")
        event.listen(
            engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA foreign_keys=ON")
        )
        config = Config("alembic.ini")
        config.attributes["connection"] = engine
        try:
            command.upgrade(config, "head")
        except CommandError as exc:
            print("REFUSED", exc)
        with engine.connect() as connection:
            print("FOREIGN_KEYS", connection.exec_driver_sql("PRAGMA foreign_keys").scalar())
        """,
    )
    assert "REFUSED SQLite foreign keys are ON" in result.stdout
    assert "FOREIGN_KEYS 1" in result.stdout  # the caller's pool is as it was


def test_a_library_error_in_a_model_module_names_that_module(project: Baked) -> None:
    # sqlmodel refuses sa_column beside primary_key, raising in its own main.py.
    module = project.path / project.package / "models" / "reminders.py"
    module.write_text(
        "import sqlalchemy as sa\nfrom sqlmodel import Field, SQLModel\n\n\n"
        "class Reminder(SQLModel, table=True):\n"
        "    id: int | None = Field(\n"
        "        default=None, primary_key=True, sa_column=sa.Column(sa.Integer)\n"
        "    )\n"
    )
    result = project.alembic("revision", "--autogenerate", "-m", "x", check=False)
    line = failure_line(result, alone=True)
    assert "importing the models failed" in line and f"{module}, line " in line
    assert "site-packages" not in line


def test_a_server_default_sqlite_cannot_compute_is_one_line_everywhere(project: Baked) -> None:
    (project.path / project.package / "models" / "tokens.py").write_text(
        "import uuid\n\nimport sqlalchemy as sa\nfrom sqlmodel import Field, SQLModel\n\n\n"
        "class Token(SQLModel, table=True):\n"
        '    __tablename__ = "tokens"\n\n'
        "    id: uuid.UUID = Field(\n"
        "        default_factory=uuid.uuid4,\n"
        "        primary_key=True,\n"
        '        sa_column_kwargs={"server_default": sa.text("gen_random_uuid()")},\n'
        "    )\n"
    )
    result = project.alembic("revision", "--autogenerate", "-m", "tokens", check=False)
    line = failure_line(result, alone=True)
    assert "column tokens.id has a server default SQLite cannot compute" in line
    assert "gen_random_uuid" in line and "PostgreSQL" in line
    suite = run(["make", "-C", str(project.path), "test", f"PYTHON={sys.executable}"], check=False)
    assert suite.returncode != 0
    assert "SQLite cannot compute" in suite.stdout and "Traceback" not in suite.stdout


def test_dropping_a_not_null_column_writes_a_downgrade_that_runs_on_rows(
    project: Baked, tmp_path: Path
) -> None:
    database = tmp_path / "rows.db"
    url = f"sqlite:///{database}"
    project.alembic("upgrade", "head", DATABASE_URL=url)
    add_sample_rows(database)
    project.drop_field("UserBase", "name")
    result = project.alembic("revision", "--autogenerate", "-m", "no name", DATABASE_URL=url)
    (new,) = [path for path in project.versions if "no_name" in path.name]
    assert "users.name comes back NULL-able and empty" in new.read_text()
    assert "users.name comes back NULL-able" in result.stderr
    project.alembic("upgrade", "head", DATABASE_URL=url)
    project.alembic("downgrade", "-1", DATABASE_URL=url)  # rows present: it runs
    assert sqlite_rows(database, "SELECT email, name FROM users") == [("ada@example.com", None)]
