"""Replacing the examples with a team's own models, exactly as the generated
docs/models.md, "Your own models", says, with its make targets, on SQLite, PostgreSQL
and MariaDB.

Each case bakes for its database, migrates the examples and puts rows in them, deletes
the example files, copies in a model set of ours, and takes one of that page's two
routes: `make initial-revision` (never deployed) or `make revision` (deployed), under
a PYTHONHASHSEED of its own (Alembic's order of dropped tables follows it). Rows then
go into every new table; `make check`, a downgrade and upgrade with those rows, and the
project's own `make test` (on SQLite, as docs/testing.md runs it, and on a database of
the case's kind) follow. Each database takes both routes, and each model set goes where
what it holds meets that database's rules (see CASES).
"""

import shutil
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from .conftest import fresh_database
from .helpers import (
    ALEMBIC,
    RUFF,
    Baked,
    fresh_mysql_database,
    mysql_rows,
    postgres_rows,
    run,
    sqlite_rows,
)

SETS_DIR = Path(__file__).resolve().parent / "model_sets"
DRIVER = SETS_DIR / "driver.py"
# Ours, each covering what public model sets showed (see each folder's modules).
MODEL_SETS = ["library", "bakery", "fleet", "studio", "tenancy"]
DATABASES = ["sqlite", "postgresql", "mysql"]
# Sets whose keys and integers follow docs/models.md's advice, so `make lint-migrations`
# passes once the intended drops are accepted.
LINT_CLEAN = {"tenancy"}
# The deployed route (where drop order matters) and the never-deployed one, each on
# every database; each model set where what it holds meets a database's own rules.
# PYTHONHASHSEED differs from case to case.
ROUTES = [
    ("library", "mysql", "revision"),  # the most foreign keys: MySQL's index rules
    ("tenancy", "postgresql", "revision"),  # replaces `users` itself; squawk-clean
    ("tenancy", "mysql", "revision"),
    ("studio", "postgresql", "revision"),  # table names that need quoting
    ("fleet", "sqlite", "revision"),  # batch mode rebuilds
    ("bakery", "mysql", "revision"),  # CHECK constraints
    ("library", "sqlite", "initial-revision"),
    ("bakery", "postgresql", "initial-revision"),
    ("fleet", "mysql", "initial-revision"),
]
CASES = [
    pytest.param(
        name,
        database,
        route,
        str(seed),
        marks=[{"postgresql": pytest.mark.postgres, "mysql": pytest.mark.mysql}[database]]
        if database != "sqlite"
        else [],
        id=f"{name}-{database}-{route}",
    )
    for seed, (name, database, route) in enumerate(ROUTES)
]
EXAMPLE_ROWS = [
    "INSERT INTO users (email, name) VALUES ('ada@example.com', 'Ada')",
    "INSERT INTO orders (user_id, total, status) VALUES (1, 19.98, 'paid')",
    "INSERT INTO order_items (order_id, sku, quantity, unit_price) VALUES (1, 'BOOK-1', 2, 9.99)",
]


@pytest.fixture
def servers(request: pytest.FixtureRequest) -> dict[str, str]:
    """The admin URL of the server a case's database needs (none for SQLite)."""
    database = request.node.callspec.params["database"]
    if database == "postgresql":
        return {"postgresql": request.getfixturevalue("postgres_admin_url")}
    if database == "mysql":
        return {"mysql": request.getfixturevalue("mysql_admin")}
    return {}


def make(project: Path, target: str, *args: str, **env: str) -> str:
    result = run(["make", "-C", str(project), target, *args, f"PYTHON={sys.executable}"], **env)
    return result.stdout + result.stderr


def make_failing(project: Path, target: str, **env: str) -> str:
    command = ["make", "-C", str(project), target, f"PYTHON={sys.executable}"]
    result = run(command, check=False, **env)
    assert result.returncode != 0, result.stdout
    return result.stdout + result.stderr


def run_sql(database: str, url: str, statements: list[str]) -> None:
    for sql in statements:
        if database == "postgresql":
            postgres_rows(url, sql)
        elif database == "mysql":
            mysql_rows(url, sql)
        else:
            sqlite_rows(Path(url.removeprefix("sqlite:///")), sql)


def databases(database: str, servers: dict[str, str], tmp_path: Path):
    """Two fresh databases of the kind: the project's, and one for its tests."""
    if database == "postgresql":
        return fresh_database(servers["postgresql"]), fresh_database(servers["postgresql"])
    if database == "mysql":
        return fresh_mysql_database(servers["mysql"]), fresh_mysql_database(servers["mysql"])
    from contextlib import nullcontext

    return (
        nullcontext(f"sqlite:///{tmp_path / 'app.db'}"),
        nullcontext(f"sqlite:///{tmp_path / 'test.db'}"),
    )


