"""Write the project's first migration: `alembic revision --autogenerate` on a scratch DB.

Runs with cookiecutter's own interpreter, which may lack the project's packages (pipx,
uvx): then the project's own .venv is made and used. Nothing here deletes the project:
when the migration cannot be written, the hook says how to finish and exits 0.
"""

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

# Rendered by cookiecutter; user input arrives as JSON data, never as Python code.
CONTEXT = json.loads(r"""{{ cookiecutter | tojson }}""")

PROJECT = Path.cwd()
VENV = PROJECT / ".venv"
MESSAGE = "initial schema"
# An in-memory SQLite database: no server is needed, whichever database was chosen.
SCRATCH_URL = "sqlite://"
NEEDED_IMPORTS = "import alembic, dotenv, sqlalchemy, sqlmodel"
INSTALL_TIMEOUT = 900
TIMEOUT = 300


class HookFailure(Exception):
    """A step failed; the message says which."""


def run(command: list[str], timeout: int = TIMEOUT, **kwargs) -> str:
    """Run a command in the project and return its output; HookFailure if it fails."""
    try:
        result = subprocess.run(
            command, cwd=PROJECT, capture_output=True, text=True, timeout=timeout, **kwargs
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise HookFailure(f"{shlex.join(command)}: {exc}") from None
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip().splitlines()[-5:]
        raise HookFailure(f"{shlex.join(command)} failed: " + " | ".join(output))
    return result.stdout


def can_migrate(python: Path | str) -> bool:
    """Whether `python` can import what autogenerate needs."""
    try:
        run([str(python), "-c", NEEDED_IMPORTS], timeout=120)
    except HookFailure:
        return False
    return True


def venv_python() -> Path:
    """The interpreter inside the project's .venv."""
    if os.name == "nt":
        return VENV / "Scripts" / "python.exe"
    return VENV / "bin" / "python"


def bootstrap_venv() -> Path:
    """Create .venv with the project and its dev tools installed; remove it on failure."""
    print(f"Installing the project's packages into {VENV} ...")
    python = venv_python()
    try:
        uv = shutil.which("uv")
        if uv:
            run([uv, "venv", "--quiet", "--python", sys.executable, str(VENV)])
            run(
                [uv, "pip", "install", "--quiet", "--python", str(python), "-e", ".[dev]"],
                timeout=INSTALL_TIMEOUT,
            )
        else:
            run([sys.executable, "-m", "venv", str(VENV)])
            run(
                [str(python), "-m", "pip", "install", "--quiet", "-e", ".[dev]"],
                timeout=INSTALL_TIMEOUT,
            )
    except HookFailure:
        # A half-made environment is worse than none: the printed steps start clean.
        shutil.rmtree(VENV, ignore_errors=True)
        raise
    return python


def migration_python() -> Path | str:
    """An interpreter that has the project's packages, making .venv if need be."""
    if can_migrate(sys.executable):
        return sys.executable
    if venv_python().exists() and can_migrate(venv_python()):
        return venv_python()
    return bootstrap_venv()


def existing_revisions() -> list[Path]:
    """Revision files already present (re-baking over a project)."""
    return sorted((PROJECT / "alembic" / "versions").glob("*.py"))


def autogenerate(python: Path | str) -> Path:
    """Run `alembic revision --autogenerate` and return the file it wrote."""
    env = {**os.environ, "DATABASE_URL": SCRATCH_URL}
    alembic = [str(python), "-m", "alembic", "-c", str(PROJECT / "alembic.ini")]
    output = run([*alembic, "revision", "--autogenerate", "-m", MESSAGE], env=env)
    print(output.rstrip())  # what Alembic did, including whether ruff formatted the file
    written = existing_revisions()
    if len(written) != 1:
        raise HookFailure(f"expected one initial revision, found {len(written)}")
    return written[0]


def finish_by_hand(reason: str) -> None:
    """Tell the user exactly how to finish what the hook could not."""
    bin_dir = "Scripts" if os.name == "nt" else "bin"
    print(
        f"\nWARNING: the first migration was not written ({reason}).\n"
        "The project is complete otherwise; finish with:\n\n"
        f"    cd {shlex.quote(str(PROJECT))}\n"
        "    python3 -m venv .venv\n"
        f"    .venv/{bin_dir}/python -m pip install -e '.[dev]'\n"
        f"    DATABASE_URL={SCRATCH_URL} .venv/{bin_dir}/alembic revision --autogenerate "
        f"-m '{MESSAGE}'\n",
        file=sys.stderr,
    )


def remove_docker_files() -> None:
    """Delete the container files when the user answered include_docker=n."""
    if CONTEXT.get("include_docker", "y") != "n":
        return
    for name in ("Dockerfile", "compose.yaml", ".dockerignore"):
        (PROJECT / name).unlink(missing_ok=True)


def main() -> int:
    """Write the initial migration unless the project already has one."""
    remove_docker_files()
    if existing_revisions():
        print("alembic/versions already has revisions: no new initial migration written.")
        return 0
    try:
        revision = autogenerate(migration_python())
    except HookFailure as exc:
        finish_by_hand(str(exc))
        return 0
    print(f"Wrote the first migration: {revision.relative_to(PROJECT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
