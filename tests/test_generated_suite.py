"""The generated project's own test suite, run once per backend the way its users and
its CI run it (`make test`, from another directory), and its short failures."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import SYSTEM_PATH, Baked, run

# DATABASE_URL names a server that does not exist: a suite that used it would fail.
UNREACHABLE = "postgresql://nobody:secret@127.0.0.1:1/none"


def run_suite(project: Baked, check: bool = True, **env: str) -> subprocess.CompletedProcess:
    """`make test` in the project, with the test runner's interpreter (no .venv)."""
    return run(
        ["make", "-C", str(project.path), "test", f"PYTHON={sys.executable}"],
        check=check,
        PATH=SYSTEM_PATH,
        **env,
    )


def assert_all_passed(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout
    assert "skipped" not in result.stdout and "failed" not in result.stdout


def test_generated_suite_passes_on_sqlite_and_never_reads_database_url(
    baked_sqlite: Baked,
) -> None:
    assert_all_passed(run_suite(baked_sqlite, DATABASE_URL=UNREACHABLE))


@pytest.mark.postgres
def test_generated_suite_passes_on_postgresql(baked_postgresql: Baked, postgres_url: str) -> None:
    result = run_suite(baked_postgresql, TEST_DATABASE_URL=postgres_url, DATABASE_URL=UNREACHABLE)
    assert_all_passed(result)


@pytest.mark.mysql
def test_generated_suite_passes_on_mysql(baked_mysql: Baked, mysql_url: str) -> None:
    unreachable = "mysql://nobody:secret@127.0.0.1:1/none"  # a URL this project takes
    result = run_suite(baked_mysql, TEST_DATABASE_URL=mysql_url, DATABASE_URL=unreachable)
    assert_all_passed(result)


def test_a_model_change_without_its_migration_stops_the_run_short(project: Baked) -> None:
    project.add_field("UserBase", "phone: str | None = None")
    result = run_suite(project, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert 'make revision m="describe your change"' in output
    # One failure that says what to do, then the run stops: not a traceback per test.
    assert "Exit: The models have changes no migration describes" in output
    assert len(output.splitlines()) < 30, output


@pytest.mark.parametrize("where", ["environment", ".env"])
def test_an_unreachable_test_database_is_one_line_without_its_password(
    where: str, project: Baked
) -> None:
    # As .env.example offers: TEST_DATABASE_URL in .env counts as in the environment.
    secret = "s3cr3t-Pa55"
    url = f"postgresql://app:{secret}@127.0.0.1:1/app_test"
    if where == ".env":
        (project.path / ".env").write_text(f"TEST_DATABASE_URL={url}\n")
        result = run_suite(project, check=False)
    else:
        result = run_suite(project, check=False, TEST_DATABASE_URL=url)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert secret not in output
    (line,) = [line for line in output.splitlines() if "cannot be used" in line]
    assert "TEST_DATABASE_URL" in line and "***" in line
    assert (".env" in line) == (where == ".env")  # where the URL came from
    assert "the user and password are right" in line  # refused logins end here too
    # make's lines and pytest's header, then that line: no traceback, no driver dump.
    assert "Traceback" not in output and "psycopg2.connect" not in output, output
    assert len(output.splitlines()) < 20, output


@pytest.mark.parametrize(
    ("same", "test"),
    [
        ("sqlite:///app.db", "sqlite:///./app.db"),
        # As .env.example and docs/testing.md spell the server: one database still.
        ("postgresql://me:x@localhost:5432/app", "postgresql://me:x@127.0.0.1/app"),
        # The app through a pooler (deploying.md), its migrations to the server itself.
        (
            "postgresql://me:x@127.0.0.1:6432/app\nMIGRATION_DATABASE_URL=postgresql://me:x@localhost/app",
            "postgresql://me:x@127.0.0.1:5432/app",
        ),
    ],
)
def test_tests_refuse_the_apps_own_database_and_leave_it_as_it_was(
    same: str, test: str, project: Baked
) -> None:
    # The tests drop every table in their database: the app's (in .env, where a copied
    # line is easily left) is refused before anything connects to it.
    (project.path / ".env").write_text(f"DATABASE_URL={same}\nTEST_DATABASE_URL={test}\n")
    app_db = project.path / "app.db"
    if same.startswith("sqlite"):
        project.alembic("upgrade", "head", DATABASE_URL=same)
        before = app_db.read_bytes()
    result = run_suite(project, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    (line,) = [line for line in output.splitlines() if "names the app's database" in line]
    assert "a database of their own" in line and "x@" not in output, output
    if same.startswith("sqlite"):
        assert app_db.read_bytes() == before


@pytest.mark.parametrize("broken", ["folder", "unclosed-quote"])
def test_a_broken_env_file_is_one_line_not_a_failure_per_test(project: Baked, broken: str) -> None:
    env_file = project.path / ".env"
    if broken == "folder":
        env_file.mkdir()
    else:
        env_file.write_text("API_TOKENS=tok-abc\nDATABASE_PASSWORD='unclosed\n")
    result = run_suite(project, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    # One message, no test run.
    (line,) = [line for line in output.splitlines() if str(env_file) in line]
    assert "not a file" in line if broken == "folder" else "line 2" in line
    assert " passed" not in output and " failed" not in output
    assert "Traceback" not in output and "tok-abc" not in output
    assert len(output.splitlines()) < 20, output


NOTES_MODULE = '''"""Notes: a team's own model."""

from sqlmodel import Field, SQLModel


class Note(SQLModel, table=True):
    __tablename__ = "notes"

    id: int | None = Field(default=None, primary_key=True)
    body: str = Field(max_length=200)
'''


def test_swapping_the_example_models_for_your_own_keeps_the_suite_green(
    project: Baked, tmp_path: Path
) -> None:
    # A developer's .env, as the Quick start and docs/api.md have it: .env.example,
    # then a token (and an open API chosen for a container). The suite reads none of it,
    # and never serves.
    env = (project.path / ".env.example").read_text()
    (project.path / ".env").write_text(f"{env}\nAPI_TOKENS=a-token-in-dotenv\nAPI_OPEN=1\n")
    models = project.path / project.package / "models"
    project.remove_examples()
    (models / "notes.py").write_text(NOTES_MODULE)  # found without an import anywhere
    database = f"sqlite:///{tmp_path / 'swap.db'}"
    project.alembic("upgrade", "head", DATABASE_URL=database)
    result = project.alembic(
        "revision", "--autogenerate", "-m", "our models", DATABASE_URL=database
    )
    (new,) = [path for path in project.versions if "our_models" in path.name]
    text = new.read_text()
    assert 'op.create_table(\n        "notes"' in text
    for table in ("users", "orders", "order_items"):
        # A drop is where data is lost: said in the file and on the console.
        assert f"# DATA LOSS: drops table {table}" in text
        assert f"DATA LOSS: drops table {table}" in result.stderr
    # So is the downgrade's drop of the new table (make downgrade says nothing).
    downgrade = text.partition("def downgrade")[2]
    assert "# DATA LOSS (downgrade): drops table notes, with its rows" in downgrade
    assert_all_passed(run_suite(project))


def test_deleting_the_examples_without_models_of_your_own_is_one_line(project: Baked) -> None:
    project.remove_examples()
    result = run_suite(project, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "The models define no tables, yet the migrations create some" in output
    assert f"{project.package}/models/" in output
    assert "Traceback" not in output and "NotImplementedError" not in output


def test_a_broken_example_test_module_never_stops_the_migration_tests(project: Baked) -> None:
    # A test module that names a model no longer there (renamed, say).
    tests = project.path / "tests" / "test_examples.py"
    tests.write_text(f"from {project.package}.models.examples import Gone\n" + tests.read_text())
    result = run_suite(project, check=False)
    assert result.returncode != 0
    assert "ERROR collecting tests/test_examples.py" in result.stdout
    # Everything else ran, the migration tests included: only that module failed.
    assert re.search(r"\b[1-9]\d* passed, 1 error in", result.stdout), result.stdout


def test_a_model_module_that_fails_to_import_is_named_in_one_line(project: Baked) -> None:
    # Its table registered before the failing line: a second import would only say
    # the table is already defined, hiding the cause.
    (project.path / project.package / "models" / "reviews.py").write_text(
        "from sqlmodel import Field, SQLModel\n\n\n"
        "class Review(SQLModel, table=True):\n"
        '    __tablename__ = "reviews"\n\n'
        "    id: int | None = Field(default=None, primary_key=True)\n\n\n"
        "import a_module_that_is_not_installed  # noqa: E402, F401\n"
    )
    result = run_suite(project, check=False)
    assert result.returncode != 0
    assert "importing the models failed: ModuleNotFoundError" in result.stdout
    assert "a_module_that_is_not_installed" in result.stdout
    assert "already defined" not in result.stdout and "Traceback" not in result.stdout


def test_a_naive_datetime_default_is_named_by_the_suite(project: Baked) -> None:
    # datetime.utcnow: what many public model sets use, and what sqlmodel refuses.
    (project.path / project.package / "models" / "audit.py").write_text(
        "from datetime import datetime\n\nfrom sqlmodel import Field, SQLModel\n\n\n"
        "class AuditEntry(SQLModel, table=True):\n"
        '    __tablename__ = "audit_entries"\n\n'
        "    id: int | None = Field(default=None, primary_key=True)\n"
        "    at: datetime = Field(default_factory=datetime.utcnow)\n"
    )
    project.alembic("upgrade", "head")
    project.alembic("revision", "--autogenerate", "-m", "audit")
    result = run_suite(project, check=False)
    assert result.returncode != 0
    assert "AuditEntry.at: its default is naive" in result.stdout
