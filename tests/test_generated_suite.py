"""The generated project's own test suite passes inside the baked project."""

import sys

import pytest

from .helpers import Baked, run


def run_suite(project: Baked, **env: str) -> str:
    result = run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project.path, **env
    )
    return result.stdout


def test_generated_suite_passes_on_sqlite(baked_sqlite: Baked) -> None:
    output = run_suite(baked_sqlite)
    assert " passed" in output
    assert "skipped" not in output and "failed" not in output


@pytest.mark.postgres
def test_generated_suite_passes_on_postgresql(baked_postgresql: Baked, postgres_url: str) -> None:
    output = run_suite(baked_postgresql, TEST_DATABASE_URL=postgres_url)
    assert " passed" in output
    assert "skipped" not in output and "failed" not in output


def test_generated_suite_never_touches_database_url(baked_sqlite: Baked, tmp_path) -> None:
    # DATABASE_URL names a server that does not exist: any use of it would fail.
    run_suite(baked_sqlite, DATABASE_URL="postgresql://nobody:secret@127.0.0.1:1/none")
