"""What the hooks cannot do, done inside cookiecutter itself.

Cookiecutter creates the project folder from project_slug before any hook runs, so a
slug that is a path, empty or too long would leave folders behind (or end in a long
OSError). It is checked here instead, while that folder's name is rendered, and
refused in one line before anything is written.

When the pre-generation hook refuses an answer, it prints why in one line; cookiecutter
then logs its own traceback of the failed hook, which says nothing more. That
traceback is left out here (OneLineHookFailure).

The filters write answers into files as Python or TOML strings.
"""

import logging
import re

from cookiecutter.exceptions import EmptyDirNameException, FailedHookException
from jinja2 import Environment
from jinja2.ext import Extension

SLUG_RULE = re.compile(r"[a-z0-9]([a-z0-9._-]*[a-z0-9])?")
# Longer names push generated lines past the line length the project lints with.
MAX_SLUG = 64
PROJECT_FOLDER = "{{cookiecutter.project_slug}}"


def slug_problem(slug: str) -> str | None:
    """Why `slug` cannot be the project folder and distribution name, if it cannot."""
    if len(slug) > MAX_SLUG:
        return f"project_slug is {len(slug)} characters long: use at most {MAX_SLUG}"
    if not SLUG_RULE.fullmatch(slug):
        return (
            f"project_slug {slug!r} is not a valid folder/distribution name: use lower-case "
            "letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
        )
    return None


def project_folder(slug: str) -> str:
    """The slug, once it is known to make a sound folder name."""
    problem = slug_problem(slug)
    if problem:
        # The one exception about a folder name that cookiecutter's CLI prints as a
        # single line and exits 1 on.
        raise EmptyDirNameException(f"ERROR: {problem}")
    return slug


class ProjectFolderCheck(Extension):
    """Runs project_folder() on the slug when the project folder's name is rendered."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.filters["project_folder"] = project_folder

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        if source == PROJECT_FOLDER:
            return "{{ cookiecutter.project_slug | project_folder }}"
        return source


def python_string(value: str) -> str:
    """`value` as a Python string literal, quoted as `ruff format` leaves it.

    Jinja's tojson always uses double quotes; ruff turns a string holding more double
    than single quotes to single quotes, so a generated project would fail its own
    `make lint` on a description with quotes in it.
    """
    body = value.replace("\\", "\\\\")
    if value.count('"') > value.count("'"):
        return "'" + body.replace("'", "\\'") + "'"
    return '"' + body.replace('"', '\\"') + '"'


class PythonString(Extension):
    """The `python_string` filter, for text answers written into Python code."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.filters["python_string"] = python_string


# The control characters TOML has a short escape for; the others are written \uXXXX.
TOML_SHORT_ESCAPES = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def toml_string(value: str) -> str:
    """`value` as a TOML basic string (one line).

    TOML escapes the quote, the backslash and control characters, and holds any other
    character as it is. Jinja's tojson is no TOML writer: it escapes every non-ASCII
    character, and one outside the Basic Multilingual Plane (an emoji) as a JSON
    surrogate pair, "\\ud83d\\ude00", which TOML refuses.
    """
    return '"' + "".join(toml_escaped(character) for character in value) + '"'


def toml_escaped(character: str) -> str:
    """One character as a TOML basic string holds it."""
    if character in '"\\':
        return "\\" + character
    if ord(character) < 32 or ord(character) == 127:
        return TOML_SHORT_ESCAPES.get(character, f"\\u{ord(character):04x}")
    return character


class TomlString(Extension):
    """The `toml_string` filter, for text answers written into pyproject.toml."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.filters["toml_string"] = toml_string


class QuietHookFailure(logging.Filter):
    """Drops the traceback from cookiecutter's log line about a failed hook.

    The hook printed the reason itself; the traceback only shows cookiecutter's own
    code raising FailedHookException. The line stays: "Stopping generation because
    pre_gen_project hook script didn't exit successfully".
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], FailedHookException):
            record.exc_info = None
            record.exc_text = None
        return True


# One filter, added once however many environments cookiecutter makes.
QUIET_HOOK_FAILURE = QuietHookFailure()
# The logger cookiecutter.hooks logs a failed hook with (logger.exception).
HOOKS_LOGGER = "cookiecutter.hooks"


class OneLineHookFailure(Extension):
    """Installs QuietHookFailure on cookiecutter's hooks logger before any hook runs."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        logging.getLogger(HOOKS_LOGGER).addFilter(QUIET_HOOK_FAILURE)
