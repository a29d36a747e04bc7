"""Baking projects and driving their CLIs, for the tests."""

import ast
import importlib
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
import pymysql
import pytest
from sqlalchemy.engine import make_url

from .forked_cli import ForkedCLI

TEMPLATE = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
COOKIECUTTER = str(BIN / "cookiecutter")
ALEMBIC = str(BIN / "alembic")
RUFF = str(BIN / "ruff")
UV = str(BIN / "uv")
TIMEOUT = 300
FORKED = ForkedCLI(sys.executable, os.environ)
MYPY_CACHE = str(Path(tempfile.gettempdir()) / f"template-tests-mypy-cache-{os.getuid()}")
# PATH without the test venv's bin: what a machine with only the system's tools has.
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
# The tables a migrated database keeps whatever its models: Alembic's, and the phase
# of each applied revision (migrations/phases.py).
BOOKKEEPING = {"alembic_version", "alembic_phases"}
# How the worked examples in docs/examples/ leave down_revision for the user to set.
EXAMPLE_DOWN_REVISION = (
    "down_revision: str | Sequence[str] | None = None  # set to your current head"
)


# What the generated docs/models.md, "Your own models", deletes when the examples go.
EXAMPLE_FILES = (
    "{package}/models/examples.py",
    "{package}/crud.py",
    "{package}/api/routes/examples.py",
    "tests/test_examples.py",
    "tests/test_api.py",
)