def test_the_cases_take_every_set_and_both_routes_on_every_database() -> None:
    assert {name for name, _, _ in ROUTES} == set(MODEL_SETS)
    taken = {(database, route) for _, database, route in ROUTES}
    assert taken == {(d, r) for d in DATABASES for r in ("revision", "initial-revision")}


@pytest.mark.parametrize(("name", "database", "route", "seed"), CASES)
def test_the_readme_takes_a_team_from_the_examples_to_its_own_models(
    name: str,
    database: str,
    route: str,
    seed: str,
    servers: dict[str, str],
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    baked: Baked = request.getfixturevalue(f"baked_{database}")
    project = tmp_path / baked.path.name
    shutil.copytree(baked.path, project)
    first, second = databases(database, servers, tmp_path)
    with first as url, second as test_url:
        env = {"DATABASE_URL": url, "PYTHONHASHSEED": seed}
        if database == "postgresql":
            # As .env.example suggests: the URL and the password on its own, in .env
            # (this server's trust login takes any password).
            (project / ".env").write_text(f"DATABASE_URL={url}\nDATABASE_PASSWORD=p@ss:w/rd\n")
            del env["DATABASE_URL"]
        make(project, "migrate", **env)
        run_sql(database, url, EXAMPLE_ROWS)

        # docs/models.md's steps 1 and 2: our modules in, the examples' files out.
        Baked(project, baked.package).remove_examples()
        for module in (SETS_DIR / name).glob("*.py"):
            shutil.copy(module, project / baked.package / "models" / module.name)

        if route == "initial-revision":
            make(project, "initial-revision", **env)
            assert len(list((project / "migrations/versions").glob("*.py"))) == 1
        else:
            written = make(project, "revision", "m=our models", **env)
            # A contract that adds tables: a rolling deploy needs them split off.
            assert "contract revision that also adds" in written
        make(project, "migrate", **env)
        run([sys.executable, str(DRIVER), "seed", url], cwd=project, **env)
        make(project, "check", **env)
        if route == "revision":  # the rows must survive nothing, but block nothing
            make(project, "downgrade", **env)
            make(project, "migrate", **env)
        # make test as docs/testing.md says (SQLite: the history, however it was written,
        # runs there too), and on a database of the project's kind.
        for tests_on in {"sqlite": "", database: test_url}.values():
            output = make(project, "test", **{**env, "TEST_DATABASE_URL": tests_on})
            assert " passed" in output and "failed" not in output and "error" not in output
        if name == "library":  # relationships across modules, as docs/models.md shows
            run([sys.executable, "-m", "mypy"], cwd=project)  # strict, as make lint
        # squawk lints PostgreSQL's SQL: a MySQL project has no `make lint-migrations`.
        if name in LINT_CLEAN and database != "mysql":
            if route == "revision":
                assert "ban-drop-table" in make_failing(project, "lint-migrations", **env)
                (ours,) = (project / "migrations/versions").glob("*_our_models.py")
                upgrade = "\ndef upgrade() -> None:"  # where docs/models.md puts it
                ignore = "\n# squawk-ignore: ban-drop-table" + upgrade
                ours.write_text(ours.read_text().replace(upgrade, ignore, 1))
                run([RUFF, "format", "--check", str(ours)])  # as make lint checks it
            assert "0 with findings" in make(project, "lint-migrations", **env)


@pytest.mark.postgres
def test_a_revision_written_on_the_sqlite_default_deploys_on_postgresql(
    baked_sqlite: Baked, postgres_url: str, tmp_path: Path
) -> None:
    # Every team that starts on the embedded default and deploys on PostgreSQL: the
    # revision replacing the examples, written on SQLite, runs there both ways.
    project = tmp_path / baked_sqlite.path.name
    shutil.copytree(baked_sqlite.path, project)
    make(project, "migrate")
    Baked(project, baked_sqlite.package).remove_examples()
    for module in (SETS_DIR / "tenancy").glob("*.py"):
        shutil.copy(module, project / baked_sqlite.package / "models" / module.name)
    make(project, "revision", "m=our models")
    (ours,) = (project / "migrations/versions").glob("*_our_models.py")
    assert "sa.DATETIME()" not in ours.read_text()  # SQLite's name; PostgreSQL has none

    postgres = {"DATABASE_URL": postgres_url}
    initial = [p for p in (project / "migrations/versions").glob("*.py") if p != ours]
    initial_id = initial[0].name.split("_")[1]
    run([ALEMBIC, "-c", str(project / "alembic.ini"), "upgrade", initial_id], **postgres)
    run_sql("postgresql", postgres_url, EXAMPLE_ROWS)
    make(project, "migrate", **postgres)
    make(project, "check", f"DRIFT_DATABASE_URL={postgres_url}", **postgres)
    make(project, "downgrade", **postgres)
    assert postgres_rows(postgres_url, "SELECT count(*) FROM users") == [(0,)]
    # As docs/models.md warns: the tables come back as SQLite read them.
    types = dict(
        postgres_rows(
            postgres_url,
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'users'",
        )
    )
    assert types["id"] == "integer" and types["created_at"] == "timestamp without time zone"
    make(project, "migrate", **postgres)


def primary_key(database: str, url: str, table: str) -> list[str]:
    """The columns of `table`'s primary key, as the database has it."""
    drivers = {"mysql": "mysql+pymysql", "postgresql": "postgresql+psycopg2"}
    if database in drivers:
        url = drivers[database] + url[url.index("://") :]
    engine = sa.create_engine(url)
    try:
        return sa.inspect(engine).get_pk_constraint(table)["constrained_columns"]
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "database",
    [
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.postgres),
        pytest.param("mysql", marks=pytest.mark.mysql),
    ],
)
def test_a_kept_table_name_keyed_by_another_column_is_created_anew(
    database: str, servers: dict[str, str], request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    # docs/models.md: a table of yours named like an old one whose key changes is
    # dropped and created anew. Here `users` is keyed by `card`, not `id`, and another
    # table points at it: altered in place, the servers refuse the foreign key, and
    # SQLite would keep the table without a primary key.
    baked: Baked = request.getfixturevalue(f"baked_{database}")
    project = tmp_path / baked.path.name
    shutil.copytree(baked.path, project)
    first, _ = databases(database, servers, tmp_path)
    with first as url:
        env = {"DATABASE_URL": url}
        make(project, "migrate", **env)
        run_sql(database, url, EXAMPLE_ROWS)
        Baked(project, baked.package).remove_examples()
        for module in (SETS_DIR / "cards").glob("*.py"):
            shutil.copy(module, project / baked.package / "models" / module.name)
        make(project, "revision", "m=our models", **env)
        make(project, "migrate", **env)
        assert primary_key(database, url, "users") == ["card"]
        make(project, "check", **env)
        make(project, "downgrade", **env)
        assert primary_key(database, url, "users") == ["id"]
        make(project, "migrate", **env)


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_a_key_made_of_other_columns_is_a_change_revision_and_check_see(
    database: str, servers: dict[str, str], request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    # Alembic compares no primary keys: an existing column joining the key (no column
    # added or dropped) went unnoticed by make revision and make check alike.
    baked: Baked = request.getfixturevalue(f"baked_{database}")
    project = Baked(tmp_path / baked.path.name, baked.package)
    shutil.copytree(baked.path, project.path)
    first, _ = databases(database, servers, tmp_path)
    with first as url:
        env = {"DATABASE_URL": url}
        make(project.path, "migrate", **env)
        run_sql(database, url, EXAMPLE_ROWS)
        project.set_field("ItemBase", "sku", "sku: str = Field(max_length=64, primary_key=True)")
        assert "order_items" in make_failing(project.path, "check", **env)
        written = make(project.path, "revision", "m=key items by id and sku", **env)
        assert "DATA LOSS: drops table order_items: created anew below" in written
        make(project.path, "migrate", **env)
        assert set(primary_key(database, url, "order_items")) == {"id", "sku"}
        make(project.path, "check", **env)
        make(project.path, "downgrade", **env)
        assert primary_key(database, url, "order_items") == ["id"]


UUID_USERS = '''"""Users keyed by a UUID the server makes (added by a test)."""

import uuid

from sqlalchemy import text
from sqlmodel import Field, SQLModel


class User(SQLModel, table=True):
    """A user."""

    __tablename__ = "users"

    id: uuid.UUID | None = Field(
        default=None,
        primary_key=True,
        sa_column_kwargs={"server_default": text("gen_random_uuid()")},
    )
    email: str = Field(max_length=200, unique=True)
'''


@pytest.mark.postgres
def test_a_kept_table_name_whose_identity_key_becomes_a_server_made_uuid_is_created_anew(
    baked_postgresql: Baked, postgres_url: str, tmp_path: Path
) -> None:
    # The identity in the database against a server default in the model: Alembic's
    # own comparison asserted that could not happen (a traceback from make revision).
    project = Baked(tmp_path / baked_postgresql.path.name, baked_postgresql.package)
    shutil.copytree(baked_postgresql.path, project.path)
    env = {"DATABASE_URL": postgres_url}
    make(project.path, "migrate", **env)
    project.remove_examples()
    (project.path / project.package / "models" / "user.py").write_text(UUID_USERS)
    written = make(project.path, "revision", "m=our models", **env)
    assert "DATA LOSS: drops table users: created anew below" in written
    make(project.path, "migrate", **env)
    assert postgres_rows(
        postgres_url,
        "SELECT data_type, column_default FROM information_schema.columns "
        "WHERE table_name = 'users' AND column_name = 'id'",
    ) == [("uuid", "gen_random_uuid()")]
    project.alembic("check", **env)
    make(project.path, "downgrade", **env)
    assert primary_key("postgresql", postgres_url, "users") == ["id"]
    make(project.path, "migrate", **env)
