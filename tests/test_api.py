"""The generated API, served for real by `make run` and spoken to over a socket."""

import http.client
import json
import shutil
import socket
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from .helpers import (
    FUZZ_CONFIG,
    FUZZ_OPTIONS,
    Baked,
    Server,
    assert_fuzzes_clean,
    assert_readme_session,
    free_port,
    make_run,
    run,
    start_server,
)

TOKEN = "a-token-for-the-fuzzer-0123456789"


def run_migrated(project: Baked, tmp_path: Path, database: str = "", **env: str) -> Server:
    """`make run` on `database` (a SQLite file of the test's own unless given), which
    is migrated first."""
    database = database or f"sqlite:///{tmp_path / 'api.db'}"
    project.alembic("upgrade", "head", DATABASE_URL=database)
    return make_run(project, tmp_path / "server.log", DATABASE_URL=database, **env)


def server_url(backend: str) -> str:
    """The fixture of a fresh database on `backend`'s server."""
    return "postgres_url" if backend == "postgresql" else "mysql_url"


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

    assert_readme_session(server, TOKEN)

    # Property-based fuzzing from the served schema, with the token, on PostgreSQL,
    # which refuses what SQLite lets by (NUL characters, integers beyond BIGINT).
    assert_fuzzes_clean(server, TOKEN)


def test_the_fuzzer_runs_every_check_but_one_in_one_phase() -> None:
    # The served-API tests' schemathesis settings, as schemathesis itself reads them.
    from schemathesis.config import SchemathesisConfig

    assert not any(option.startswith("--checks") for option in FUZZ_OPTIONS)
    project = SchemathesisConfig.from_path(str(FUZZ_CONFIG)).projects.get_default()
    checks = ("not_a_server_error", "negative_data_rejection", "positive_data_acceptance")
    for phase in ("examples", "coverage", "fuzzing", "stateful"):
        chosen = project.checks_config_for(phase=phase)
        off = {name for name in checks if not chosen.get_by_name(name=name).enabled}
        assert off == ({"positive_data_acceptance"} if phase == "coverage" else set()), phase


def exchange(server: Server, request: bytes) -> tuple[bytes, bool]:
    """Send raw `request` on a connection of its own: what the server answers, and
    whether it then closed the connection (False: it kept it open, waiting). Within 2
    seconds: uvicorn closes any connection idle for 5."""
    host, port = server.url.removeprefix("http://").split(":")
    answer = b""
    with socket.create_connection((host, int(port)), timeout=2) as connection:
        connection.sendall(request)
        try:
            while chunk := connection.recv(65536):
                answer += chunk
        except TimeoutError:
            return answer, False
    return answer, True


