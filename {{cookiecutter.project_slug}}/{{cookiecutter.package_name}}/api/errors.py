"""HTTP answers to errors: the client's mistakes get 4xx, ours a 500 that tells nothing.

Operations say what went wrong in the service's terms (NotFound and Conflict, from
../errors.py); this maps them to status codes and documents each in the OpenAPI
schema. Database errors never reach a client as text: their messages hold SQL and
parameters.
"""

import json
import logging
from typing import Any, cast

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException
from starlette.routing import Match

from ..errors import Conflict, NotFound

log = logging.getLogger(__name__)


class ErrorBody(BaseModel):
    """Every error but a validation error: one sentence saying what went wrong."""

    detail: str


_DESCRIPTIONS = {
    400: "The body is not JSON",
    401: "A valid bearer token is required",
    404: "A row the request names does not exist",
    409: "The change contradicts rows already there, or met another (send it again)",
    503: "The database is unavailable; retry later",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI documentation of the error codes a route may answer with."""
    return {
        code: {"model": ErrorBody, "description": _DESCRIPTIONS[code]} for code in codes
    }


# The methods a 405's Allow header may name: each route is asked about each.
_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _error(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


async def _not_found(_request: Request, exc: Exception) -> JSONResponse:
    return _error(404, str(exc))


async def _conflict(_request: Request, exc: Exception) -> JSONResponse:
    return _error(409, str(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    exc = cast(HTTPException, exc)  # registered for HTTPException alone
    response = await http_exception_handler(request, exc)
    if exc.status_code == 405:
        # The framework's Allow names the methods of the first route on the path
        # only; a client (and the OpenAPI schema) expects every method the path has.
        # The routes are asked whether each method matches (their `methods` are not
        # reachable: included routers hide them).
        methods = {
            method
            for method in _METHODS
            if any(
                route.matches({**request.scope, "method": method})[0] is Match.FULL
                for route in request.app.router.routes
            )
        }
        response.headers["Allow"] = ", ".join(sorted(methods))
    return response


async def _invalid(_request: Request, exc: Exception) -> JSONResponse:
    # FastAPI's own 422, but an error's `input` only when it is small and printable:
    # a 50 MB name is not sent back, and NaN or a lone surrogate would make the
    # answer itself fail (a 500).
    errors = cast(RequestValidationError, exc).errors()
    return JSONResponse(
        {"detail": jsonable_encoder([_without_large_input(e) for e in errors])},
        status_code=422,
    )


def _without_large_input(error: Any) -> Any:
    error = dict(error)
    try:
        text = json.dumps(error.get("input"), allow_nan=False, ensure_ascii=False)
        small = len(text.encode()) <= 200
    except (TypeError, ValueError, UnicodeEncodeError):
        small = False
    if not small:
        error.pop("input", None)
    return error


async def _value_out_of_range(_request: Request, exc: Exception) -> JSONResponse:
    # A value the validation let through but the column cannot hold: the client's
    # input, so 422 in the shape FastAPI gives every validation error.
    log.warning("The database refused a value: %s", type(exc.__cause__ or exc).__name__)
    error = {
        "loc": ["body"],
        "msg": "a value does not fit its column",
        "type": "value_error",
    }
    return JSONResponse({"detail": [error]}, status_code=422)
{%- if cookiecutter.database == "mysql" %}


# The server's error number for a deadlock (the first of the driver error's args): it
# rolled this transaction back.
_DEADLOCK_ERRNO = 1213
{%- else %}


# SQLSTATEs of a deadlock and of a serialization failure: the server rolled this
# transaction back.
_DEADLOCK_SQLSTATES = {"40P01", "40001"}
{%- endif %}


def _met_another_transaction(exc: Exception) -> bool:
    """Whether the database refused the work because another transaction crossed it
    (a deadlock): the database is up, and the same request may simply be sent again."""
    orig = getattr(exc, "orig", None)
{%- if cookiecutter.database == "mysql" %}
    return bool(getattr(orig, "args", ())[:1] == (_DEADLOCK_ERRNO,))
{%- else %}
    return getattr(orig, "pgcode", None) in _DEADLOCK_SQLSTATES
{%- endif %}


def _driver_said(exc: Exception) -> str:
    """The driver's error and its first line (the lines after it may quote the SQL
    and its parameters): enough to tell a server down from a table missing."""
    orig: BaseException = getattr(exc, "orig", None) or exc
    while orig.__cause__ is not None:  # an async driver's adapter wraps the real one
        orig = orig.__cause__
    first = (str(orig).strip().splitlines() or [""])[0]
    return f"{type(orig).__name__}: {first}"


async def _database_unavailable(_request: Request, exc: Exception) -> JSONResponse:
    if _met_another_transaction(exc):
        log.warning("A transaction met another: %s", _driver_said(exc))
        return _error(409, "the change met another made at once: send it again")
    # Down, or its schema behind this code (/health/ready says which): the driver's
    # words tell them apart.
    log.error("The database failed: %s", _driver_said(exc))
    response = _error(503, "the database is unavailable; retry later")
    response.headers["Retry-After"] = "5"
    return response


async def _internal_error(_request: Request, exc: Exception) -> JSONResponse:
    # The traceback goes to the server's log (uvicorn prints it); the client learns
    # nothing about the code, its SQL or its settings. Starlette raises the error
    # again once this answer is sent, and uvicorn then closes the connection: the
    # answer says so, or a client keeping it alive would send its next request there
    # and have it reset.
    response = _error(500, "internal server error")
    response.headers["Connection"] = "close"
    return response


def install(app: FastAPI) -> None:
    """Register the handlers on an app."""
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(Conflict, _conflict)
    app.add_exception_handler(DataError, _value_out_of_range)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(Exception, _internal_error)
