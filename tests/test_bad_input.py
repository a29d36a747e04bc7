"""Bad names are refused with one clear line, and nothing is left in the output folder."""

from pathlib import Path

import pytest

from .helpers import bake_command, run

# (context given to cookiecutter, words the one-line error must contain)
BAD_INPUTS = {
    "slug-with-space": ({"project_slug": "my service"}, ["project_slug", "'my service'"]),
    "slug-upper-case": ({"project_slug": "MyService"}, ["project_slug", "lower-case"]),
    "slug-path": ({"project_slug": "../escape"}, ["project_slug", "'../escape'"]),
    "package-not-identifier": (
        {"project_name": "2fa service"},
        ["package_name", "'2fa_service'", "not a Python identifier"],
    ),
    "package-hyphen": ({"package_name": "my-service"}, ["package_name", "identifier"]),
    "package-keyword": ({"package_name": "class"}, ["package_name", "'class'", "keyword"]),
    "package-shadows-alembic": (
        {"package_name": "alembic"},
        ["package_name", "'alembic'", "shadow", "dependency"],
    ),
    "package-shadows-sqlmodel": ({"package_name": "sqlmodel"}, ["'sqlmodel'", "shadow"]),
    "package-shadows-stdlib": (
        {"package_name": "email"},
        ["package_name", "'email'", "standard library"],
    ),
    "package-upper-case": ({"package_name": "MyService"}, ["package_name", "lower-case"]),
    "package-non-ascii": ({"package_name": "café"}, ["package_name", "identifier"]),
}


@pytest.mark.parametrize("context, words", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_name_is_refused_cleanly(
    context: dict[str, str], words: list[str], tmp_path: Path
) -> None:
    output = tmp_path / "out"
    output.mkdir()
    result = run(bake_command(output, **context), check=False)

    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1, result.stderr
    for word in words:
        assert word in errors[0]
    assert "choose" in errors[0] or "use" in errors[0]  # the fix, not just the fault
    assert list(output.iterdir()) == []


def test_unknown_database_is_refused_by_cookiecutter(tmp_path: Path) -> None:
    output = tmp_path / "out"
    output.mkdir()
    result = run(bake_command(output, database="mysql"), check=False)

    assert result.returncode != 0
    assert "mysql" in result.stderr + result.stdout
    assert list(output.iterdir()) == []
