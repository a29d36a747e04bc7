"""The post-generation hook from an environment that has cookiecutter alone (as with
pipx or uvx): it makes the project's own .venv, or says how to finish, never failing."""

import sys
from pathlib import Path

import pytest

from .helpers import (
    SYSTEM_PATH,
    Baked,
    assert_project_works_in_its_venv,
    bake,
    bake_alone,
    bake_command,
    run,
    the_project,
    uv_only_path,
)

UV = Path(sys.executable).parent / "uv"


@pytest.fixture(scope="session")
def stack_without_ruff(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """cookiecutter plus the project's runtime packages, but no ruff anywhere."""
    venv = tmp_path_factory.mktemp("no-ruff") / "venv"
    python = str(venv / "bin/python")
    packages = ["cookiecutter==2.7.1", "sqlmodel", "alembic", "alembic-postgresql-enum"]
    packages += ["alembic-linear-migrations", "python-dotenv", "psycopg2-binary"]
    run([str(UV), "venv", "--quiet", "--python", sys.executable, str(venv)])
    run([str(UV), "pip", "install", "--quiet", "--python", python, *packages])
    return venv


def test_bootstraps_the_project_venv_with_uv(cookiecutter_alone: Path, tmp_path: Path) -> None:
    path = f"{cookiecutter_alone / 'bin'}:{uv_only_path(tmp_path / 'uv-only')}:{SYSTEM_PATH}"
    output = tmp_path / "out"
    result = bake_alone(cookiecutter_alone, output, path)
    assert result.returncode == 0, result.stderr
    project = the_project(output)
    assert len(list((project / "migrations/versions").glob("*.py"))) == 1
    assert_project_works_in_its_venv(project)


def test_without_network_keeps_the_project_and_says_how_to_finish(
    cookiecutter_alone: Path, tmp_path: Path
) -> None:
    path = f"{cookiecutter_alone / 'bin'}:{SYSTEM_PATH}"
    result = bake_alone(cookiecutter_alone, tmp_path, path, PIP_NO_INDEX="1")
    assert result.returncode == 0, result.stderr
    project = the_project(tmp_path)
    assert (project / "alembic.ini").is_file() and (project / "pyproject.toml").is_file()
    assert not (project / ".venv").exists()  # no half-made environment left behind
    assert list((project / "migrations/versions").glob("*.py")) == []
    assert not (project / "uv.lock").exists()
    assert f"cd {project}\n    make lock\n    make install\n" in result.stderr
    assert "revision --autogenerate -m 'initial schema'" in result.stderr
    # The cause itself (pip could not install uv), not pip's "See above for output".
    (reason,) = [line for line in result.stderr.splitlines() if "uv.lock was not written:" in line]
    assert "ERROR:" in reason and "uv" in reason and "See above" not in reason, reason


def test_rebaking_does_not_write_a_second_initial_migration(tmp_path: Path) -> None:
    first = bake(tmp_path)
    (migration,) = first.versions
    result = run(bake_command(tmp_path, "--overwrite-if-exists"))
    assert first.versions == [migration]
    assert "no new initial migration" in result.stdout


def test_generation_needs_no_database_server(tmp_path: Path) -> None:
    """Whatever the baking shell holds for another project (its DATABASE_URL, a
    MIGRATION_DATABASE_URL whose database has tables of its own, a bad time limit), the
    first migration is written against a scratch SQLite."""
    other = tmp_path / "other.db"
    run(
        [
            sys.executable,
            "-c",
            f"import sqlite3; sqlite3.connect({str(other)!r}).execute("
            "'CREATE TABLE legacy_stuff (id INTEGER PRIMARY KEY)')",
        ]
    )
    output = tmp_path / "out"
    run(
        bake_command(output, database="postgresql"),
        DATABASE_URL="postgresql://nobody:secret@127.0.0.1:1/none",
        MIGRATION_DATABASE_URL=f"sqlite:///{other}",
        MIGRATION_LOCK_TIMEOUT="bogus",
    )
    (revision,) = Baked(the_project(output), "").versions
    text = revision.read_text()
    assert "legacy_stuff" not in text and 'op.create_table(\n        "users"' in text


def test_without_ruff_generation_and_revisions_still_work(
    stack_without_ruff: Path, tmp_path: Path
) -> None:
    path = f"{stack_without_ruff / 'bin'}:{SYSTEM_PATH}"
    output = tmp_path / "out"
    result = bake_alone(stack_without_ruff, output, path)
    assert result.returncode == 0, result.stderr
    assert "ruff is not installed" in result.stdout + result.stderr
    project = the_project(output)
    assert not (project / ".venv").exists()  # its own interpreter was enough
    alembic = [str(stack_without_ruff / "bin/alembic"), "-c", str(project / "alembic.ini")]
    run([*alembic, "revision", "-m", "by hand"], PATH=path)
    assert len(list((project / "migrations/versions").glob("*.py"))) == 2
