"""DATABASE_URL: environment over .env over a SQLite file in the project; errors in one line."""

from pathlib import Path

import psycopg2
import pytest

from .helpers import Baked, failure_line, postgres_tables, sqlite_tables

SECRET = "s3cr3t-Pa55"


def test_default_is_a_sqlite_file_in_the_project(project: Baked) -> None:
    project.alembic("upgrade", "head")  # run from / : the file must still land here
    database = project.path / f"{project.package}.db"
    assert {"users", "orders", "order_items", "alembic_version"} <= sqlite_tables(database)


def test_env_file_is_read(project: Baked) -> None:
    (project.path / ".env").write_text("DATABASE_URL=sqlite:///from-dotenv.db\n")
    project.alembic("upgrade", "head")
    assert "users" in sqlite_tables(project.path / "from-dotenv.db")
    assert not (project.path / f"{project.package}.db").exists()


def test_environment_wins_over_env_file(project: Baked, tmp_path: Path) -> None:
    (project.path / ".env").write_text("DATABASE_URL=sqlite:///from-dotenv.db\n")
    target = tmp_path / "from-environment.db"
    project.alembic("upgrade", "head", DATABASE_URL=f"sqlite:///{target}")
    assert "users" in sqlite_tables(target)
    assert not (project.path / "from-dotenv.db").exists()


@pytest.mark.postgres
@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "postgresql+psycopg2"])
def test_postgres_schemes_use_psycopg2(project: Baked, postgres_url: str, scheme: str) -> None:
    url = scheme + postgres_url[postgres_url.index(":") :]
    project.alembic("upgrade", "head", DATABASE_URL=url)
    assert {"users", "orders", "order_items"} <= postgres_tables(postgres_url)


@pytest.mark.postgres
def test_percent_encoded_password_works_and_is_never_shown(
    project: Baked, postgres_url: str, postgres_admin_url: str
) -> None:
    # A role whose password has every character that trips configparser or URL parsing.
    password = "p@ss%w:rd/1"
    encoded = "p%40ss%25w%3Ard%2F1"
    with psycopg2.connect(postgres_admin_url) as admin, admin.cursor() as cursor:
        cursor.execute("DROP ROLE IF EXISTS tpl_percent")
        cursor.execute("CREATE ROLE tpl_percent LOGIN SUPERUSER PASSWORD %s", (password,))
    try:
        url = postgres_url.replace("postgres@", f"tpl_percent:{encoded}@", 1)
        result = project.alembic("upgrade", "head", DATABASE_URL=url)
        assert {"users", "orders", "order_items"} <= postgres_tables(postgres_url)
        assert encoded not in result.stderr + result.stdout
        assert "p@ss" not in result.stderr + result.stdout
    finally:
        with psycopg2.connect(postgres_url) as owner, owner.cursor() as cursor:
            cursor.execute("DROP OWNED BY tpl_percent")
        with psycopg2.connect(postgres_admin_url) as admin, admin.cursor() as cursor:
            cursor.execute("DROP ROLE tpl_percent")


def test_unreachable_server_error_hides_the_password(project: Baked) -> None:
    url = f"postgresql://app:{SECRET}@127.0.0.1:1/app"
    result = project.alembic("upgrade", "head", check=False, DATABASE_URL=url)
    message = failure_line(result, alone=True)
    assert "cannot connect" in message
    assert "***" in message
    assert SECRET not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "url, words",
    [
        ("not a url", ["DATABASE_URL", "not a database URL"]),
        (f"postgresql://app:{SECRET}@host:port/db", ["DATABASE_URL", "malformed"]),
        ("nosuchdb://localhost/x", ["DATABASE_URL", "unknown database driver", "nosuchdb"]),
        ("postgresql+nosuchdriver://localhost/x", ["DATABASE_URL", "unknown database driver"]),
        # An explicit driver is respected, not rewritten to psycopg2.
        ("postgresql+pg8000://localhost/x", ["DATABASE_URL", "pg8000", "not installed"]),
    ],
    ids=["no-scheme", "bad-port", "unknown-dialect", "unknown-driver", "driver-not-installed"],
)
def test_bad_url_is_a_one_line_error(project: Baked, url: str, words: list[str]) -> None:
    result = project.alembic("upgrade", "head", check=False, DATABASE_URL=url)
    message = failure_line(result, alone=True)
    for word in words:
        assert word in message
    assert SECRET not in result.stdout + result.stderr


def test_bad_url_in_env_file_names_the_file(project: Baked) -> None:
    (project.path / ".env").write_text("DATABASE_URL=mysql+nosuch://x/y\n")
    result = project.alembic("upgrade", "head", check=False)
    message = failure_line(result, alone=True)
    assert "DATABASE_URL" in message and ".env" in message


def test_url_is_never_written_to_alembic_ini(project: Baked) -> None:
    before = project.alembic_ini.read_text()
    project.alembic("upgrade", "head", DATABASE_URL=f"sqlite:///{project.path}/x.db")
    assert project.alembic_ini.read_text() == before