def test_make_run_without_tokens_serves_this_machine_only_and_says_so(
    baked_sqlite: Baked, tmp_path: Path
) -> None:
    server = run_migrated(baked_sqlite, tmp_path)
    try:
        assert server.call("GET", "/users") == (200, [])  # open, for development
        # Through a reverse proxy on this machine: the client's address decides.
        proxied = b"GET /users HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.5\r\n"
        answer, _ = exchange(server, proxied + b"Connection: close\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 401 "), answer[:200]
    finally:
        log = server.stop()
    (line,) = [line for line in log.splitlines() if "API_TOKENS" in line]
    assert "API_TOKENS is not set: the API on 127.0.0.1:" in line
    assert line.endswith("is open to anyone on this machine")  # as docs/api.md says
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
    # The port in .env, as .env.example shows it, and the database in the environment.
    port = free_port()
    (project.path / ".env").write_text(f"PORT={port}\n")
    database = f"sqlite:///{tmp_path / 'api.db'}"
    project.alembic("upgrade", "head", DATABASE_URL=database)
    command = ["make", "run", f"PYTHON={sys.executable}"]
    server = start_server(command, port, project.path, tmp_path / "log", DATABASE_URL=database)
    try:
        server.wait_until_up()
        assert server.call("GET", "/users") == (200, [])  # no token yet: open
        # As docs/api.md says; the port stays where it is.
        (project.path / ".env").write_text(f"PORT={port}\nAPI_TOKENS={TOKEN}\n")
        deadline = time.monotonic() + 30
        while status_without_token(server) != 401:
            assert time.monotonic() < deadline, "the token in .env never took effect"
            time.sleep(0.3)
        assert server.call("GET", "/users", token=TOKEN) == (200, [])
        # A client that sends the token in the query string: refused, never logged.
        assert server.call("GET", f"/users?limit=5&access_token={TOKEN}")[0] == 401
        # Under any other name, or in the path: a client's mistake, masked all the same.
        assert server.call("GET", f"/users/{TOKEN}?jwt={TOKEN[::-1]}")[0] == 401
        # Partly percent-encoded: masked too (uvicorn 0.55 and later log the raw path).
        assert server.call("GET", f"/users/%{ord(TOKEN[0]):02x}{TOKEN[1:]}")[0] == 401
        # A merge that conflicts on head.txt (docs/teamwork.md): the reload says so in
        # one line, and the app comes back once the conflict is resolved.
        head = project.path / "migrations" / "head.txt"
        resolved = head.read_text()
        head.write_text(f"<<<<<<< ours\n{resolved}=======\nabc\n>>>>>>> theirs\n")
        deadline = time.monotonic() + 30
        while "Cannot start the API: " not in server.log.read_text():
            assert time.monotonic() < deadline, "the broken head.txt was never reported"
            time.sleep(0.3)
        head.write_text(resolved)
        while status_without_token(server) != 401:
            assert time.monotonic() < deadline, "the app never came back"
            time.sleep(0.3)
    finally:
        log = server.stop()
    assert "Traceback" not in log, log
    assert "WatchFiles detected changes in '.env'. Reloading..." in log
    assert "/users?limit=***&access_token=*** HTTP/1.1" in log
    assert "/users/***?jwt=*** HTTP/1.1" in log
    assert TOKEN not in log and TOKEN[::-1] not in log and TOKEN[1:] not in log


