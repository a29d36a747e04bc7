"""The migration runtime's settings reader (migrations/settings.py), in this process: the
template's module rendered in place for each database, no bake, no CLI.

Every setting it refuses is one message naming the setting and the way out, and never
showing a secret. The CLI end of it (that message as Alembic's one FAILED: line, with
no traceback) is proved in test_database_url.py.
"""

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from .helpers import TEMPLATE

SECRET = "s3cr3t-Pa55"
Runtime = Callable[..., ModuleType]


def render(relative: str, **answers: str) -> str:
    """A file of the template rendered as cookiecutter renders it for these answers
    (the others as cookiecutter.json has them)."""
    sys.path.insert(0, str(TEMPLATE))  # the template's Jinja extensions
    try:
        from cookiecutter.environment import StrictEnvironment
        from cookiecutter.generate import generate_context
        from cookiecutter.prompt import prompt_for_config

        context = generate_context(str(TEMPLATE / "cookiecutter.json"), extra_context=answers)
        context["cookiecutter"] = prompt_for_config(context, no_input=True)
        environment = StrictEnvironment(context=context, keep_trailing_newline=True)
        source = (TEMPLATE / "{{cookiecutter.project_slug}}" / relative).read_text()
        return environment.from_string(source).render(cookiecutter=context["cookiecutter"])
    finally:
        sys.path.remove(str(TEMPLATE))


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    """migrations/settings.py of a project for a database, imported from a project root
    of its own (which holds no .env)."""
    loaded: dict[str, ModuleType] = {}

    def load(database: str, stack: str = "sync") -> ModuleType:
        name = f"{database}_{stack}"
        if name not in loaded:
            import importlib.util

            root = tmp_path_factory.mktemp(name)
            path = root / "migrations" / "settings.py"
            path.parent.mkdir()
            path.write_text(render("migrations/settings.py", database=database, stack=stack))
            spec = importlib.util.spec_from_file_location(f"settings_{name}", path)
            assert spec and spec.loader
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module  # dataclasses look their module up
            spec.loader.exec_module(module)
            loaded[name] = module
        return loaded[name]

    return load


def refusal(module: ModuleType, call: Callable[[], object]) -> str:
    """The message of the SettingError `call` raises."""
    with pytest.raises(module.SettingError) as raised:
        call()
    message = str(raised.value)
    assert "\n" not in message and SECRET not in message
    return message


BAD_URLS = {
    "no-scheme": ("not a url", ["DATABASE_URL", "not a database URL"]),
    "bad-port": (f"postgresql://app:{SECRET}@host:port/db", ["DATABASE_URL", "malformed"]),
    "unknown-dialect": (
        "nosuchdb://localhost/x",
        ["DATABASE_URL", "unknown database driver", "nosuchdb"],
    ),
    "unknown-driver": (
        "postgresql+nosuchdriver://localhost/x",
        ["DATABASE_URL", "unknown database driver"],
    ),
    # An explicit driver is respected, not rewritten to psycopg2.
    "driver-not-installed": (
        "postgresql+pg8000://localhost/x",
        ["DATABASE_URL", "pg8000", "not installed"],
    ),
    # A raw @ in the password would make part of it the host, shown in messages.
    "raw-at-in-password": (f"postgresql://app:{SECRET}@x@127.0.0.1:1/db", ["%40"]),
    # A '?' in the password does not end the part before the host.
    "second-at-after-a-question-mark": (
        f"postgresql://app:pa?ss@{SECRET}@127.0.0.1/db",
        ["DATABASE_URL", "%40"],
    ),
    # A backend without this project's guards (lock, timeouts) is refused outright,
    # MySQL too, in a project not made for it.
    "unsupported-backend": (
        "oracle://scott@localhost/x",
        ["DATABASE_URL", "oracle", "postgresql://", "sqlite:///"],
    ),
    "not-this-projects-server": (
        "mysql://root@localhost/x",
        ["DATABASE_URL", "names mysql", "postgresql://"],
    ),
    # What the driver cannot take is found before it connects.
    "port-parameter-not-a-number": (
        f"postgresql://app:{SECRET}@127.0.0.1/db?port=abc",
        ["DATABASE_URL", "driver"],
    ),
    "sqlite-option-not-a-number": ("sqlite:///x.db?timeout=abc", ["driver cannot take"]),
    "sqlite-with-a-host": (f"sqlite://app:{SECRET}@host/x.db", ["host in a SQLite URL"]),
    "port-out-of-range": ("postgresql://app@127.0.0.1:99999/db", ["from 1 to 65535"]),
    "nul-in-a-query-name": (f"postgresql://app@127.0.0.1/db?password%00={SECRET}", ["NUL"]),
    "nul-in-a-sqlite-path": ("sqlite:///x%00y.db", ["NUL character"]),
    "nul-in-the-password": (f"postgresql://app:{SECRET}%00@127.0.0.1:1/app", ["NUL"]),
}


@pytest.mark.parametrize("url, words", BAD_URLS.values(), ids=BAD_URLS.keys())
def test_a_bad_url_is_refused_in_one_message(runtime: Runtime, url: str, words: list[str]) -> None:
    settings = runtime("postgresql")
    message = refusal(settings, lambda: settings.database_url({"DATABASE_URL": url}))
    for word in words:
        assert word in message


