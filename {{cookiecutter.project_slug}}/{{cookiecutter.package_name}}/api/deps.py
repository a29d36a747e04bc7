{%- set engine_type = "AsyncEngine" if cookiecutter.stack == "async" else "Engine" -%}
{%- set session_type = "AsyncSession" if cookiecutter.stack == "async" else "Session" -%}
"""What route handlers ask for: the engine, a session per request, a page of rows."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Path, Query, Request
{%- if cookiecutter.stack == "async" %}
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession
{%- else %}
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session
{%- endif %}

from ..db import get_engine, writing

# The largest id or offset a BIGINT holds: larger ones are refused as invalid input
# (422), not passed on to the database to overflow there.
BIGINT_MAX = 2**63 - 1
PAGE_LIMIT_MAX = 100
# The methods that change nothing: their sessions never ask for the write lock.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


{% if cookiecutter.stack == "sync" -%}
# Both are async on purpose: FastAPI runs a plain `def` dependency in its thread
# pool, a hop per dependency per request. Making the engine or a session does no I/O;
# only closing the session may (its connection goes back to the pool with a
# ROLLBACK), so that one step still runs in the pool.
{% endif -%}
async def database() -> {{ engine_type }}:
    """The engine requests use; the one place tests swap for their own database."""
    return get_engine()


async def session(
    request: Request, engine: Annotated[{{ engine_type }}, Depends(database)]
) -> AsyncIterator[{{ session_type }}]:
    """A session for one request, closed (its connection back in the pool) after it.

    A request that may change rows works in writing(engine) transactions: on SQLite
    they wait their turn for the write lock when they begin, not halfway through.
    Rows stay as committed once their change is (expire_on_commit=False): the answer
    is built from them without reading them again, so another client deleting them
    right after the commit cannot fail it.
    """
    if request.method not in READ_METHODS:
        engine = writing(engine)
    db = {{ session_type }}(engine, expire_on_commit=False)
    try:
        yield db
    finally:
{%- if cookiecutter.stack == "async" %}
        await db.close()
{%- else %}
        await run_in_threadpool(db.close)
{%- endif %}


class Page(BaseModel):
    """Which rows of a list: `limit` is bounded, so no request reads a whole table."""

    offset: int = 0
    limit: int = 50


async def page(
    offset: Annotated[int, Query(ge=0, le=BIGINT_MAX)] = 0,
    limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX)] = 50,
) -> Page:
    return Page(offset=offset, limit=limit)


DatabaseDep = Annotated[{{ engine_type }}, Depends(database)]
SessionDep = Annotated[{{ session_type }}, Depends(session)]
PageDep = Annotated[Page, Depends(page)]
RowId = Annotated[int, Path(ge=1, le=BIGINT_MAX)]
