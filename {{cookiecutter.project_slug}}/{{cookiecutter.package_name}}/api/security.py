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
from urllib.parse import unquote, unquote_plus

from fastapi import Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..settings import SettingError, Settings

TOKENS = "API_TOKENS"
# The example value in .env.example: public, so never a token.
PLACEHOLDER = "replace-with-a-long-random-token"
# Shorter tokens are words or test values, not secrets (token_urlsafe(32) gives 43).
SHORTEST_TOKEN = 16
_MAKE_ONE = 'e.g. python3 -c "import secrets; print(secrets.token_urlsafe(32))"'
# An explicit choice to serve without tokens beyond this machine (see __main__.py).
OPEN = "API_OPEN"
# The largest request body read: the example bodies are a few hundred bytes.
MAX_BODY_BYTES = 1024 * 1024
# A refused body is left unread on the connection, which the server then closes.
_CLOSE = {"Connection": "close"}
_TOO_LARGE = f"the body is over {MAX_BODY_BYTES} bytes"

# auto_error=False: this module gives the one 401, whatever was wrong with the header.
_bearer = HTTPBearer(
    auto_error=False,
    description=f"One of the tokens in {TOKENS} (comma-separated)",
)


class HideCredentials(logging.Filter):
    """Masks what may be a credential in uvicorn's access log lines: every query value
    (?access_token=, ?jwt=, ?sig=... a client's mistake or a signed link), and the
    configured tokens wherever they appear, the path included, however encoded."""

    def __init__(self, tokens: tuple[str, ...]) -> None:
        super().__init__()
        self.tokens = sorted(set(tokens), key=len, reverse=True)
        self.patterns = [_spelled_any_way(token) for token in self.tokens]

    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn.access logs (client, method, path with query, version, status). The
        # client comes from X-Forwarded-For when a proxy on this machine sends one.
        if isinstance(record.args, tuple) and len(record.args) >= 3:
            args = list(record.args)
            args[0] = self._masked(str(args[0]))
            path, mark, query = self._masked(str(args[2])).partition("?")
            args[2] = path + mark + re.sub(r"=[^&;]*", "=***", query)
            record.args = tuple(args)
        return True

    def _masked(self, text: str) -> str:
        # Masked as sent, never decoded: a decoded %0A would start a forged line.
        for pattern in self.patterns:
            text = pattern.sub("***", text)
        # Encoded some other way (hex digits encoded too, '+' for a space, three
        # times...): decoding still finds it, and the whole field goes.
        decoded = {text}
        for _ in range(4):
            decoded |= {unquote(form) for form in decoded}
            decoded |= {unquote_plus(form) for form in decoded}
        if any(token in form for form in decoded for token in self.tokens):
            return "***"
        # Nothing that ends a line, or looks like it does, reaches the log.
        return "".join(c if c.isprintable() else "?" for c in text)


def _spelled_any_way(token: str) -> re.Pattern[str]:
    """A token as a client may send it in a URL: each character as itself, or
    percent-encoded (in either case of hex digits), or encoded twice."""
    forms = []
    for character in token:
        encoded = "".join(f"%{byte:02X}" for byte in character.encode())
        twice = encoded.replace("%", "%25")
        forms.append(f"(?:{re.escape(character)}|{encoded}|{twice})")
    return re.compile("".join(forms), re.IGNORECASE)


def hide_credentials_in_access_log(tokens: tuple[str, ...]) -> None:
    """Install HideCredentials for `tokens` on uvicorn's access logger (in place of
    one an earlier app installed)."""
    access = logging.getLogger("uvicorn.access")
    for found in access.filters[:]:
        if isinstance(found, HideCredentials):
            access.removeFilter(found)
    access.addFilter(HideCredentials(tokens))


