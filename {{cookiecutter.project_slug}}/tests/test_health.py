"""Readiness knows the schema: 200 when the database is at the head revision, or ahead
of it by expand revisions only (a rolling deploy); 503 when it is behind, or when a
contract revision this release does not know has run.

These hold for any models: keep them when the examples go.
"""

import sqlite3
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import make_url, pool
{%- if cookiecutter.stack == "async" %}
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine as Engine
{%- else %}
from sqlalchemy.engine import URL, Engine
{%- endif %}

from {{ cookiecutter.package_name }}.api import create_app
from {{ cookiecutter.package_name }}.api.deps import database
from {{ cookiecutter.package_name }}.api.health import (
    contract_bases,
    head_revision,
)
from {{ cookiecutter.package_name }}.db import create_db_engine
from {{ cookiecutter.package_name }}.settings import SettingError

from .conftest import ALEMBIC_INI, UNREACHABLE_URL

SQLITE = "{{ "sqlite+aiosqlite" if cookiecutter.stack == "async" else "sqlite" }}"


def the_head() -> str:
    """The head revision as Alembic itself computes it from the history."""
    head = ScriptDirectory.from_config(Config(str(ALEMBIC_INI))).get_current_head()
    assert head is not None
    return head


def app_engine(url: str | URL) -> Engine:
    """The app's engine, keeping no connection: each probe's test client runs the app
    anew{% if cookiecutter.stack == "async" %} (on an event loop of its own){% endif %}."""
    return create_db_engine(make_url(url), poolclass=pool.NullPool)


def probe(engine: Engine) -> tuple[int, dict[str, str | None]]:
    # Tokens guard the API, never the probes: the orchestrator has none.
    app = create_app(tokens=("a-token-the-probe-does-not-send",))
    app.dependency_overrides[database] = lambda: engine
    with TestClient(app) as client:
        response = client.get("/health/ready")
    return response.status_code, response.json()


def test_live_answers_without_the_database(tmp_path: Path) -> None:
    app = create_app(tokens=("a-token-the-probe-does-not-send",))
    engine = app_engine(f"{SQLITE}:////no/such/db")
    app.dependency_overrides[database] = lambda: engine
    with TestClient(app) as client:
        assert client.get("/health/live").json() == {"status": "alive"}


def test_ready_at_head(migrated_url: URL) -> None:
    status, body = probe(app_engine(migrated_url))
    assert status == 200, body
    assert body["current"] == body["expected"] == the_head()


def test_not_ready_before_any_migration(tmp_path: Path) -> None:
    status, body = probe(app_engine(f"{SQLITE}:///{tmp_path / 'empty.db'}"))
    assert status == 503
    assert body["current"] is None and body["expected"] == the_head()
    assert "alembic upgrade head" in str(body["detail"])


def test_not_ready_at_another_revision(tmp_path: Path) -> None:
    path = tmp_path / "behind.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num TEXT)")
        connection.execute("INSERT INTO alembic_version VALUES ('0123abcd')")
    status, body = probe(app_engine(f"{SQLITE}:///{path}"))
    assert status == 503
    assert body["current"] == "0123abcd" and body["expected"] == the_head()


def database_ahead(path: Path, *newer: tuple[str, str]) -> Engine:
    """A database where the (revision, phase) pairs ran after this code's head."""
    down = the_head()
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num TEXT)")
        columns = "revision TEXT, down_revision TEXT, phase TEXT"
        connection.execute(f"CREATE TABLE alembic_phases ({columns})")
        connection.execute("INSERT INTO alembic_version VALUES (?)", (newer[-1][0],))
        for revision, phase in newer:
            connection.execute(
                "INSERT INTO alembic_phases VALUES (?, ?, ?)", (revision, down, phase)
            )
            down = revision
    return app_engine(f"{SQLITE}:///{path}")


def test_ready_while_only_expand_revisions_are_ahead(tmp_path: Path) -> None:
    engine = database_ahead(
        tmp_path / "ahead.db", ("aaaa1111", "expand"), ("bbbb2222", "expand")
    )
    status, body = probe(engine)
    assert status == 200, body
    assert "by 2 expand revision(s)" in str(body["detail"])


def test_not_ready_once_a_contract_revision_ran(tmp_path: Path) -> None:
    engine = database_ahead(
        tmp_path / "gone.db", ("aaaa1111", "expand"), ("bbbb2222", "contract")
    )
    status, body = probe(engine)
    assert status == 503
    assert str(body["detail"]).startswith("contract revision bbbb2222 ran")


def test_a_release_needs_none_of_its_own_contract_revisions(tmp_path: Path) -> None:
    # A history ending in two contract revisions: a database below them (the contract
    # step of a rolling deploy not run yet) suits this release; below an expand, not.
    versions = tmp_path / "versions"
    versions.mkdir()
    history = [("a1", None, "expand"), ("b2", "a1", "expand"), ("c3", "b2", "contract")]
    history.append(("d4", "c3", "contract"))
    for revision, down, phase in history:
        (versions / f"{revision}.py").write_text(
            f"revision = {revision!r}\ndown_revision = {down!r}\nphase = {phase!r}\n"
        )
    (tmp_path / "head.txt").write_text("# the head\nd4\n")
    assert contract_bases(tmp_path / "head.txt") == {"c3", "b2"}


def test_not_ready_when_the_database_does_not_answer() -> None:
    # A closed port and a password: the answer says why, and never shows the password.
    engine = app_engine(UNREACHABLE_URL)
    status, body = probe(engine)
    assert status == 503
    assert body["detail"] == "the database does not answer"
    assert "s3cr3t" not in str(body)


def test_the_head_file_names_the_head() -> None:
    assert head_revision() == the_head()


def test_a_missing_head_file_is_refused_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(SettingError, match="make migration-head"):
        create_app(head_file=tmp_path / "head.txt", tokens=())