@dataclass(frozen=True)
class Baked:
    """A generated project: its folder and its import name."""

    path: Path
    package: str

    @property
    def alembic_ini(self) -> Path:
        return self.path / "alembic.ini"

    @property
    def versions(self) -> list[Path]:
        return sorted((self.path / "migrations" / "versions").glob("*.py"))

    def initial_revision(self) -> str:
        """The id of the first revision: the one with no down_revision."""
        for path in self.versions:
            text = path.read_text()
            if re.search(r"^down_revision: .* = None$", text, re.M):
                return re.search(r'^revision: str = "(\w+)"', text, re.M).group(1)
        raise AssertionError("no initial revision")

    def edit_field(self, model: str, name: str | None, new: str | None) -> None:
        """Edit class `model` of the example models as a developer would: field `name`
        becomes `new` (None: dropped), or with `name` None, `new` is added after its
        last field. Fields are found by parsing the file, whatever its layout."""
        path = self.path / self.package / "models" / "examples.py"
        lines = path.read_text().splitlines(keepends=True)
        tree = ast.parse("".join(lines))
        (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == model]
        fields = [n for n in cls.body if isinstance(n, ast.AnnAssign)]
        if name is None:
            start = end = fields[-1].end_lineno or 0
        else:
            (field,) = [f for f in fields if ast.unparse(f.target) == name]
            start, end = field.lineno - 1, field.end_lineno or 0
        indent = " " * fields[0].col_offset
        added = textwrap.dedent(new or "").splitlines()
        lines[start:end] = [f"{indent}{line}\n" for line in added]
        path.write_text("".join(lines))

    def add_field(self, model: str, field: str) -> None:
        """Add `field` ("phone: str | None = None") to class `model`, after its fields."""
        self.edit_field(model, None, field)

    def drop_field(self, model: str, name: str) -> None:
        """Delete field `name` of class `model`."""
        self.edit_field(model, name, None)

    def set_field(self, model: str, name: str, field: str) -> None:
        """Replace field `name` of class `model` by `field` (a rename, a new type...)."""
        self.edit_field(model, name, field)

    def install_example(self, name: str, down: str, **replace: str) -> str:
        """Copy docs/examples/NAME.py into the history after `down`, as the docs say."""
        text = (self.path / "docs" / "examples" / f"{name}.py").read_text()
        assert EXAMPLE_DOWN_REVISION in text
        text = text.replace(EXAMPLE_DOWN_REVISION, f'down_revision: str | None = "{down}"')
        for old, new in replace.items():
            assert old in text
            text = text.replace(old, new)
        (self.path / "migrations" / "versions" / f"{name}.py").write_text(text)
        return re.search(r'^revision: str = "(\w+)"', text, re.M).group(1)

    def remove_examples(self) -> None:
        """Delete what docs/models.md says goes with the example models."""
        for name in EXAMPLE_FILES:
            (self.path / name.format(package=self.package)).unlink(missing_ok=True)

    def alembic(self, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess:
        """Run the alembic CLI on this project, from another directory, in a process
        forked from one that imported alembic already (forked_cli.py says why)."""
        command = [ALEMBIC, "-c", str(self.alembic_ini), *args]
        result = FORKED.run(command, clean_env(**env), "/", TIMEOUT)
        if result is None:
            return run(command, check=check, **env)
        return checked(command, result, check)


def doc_pages(project: Baked) -> dict[str, str]:
    """The project's own documentation, by path: README.md, then each page in docs/."""
    pages = {"README.md": (project.path / "README.md").read_text()}
    for page in sorted((project.path / "docs").glob("*.md")):
        pages[f"docs/{page.name}"] = page.read_text()
    return pages


def documentation(project: Baked) -> str:
    """The README and every docs page of a bake, as one text: where its facts live."""
    return "\n".join(doc_pages(project).values())


def sections(text: str) -> list[tuple[str, str]]:
    """A Markdown page cut at its `#` and `##` headings: (heading, text under it) in
    order, "" heading the text before the first. Lines in code fences never head."""
    found: list[tuple[str, list[str]]] = [("", [])]
    fenced = False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (heading := re.match(r"#{1,2} (.+)$", line)):
            found.append((heading[1], []))
            continue
        found[-1][1].append(line)
    return [(heading, "\n".join(lines)) for heading, lines in found]


def headings(text: str) -> list[str]:
    """The `#` and `##` headings of a Markdown page, in order."""
    return [heading for heading, _ in sections(text)[1:]]


def doc_section(project: Baked, heading: str) -> str | None:
    """The text under the `#` or `##` heading of that name in the README or a docs
    page, up to the next such heading; None when no page has it."""
    for text in doc_pages(project).values():
        for name, body in sections(text)[1:]:
            if name == heading:
                return body
    return None


def add_revision(project: Baked, rev: str, down: str, upgrade: str, downgrade: str = "pass"):
    """Write a hand-made revision file into the project's history."""
    body = "\n".join(f"    {line}" for line in upgrade.strip().splitlines())
    undo = "\n".join(f"    {line}" for line in downgrade.strip().splitlines())
    (project.path / "migrations" / "versions" / f"{rev}.py").write_text(
        f'"""{rev}"""\n\nimport sqlalchemy as sa\nfrom alembic import op\n\n'
        f'revision = "{rev}"\ndown_revision = "{down}"\nbranch_labels = None\n'
        f"depends_on = None\n\n\ndef upgrade() -> None:\n{body}\n\n\n"
        f"def downgrade() -> None:\n{undo}\n"
    )


def add_slow_revisions(project: Baked, slow_sql: str) -> None:
    """Three revisions after the initial one (slow0..slow2), each creating a table and
    then running `slow_sql`, so that runs started together overlap."""
    down = project.initial_revision()
    for number in range(3):
        rev = f"slow{number}"
        add_revision(
            project,
            rev,
            down,
            f'op.create_table("t{number}", sa.Column("id", sa.Integer, primary_key=True))\n'
            f'op.execute("{slow_sql}")',
            f'op.drop_table("t{number}")',
        )
        down = rev


def upgrade_at_once(project: Baked, database_url: str, replicas: int) -> str:
    """`alembic upgrade head` started by `replicas` processes together, as replicas of a
    deploy do; every one must succeed. Their output, joined."""
    command = [ALEMBIC, "-c", str(project.alembic_ini), "upgrade", "head"]
    env = clean_env(DATABASE_URL=database_url)
    processes = [
        subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(replicas)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0] * replicas, outputs
    return "".join(out + err for out, err in outputs)


SYNC_PROJECT_PYTEST = "-p no:hypothesispytest -p no:schemathesis -p no:asyncio"
ASYNC_PROJECT_PYTEST = "-p no:hypothesispytest -p no:schemathesis"


def clean_env(**overrides: str) -> dict[str, str]:
    """The test process's environment without the variables projects read, plus overrides."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TEST_DATABASE_URL")}
    # A project's pytest run here would load the plugins of this venv, which a project's
    # own venv does not hold: hypothesis and schemathesis cost it ~2 s of imports, and
    # pytest-asyncio only an async project's venv has (ASYNC_PROJECT_PYTEST gives it).
    env["PYTEST_ADDOPTS"] = SYNC_PROJECT_PYTEST
    # One mypy cache for every copy of a project, as a developer's one clone keeps one:
    # mypy checks each module's source hash, so a cached result is never a stale one.
    env["MYPY_CACHE_DIR"] = MYPY_CACHE
    env.update(overrides)
    return env


def run(
    command: list[str], check: bool = True, cwd: Path | None = None, **env: str
) -> subprocess.CompletedProcess:
    """Run a command with a clean environment; on failure show its output."""
    # A neutral working directory proves commands do not depend on where they run.
    result = subprocess.run(
        command,
        cwd=cwd or Path("/"),
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    return checked(command, result, check)


def checked(
    command: list[str], result: subprocess.CompletedProcess, check: bool
) -> subprocess.CompletedProcess:
    """The result of `command`; when `check`, a failure shows its output."""
    if check and result.returncode != 0:
        raise AssertionError(
            f"{command} exited {result.returncode}\n--- stdout\n{result.stdout}"
            f"\n--- stderr\n{result.stderr}"
        )
    return result


def bake_command(output_dir: Path, *flags: str, **context: str) -> list[str]:
    """The cookiecutter command line that bakes the template with `context`."""
    extra = [f"{key}={value}" for key, value in context.items()]
    return [COOKIECUTTER, "--no-input", *flags, "-o", str(output_dir), str(TEMPLATE), *extra]


def bake(output_dir: Path, **context: str) -> Baked:
    """Bake the template with the real cookiecutter CLI and return the project."""
    # Online, uv lock asks the index about every package again even when its cache
    # holds them all: about 2 s of waiting a bake, for the same uv.lock. Offline first,
    # then, where the cache lacks a package (the hook then writes no lock), online.
    result = run(bake_command(output_dir, **context), UV_OFFLINE="1")
    if "uv.lock was not written" in result.stderr:
        shutil.rmtree(baked_in(output_dir).path)
        run(bake_command(output_dir, **context))
    return baked_in(output_dir)


def baked_in(output_dir: Path) -> Baked:
    """The project a bake wrote into `output_dir`."""
    (path,) = [p for p in output_dir.iterdir() if p.is_dir()]
    (service,) = path.glob("*/db.py")  # the service package, whatever its name
    return Baked(path, service.parent.name)


@contextmanager
def imported_from(project: Baked, module: str) -> Iterator[Any]:
    """`module` of a baked project (migrations.mysql...), imported in this process from
    the project's folder; the project's modules leave sys.modules afterwards, so the
    next project's `migrations` is its own."""

    def forget() -> None:
        for name in [n for n in sys.modules if n.split(".")[0] in ("migrations", project.package)]:
            del sys.modules[name]

    forget()
    sys.path.insert(0, str(project.path))
    try:
        yield importlib.import_module(module)
    finally:
        sys.path.remove(str(project.path))
        forget()


def advisory_lock_key(project: Baked) -> str:
    """The PostgreSQL advisory lock key of the project's migration runs, as it computes it."""
    code = f"from migrations.postgresql import lock_key; print(lock_key({project.package!r}))"
    return run([sys.executable, "-c", code], cwd=project.path).stdout.strip()


def copy_of(baked: Baked, tmp_path: Path) -> Baked:
    """A private copy of a shared bake, for a test that changes it."""
    copy = tmp_path / baked.path.name
    shutil.copytree(baked.path, copy)
    return Baked(copy, baked.package)


def bake_alone(venv: Path, output: Path, path: str, **env: str) -> subprocess.CompletedProcess:
    """Bake with a cookiecutter CLI of its own environment, and a chosen PATH."""
    command = bake_command(output)
    command[0] = str(venv / "bin" / "cookiecutter")
    return run(command, check=False, PATH=path, **env)


def the_project(output: Path) -> Path:
    """The one project folder a bake wrote into `output`."""
    (project,) = [p for p in output.iterdir() if p.is_dir()]
    return project


def assert_project_works_in_its_venv(project: Path) -> None:
    """Its own .venv migrates it and passes its suite."""
    python = project / ".venv" / "bin" / "python"
    run([str(project / ".venv/bin/alembic"), "-c", str(project / "alembic.ini"), "upgrade", "head"])
    result = run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project)
    assert " passed" in result.stdout and "failed" not in result.stdout


