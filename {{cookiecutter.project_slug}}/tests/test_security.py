"""Only callers with a token get in: every route but /health/* wants one of API_TOKENS.

The routes are read from the app (its OpenAPI schema), not listed here: these hold
for your routes too.
"""

import asyncio
import logging
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import APIRouter
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field
{%- if cookiecutter.stack == "async" %}
from sqlalchemy.ext.asyncio import create_async_engine
{%- else %}
from sqlalchemy import create_engine
{%- endif %}
from starlette.types import ASGIApp, Message

from {{ cookiecutter.package_name }} import settings
from {{ cookiecutter.package_name }}.api import create_app, routes
from {{ cookiecutter.package_name }}.api.__main__ import main
from {{ cookiecutter.package_name }}.api.deps import database
from {{ cookiecutter.package_name }}.api.security import (
    MAX_BODY_BYTES,
    HideCredentials,
    configured_tokens,
    open_api_chosen,
)
from {{ cookiecutter.package_name }}.settings import PROJECT_ROOT, SettingError

TOKENS = ("first-token-0123456789", "second-token-9876543210")
JSON = {"content-type": "application/json"}
# A route of the tests' own beside the app's: the checks hold with no routes yet.
probe = APIRouter()


@probe.get("/probe-for-the-tests")
async def probe_route() -> dict[str, str]:
    return {"status": "in"}


class ProbeBody(BaseModel):
    email: str = Field(max_length=255)
    name: str


BODY_PROBE = "/probe-body-for-the-tests"


@probe.post(BODY_PROBE)
async def probe_body(body: ProbeBody) -> dict[str, str]:
    return {"status": body.name}


APP = create_app(tokens=TOKENS, routers=[probe, *routes.routers()])
# An empty database: a request that gets past the token fails there (503), never 401.
{%- if cookiecutter.stack == "async" %}
APP.dependency_overrides[database] = lambda: create_async_engine("sqlite+aiosqlite://")
{%- else %}
APP.dependency_overrides[database] = lambda: create_engine("sqlite://")
{%- endif %}
GUARDED = [
    (method.upper(), path)
    for path, operations in APP.openapi()["paths"].items()
    if not path.startswith("/health/")
    for method in operations
]
REFUSED = {
    "absent": {},
    "not bearer": {"Authorization": f"Basic {TOKENS[0]}"},
    "empty": {"Authorization": "Bearer "},
    "malformed": {"Authorization": "Bearer\x7f"},
    "wrong": {"Authorization": "Bearer not-a-token"},
    "a prefix": {"Authorization": f"Bearer {TOKENS[0][:-1]}"},
}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(APP) as client:
        yield client


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_the_apps_routes_are_all_checked() -> None:
    assert ("GET", "/probe-for-the-tests") in GUARDED
    served = {path for _, path in GUARDED}
    declared = {
        route.path
        for router in routes.routers()
        for route in router.routes
        if isinstance(route, APIRoute)
    }
    assert declared <= served


@pytest.mark.parametrize(("method", "path"), GUARDED)
def test_every_route_refuses_each_kind_of_bad_token_alike(
    client: TestClient, method: str, path: str
) -> None:
    answers = set()
    for headers in REFUSED.values():
        response = client.request(method, concrete(path), headers=headers, json={})
        assert response.status_code == 401, (method, path, headers)
        assert response.headers["WWW-Authenticate"] == "Bearer"
        answers.add(response.text)
    assert len(answers) == 1  # nothing tells the kinds apart


