"""Who may call the API: a bearer token from API_TOKENS on every route but /health/*.

Tokens are compared in constant time, each of them every time, so an answer's timing
says nothing about how close a guess came. A missing, malformed or wrong token gets
the same 401; no token is ever logged or echoed. Small on purpose: replace it with
your identity provider's scheme when you have one, and keep the same dependency.
"""

import hmac
import ipaddress
import logging
import re
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..settings import setting

TOKENS = "API_TOKENS"
# An explicit choice to serve without tokens beyond this machine (see __main__.py).
OPEN = "API_OPEN"

# auto_error=False: this module gives the one 401, whatever was wrong with the header.
_bearer = HTTPBearer(
    auto_error=False,
    description=f"One of the tokens in {TOKENS} (comma-separated)",
)


# A query parameter whose name says it carries a credential (?access_token=, a common
# client mistake): its value never reaches the access log.
_CREDENTIAL = re.compile(
    r"([?&][^=&]*(?:token|key|secret|password|auth)[^=&]*=)[^&]*", re.IGNORECASE
)


class HideCredentials(logging.Filter):
    """Masks credential-like query values in uvicorn's access log lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn.access logs (client, method, path with query, version, status).
        if isinstance(record.args, tuple) and len(record.args) >= 3:
            args = list(record.args)
            args[2] = _CREDENTIAL.sub(r"\1***", str(args[2]))
            record.args = tuple(args)
        return True


def hide_credentials_in_access_log() -> None:
    """Install HideCredentials on uvicorn's access logger, once."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(found, HideCredentials) for found in access.filters):
        access.addFilter(HideCredentials())


def configured_tokens() -> tuple[str, ...]:
    """The tokens API_TOKENS lists (environment, then .env); () when it is unset."""
    raw, _ = setting(TOKENS)
    return tuple(token.strip() for token in raw.split(",") if token.strip())


def open_api_chosen() -> bool:
    """Whether the operator set API_OPEN to serve without tokens on purpose."""
    value, _ = setting(OPEN)
    return value.lower() in ("1", "true", "yes")


def this_machine_only(host: str) -> bool:
    """Whether `host` is a loopback address, reachable from this machine alone."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _matches(presented: str, tokens: tuple[str, ...]) -> bool:
    given = presented.encode()
    found = False
    for token in tokens:  # every token, every time: no early exit to time
        found |= hmac.compare_digest(given, token.encode())
    return found


async def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Refuse the request unless it carries one of the app's tokens (none: open).

    Async, though it waits on nothing: a plain `def` would cost every request a hop
    through FastAPI's thread pool.
    """
    tokens: tuple[str, ...] = request.app.state.api_tokens
    if not tokens:
        # No tokens: open to this machine (make run), or anywhere by choice
        # (API_OPEN=1); refused to other machines however the app is served.
        host = (request.scope.get("server") or ("",))[0]
        if request.app.state.api_open or this_machine_only(str(host)):
            return
    if credentials is None or not _matches(credentials.credentials, tokens):
        # A new exception each time: a shared one would carry one request's
        # traceback into the next.
        raise HTTPException(
            status_code=401,
            detail="a valid bearer token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
