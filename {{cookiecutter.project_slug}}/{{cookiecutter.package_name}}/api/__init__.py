"""The HTTP API: `create_app()` builds it; app.py holds the one a server imports.

Serve it with `make run` in development; __main__.py is the server's entry point. The
OpenAPI schema is at /openapi.json and its pages at /docs.
"""

from collections.abc import Iterable
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI

from ..settings import Settings
from . import errors, health, routes, security


def create_app(
    head_file: Path = health.HEAD_FILE,
    tokens: tuple[str, ...] | None = None,
    routers: Iterable[APIRouter] | None = None,
) -> FastAPI:
    """The API, its readiness probe expecting the head recorded in `head_file`.

    `tokens` (default: API_TOKENS) are the bearer tokens every route but /health/*
    requires; with none, the API is open (the entry point decides where that is safe).
    `routers` (default: those of routes/) are served behind the tokens.
    """
    app = FastAPI(
        title={{ cookiecutter.project_name | python_string }},
        description={{ cookiecutter.description | python_string }},
        version="0.1.0",
    )
    app.state.head_revision = health.head_revision(head_file)
    app.state.contract_bases = health.contract_bases(head_file)
    settings = Settings()  # .env read once for both
    if tokens is None:
        tokens = security.configured_tokens(settings)
    app.state.api_tokens = tokens
    app.state.api_open = security.open_api_chosen(settings)
    security.hide_credentials_in_access_log(app.state.api_tokens)
    app.add_middleware(security.BodyGate)
    errors.install(app)
    app.include_router(health.router)
    guarded = [Depends(security.require_token)]
    for router in routes.routers() if routers is None else routers:
        app.include_router(
            router, dependencies=guarded, responses=errors.responses(401)
        )
    return app