def failure_line(result: subprocess.CompletedProcess, alone: bool = False) -> str:
    """The one `FAILED:` line of a failed alembic command (the only line, if `alone`)."""
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    failed = [line for line in lines if line.startswith("FAILED:")]
    assert len(failed) == 1, result.stdout + result.stderr
    if alone:
        assert lines == failed, result.stdout + result.stderr
    return failed[0]


def uv_only_path(folder: Path) -> str:
    """A PATH folder holding just uv (the test venv's bin has the project's tools too)."""
    folder.mkdir(exist_ok=True)
    link = folder / "uv"
    if not link.exists():
        link.symlink_to(BIN / "uv")
    return str(folder)


def sqlite_rows(path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as connection:
        return connection.execute(sql).fetchall()


def sqlite_tables(path: Path) -> set[str]:
    return {
        name for (name,) in sqlite_rows(path, "SELECT name FROM sqlite_master WHERE type = 'table'")
    }


def postgres_rows(url: str, sql: str, args: tuple = ()) -> list[tuple]:
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(sql, args)
        return cursor.fetchall() if cursor.description else []


def postgres_tables(url: str) -> set[str]:
    rows = postgres_rows(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {name for (name,) in rows}


def mysql_connect(url: str) -> pymysql.Connection:
    """A PyMySQL connection (autocommit, utf8mb4) to a mysql:// URL."""
    parts = make_url(url)
    return pymysql.connect(
        host=parts.host or "127.0.0.1",
        port=parts.port or 3306,
        user=parts.username or "root",
        password=parts.password or "",
        database=parts.database,
        charset="utf8mb4",
        autocommit=True,
        connect_timeout=5,
    )


@contextmanager
def fresh_mysql_database(
    admin_url: str, character_set: str = "utf8mb4 COLLATE utf8mb4_unicode_ci"
) -> Iterator[str]:
    """A new, empty database on the admin URL's server (dropped afterwards)."""
    name = f"tpl_{uuid.uuid4().hex[:12]}"
    admin = mysql_connect(admin_url)
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET {character_set}")
    try:
        yield f"{admin_url.rstrip('/')}/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


def mysql_rows(url: str, sql: str, args: tuple = ()) -> list[tuple]:
    connection = mysql_connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, args)
            return list(cursor.fetchall()) if cursor.description else []
    finally:
        connection.close()


def mysql_tables(url: str) -> set[str]:
    return {name for (name,) in mysql_rows(url, "SHOW TABLES")}


# --- Servers the tests start (make run, the image's command) ---------------------------

STARTUP_TIMEOUT = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    """A running `make run`: its base URL and, once stopped, what it logged."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def call(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.stop()
            try:
                if self.call("GET", "/health/live")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"make run never answered:\n{self.stop()}")

    def stop(self) -> str:
        if self.process.poll() is None:
            # make, uvicorn's reloader and its server share one process group: Ctrl+C
            # reaches each once. SIGTERM would reach the reloader twice (make passes it
            # on to its children), and a second signal can deadlock the reloader in its
            # signal handler (seen: the server gone, the reloader waiting on a lock).
            os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            # Stuck on its way out: each Python process of the group writes its
            # threads' stacks to the log (PYTHONFAULTHANDLER), for the failure to show.
            os.killpg(self.process.pid, signal.SIGABRT)
            self.process.wait(timeout=10)
            tail = self.log.read_text(errors="replace")[-8000:]
            raise AssertionError(f"the server did not stop within 30 s:\n{tail}") from None
        return self.log.read_text(errors="replace")


def start_server(command: list[str], port: int, cwd: Path, log: Path, **env: str) -> Server:
    """Start a server in a process group of its own, its output in `log` (not a pipe:
    a full pipe would block it)."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=clean_env(PYTHONFAULTHANDLER="1", **env),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Server(f"http://127.0.0.1:{port}", process, log)


def make_run(project: Baked, log: Path, **env: str) -> Server:
    """`make run` on a free port, up and answering."""
    port = free_port()
    server = start_server(
        ["make", "run", f"PORT={port}", f"PYTHON={sys.executable}"], port, project.path, log, **env
    )
    server.wait_until_up()
    return server


def assert_readme_session(server: Server, token: str) -> None:
    """docs/api.md's curl session, over a real socket: every answer as documented."""

    def call(method: str, path: str, body: object = None) -> tuple[int, dict]:
        return server.call(method, path, body, token=token)

    assert server.call("GET", "/users")[0] == 401  # no token
    status, user = call("POST", "/users", {"email": "ada@example.com", "name": "Ada"})
    assert status == 201, user
    status, order = call("POST", f"/users/{user['id']}/orders", {"total": "19.98"})
    assert status == 201 and order["total"] == "19.98", order
    item = {"sku": "BOOK-1", "quantity": 2, "unit_price": "9.99"}
    assert call("POST", f"/orders/{order['id']}/items", item)[0] == 201
    assert call("POST", f"/orders/{order['id']}/items", item)[0] == 409
    assert call("POST", "/users", {"email": "ADA@example.com", "name": "A"})[0] == 409
    assert call("POST", "/users/999999/orders", {})[0] == 404
    assert call("POST", "/users", {"email": "ada"})[0] == 422
    assert call("DELETE", f"/users/{user['id']}")[0] == 204
    assert call("GET", f"/orders/{order['id']}")[0] == 404  # the cascade


# What the checks are is said in this file alone: `--checks` on the command line would
# mark each check it names as chosen there, above anything the file says.
FUZZ_CONFIG = Path(__file__).with_name("schemathesis.toml")
FUZZ_OPTIONS = ("--max-examples", "15", "--seed", "20261126")


def assert_fuzzes_clean(server: Server, token: str) -> None:
    """schemathesis on the served schema with `token`: every check it has (no 500,
    status codes, bodies and headers as documented, invalid input refused, valid input
    accepted, deleted rows gone, routes refusing requests without the token), but one
    false alarm of its coverage phase (tests/schemathesis.toml). Stops the server,
    whose log must hold no traceback, no 500 and no token."""
    fuzz = run(
        [
            str(BIN / "st"),
            "--config-file",
            str(FUZZ_CONFIG),
            "run",
            f"{server.url}/openapi.json",
            "--header",
            f"Authorization: Bearer {token}",
            *FUZZ_OPTIONS,
        ],
        check=False,
    )
    log = server.stop()
    assert fuzz.returncode == 0, fuzz.stdout[-6000:]
    generated = re.search(r"(\d+) generated, (\d+) passed\b", fuzz.stdout)
    assert generated and generated[1] == generated[2], fuzz.stdout[-3000:]
    assert int(generated[1]) > 500
    assert "Traceback" not in log and " 500 " not in log, log[-4000:]
    assert token not in log


# Members of this group must give their password: .ci/run puts a scram-sha-256 line
# for it above the server's trust lines in pg_hba.conf.
CHECKED = "tpl_password_checked"


@contextmanager
def login_role(admin_url: str, database_url: str, name: str, password: str) -> Iterator[None]:
    """A superuser role with `password` for the block, on a server that checks it."""
    with psycopg2.connect(admin_url) as admin, admin.cursor() as cursor:
        cursor.execute(f"DROP ROLE IF EXISTS {name}")
        cursor.execute(
            f"CREATE ROLE {name} LOGIN SUPERUSER PASSWORD %s IN ROLE {CHECKED}", (password,)
        )
    try:
        wrong = database_url.replace("postgres@", f"{name}:not-the-password@", 1)
        try:
            psycopg2.connect(wrong).close()
        except psycopg2.OperationalError:
            pass  # refused: passwords are checked
        else:
            pytest.fail(
                f"the PostgreSQL server accepts any password for members of {CHECKED}: "
                "run .ci/run once (it adds their scram-sha-256 line to pg_hba.conf)",
                pytrace=False,
            )
        yield
    finally:
        with psycopg2.connect(database_url) as owner, owner.cursor() as cursor:
            cursor.execute(f"DROP OWNED BY {name}")
        with psycopg2.connect(admin_url) as admin, admin.cursor() as cursor:
            cursor.execute(f"DROP ROLE {name}")