BAD_MYSQL_URLS = {
    "driver-not-installed": (
        "mysql+mysqldb://root@localhost/x",
        ["DATABASE_URL", "mysqldb", "not installed"],
    ),
    # MySQL's "utf8" holds 3 bytes a character: refused, not silently mangled.
    "3-byte-charset": ("mysql://root@localhost/x?charset=utf8", ["charset=utf8", "utf8mb4"]),
    "not-this-projects-server": (
        "postgresql://app@localhost/x",
        ["DATABASE_URL", "names postgresql", "mysql://"],
    ),
    # PyMySQL takes the port as given, and would find out connecting.
    "port-not-a-number": (
        f"mysql://app:{SECRET}@127.0.0.1:3306/x?port=abc",
        ["DATABASE_URL", "driver"],
    ),
}


@pytest.mark.parametrize("url, words", BAD_MYSQL_URLS.values(), ids=BAD_MYSQL_URLS.keys())
def test_a_bad_mysql_url_is_refused_in_one_message(
    runtime: Runtime, url: str, words: list[str]
) -> None:
    settings = runtime("mysql")
    message = refusal(settings, lambda: settings.database_url({"DATABASE_URL": url}))
    for word in words:
        assert word in message


@pytest.mark.parametrize("database", ["postgresql", "mysql"])
def test_bare_schemes_get_the_projects_driver_and_relative_sqlite_lands_in_the_project(
    runtime: Runtime, database: str
) -> None:
    settings = runtime(database)
    bare, driver = {
        "postgresql": ("postgres", "postgresql+psycopg2"),
        "mysql": ("mariadb", "mysql+pymysql"),
    }[database]
    assert settings.database_url({"DATABASE_URL": f"{bare}://app@db/x"}).drivername == driver
    sqlite = settings.database_url({"DATABASE_URL": "sqlite:///app.db"})
    assert sqlite.database == str(settings.PROJECT_ROOT / "app.db")
    default = settings.database_url({})  # the runtime's own root holds no .env
    assert default.database == str(settings.DEFAULT_SQLITE_FILE)


@pytest.mark.parametrize("database", ["postgresql", "mysql"])
def test_the_async_stack_gets_asyncio_drivers_and_refuses_blocking_ones(
    runtime: Runtime, database: str
) -> None:
    settings = runtime(database, stack="async")
    bare, driver, blocking = {
        "postgresql": ("postgres", "postgresql+asyncpg", "postgresql+psycopg2"),
        "mysql": ("mariadb", "mysql+asyncmy", "mysql+pymysql"),
    }[database]
    assert settings.database_url({"DATABASE_URL": f"{bare}://app@db/x"}).drivername == driver
    sqlite = settings.database_url({"DATABASE_URL": "sqlite:///app.db"})
    assert sqlite.drivername == "sqlite+aiosqlite"
    assert settings.database_url({}).drivername == "sqlite+aiosqlite"
    for url in (f"{blocking}://app:{SECRET}@db/x", "sqlite+pysqlite:///app.db"):
        environ = {"DATABASE_URL": url}
        message = refusal(settings, lambda environ=environ: settings.database_url(environ))
        assert "which blocks" in message and "stack is async" in message
        assert "sqlite:///" in message


def test_a_password_apart_takes_any_character_and_sqlite_takes_none(runtime: Runtime) -> None:
    settings = runtime("postgresql")
    password = " p@ss:w/rd%?#1 "  # spaces at its ends are part of it too
    environ = {"DATABASE_URL": "postgresql://app@db/x", "DATABASE_PASSWORD": password}
    assert settings.database_url(environ).password == password
    sqlite = {"DATABASE_URL": "sqlite:///pw.db", "DATABASE_PASSWORD": SECRET}
    assert "SQLite takes none" in refusal(settings, lambda: settings.database_url(sqlite))


def test_a_nul_in_the_password_apart_is_refused(runtime: Runtime, tmp_path: Path) -> None:
    # No process environment holds one; .env can.
    env_file = tmp_path / ".env"
    env_file.write_text("DATABASE_URL=postgresql://app@127.0.0.1:1/app\nDATABASE_PASSWORD=a\x00b\n")
    settings = runtime("postgresql")
    message = refusal(settings, lambda: settings.database_url({}, env_file))
    assert "NUL character" in message and "DATABASE_PASSWORD" in message


@pytest.mark.parametrize("value", ["600", "999999h"], ids=["no-unit", "beyond-postgresql"])
def test_timeouts_need_a_unit_and_a_length_postgresql_takes(runtime: Runtime, value: str) -> None:
    # A bare 600 would mean 0.6 s to PostgreSQL; 999999h it would refuse mid-deploy.
    settings = runtime("postgresql")
    environ = {"MIGRATION_WAIT_TIMEOUT": value}
    message = refusal(settings, lambda: settings.migration_limits(environ))
    assert "MIGRATION_WAIT_TIMEOUT" in message and "with a unit, from 1ms to 24 days" in message
    limits = settings.migration_limits({"MIGRATION_WAIT_TIMEOUT": "2min"})
    assert limits.wait_timeout.seconds == 120 and limits.lock_timeout.text == "5s"


