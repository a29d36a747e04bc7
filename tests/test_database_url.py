"""DATABASE_URL: environment over .env over a SQLite file in the project; errors in one line."""

import shutil
import sys
from pathlib import Path

import pytest

from .helpers import Baked, failure_line, login_role, postgres_tables, run, sqlite_tables

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


def test_blank_in_the_environment_means_the_default_whatever_env_file_says(
    project: Baked,
) -> None:
    (project.path / ".env").write_text("DATABASE_URL=sqlite:///from-dotenv.db\n")
    project.alembic("upgrade", "head", DATABASE_URL="")
    assert "users" in sqlite_tables(project.path / f"{project.package}.db")
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
    with login_role(postgres_admin_url, postgres_url, "tpl_percent", password):
        url = postgres_url.replace("postgres@", f"tpl_percent:{encoded}@", 1)
        result = project.alembic("upgrade", "head", DATABASE_URL=url)
        assert {"users", "orders", "order_items"} <= postgres_tables(postgres_url)
        assert encoded not in result.stderr + result.stdout
        assert "p@ss" not in result.stderr + result.stdout


def test_unreachable_server_error_hides_the_password(project: Baked) -> None:
    url = f"postgresql://app:{SECRET}@127.0.0.1:1/app"
    result = project.alembic("upgrade", "head", check=False, DATABASE_URL=url)
    message = failure_line(result, alone=True)
    assert "cannot connect" in message
    assert "***" in message
    assert SECRET not in result.stdout + result.stderr


# The CLI end of a refused setting (every rule is tested in process in
# test_runtime_settings.py): Alembic's one FAILED: line, no traceback, no secret; and
# what only connecting finds out.
@pytest.mark.parametrize(
    "url, words",
    [
        # A raw @ in the password would make part of it the host, shown in messages.
        (f"postgresql://app:{SECRET}@x@127.0.0.1:1/db", ["DATABASE_URL", "%40"]),
        # libpq refuses the option: one line, not the driver's traceback.
        ("postgresql://app@127.0.0.1:1/db?foo=bar", ["cannot connect", "foo"]),
        # A password as a query parameter is masked like any other.
        (f"postgresql://app@127.0.0.1:1/db?password={SECRET}", ["cannot connect", "***"]),
    ],
    ids=["raw-at-in-password", "invalid-dsn-option", "password-parameter"],
)
def test_bad_url_is_a_one_line_error(project: Baked, url: str, words: list[str]) -> None:
    result = project.alembic("upgrade", "head", check=False, DATABASE_URL=url)
    message = failure_line(result, alone=True)
    for word in words:
        assert word in message
    assert SECRET not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "url, words",
    [
        (f"mysql://app:{SECRET}@127.0.0.1:1/app", ["cannot connect", "***"]),
        # PyMySQL takes the certificate as given, and finds out connecting.
        (
            f"mysql://app:{SECRET}@127.0.0.1:3306/x?ssl_ca=/nowhere/ca.pem",
            ["cannot connect", "refused an option"],
        ),
    ],
    ids=["unreachable", "certificate-not-there"],
)
def test_bad_mysql_url_is_a_one_line_error(
    mysql_project: Baked, url: str, words: list[str]
) -> None:
    result = mysql_project.alembic("upgrade", "head", check=False, DATABASE_URL=url)
    message = failure_line(result, alone=True)
    for word in words:
        assert word in message
    assert SECRET not in result.stdout + result.stderr


def test_url_is_never_written_to_alembic_ini(project: Baked) -> None:
    before = project.alembic_ini.read_text()
    project.alembic("upgrade", "head", DATABASE_URL=f"sqlite:///{project.path}/x.db")
    assert project.alembic_ini.read_text() == before


@pytest.mark.parametrize("kind", ["folder", "broken-link"])
def test_an_env_file_that_is_not_a_file_is_one_line_not_ignored(project: Baked, kind: str) -> None:
    # Ignored, it would send a PostgreSQL project's migrations to a new SQLite file.
    env_file = project.path / ".env"
    if kind == "folder":
        env_file.mkdir()
    else:
        env_file.symlink_to(project.path / "secrets" / "missing.env")
    message = failure_line(project.alembic("upgrade", "head", check=False), alone=True)
    assert ".env is" in message and "remove it" in message
    assert not (project.path / f"{project.package}.db").exists()


def test_an_installed_package_never_guesses_a_database(project: Baked, tmp_path: Path) -> None:
    # Installed from a wheel, the package has no project folder around it (no .env,
    # no default SQLite file there): it needs DATABASE_URL, or says so in one line.
    site = tmp_path / "site-packages"
    shutil.copytree(project.path / project.package, site / project.package)
    (project.path / ".env").write_text("DATABASE_URL=sqlite:///from-the-project.db\n")
    probe = (
        f"from {project.package}.settings import database_url, SettingError\n"
        "try:\n    print('URL', database_url())\nexcept SettingError as exc:\n"
        "    print('REFUSED', exc)\n"
    )
    command = [sys.executable, "-c", probe]
    refused = run(command, cwd=tmp_path, PYTHONPATH=str(site)).stdout
    assert refused.startswith("REFUSED DATABASE_URL is not set") and refused.count("\n") == 1
    relative = run(command, cwd=tmp_path, PYTHONPATH=str(site), DATABASE_URL="sqlite:///a.db")
    assert relative.stdout.strip() == f"URL sqlite:///{tmp_path / 'a.db'}"


@pytest.mark.postgres
def test_database_password_carries_any_character_and_is_never_shown(
    project: Baked, postgres_url: str, postgres_admin_url: str
) -> None:
    # What compose hands over: the URL without a password, the raw password beside it.
    password = " p@ss:w/rd%?#1 "  # spaces at its ends are part of it too
    with login_role(postgres_admin_url, postgres_url, "tpl_raw", password):
        url = postgres_url.replace("postgres@", "tpl_raw@", 1)
        result = project.alembic("upgrade", "head", DATABASE_URL=url, DATABASE_PASSWORD=password)
        assert {"users", "orders", "order_items"} <= postgres_tables(postgres_url)
        assert "p@ss" not in result.stdout + result.stderr
        wrong = project.alembic(
            "upgrade", "head", check=False, DATABASE_URL=url, DATABASE_PASSWORD="nope" + password
        )
        assert wrong.returncode != 0
        assert "password authentication failed" in wrong.stdout + wrong.stderr
        assert "nope" not in wrong.stdout + wrong.stderr


def test_env_file_values_are_taken_as_written(project: Baked) -> None:
    # .env.example promises DATABASE_PASSWORD takes any character: ${...} included.
    written = {"DATABASE_PASSWORD": "pa${HOME}ss$x", "API_TOKENS": "t0k${PATH}en"}
    (project.path / ".env").write_text(
        "".join(f"{name}='{value}'\n" for name, value in written.items())
    )
    # Read by the migrations' reader, and by the service's (pydantic-settings, whose
    # own .env reader would expand them).
    code = (
        "from migrations.settings import setting\n"
        f"from {project.package}.settings import Settings\n"
        "print(setting('DATABASE_PASSWORD')[0])\n"
        "service = Settings()\n"
        "for secret in (service.database_password, service.api_tokens):\n"
        "    print(secret.get_secret_value())\n"
    )
    result = run([sys.executable, "-c", code], cwd=project.path, HOME="/home/x")
    assert result.stdout.splitlines() == [written["DATABASE_PASSWORD"], *written.values()]
