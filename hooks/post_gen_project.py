"""Lock the project's dependencies (uv.lock), then write its first migration:
`alembic revision --autogenerate` on a scratch database.

Runs with cookiecutter's own interpreter. When that interpreter has the project's
packages, Alembic runs right here, in this process; when it lacks them (cookiecutter
from pipx or uvx), the project's own .venv is made from the lock and Alembic runs there.
Nothing here deletes the project: when a step cannot be done, the hook says why and how
to finish, and exits 0.
"""

import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# Rendered by cookiecutter; user input arrives as JSON data, never as Python code.
CONTEXT = json.loads(r"""{{ cookiecutter | tojson }}""")

MESSAGE = "initial schema"
# An in-memory SQLite database: no server is needed, whichever database was chosen.
SCRATCH_URL = "sqlite://"
NEEDED_MODULES = (
    "alembic",
    "alembic_linear_migrations",
    "alembic_postgresql_enum",
    "dotenv",
    "sqlalchemy",
    "sqlmodel",
)
# The async stack runs Alembic over aiosqlite, on SQLAlchemy's greenlet bridge.
if CONTEXT.get("stack") == "async":
    NEEDED_MODULES += ("aiosqlite", "greenlet")
INSTALL_TIMEOUT = 900
TIMEOUT = 300
DOCKER_FILES = ("Dockerfile", "compose.yaml", ".dockerignore", "docs/docker.md")
# The HTTP API and its tests; the package keeps crud.py, which works without it.
API_FILES = (
    "{{ cookiecutter.package_name }}/api",
    "tests/test_api.py",
    "tests/test_health.py",
    "tests/test_security.py",
    "docs/api.md",
)
# What only one server needs: how its migrations run, and squawk, PostgreSQL's linter.
# A project keeps its server's and SQLite's (the scratch database of `make check`, the
# tests' default).
DATABASE_FILES = {
    "postgresql": (
        "migrations/postgresql.py",
        "tools/lint_migrations.py",
        ".squawk.toml",
        "docs/examples/postgres_concurrent_index.py",
        "docs/examples/postgres_enum.py",
    ),
    "mysql": ("migrations/mysql.py",),
}
# Which of them each answer keeps: a SQLite project's CI also runs on PostgreSQL.
KEPT_DATABASES = {"sqlite": ("postgresql",), "postgresql": ("postgresql",), "mysql": ("mysql",)}


class HookFailure(Exception):
    """A step failed; the message says which, and why."""


def failure_cause(output: str, lines: int = 5) -> str:
    """The lines of a tool's output that say why it failed, joined into one line."""
    text = [line.strip() for line in output.strip().splitlines() if line.strip()]
    # pip ends with "See above for output" and uv with hints: the cause is the error
    # (and, for uv, the chain of causes under it).
    errors = [line for line in text if re.match(r"(ERROR|error|FAILED|cause:)", line)]
    return " | ".join((errors or text)[-lines:]) or "no output"


def run(command: list[str], cwd: Path, timeout: int = TIMEOUT, **kwargs) -> str:
    """Run a command in the project and return its output; HookFailure if it fails."""
    try:
        result = subprocess.run(
            command, cwd=cwd, capture_output=True, text=True, timeout=timeout, **kwargs
        )
    except subprocess.TimeoutExpired:
        raise HookFailure(f"{shlex.join(command)} took longer than {timeout} s") from None
    except OSError as exc:
        raise HookFailure(f"{shlex.join(command)}: {exc}") from None
    if result.returncode != 0:
        cause = failure_cause(result.stderr + "\n" + result.stdout)
        raise HookFailure(f"{shlex.join(command)} failed: {cause}")
    return result.stdout + result.stderr


def has_the_stack() -> bool:
    """Whether this interpreter can import what autogenerate needs (no subprocess)."""
    return all(importlib.util.find_spec(name) for name in NEEDED_MODULES)


def venv_python(project: Path) -> Path:
    """The interpreter inside the project's .venv."""
    if os.name == "nt":
        return project / ".venv" / "Scripts" / "python.exe"
    return project / ".venv" / "bin" / "python"


def find_uv(spare: Path) -> str:
    """uv: on PATH, or in this interpreter, else installed by pip into `spare`."""
    found = shutil.which("uv")
    if found:
        return found
    if importlib.util.find_spec("uv"):
        from uv import find_uv_bin

        return str(find_uv_bin())
    print("Installing uv with pip, to lock the dependencies ...", flush=True)
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(spare), "uv"]
    run(pip, spare, timeout=INSTALL_TIMEOUT)
    return str(spare / "bin" / "uv")


def write_lock(project: Path, spare: Path) -> str | None:
    """Write uv.lock; return the uv that did, or None (and say why) when it cannot."""
    try:
        uv = find_uv(spare)
        run([uv, "lock", "--quiet"], project, timeout=INSTALL_TIMEOUT)
    except HookFailure as exc:
        print(
            f"WARNING: uv.lock was not written: {exc}\n"
            f"Once the package index is reachable, write it with: cd {shlex.quote(str(project))}"
            " && make lock",
            file=sys.stderr,
        )
        return None
    print("Locked the dependencies: uv.lock")
    return uv