BODIES_WITHOUT_A_TOKEN = {
    # uvicorn reads this body as chunked, whichever Transfer-Encoding header came first.
    "two encodings": b"Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"9\r\n{bad json\r\n0\r\n\r\n",
    # Declared, never sent: left on the connection, a next request would wait behind it.
    "never sent": b"Content-Length: 2097152\r\n\r\n",
}


@pytest.mark.parametrize("framing", BODIES_WITHOUT_A_TOKEN.values(), ids=BODIES_WITHOUT_A_TOKEN)
def test_a_body_without_a_token_gets_401_and_its_connection_closed(
    baked_sqlite: Baked, tmp_path: Path, framing: bytes
) -> None:
    server = run_migrated(baked_sqlite, tmp_path, API_TOKENS=TOKEN)
    try:
        head = b"POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        answer, closed = exchange(server, head + framing)
        assert answer.startswith(b"HTTP/1.1 401 "), answer[:200]  # never 422
        assert b"connection: close" in answer.lower() and closed, answer[:400]
    finally:
        log = server.stop()
    assert "Traceback" not in log, log[-4000:]


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


# --- Clients at once, over real sockets ----------------------------------------------


class Client:
    """One keep-alive HTTP connection with the token, as a client library holds one."""

    def __init__(self, server: Server, token: str = TOKEN) -> None:
        host, port = server.url.removeprefix("http://").split(":")
        self.http = http.client.HTTPConnection(host, int(port), timeout=60)
        self.token = token

    def send(self, method: str, path: str, body: object = None) -> tuple[int, Any]:
        """The answer's status and body; the connection stays open unless the server
        says `Connection: close` (then the next request opens a new one)."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"}
        self.http.request(method, path, body=None if body is None else raw, headers=headers)
        response = self.http.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else None


def at_once(server: Server, calls: list[tuple[str, str, object]]) -> list[tuple[int, Any]]:
    """Send every call at the same moment, each on a connection of its own."""
    clients = [Client(server) for _ in calls]
    start = threading.Barrier(len(calls))

    def send(client: Client, call: tuple[str, str, object]) -> tuple[int, Any]:
        start.wait()
        return client.send(*call)

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(send, clients, calls))


def statuses(calls: list[tuple[str, str, object]], answers: list[tuple[int, Any]]) -> set:
    return {(method, status) for (method, _, _), (status, _) in zip(calls, answers, strict=True)}


def race_rounds(server: Server, rounds: int) -> None:
    """docs/api.md's promises under concurrency: a DELETE racing changes to its row,
    or creations of the row's children, always succeeds; the others get 2xx, 404 (the
    row or its parent is gone) or 409 (deleted between being read and being changed),
    never 5xx."""
    client = Client(server)
    for number in range(rounds):
        status, user = client.send(
            "POST", "/users", {"email": f"racer{number}@example.com", "name": "R"}
        )
        assert status == 201, user
        _, order = client.send("POST", f"/users/{user['id']}/orders", {"total": "1.00"})
        _, other = client.send("POST", f"/users/{user['id']}/orders", {"total": "1.00"})

        # Changes to one order racing its deletion.
        patch = ("PATCH", f"/orders/{order['id']}", {"status": "paid"})
        calls = [patch] * 10 + [("DELETE", f"/orders/{order['id']}", None)] + [patch] * 9
        found = statuses(calls, answers := at_once(server, calls))
        assert found <= {("DELETE", 204), ("PATCH", 200), ("PATCH", 404), ("PATCH", 409)}, answers
        assert ("DELETE", 204) in found, answers

        # Items added to an order racing its deletion (the items' cascade).
        calls = [
            ("POST", f"/orders/{other['id']}/items", {"sku": f"S{n}", "unit_price": "1.00"})
            for n in range(19)
        ]
        calls.insert(10, ("DELETE", f"/orders/{other['id']}", None))
        found = statuses(calls, answers := at_once(server, calls))
        assert found <= {("DELETE", 204), ("POST", 201), ("POST", 404)}, answers
        assert ("DELETE", 204) in found, answers

        # Reads, then writes, on one user's orders at once.
        _, order = client.send("POST", f"/users/{user['id']}/orders", {"total": "1.00"})
        calls = [("GET", f"/users/{user['id']}/orders", None)] * 5
        calls += [("PATCH", f"/orders/{order['id']}", {"total": f"{n}.00"}) for n in range(8)]
        calls += [("POST", f"/users/{user['id']}/orders", {"total": "2.00"})] * 7
        found = statuses(calls, answers := at_once(server, calls))
        assert found == {("GET", 200), ("PATCH", 200), ("POST", 201)}, answers

        # A user's deletion racing 19 creations of their orders.
        create = ("POST", f"/users/{user['id']}/orders", {"total": "1.00"})
        calls = [create] * 10 + [("DELETE", f"/users/{user['id']}", None)] + [create] * 9
        found = statuses(calls, answers := at_once(server, calls))
        assert found <= {("DELETE", 204), ("POST", 201), ("POST", 404)}, answers
        assert ("DELETE", 204) in found, answers
        assert client.send("GET", f"/users/{user['id']}/orders")[0] == 404


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.postgres),
        pytest.param("mysql", marks=pytest.mark.mysql),
    ]
)
def served_at_head(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """`make run` with a token on a migrated database of each kind."""
    backend: str = request.param
    project: Baked = request.getfixturevalue(f"baked_{backend}")
    database = "" if backend == "sqlite" else request.getfixturevalue(server_url(backend))
    server = run_migrated(project, tmp_path, database, API_TOKENS=TOKEN)
    try:
        yield server
    finally:
        server.stop()


def test_concurrent_clients_get_the_documented_answers(served_at_head: Server) -> None:
    race_rounds(served_at_head, rounds=5)
    log = served_at_head.stop()
    assert "Traceback" not in log and " 500 " not in log and " 503 " not in log, log[-4000:]


def test_bodies_that_cannot_be_stored_or_echoed_get_422_on_one_connection(
    baked_sqlite: Baked, tmp_path: Path
) -> None:
    server = run_migrated(baked_sqlite, tmp_path, API_TOKENS=TOKEN)
    try:
        client = Client(server)
        status, user = client.send("POST", "/users", {"email": "ada@example.com", "name": "A"})
        assert status == 201, user
        status, order = client.send("POST", f"/users/{user['id']}/orders", {})
        assert status == 201, order
        bodies = [
            ("/users", b'{"email": NaN, "name": "A"}'),
            ("/users", b'{"email": "b@example.com", "name": Infinity}'),
            ("/users", b'{"email": "\\ud800@example.com", "name": "A"}'),
            ("/users", b'{"email": "b@example.com", "name": "\\udfff"}'),
            ("/users", json.dumps({"email": "\u0130" * 200 + "@example.com", "name": "A"})),
            ("/users", json.dumps({"email": "b\u2028@example.com", "name": "A"})),
            (f"/users/{user['id']}/orders", b'{"total": 1e999}'),
            (f"/users/{user['id']}/orders", b'{"total": -Infinity}'),
            (f"/orders/{order['id']}/items", b'{"sku": "A", "unit_price": "1", "quantity": NaN}'),
            (f"/orders/{order['id']}/items", b'{"sku": "\\ud83d", "unit_price": "1"}'),
        ]
        for path, body in bodies:
            raw = body if isinstance(body, bytes) else body.encode()
            # One connection throughout: a 500 would close it, and the next request on
            # it would be reset.
            status, answer = client.send("POST", path, raw)
            assert status == 422, (body, answer)
        assert client.send("GET", "/users")[1] == [user]
    finally:
        log = server.stop()
    assert "Traceback" not in log and " 500 " not in log, log[-4000:]


BUGGY_ROUTE = '''"""A route with a bug, for the tests."""

from fastapi import APIRouter

router = APIRouter()


@router.get("/a-bug")
def a_bug() -> None:
    raise RuntimeError("a bug")
'''


def test_after_a_500_the_client_is_told_to_reconnect(project: Baked, tmp_path: Path) -> None:
    (project.path / project.package / "api" / "routes" / "a_bug.py").write_text(BUGGY_ROUTE)
    server = run_migrated(project, tmp_path, API_TOKENS=TOKEN)
    try:
        client = Client(server)
        for _ in range(3):
            status, answer = client.send("GET", "/a-bug")
            assert status == 500 and answer == {"detail": "internal server error"}
            # The server closes the connection after a 500: it says so, so the client's
            # next request goes on a new one instead of being reset.
            assert client.send("GET", "/users") == (200, [])
    finally:
        log = server.stop()
    assert log.count("RuntimeError: a bug") == 3  # the traceback stays in the log


DEADLOCK_ROUTE = '''"""A route whose transaction meets another in a deadlock, for the tests."""

import threading
import time

from fastapi import APIRouter
from sqlalchemy import text

from ...db import get_engine

router = APIRouter()


@router.post("/a-deadlock")
def a_deadlock() -> None:
    engine = get_engine()
    with engine.begin() as setup:
        setup.execute(text("CREATE TABLE pair (id INT PRIMARY KEY, v INT)"))
        setup.execute(text("INSERT INTO pair VALUES (1, 0), (2, 0)"))
    first, second = engine.connect(), engine.connect()
    failed: list[Exception] = []

    def update(connection, row: int) -> None:
        try:
            connection.execute(text(f"UPDATE pair SET v = v + 1 WHERE id = {row}"))
        except Exception as exc:  # the one the server picks to fail
            failed.append(exc)
            connection.rollback()

    update(first, 1)
    update(second, 2)
    crossing = threading.Thread(target=update, args=(first, 2))
    crossing.start()
    time.sleep(0.3)  # first now waits for second's row: second closes the circle
    update(second, 1)
    crossing.join()
    for connection in (first, second):
        connection.rollback()
        connection.close()
    raise failed[0]
'''


@pytest.mark.parametrize(
    "backend",
    [
        pytest.param("postgresql", marks=pytest.mark.postgres),
        pytest.param("mysql", marks=pytest.mark.mysql),
    ],
)
def test_a_deadlock_is_a_conflict_to_send_again_not_an_outage(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path
) -> None:
    baked: Baked = request.getfixturevalue(f"baked_{backend}")
    project = Baked(tmp_path / baked.path.name, baked.package)
    shutil.copytree(baked.path, project.path)
    routes = project.path / project.package / "api" / "routes"
    (routes / "a_deadlock.py").write_text(DEADLOCK_ROUTE)
    database = request.getfixturevalue(server_url(backend))
    server = run_migrated(project, tmp_path, database, API_TOKENS=TOKEN)
    try:
        status, answer = Client(server).send("POST", "/a-deadlock")
    finally:
        log = server.stop()
    # The database is up: the request met another and may be sent again.
    assert status == 409, (answer, log[-3000:])
    assert "send it again" in answer["detail"]
    assert " 503 " not in log