def test_a_bad_url_in_env_file_names_the_file(runtime: Runtime, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DATABASE_URL=mysql+nosuch://x/y\n")
    settings = runtime("postgresql")
    message = refusal(settings, lambda: settings.database_url({}, tmp_path / ".env"))
    assert "DATABASE_URL" in message and ".env" in message


@pytest.mark.parametrize("kind", ["folder", "broken-link", "not-utf8", "unreadable"])
def test_an_env_file_that_cannot_be_read_is_refused_not_ignored(
    runtime: Runtime, kind: str, tmp_path: Path
) -> None:
    # Ignored, it would send a PostgreSQL project's migrations to a new SQLite file.
    env_file = tmp_path / ".env"
    if kind == "folder":
        env_file.mkdir()
    elif kind == "broken-link":
        env_file.symlink_to(tmp_path / "secrets" / "missing.env")
    elif kind == "not-utf8":
        env_file.write_bytes(b"DATABASE_URL=sqlite:///caf\xe9.db\n")
    else:  # a file whose read fails (root reads any mode, so not a chmod)
        env_file.symlink_to("/proc/self/mem")
    settings = runtime("postgresql")
    message = refusal(settings, lambda: settings.database_url({}, env_file))
    assert {
        "folder": ".env is not a file",
        "broken-link": ".env is a link to nothing",
        "not-utf8": ".env cannot be read (it is not UTF-8 text)",
        "unreadable": ".env cannot be read (Input/output error)",
    }[kind] in message


@pytest.mark.parametrize(
    "line", ['API_TOKENS="tok-abc', "API_TOKENS tok-abc"], ids=["unclosed-quote", "no-equals"]
)
def test_a_line_of_the_env_file_that_cannot_be_parsed_is_refused(
    runtime: Runtime, line: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Skipped with a warning, it would leave its setting unset: here, the API's tokens.
    env_file = tmp_path / ".env"
    env_file.write_text(f"DATABASE_URL=sqlite:///app.db\n{line}\n")
    settings = runtime("postgresql")
    with caplog.at_level(logging.DEBUG):
        message = refusal(settings, lambda: settings.database_url({}, env_file))
    assert ".env, line 2, is not NAME=value" in message and "tok-abc" not in message
    assert "could not parse" not in caplog.text  # python-dotenv's own warning


def test_env_file_values_are_taken_as_written(runtime: Runtime, tmp_path: Path) -> None:
    # .env.example promises DATABASE_PASSWORD takes any character: ${...} included.
    (tmp_path / ".env").write_text("DATABASE_PASSWORD='pa${HOME}ss$x'\n")
    settings = runtime("postgresql")
    value, source = settings.setting("DATABASE_PASSWORD", {"HOME": "/x"}, tmp_path / ".env")
    assert value == "pa${HOME}ss$x" and ".env" in source


# The tests' guard for the app's database (the project's tests/conftest.py): one
# database, however DATABASE_URL and TEST_DATABASE_URL each spell the way to it.
SAME = {
    "mysql": [
        ("mysql://app:a@localhost:3306/orders", "mysql://app:b@127.0.0.1/orders"),
        ("mysql://app@LOCALHOST/orders", "mariadb://root@127.0.0.1:3306/ORDERS"),
        ("mysql://app@localhost/orders?charset=utf8mb4", "mysql://app@[::1]:3306/orders"),
        ("mysql://app@/orders?unix_socket=/run/mysqld/mysqld.sock", "mysql://app@localhost/orders"),
    ],
    "postgresql": [
        ("postgresql://app@localhost:5432/orders", "postgres://x@127.0.0.1/orders"),
        ("postgresql://app@/orders", "postgresql://app@localhost/orders"),
        ("postgresql://app@db.example:6432/orders", "postgresql://app@DB.example:6432/orders"),
        ("sqlite:///app.db", "sqlite:///./app.db"),
    ],
}
APART = {
    "mysql": [
        ("mysql://app@localhost/orders", "mysql://app@localhost/orders_test"),
        ("mysql://app@localhost/orders", "mysql://app@localhost:3307/orders"),
    ],
    "postgresql": [
        ("postgresql://app@localhost/orders", "postgresql://app@localhost/orders_test"),
        ("postgresql://app@localhost/orders", "postgresql://app@db.example/orders"),
        ("postgresql://app@localhost/orders", "sqlite:///orders"),
        ("sqlite:///app.db", "sqlite:///test.db"),
        ("sqlite://", "sqlite://"),
    ],
}


@pytest.mark.parametrize("database", ["postgresql", "mysql"])
def test_two_spellings_of_one_database_are_the_same_database(
    runtime: Runtime, database: str
) -> None:
    settings = runtime(database)
    for pairs, same in ((SAME[database], True), (APART[database], False)):
        for one, other in pairs:
            urls = [settings.parse_database_url(url) for url in (one, other)]
            assert settings.same_database(*urls) is same, (one, other)
