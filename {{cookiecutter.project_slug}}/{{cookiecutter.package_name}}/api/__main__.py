"""Serve the API with uvicorn (`--help` lists the options; `make run` uses it).

Settings are checked before the server starts, so a bad DATABASE_URL or a missing
head file is one line here rather than a traceback per worker. So is an open API
(no API_TOKENS) on an address other machines reach: it is refused unless API_OPEN
says so, and on this machine only (the default host) it is allowed, with a warning.
"""

import argparse
import sys
from typing import Any

import uvicorn

from ..settings import PROJECT_ROOT, SettingError, Settings, database_url
from .health import head_revision
from .security import (
    OPEN,
    TOKENS,
    configured_tokens,
    open_api_chosen,
    this_machine_only,
)

DEFAULT_PORT = 8000


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"python -m {__package__}")
    parser.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1")
    parser.add_argument(
        "--port", help=f"default: PORT (environment, then .env), else {DEFAULT_PORT}"
    )
    parser.add_argument(
        "--reload",
        action="store_true",
        help="restart when the code, the migrations or .env change",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = Settings()  # .env read once for every check
        database_url(settings)
        head_revision()
        guarded = bool(configured_tokens(settings))
        open_by_choice = open_api_chosen(settings)
    except SettingError as exc:
        print(f"Cannot start the API: {exc}", file=sys.stderr)
        return 2
    port = args.port or settings.port or str(DEFAULT_PORT)
    # 0 would bind a port the system picks, and anything past 65535 another one.
    if not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
        print(
            f"Cannot start the API: the port must be a number from 1 to 65535 (--port "
            f"or PORT), not {port!r}",
            file=sys.stderr,
        )
        return 2
    args.port = int(port)
    if not guarded and not open_by_choice and not this_machine_only(args.host):
        print(
            f"Refusing to serve an open API on {args.host}: set {TOKENS} (comma-"
            f"separated bearer tokens), or {OPEN}=1 to serve without tokens on purpose",
            file=sys.stderr,
        )
        return 2
    if not guarded:
        print(
            f"{TOKENS} is not set: the API on {args.host}:{args.port} is open to "
            + (
                "anyone on this machine"
                if this_machine_only(args.host)
                else "anyone who can reach it"
            ),
            file=sys.stderr,
        )
    # The whole project folder: uvicorn watches folders, not files, and .env (read
    # once, when the app starts) sits at its root. A new revision rewrites
    # migrations/head.txt: a reload then expects it.
    reload: dict[str, Any] = (
        {
            "reload": True,
            "reload_dirs": [str(PROJECT_ROOT)],
            "reload_includes": ["*.py", "head.txt", ".env"],
        }
        if args.reload
        else {}
    )
    app = "{{ cookiecutter.package_name }}.api.app:app"
    uvicorn.run(app, host=args.host, port=args.port, **reload)
    return 0


if __name__ == "__main__":
    sys.exit(main())
