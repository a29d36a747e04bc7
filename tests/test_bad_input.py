"""Through the real cookiecutter CLI: a refused name is one line, and nothing is written.
(Every rule is unit-tested in test_hooks.py; these prove the CLI end of it.)"""

from pathlib import Path

import pytest

from .helpers import bake_command, run

BAD_INPUTS = {
    "slug": ({"project_slug": "my service"}, "project_slug 'my service'"),
    "package": ({"package_name": "alembic"}, "package_name 'alembic'"),
    # A line break would inject lines into the Makefile that run on every `make`.
    "newline": ({"project_name": "Orders\nall:\n\ttouch /tmp/x"}, "project_name contains"),
}


@pytest.mark.parametrize("context, words", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_name_is_refused_cleanly(context: dict[str, str], words: str, tmp_path: Path) -> None:
    output = tmp_path / "out"
    output.mkdir()
    result = run(bake_command(output, **context), check=False)

    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1, result.stderr
    assert words in errors[0]
    assert list(output.iterdir()) == []
