"""How long a migration run may wait (MIGRATION_*_TIMEOUT), so a deploy fails fast.

Read through the app's settings resolver (environment, then .env), like DATABASE_URL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from {{ cookiecutter.package_name }}.settings import (
    ENV_FILE,
    SettingError,
    setting,
)

# A unit is required: a bare number would silently mean milliseconds to PostgreSQL.
_DURATION = re.compile(r"(\d+)\s*(ms|s|min|h)")
_SECONDS = {"ms": 0.001, "s": 1, "min": 60, "h": 3600}
# PostgreSQL keeps these limits in milliseconds, in a 32-bit integer.
_LONGEST_SECONDS = (2**31 - 1) / 1000


@dataclass(frozen=True)
class Duration:
    """A time limit as PostgreSQL reads it ("5s", "500ms", "2min") and in seconds."""

    text: str
    seconds: float


@dataclass(frozen=True)
class MigrationLimits:
    """The waits a migration run bounds."""

    lock_timeout: Duration  # waiting for a table lock held by another session
    statement_timeout: Duration  # any one statement
    wait_timeout: Duration  # waiting for another replica's migration run to finish


def migration_limits(
    environ: Mapping[str, str] | None = None, env_file: Path = ENV_FILE
) -> MigrationLimits:
    """The time limits of a migration run (MIGRATION_*_TIMEOUT), with safe defaults."""

    def duration(name: str, default: str) -> Duration:
        raw, source = setting(name, environ, env_file)
        if match := _DURATION.fullmatch(raw or default):
            seconds = int(match[1]) * _SECONDS[match[2]]
            if 0 < seconds <= _LONGEST_SECONDS:
                return Duration(f"{match[1]}{match[2]}", seconds)
        raise SettingError(
            f"{source} must be a duration with a unit, from 1ms to 24 days, such "
            f"as 5s, 500ms or 2min; not {raw!r}"
        )

    return MigrationLimits(
        lock_timeout=duration("MIGRATION_LOCK_TIMEOUT", "5s"),
        statement_timeout=duration("MIGRATION_STATEMENT_TIMEOUT", "1min"),
        wait_timeout=duration("MIGRATION_WAIT_TIMEOUT", "10min"),
    )
