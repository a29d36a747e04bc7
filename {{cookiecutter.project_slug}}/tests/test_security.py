"""Only callers with a token get in: every route but /health/* wants one of API_TOKENS.

The routes are read from the app (its OpenAPI schema), not listed here: these hold
for your routes too.
"""

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import APIRouter
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field
from sqlalchemy import create_engine

from {{ cookiecutter.package_name }}.api import create_app, routes
from {{ cookiecutter.package_name }}.api.__main__ import main
from {{ cookiecutter.package_name }}.api.deps import database
from {{ cookiecutter.package_name }}.api.security import (
    MAX_BODY_BYTES,
    configured_tokens,
)
from {{ cookiecutter.package_name }}.settings import setting

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
APP.dependency_overrides[database] = lambda: create_engine("sqlite://")
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
    monkeypatch.setenv("API_TOKENS", " one , two,, ")
    assert configured_tokens() == ("one", "two")


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
    tmp_path: Path,
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("API_TOKENS=a-token-in-dotenv\nAPI_OPEN=1\n")
    for name, value in (("API_TOKENS", "a-token-in-dotenv"), ("API_OPEN", "1")):
        assert setting(name, {}, env_file)[0] == value  # absent: .env is read
        assert setting(name, {name: ""}, env_file) == ("", name)  # blank: not set
        assert setting(name, {name: " "}, env_file) == ("", name)


@pytest.mark.parametrize(
    ("server", "open_by_choice", "status"),
    [
        ("http://127.0.0.1", "", 200),  # make run: this machine only
        ("http://192.0.2.10", "", 401),  # any other address: as if tokens were wrong
        ("http://192.0.2.10", "1", 200),  # API_OPEN=1: open on purpose
    ],
)
def test_an_app_without_tokens_answers_other_machines_only_when_told(
    monkeypatch: pytest.MonkeyPatch, server: str, open_by_choice: str, status: int
) -> None:
    # However the app is served (uvicorn app:app, gunicorn), not only through main().
    monkeypatch.setenv("API_OPEN", open_by_choice)
    app = create_app(tokens=(), routers=[probe])
    with TestClient(app, base_url=server) as client:
        assert client.get("/probe-for-the-tests").status_code == status


def test_a_body_without_a_token_is_refused_unread(client: TestClient) -> None:
    # Malformed JSON: 401 as for any other request without a token, never 422.
    response = client.post(BODY_PROBE, content=b"{not json", headers=JSON)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


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