def install_from_lock(project: Path, uv: str | None) -> Path:
    """Create .venv from uv.lock (the project and its dev tools); removed on failure."""
    if uv is None:
        raise HookFailure("there is no uv.lock to install from")
    venv = project / ".venv"
    print(f"Creating {venv} from uv.lock ...", flush=True)
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv)}
    try:
        run([uv, "sync", "--locked", "--quiet"], project, timeout=INSTALL_TIMEOUT, env=env)
    except HookFailure:
        # A half-made environment is worse than none: the printed steps start clean.
        shutil.rmtree(venv, ignore_errors=True)
        raise
    return venv_python(project)


def existing_revisions(project: Path) -> list[Path]:
    """Revision files already present (re-baking over a project)."""
    return sorted((project / "migrations" / "versions").glob("*.py"))


def scratch_environment() -> dict[str, str]:
    """What the first revision is written with: the scratch database, whatever the
    shell that baked holds for another project (a MIGRATION_DATABASE_URL there would
    have the revision drop that database's tables). Blank means unset to settings.py."""
    blanked = {name: "" for name in os.environ if name.startswith("MIGRATION_")}
    return {**os.environ, **blanked, "DATABASE_PASSWORD": "", "DATABASE_URL": SCRATCH_URL}


def autogenerate_here(project: Path) -> None:
    """Run Alembic's CLI in this process: no second interpreter to start."""
    from alembic.config import main as alembic

    os.environ.update(scratch_environment())
    argv = ["-c", str(project / "alembic.ini"), "revision", "--autogenerate", "-m", MESSAGE]
    try:
        alembic(argv=argv, prog="alembic")
    except SystemExit as exc:  # Alembic has printed its FAILED: line
        if exc.code:
            raise HookFailure("alembic revision --autogenerate failed (see above)") from None
    except Exception as exc:  # the models could not be imported, say
        cause = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise HookFailure(f"{type(exc).__name__}: {cause}") from None


def autogenerate_in_venv(project: Path, python: Path) -> None:
    """Run `alembic revision --autogenerate` with the project's .venv."""
    env = scratch_environment()
    alembic = [str(python), "-m", "alembic", "-c", str(project / "alembic.ini")]
    output = run([*alembic, "revision", "--autogenerate", "-m", MESSAGE], project, env=env)
    print(output.rstrip())  # what Alembic did, including whether ruff formatted the file


def write_first_migration(project: Path, uv: str | None) -> Path:
    """Autogenerate the initial revision with whichever interpreter has the stack."""
    if has_the_stack():
        autogenerate_here(project)
    else:
        python = venv_python(project)
        if not python.exists():
            python = install_from_lock(project, uv)
        autogenerate_in_venv(project, python)
    written = existing_revisions(project)
    if len(written) != 1:
        raise HookFailure(f"expected one initial revision, found {len(written)}")
    return written[0]


def finish_by_hand(project: Path, reason: str) -> None:
    """Tell the user exactly how to finish what the hook could not."""
    bin_dir = "Scripts" if os.name == "nt" else "bin"
    print(
        f"\nWARNING: the first migration was not written: {reason}\n"
        "The rest of the project is in place; once that is fixed, finish with:\n\n"
        f"    cd {shlex.quote(str(project))}\n"
        + ("" if (project / "uv.lock").exists() else "    make lock\n")
        + "    make install\n"
        f"    DATABASE_URL={SCRATCH_URL} MIGRATION_DATABASE_URL= .venv/{bin_dir}/alembic "
        "revision --autogenerate "
        f"-m '{MESSAGE}'\n",
        file=sys.stderr,
    )


def remove_unwanted_files(project: Path) -> None:
    """Delete what the user answered no to: the API, the container files, and the
    code of databases the project does not run on."""
    kept = KEPT_DATABASES[CONTEXT.get("database", "sqlite")]
    unwanted = [
        path for name, paths in DATABASE_FILES.items() if name not in kept for path in paths
    ]
    if CONTEXT.get("include_api", "y") == "n":
        unwanted += API_FILES
    if CONTEXT.get("include_docker", "y") == "n":
        unwanted += DOCKER_FILES
    for name in unwanted:
        path = project / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def main(project: Path | None = None) -> int:
    """Lock the dependencies, then write the initial migration unless there is one."""
    project = project or Path.cwd()
    remove_unwanted_files(project)
    with tempfile.TemporaryDirectory() as spare:
        uv = write_lock(project, Path(spare))
        if existing_revisions(project):
            print("migrations/versions already has revisions: no new initial migration written.")
            return 0
        try:
            revision = write_first_migration(project, uv)
        except HookFailure as exc:
            finish_by_hand(project, str(exc))
            return 0
    print(f"Wrote the first migration: {revision.relative_to(project)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
