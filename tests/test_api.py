"""The generated API, served for real by `make run` and spoken to over a socket."""

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from .helpers import Baked, Server, assert_fuzzes_clean, make_run, run

TOKEN = "a-token-for-the-fuzzer-0123456789"


def compose_healthcheck(project: Baked, port: int) -> list[str]:
    """compose's healthcheck command for the app, aimed at `port` on this machine."""
    app = yaml.safe_load((project.path / "compose.yaml").read_text())["services"]["app"]
    command = app["healthcheck"]["test"]
    assert command[0] == "CMD"
    return [sys.executable, *[part.replace(":8000/", f":{port}/") for part in command[2:]]]


@pytest.fixture
def served(
    baked_postgresql: Baked, postgres_url: str, tmp_path: Path
) -> Iterator[tuple[Server, str]]:
    """`make run` with a token, on a fresh, empty PostgreSQL database (not migrated)."""
    server = make_run(
        baked_postgresql, tmp_path / "server.log", DATABASE_URL=postgres_url, API_TOKENS=TOKEN
    )
    try:
        yield server, postgres_url
    finally:
        server.stop()


@pytest.mark.postgres
def test_served_api_is_ready_only_at_head_and_fuzzes_clean(
    served: tuple[Server, str], baked_postgresql: Baked
) -> None:
    server, database = served
    healthcheck = compose_healthcheck(baked_postgresql, int(server.url.rsplit(":", 1)[1]))
    status, body = server.call("GET", "/health/ready")
    assert status == 503 and body["current"] is None, body
    assert run(healthcheck, check=False).returncode != 0  # compose holds traffic back

    baked_postgresql.alembic("upgrade", "head", DATABASE_URL=database)
    status, body = server.call("GET", "/health/ready")
    assert status == 200 and body["current"] == body["expected"], body
    run(healthcheck)

    # docs/api.md's curl session, over a real socket.
    def call(method: str, path: str, body: object = None) -> tuple[int, dict]:
        return server.call(method, path, body, token=TOKEN)

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

    # Property-based fuzzing from the served schema, with the token, on PostgreSQL,
    # which refuses what SQLite lets by (NUL characters, integers beyond BIGINT).
    assert_fuzzes_clean(server, TOKEN)


def test_make_run_without_tokens_serves_this_machine_only_and_says_so(
    baked_sqlite: Baked, tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path / 'open.db'}"
    baked_sqlite.alembic("upgrade", "head", DATABASE_URL=database)
    server = make_run(baked_sqlite, tmp_path / "server.log", DATABASE_URL=database)
    try:
        assert server.call("GET", "/users") == (200, [])  # open, for development
    finally:
        log = server.stop()
    (line,) = [line for line in log.splitlines() if "API_TOKENS" in line]
    assert "API_TOKENS is not set: the API on 127.0.0.1:" in line and "open" in line
    assert "Uvicorn running on http://127.0.0.1:" in log


def status_without_token(server: Server) -> int | None:
    """GET /users without a token; None while the server is restarting."""
    try:
        return server.call("GET", "/users")[0]
    except OSError:
        return None


def test_make_run_restarts_when_env_changes_so_a_new_token_takes_effect(
    project: Baked, tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path / 'reload.db'}"
    project.alembic("upgrade", "head", DATABASE_URL=database)
    server = make_run(project, tmp_path / "server.log", DATABASE_URL=database)
    try:
        assert server.call("GET", "/users") == (200, [])  # no token yet: open
        (project.path / ".env").write_text(f"API_TOKENS={TOKEN}\n")  # as docs/api.md says
        deadline = time.monotonic() + 30
        while status_without_token(server) != 401:
            assert time.monotonic() < deadline, "the token in .env never took effect"
            time.sleep(0.3)
        assert server.call("GET", "/users", token=TOKEN) == (200, [])
        # A client that sends the token in the query string: refused, never logged.
        assert server.call("GET", f"/users?limit=5&access_token={TOKEN}")[0] == 401
    finally:
        log = server.stop()
    assert "WatchFiles detected changes in '.env'. Reloading..." in log
    assert "/users?limit=5&access_token=*** HTTP/1.1" in log
    assert TOKEN not in log


def test_the_entry_point_refuses_bad_settings_in_one_line(project: Baked) -> None:
    def refusal(**env: str) -> str:
        entry = [sys.executable, "-m", f"{project.package}.api"]
        result = run(entry, cwd=project.path, check=False, **env)
        assert result.returncode == 2
        lines = (result.stdout + result.stderr).strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Cannot start the API:"), lines
        return lines[0]

    line = refusal(DATABASE_URL="postgresql://app:s3cr3t@db@host/app")
    assert "%40" in line and "s3cr3t" not in line
    # Importing the package reads no settings: the head file is checked here, once.
    (project.path / "migrations" / "head.txt").unlink()
    assert "head.txt does not hold one revision" in refusal()