def configured_tokens(settings: Settings | None = None) -> tuple[str, ...]:
    """The tokens API_TOKENS lists (environment, then .env); () when it is unset."""
    raw = (settings or Settings()).api_tokens.get_secret_value()
    tokens = tuple(token.strip() for token in raw.split(",") if token.strip())
    # Copied from .env.example unchanged, it would let in anyone who read the example.
    if PLACEHOLDER in tokens:
        raise SettingError(
            f"{TOKENS} holds the placeholder of .env.example: replace it with long "
            f"random tokens, {_MAKE_ONE}"
        )
    short = sum(len(token) < SHORTEST_TOKEN for token in tokens)
    if short:  # counted, never shown
        raise SettingError(
            f"{TOKENS} holds {short} token(s) under {SHORTEST_TOKEN} characters, easy "
            f"to guess: replace them with long random ones, {_MAKE_ONE}"
        )
    return tokens


def open_api_chosen(settings: Settings | None = None) -> bool:
    """Whether the operator set API_OPEN to serve without tokens on purpose."""
    return (settings or Settings()).api_open.strip().lower() in ("1", "true", "yes")


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


def may_call(request_scope: Scope, authorization: str | None) -> bool:
    """Whether a request may use the API: one of its tokens, or none configured and
    the caller on this machine (make run) or everywhere by choice (API_OPEN=1)."""
    state = request_scope["app"].state
    tokens: tuple[str, ...] = state.api_tokens
    if not tokens:
        # The caller's address, not the server's: a server on loopback behind a
        # reverse proxy would let in everyone. Behind a proxy on this machine, that
        # address is the client's only with proxy headers (docs/api.md).
        client = (request_scope.get("client") or ("",))[0]
        return bool(state.api_open) or this_machine_only(str(client))
    scheme, _, credentials = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and _matches(credentials, tokens)


def _refusal(headers: dict[str, str] | None = None) -> HTTPException:
    # A new exception each time: a shared one would carry one request's traceback
    # into the next.
    return HTTPException(
        status_code=401,
        detail="a valid bearer token is required",
        headers={"WWW-Authenticate": "Bearer", **(headers or {})},
    )


async def require_token(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Refuse the request unless it may call the API (see may_call).

    Async, though it waits on nothing: a plain `def` would cost every request a hop
    through FastAPI's thread pool. `_credentials` puts the bearer scheme in the
    OpenAPI schema; the header itself is read by may_call, as BodyGate reads it.
    """
    if not may_call(request.scope, request.headers.get("authorization")):
        raise _refusal()


class BodyGate:
    """ASGI middleware: a request with a body is refused before the body is read.

    FastAPI reads and parses a body before any dependency runs, so without this a
    caller with no token gets 422 for malformed JSON and makes the server hold
    whatever it sends. Here a caller that may not call the API gets the same 401 as
    require_token gives, unread; and any body over MAX_BODY_BYTES gets 413.

    Any Transfer-Encoding header (however many, whatever they say) or any
    Content-Length but 0 means a body: servers differ on which header wins (uvicorn
    reads `gzip` then `chunked` as chunked), so the gate never trusts one of them to
    say there is none. Whatever the headers say, no more than MAX_BODY_BYTES is read.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        lengths = headers.getlist("content-length")
        has_body = bool(headers.getlist("transfer-encoding")) or any(
            length != "0" for length in lengths
        )
        refusal: HTTPException | None = None  # without a body, require_token decides
        if has_body and not may_call(scope, headers.get("authorization")):
            refusal = _refusal(_CLOSE)
        elif has_body and not all(
            n.isascii() and n.isdigit() and int(n) <= MAX_BODY_BYTES for n in lengths
        ):
            refusal = HTTPException(413, _TOO_LARGE, _CLOSE)
        if refusal is not None:
            body = {"detail": refusal.detail}
            response = JSONResponse(body, refusal.status_code, refusal.headers)
            await response(scope, receive, send)
            return
        await self.app(scope, _bounded(receive), send)


def _bounded(receive: Receive) -> Receive:
    """`receive`, stopping a body that grows past MAX_BODY_BYTES (chunked, longer
    than its Content-Length said, or with no header saying there is one)."""
    received = 0

    async def bounded() -> Message:
        nonlocal received
        message = await receive()
        received += len(message.get("body", b""))
        if received > MAX_BODY_BYTES:
            raise HTTPException(413, _TOO_LARGE, _CLOSE)
        return message

    return bounded
