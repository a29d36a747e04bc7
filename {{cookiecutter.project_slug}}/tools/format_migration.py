"""Format a newly written revision with ruff, when ruff is installed.

Alembic runs this after writing a revision ([post_write_hooks] in alembic.ini):
python -m tools.format_migration PATH

Not Alembic's own `module` hook naming ruff: where ruff is not installed, that fails
the whole revision command ("Could not find module ruff") and skips the head.txt hook.
"""

import shutil
import subprocess
import sys
from pathlib import Path


def find_ruff() -> list[str] | None:
    """The ruff command beside this interpreter, else on PATH, else None."""
    beside = shutil.which("ruff", path=str(Path(sys.executable).parent))
    found = beside or shutil.which("ruff")
    return [found] if found else None


def main(paths: list[str]) -> int:
    """Sort imports and format each path; a missing ruff is not an error."""
    ruff = find_ruff()
    if ruff is None:
        print("ruff is not installed: the new revision is left unformatted.")
        return 0
    # --no-cache: a fresh project should not grow a .ruff_cache from one revision.
    sort_imports = ["check", "--fix", "--select", "I", "--quiet", "--no-cache"]
    for command in (sort_imports, ["format", "--quiet", "--no-cache"]):
        subprocess.run([*ruff, *command, *paths], check=False, timeout=60)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