@pytest.mark.parametrize("token", TOKENS)
def test_each_token_gets_in_and_health_needs_none(
    client: TestClient, token: str
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    response = client.get("/probe-for-the-tests", headers=headers)
    assert response.status_code == 200, response.text
    assert client.get("/health/live").status_code == 200


@pytest.mark.parametrize(
    "path", ["/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"]
)
def test_the_apis_description_is_public_as_docs_api_md_says(
    client: TestClient, path: str
) -> None:
    # The routes and their schemas, no data: clients and schemathesis read them first.
    assert client.get(path).status_code == 200


def test_openapi_declares_the_bearer_scheme_on_every_guarded_route(
    client: TestClient,
) -> None:
    schema = client.get("/openapi.json").json()
    schemes = schema["components"]["securitySchemes"]
    assert [s["scheme"] for s in schemes.values() if s["type"] == "http"] == ["bearer"]
    for method, path in GUARDED:
        operation = schema["paths"][path][method.lower()]
        assert operation["security"] and "401" in operation["responses"], (method, path)
    assert "security" not in schema["paths"]["/health/ready"]["get"]


def test_tokens_never_reach_a_log_line(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client.get("/health/live", headers={"Authorization": f"Bearer {TOKENS[0]}"})
    client.get("/probe-for-the-tests", headers={"Authorization": "Bearer guess"})
    assert caplog.records  # something was logged, and none of it is a token
    assert not any(token in caplog.text for token in (*TOKENS, "guess"))


def test_tokens_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_TOKENS", f" {TOKENS[0]} , {TOKENS[1]},, ")
    assert configured_tokens() == TOKENS


def test_a_short_token_is_refused_without_showing_it(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    no_server: list[dict[str, Any]],
) -> None:
    monkeypatch.setenv("API_TOKENS", f"{TOKENS[0]},abc123")
    assert main([]) == 2 and not no_server
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("Cannot start the API: API_TOKENS holds 1 token(s) under")
    assert "abc123" not in line and TOKENS[0] not in line


@pytest.fixture
def no_server(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """uvicorn.run, which the entry point calls, replaced: main() never serves here.

    Should main() get past its checks, the test fails here instead of starting a real
    server (on port 8000, on every address) that would never return.
    """
    calls: list[dict[str, Any]] = []

    def refuse_to_serve(app: str, **options: Any) -> None:
        calls.append(options)
        raise AssertionError(f"main() tried to serve on {options.get('host')}")

    monkeypatch.setattr(uvicorn, "run", refuse_to_serve)
    return calls


def test_an_open_api_is_refused_beyond_this_machine(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    no_server: list[dict[str, Any]],
) -> None:
    # Set, but blank: no tokens and no choice, whatever .env says.
    monkeypatch.setenv("API_TOKENS", " ")
    monkeypatch.setenv("API_OPEN", "")
    assert main(["--host", "0.0.0.0"]) == 2  # refused before any server starts
    assert not no_server
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "Refusing to serve an open API on 0.0.0.0" in line and "API_OPEN=1" in line


def test_a_variable_set_blank_in_the_environment_ignores_env_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("API_TOKENS=a-token-in-dotenv\nAPI_OPEN=1\n")
    monkeypatch.setattr(settings, "ENV_FILE", env_file)
    monkeypatch.delenv("API_TOKENS", raising=False)
    monkeypatch.delenv("API_OPEN", raising=False)
    assert configured_tokens() == ("a-token-in-dotenv",)  # absent: .env is read
    assert open_api_chosen()
    for blank in ("", " "):  # set, but blank: not set, whatever .env says
        monkeypatch.setenv("API_TOKENS", blank)
        monkeypatch.setenv("API_OPEN", blank)
        assert configured_tokens() == () and not open_api_chosen()


@pytest.mark.parametrize(
    ("caller", "open_by_choice", "status"),
    [
        ("127.0.0.1", "", 200),  # make run: this machine only
        ("::1", "", 200),
        ("192.0.2.10", "", 401),  # any other machine: as if tokens were wrong
        ("192.0.2.10", "1", 200),  # API_OPEN=1: open on purpose
    ],
)
def test_an_app_without_tokens_answers_other_machines_only_when_told(
    monkeypatch: pytest.MonkeyPatch, caller: str, open_by_choice: str, status: int
) -> None:
    # However the app is served (uvicorn app:app, gunicorn), not only through main().
    # The server listens on loopback, as behind a reverse proxy on this machine: the
    # caller's address decides, never the one the server listens on.
    monkeypatch.setenv("API_OPEN", open_by_choice)
    app = create_app(tokens=(), routers=[probe])
    local = "http://127.0.0.1"
    with TestClient(app, base_url=local, client=(caller, 50000)) as client:
        assert client.get("/probe-for-the-tests").status_code == status


def test_a_body_without_a_token_is_refused_unread(client: TestClient) -> None:
    # Malformed JSON: 401 as for any other request without a token, never 422.
    response = client.post(BODY_PROBE, content=b"{not json", headers=JSON)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    # The body is left unread on the connection: the server closes it, and says so
    # (a client's next request on it would wait behind the body).
    assert response.headers["Connection"] == "close"


def called_directly(
    app: ASGIApp,
    headers: list[tuple[str, str]],
    chunks: Iterable[bytes] = (),
    client: str = "127.0.0.1",
) -> tuple[int, dict[str, str], int]:
    """POST BODY_PROBE to `app` as a server calls it, with exactly `headers` (a
    TestClient writes its own Content-Length or Transfer-Encoding) and the body in
    `chunks`: the answer's status and headers, and how many body bytes were read."""
    pending = iter(chunks)
    read, ended = 0, False
    started: list[Message] = []

    async def receive() -> Message:
        nonlocal read, ended
        chunk = next(pending, None)
        if chunk is not None:
            read += len(chunk)
            return {"type": "http.request", "body": chunk, "more_body": True}
        if ended:
            return {"type": "http.disconnect"}
        ended = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            started.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": BODY_PROBE,
        "raw_path": BODY_PROBE.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
        "client": (client, 50000),
        "server": ("127.0.0.1", 8000),
    }

    async def call() -> None:
        await app(scope, receive, send)

    asyncio.run(call())
    (start,) = started
    answer = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return start["status"], answer, read


# Each makes a server read a body (two Transfer-Encoding headers: uvicorn reads it
# chunked), though a first header alone may say there is none.
FRAMINGS = {
    "chunked second": [("Transfer-Encoding", "gzip"), ("Transfer-Encoding", "chunked")],
    "any encoding": [("Transfer-Encoding", "identity")],
    "length second": [("Content-Length", "0"), ("Content-Length", "9")],
}


@pytest.mark.parametrize("framing", FRAMINGS.values(), ids=FRAMINGS.keys())
def test_a_body_however_framed_is_refused_unread_without_a_token(
    framing: list[tuple[str, str]],
) -> None:
    headers = [*JSON.items(), *framing]
    status, answer, read = called_directly(APP, headers, [b"{bad json"])
    assert (status, read) == (401, 0)  # never 422: the body was not even read
    assert answer["connection"] == "close"


@pytest.mark.parametrize(
    "framing", [*FRAMINGS.values(), []], ids=[*FRAMINGS.keys(), "none"]
)
def test_a_body_however_framed_is_bounded_with_a_token(
    framing: list[tuple[str, str]],
) -> None:
    headers = [*JSON.items(), ("Authorization", f"Bearer {TOKENS[0]}"), *framing]
    five_mib = (b"x" * 65536 for _ in range(80))
    status, answer, read = called_directly(APP, headers, five_mib)
    assert status == 413 and answer["connection"] == "close"
    assert read <= MAX_BODY_BYTES + 65536  # stopped once past the limit


def test_a_body_over_the_limit_is_refused_even_with_a_token(
    client: TestClient,
) -> None:
    headers = {**JSON, "Authorization": f"Bearer {TOKENS[0]}"}
    big = b'{"name": "' + b"x" * (MAX_BODY_BYTES + 1) + b'"}'
    refused = client.post(BODY_PROBE, content=big, headers=headers)
    # Unread, the body is still on the connection: the server closes it, and says so.
    assert refused.status_code == 413 and refused.headers["Connection"] == "close"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"name": "'
        for _ in range(MAX_BODY_BYTES // 65536 + 1):
            yield b"x" * 65536
        yield b'"}'

    assert client.post(BODY_PROBE, content=chunks(), headers=headers).status_code == 413


@pytest.mark.parametrize(
    "body",
    [
        b'{"email": "' + b"a" * 5000 + b'@example.com", "name": "A"}',
        b'{"email": NaN, "name": "A"}',
        b'{"email": "\\ud800@example.com", "name": "A"}',
    ],
    ids=["large", "nan", "lone-surrogate"],
)
def test_invalid_input_gets_a_short_422_that_echoes_nothing_large(
    client: TestClient, body: bytes
) -> None:
    headers = {**JSON, "Authorization": f"Bearer {TOKENS[0]}"}
    response = client.post(BODY_PROBE, content=body, headers=headers)
    assert response.status_code == 422, response.text
    assert len(response.content) < 1000


def test_the_access_log_masks_a_token_however_it_is_encoded() -> None:
    mask = HideCredentials(TOKENS)
    token = TOKENS[0]
    partly = f"%{ord(token[0]):02x}{token[1:]}"  # as uvicorn logs it: the raw path
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/users/{partly}/x%0Ay?{partly}", "1.1", 401),
        None,
    )
    assert mask.filter(record)
    line = record.getMessage()
    leaked = token[1:] in line
    assert not leaked  # checked first: a failure here prints no token
    # Masked, never decoded: a decoded %0A would start a forged line.
    assert line == '127.0.0.1:5000 - "GET /users/***/x%0Ay?*** HTTP/1.1" 401'


@pytest.mark.parametrize(
    "sent",
    [
        "/users/Zm9v+YmFy%2FYmF6cXV4==",
        "/users/Zm9v%2bYmFy/YmF6cXV4==",
        "/users/Zm9v+YmFy/YmF6cXV4%3D=",
        "/users?Zm9v+YmFy/YmF6cXV4==",
        "/users?x=1&Zm9v%252BYmFy/YmF6cXV4==",  # encoded twice
        "/users/%25%35%41m9v+YmFy/YmF6cXV4==",  # twice, the hex digits encoded too
        "/users/%252525%35Am9v+YmFy/YmF6cXV4==",  # four times
    ],
)
def test_a_token_with_url_characters_is_masked_however_it_is_sent(sent: str) -> None:
    # What `openssl rand -base64` gives: '/', '+' and '=' are a URL's own characters.
    line = access_line(("Zm9v+YmFy/YmF6cXV4==",), "127.0.0.1:5000", sent)
    assert "YmF6cXV4" not in line and "YmFy" not in line, line


def test_a_token_with_a_space_sent_as_plus_is_masked() -> None:
    line = access_line(("tok en9z",), "127.0.0.1:5000", "/users?tok+en9z")
    assert "en9z" not in line, line


def test_the_client_a_local_proxy_names_is_masked_and_kept_on_one_line() -> None:
    # uvicorn takes the client from X-Forwarded-For when a proxy on this machine sends
    # one: a local client controls that field.
    token = TOKENS[0]
    assert "***" in access_line((token,), f"{token}:0", "/health/live")
    forged = 'a:0 - "GET /admin HTTP/1.1" 200\x85INFO: 6.6.6.6:0'
    line = access_line((token,), forged, "/health/live")
    assert len(line.splitlines()) == 1 and "\x85" not in line


def access_line(tokens: tuple[str, ...], client: str, target: str) -> str:
    """What uvicorn's access log writes for a request, through the filter."""
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        (client, "GET", target, "1.1", 401),
        None,
    )
    assert HideCredentials(tokens).filter(record)
    return record.getMessage()


def test_the_placeholder_token_of_env_example_is_refused(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    no_server: list[dict[str, Any]],
) -> None:
    example = (PROJECT_ROOT / ".env.example").read_text()
    (placeholder,) = re.findall(r"^# API_TOKENS=(.+)$", example, re.MULTILINE)
    monkeypatch.setenv("API_TOKENS", f"a-real-token-0123456789, {placeholder}")
    with pytest.raises(SettingError, match="API_TOKENS"):
        configured_tokens()
    assert main([]) == 2 and not no_server
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("Cannot start the API: API_TOKENS") and "a-real" not in line
