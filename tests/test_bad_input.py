"""Awkward input through the real command lines: cookiecutter's and the project's make.

A refused name is one line and nothing is written (every rule is unit-tested in
test_hooks.py; these prove the CLI end of it); an accepted answer bakes valid files;
any text given to make is passed on as text, and any revision message makes a revision
that compiles.
"""

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from .helpers import SYSTEM_PATH, Baked, bake, bake_command, run, sqlite_rows

BAD_INPUTS = {
    "slug": ({"project_slug": "my service"}, "project_slug 'my service'"),
    # Refused before cookiecutter creates the folder (local_extensions.py): no a/ left.
    "slug-path": ({"project_slug": "a/b"}, "project_slug 'a/b'"),
    "emoji-name": ({"project_name": "\U0001f600"}, "project_slug ''"),
    "long-name": ({"project_name": "x" * 300}, "at most 64"),
    "package": ({"package_name": "alembic"}, "package_name 'alembic'"),
    # What every virtual environment installs: the package could never be imported.
    "package-pip": ({"package_name": "pip"}, "package_name 'pip'"),
    "package-setuptools": ({"package_name": "setuptools"}, "package_name 'setuptools'"),
    "package-distutils-hack": ({"package_name": "_distutils_hack"}, "'_distutils_hack'"),
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
    assert "choose another" in ours[0] or "use" in ours[0]  # the fix, not just the fault
    # Cookiecutter's own traceback of the failed hook says nothing ours did not.
    assert "Traceback" not in result.stdout + result.stderr, printed
    assert len(printed) <= 3, printed
    assert list(output.iterdir()) == []


def test_any_unicode_text_answer_bakes_a_valid_pyproject(tmp_path: Path) -> None:
    # TOML escapes only control characters; JSON's \ud83d\ude00 (a surrogate pair) for
    # an emoji is not a TOML escape at all, so tojson wrote a file nothing could read.
    answers = {
        "description": 'Orders \U0001f600 <&> it\'s a "quoted" C:\\path, ünïcode',
        "author_name": "Zoë \U0001f680 O'Brien",
        "author_email": "zoë@example.com",
    }
    baked = bake(tmp_path, **answers)
    project = tomllib.loads((baked.path / "pyproject.toml").read_text())["project"]
    assert project["description"] == answers["description"]
    assert project["authors"] == [
        {"name": answers["author_name"], "email": answers["author_email"]}
    ]


# --- make: what a developer types is text, never make code or shell code -------------

NOTE_MODEL = '''"""Notes (added by a test)."""

from sqlmodel import Field, SQLModel


class Note(SQLModel, table=True):
    """A note (added by a test)."""

    id: int | None = Field(default=None, primary_key=True)
    body: str = Field(max_length=200)
'''
PYTHON = f"PYTHON={sys.executable}"


def make(project: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run make in the project folder, with only the system's tools on PATH."""
    return run(["make", *args, PYTHON], check=check, cwd=project, PATH=SYSTEM_PATH)


# (message given as m=..., what the revision's docstring and `make history` show)
MESSAGES = {
    "triple-quotes": ('add """notes""" table', 'add """notes""" table'),
    "backslash-N": (r"add \N notes", r"add \N notes"),
    "windows-path": (r"notes from C:\Users\me", r"notes from C:\Users\me"),
    "ends-in-backslash": ("notes \\", "notes \\"),
    "ends-in-quote": ('add "notes"', 'add "notes"'),
    "starts-with-quote": ('"notes" table', '"notes" table'),
    "single-quote": ("add user's notes", "add user's notes"),
    "leading-dashes": ("--notes", "--notes"),
    "leading-dashes-words": ("--add notes", "--add notes"),
    # make would cut the command at a line break: the message is one line.
    "newline": ("add\nnotes", "add notes"),
    "control-character": ("add\x1bnotes", "add\x1bnotes"),
    "make-and-shell": ("$(shell echo hi) `id` $$HOME ${x}", "$(shell echo hi) `id` $$HOME ${x}"),
}


@pytest.mark.parametrize("message, shown", MESSAGES.values(), ids=MESSAGES.keys())
def test_any_message_makes_a_revision_that_compiles(
    project: Baked, message: str, shown: str
) -> None:
    initial = project.initial_revision()
    make(project.path, "migrate")
    (project.path / project.package / "models" / "notes.py").write_text(NOTE_MODEL)

    make(project.path, "revision", f"m={message}")

    (new,) = [path for path in project.versions if initial not in path.name]
    text = new.read_text()
    compile(text, str(new), "exec")
    docstring = ast.get_docstring(ast.parse(text))
    assert docstring and docstring.split("\n\nRevision ID:")[0].strip() == shown.strip(), text
    history = make(project.path, "history")
    assert "Traceback" not in history.stdout + history.stderr
    assert f"(head), {shown.strip()}" in history.stdout


# Variables that carry a developer's text (a message, a revision id, a flag, a port),
# and a target that reads each. PYTHON, VENV and UV name programs make runs: their
# values are commands by design.
USER_TEXT = {
    "m": "revision",
    "ONTO": "rebase-migration",
    "FORCE": "rebase-migration",
    "PORT": "run",
    "DRIFT_DATABASE_URL": "check",  # docs/configuration.md hands it to `make check`
    "ANY_NAME": "history",  # a variable no recipe reads is handed on all the same
    "name": "history",  # any name at all, the Makefile's own helpers' included
    "plain": "history",
}


@pytest.mark.parametrize("variable, target", USER_TEXT.items(), ids=USER_TEXT.keys())
def test_a_shell_call_given_to_make_is_never_run(
    project: Baked, tmp_path: Path, variable: str, target: str
) -> None:
    marker = tmp_path / "marker"
    given = f"{variable}=$(shell touch {marker})"
    # Make hands command-line variables to every command it runs, expanding them as it
    # does: any target would do, `make help` included.
    make(project.path, "help", given)
    make(project.path, "-n", target, given)
    make(project.path, target, given, check=False)  # refused: not a revision or port
    assert not marker.exists()


def test_a_shell_call_in_a_path_given_to_make_stays_text(project: Baked, tmp_path: Path) -> None:
    # HOME names where uv is put when there is none on PATH (a folder with a space in
    # it is common); MAKEFILE_LIST, which files `make help` reads.
    marker = tmp_path / "marker"
    make(project.path, "-n", "install", f"HOME={tmp_path}/my home $(touch {marker})")
    make(project.path, "help", f"MAKEFILE_LIST=Makefile;touch {marker}", check=False)
    assert not marker.exists()


def test_a_dollar_given_to_make_reaches_the_command_as_typed(project: Baked) -> None:
    # A scratch database path (or a password in a URL) with a $ in it: make would have
    # read "$i" as a variable of its own and handed on "sqlite:///dr.db".
    scratch = project.path / "dr$ift.db"
    make(project.path, "check", f"DRIFT_DATABASE_URL=sqlite:///{scratch}")
    assert scratch.exists()


@pytest.mark.parametrize("port", ["0", "65536", "80a", "-1"])
def test_a_port_out_of_range_is_refused_in_one_line(project: Baked, port: str) -> None:
    # 0 would bind a port the system picks, 65536 another one: never silently.
    result = run(
        [sys.executable, "-m", f"{project.package}.api"],
        cwd=project.path,
        check=False,
        PORT=port,
        API_OPEN="1",
    )
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "port must be a number from 1 to 65535" in line and repr(port) in line


def test_initial_revision_refuses_when_the_database_cannot_be_checked(project: Baked) -> None:
    # Unchecked, a database already past the initial revision would be left off the
    # history the new file starts.
    (before,) = project.versions
    text = before.read_text()
    unreachable = "postgresql://nobody@127.0.0.1:1/none"
    result = run(
        ["make", "initial-revision", f"PYTHON={sys.executable}"],
        check=False,
        cwd=project.path,
        DATABASE_URL=unreachable,
    )
    assert result.returncode != 0
    (line,) = [line for line in result.stderr.splitlines() if not line.startswith("make:")]
    assert line.startswith("error: the database of DATABASE_URL cannot be reached")
    assert "DATABASE_URL=sqlite://" in line
    assert project.versions == [before] and before.read_text() == text


def test_initial_revision_that_cannot_be_written_leaves_the_database_alone(
    project: Baked, tmp_path: Path
) -> None:
    # A server default SQLite cannot compute: the new file cannot be written on the
    # scratch database, so the database at the old initial revision keeps its rows.
    database = tmp_path / "app.db"
    url = f"sqlite:///{database}"
    project.alembic("upgrade", "head", DATABASE_URL=url)
    sqlite_rows(database, "INSERT INTO users (email, name) VALUES ('ada@example.com', 'Ada')")
    (before,) = project.versions
    text, head = before.read_text(), (project.path / "migrations" / "head.txt").read_text()
    project.add_field(
        "UserBase",
        'token: str = Field(sa_column_kwargs={"server_default": text("gen_random_uuid()")})',
    )
    models = project.path / project.package / "models" / "examples.py"
    models.write_text("from sqlalchemy import text\n" + models.read_text())
    result = run(
        ["make", "initial-revision", f"PYTHON={sys.executable}"],
        check=False,
        cwd=project.path,
        DATABASE_URL=url,
    )
    assert result.returncode != 0
    assert "error: the initial revision was kept as it was" in result.stderr
    assert "downgrading" not in result.stdout
    assert project.versions == [before] and before.read_text() == text
    assert (project.path / "migrations" / "head.txt").read_text() == head
    assert sqlite_rows(database, "SELECT email FROM users") == [("ada@example.com",)]
