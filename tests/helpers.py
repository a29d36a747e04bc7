"""Baking projects and driving their CLIs, for the tests."""

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
COOKIECUTTER = str(BIN / "cookiecutter")
ALEMBIC = str(BIN / "alembic")
RUFF = str(BIN / "ruff")
TIMEOUT = 300


@dataclass(frozen=True)
class Baked:
    """A generated project: its folder and its import name."""

    path: Path
    package: str

    @property
    def alembic_ini(self) -> Path:
        return self.path / "alembic.ini"

    @property
    def versions(self) -> list[Path]:
        return sorted((self.path / "alembic" / "versions").glob("*.py"))

    def initial_revision(self) -> str:
        """The id of the first revision: the one with no down_revision."""
        for path in self.versions:
            text = path.read_text()
            if re.search(r"^down_revision: .* = None$", text, re.M):
                return re.search(r'^revision: str = "(\w+)"', text, re.M).group(1)
        raise AssertionError("no initial revision")

    def alembic(self, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess:
        """Run the real alembic CLI on this project, from another directory."""
        return run([ALEMBIC, "-c", str(self.alembic_ini), *args], check=check, **env)


def clean_env(**overrides: str) -> dict[str, str]:
    """The test process's environment without the variables projects read, plus overrides."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TEST_DATABASE_URL")}
    env.update(overrides)
    return env


def run(
    command: list[str], check: bool = True, cwd: Path | None = None, **env: str
) -> subprocess.CompletedProcess:
    """Run a command with a clean environment; on failure show its output."""
    # A neutral working directory proves commands do not depend on where they run.
    result = subprocess.run(
        command,
        cwd=cwd or Path("/"),
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{command} exited {result.returncode}\n--- stdout\n{result.stdout}"
            f"\n--- stderr\n{result.stderr}"
        )
    return result


def bake_command(output_dir: Path, *flags: str, **context: str) -> list[str]:
    """The cookiecutter command line that bakes the template with `context`."""
    extra = [f"{key}={value}" for key, value in context.items()]
    return [COOKIECUTTER, "--no-input", *flags, "-o", str(output_dir), str(TEMPLATE), *extra]


def bake(output_dir: Path, **context: str) -> Baked:
    """Bake the template with the real cookiecutter CLI and return the project."""
    run(bake_command(output_dir, **context))
    (path,) = [p for p in output_dir.iterdir() if p.is_dir()]
    (settings,) = path.glob("*/settings.py")
    return Baked(path, settings.parent.name)
