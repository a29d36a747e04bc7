"""Fixtures for baking the template with the real cookiecutter CLI and testing the result."""

import fcntl
import os
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg2
import pymysql
import pytest

from .helpers import Baked, bake, baked_in, copy_of, fresh_mysql_database, mysql_connect, run

# The server the PostgreSQL tests create their databases on (trust auth here and in CI).
ADMIN_URL = os.environ.get(
    "TEMPLATE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
# In CI (or when asked) an unreachable server fails the run instead of skipping tests.
POSTGRES_REQUIRED = bool(os.environ.get("CI") or os.environ.get("REQUIRE_POSTGRES"))


def _postgres_error() -> str | None:
    try:
        psycopg2.connect(ADMIN_URL, connect_timeout=5).close()
    except psycopg2.OperationalError as exc:
        return str(exc).strip().splitlines()[0]
    return None


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """A URL of a PostgreSQL server that may create databases."""
    error = _postgres_error()
    if error:
        message = f"PostgreSQL at {ADMIN_URL} is unreachable: {error}"
        if POSTGRES_REQUIRED:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return ADMIN_URL


@contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    """A new, empty database on the admin URL's server (dropped afterwards)."""
    name = f"tpl_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty database for one test; a psycopg2-style URL."""
    with fresh_database(postgres_admin_url) as url:
        yield url


@pytest.fixture
def second_postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """Another fresh database, for tests that compare two."""
    with fresh_database(postgres_admin_url) as url:
        yield url


# The MySQL-family server the MySQL tests create their databases on (here: MariaDB,
# root without a password, as in CI).
MYSQL_ADMIN_URL = os.environ.get("TEMPLATE_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/")
MYSQL_REQUIRED = bool(os.environ.get("CI") or os.environ.get("REQUIRE_MYSQL"))


@pytest.fixture(scope="session")
def mysql_admin() -> str:
    """A URL of a MySQL or MariaDB server that may create databases."""
    try:
        mysql_connect(MYSQL_ADMIN_URL).close()
    except pymysql.MySQLError as exc:
        message = f"MySQL at {MYSQL_ADMIN_URL} is unreachable: {exc.args[-1]}"
        if MYSQL_REQUIRED:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return MYSQL_ADMIN_URL


@pytest.fixture
def mysql_url(mysql_admin: str) -> Iterator[str]:
    """A fresh, empty utf8mb4 database for one test; a bare mysql:// URL."""
    with fresh_mysql_database(mysql_admin) as url:
        yield url


@pytest.fixture
def second_mysql_url(mysql_admin: str) -> Iterator[str]:
    """Another fresh database, for tests that compare two."""
    with fresh_mysql_database(mysql_admin) as url:
        yield url


@contextmanager
def made_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], None]
) -> Iterator[Path]:
    """A folder `make` fills once per test run: under xdist the first worker to ask
    makes it while the others wait on a lock, then every worker reads it (a bake costs
    seconds of CPU, and the workers share two CPUs here)."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        folder = tmp_path_factory.mktemp(name)
        make(folder)
        yield folder
        return
    # Shared by this run's workers only: each run has a base folder of its own.
    root = tmp_path_factory.getbasetemp().parent / "made-once"
    root.mkdir(exist_ok=True)
    folder, done = root / name, root / f"{name}.done"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)  # a failed try's leftovers
            folder.mkdir()
            make(folder)
            done.touch()
        fcntl.flock(lock, fcntl.LOCK_UN)
    yield folder


def shared_bake(tmp_path_factory: pytest.TempPathFactory, name: str, **context: str) -> Baked:
    """A project baked once per test run with `context`, shared read-only by tests."""
    with made_once(tmp_path_factory, name, lambda folder: bake(folder, **context)) as folder:
        return baked_in(folder)


@pytest.fixture(scope="session")
def baked_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Baked:
    """A project baked with every default (SQLite), shared read-only by tests."""
    return shared_bake(tmp_path_factory, "sqlite")


@pytest.fixture(scope="session")
def baked_postgresql(tmp_path_factory: pytest.TempPathFactory) -> Baked:
    """A project baked for PostgreSQL, shared read-only by tests."""
    return shared_bake(tmp_path_factory, "postgresql", database="postgresql")


@pytest.fixture(scope="session")
def baked_without_docker(tmp_path_factory: pytest.TempPathFactory) -> Baked:
    """A SQLite project baked with include_docker=n, shared read-only by tests."""
    return shared_bake(tmp_path_factory, "no-docker", include_docker="n")


@pytest.fixture(scope="session")
def baked_mysql(tmp_path_factory: pytest.TempPathFactory) -> Baked:
    """A project baked for MySQL, shared read-only by tests."""
    return shared_bake(tmp_path_factory, "mysql", database="mysql")


@pytest.fixture(scope="session")
def baked_async(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Baked]:
    """A stack=async project per database, with the API, shared read-only by tests."""
    return {
        database: shared_bake(
            tmp_path_factory, f"async-{database}", database=database, stack="async"
        )
        for database in ("sqlite", "postgresql", "mysql")
    }


@pytest.fixture
def project(baked_sqlite: Baked, tmp_path: Path) -> Baked:
    """A private copy of the default project, for tests that change it."""
    copy = tmp_path / baked_sqlite.path.name
    shutil.copytree(baked_sqlite.path, copy)
    return Baked(copy, baked_sqlite.package)


@pytest.fixture(params=["sync", "async"])
def either_stack(request: pytest.FixtureRequest, tmp_path: Path) -> Baked:
    """A private copy of the SQLite project of each stack (both run on PostgreSQL too):
    for the guards every migration run keeps, whichever driver it goes through."""
    if request.param == "async":
        return copy_of(request.getfixturevalue("baked_async")["sqlite"], tmp_path)
    return copy_of(request.getfixturevalue("baked_sqlite"), tmp_path)


@pytest.fixture(params=["sync", "async"])
def either_stack_mysql(request: pytest.FixtureRequest, tmp_path: Path) -> Baked:
    """A private copy of the MySQL project of each stack."""
    if request.param == "async":
        return copy_of(request.getfixturevalue("baked_async")["mysql"], tmp_path)
    return copy_of(request.getfixturevalue("baked_mysql"), tmp_path)


@pytest.fixture
def mysql_project(baked_mysql: Baked, tmp_path: Path) -> Baked:
    """A private copy of the MySQL project, for tests that change it."""
    copy = tmp_path / baked_mysql.path.name
    shutil.copytree(baked_mysql.path, copy)
    return Baked(copy, baked_mysql.package)


@pytest.fixture(scope="session")
def cookiecutter_alone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The README's first command: a venv (with pip) holding cookiecutter alone."""

    def make(folder: Path) -> None:
        venv = folder / "venv"
        run([sys.executable, "-m", "venv", str(venv)])
        pip = [str(venv / "bin/python"), "-m", "pip", "install", "--quiet"]
        run([*pip, "cookiecutter==2.7.1"])

    with made_once(tmp_path_factory, "cookiecutter-alone", make) as folder:
        venv = folder / "venv"
    lacking = run([str(venv / "bin/python"), "-c", "import sqlmodel"], check=False)
    assert lacking.returncode != 0
    return venv
