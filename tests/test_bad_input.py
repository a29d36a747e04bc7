"""Through the real cookiecutter CLI: a refused name is one line, and nothing is written.
(Every rule is unit-tested in test_hooks.py; these prove the CLI end of it.)"""

from pathlib import Path

import pytest

from .helpers import bake_command, run

BAD_INPUTS = {
    "slug": ({"project_slug": "my service"}, "project_slug 'my service'"),
    # Refused before cookiecutter creates the folder (local_extensions.py): no a/ left.
    "slug-path": ({"project_slug": "a/b"}, "project_slug 'a/b'"),
    "emoji-name": ({"project_name": "\U0001f600"}, "project_slug ''"),
    "long-name": ({"project_name": "x" * 300}, "at most 64"),
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
    # Ours is one ERROR: line (on stdout for a slug, refused as the folder's name is
    # rendered); after a hook, cookiecutter adds its own "Stopping generation" line.
    printed = (result.stdout + result.stderr).splitlines()
    errors = [line for line in printed if line.startswith("ERROR:")]
    ours = [line for line in errors if "Stopping generation" not in line]
    assert len(ours) == 1, printed
    assert words in ours[0]
    assert list(output.iterdir()) == []
