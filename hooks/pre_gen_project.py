"""Refuse names that would bake a broken project, before anything is written.

project_slug is checked earlier, by local_extensions.py: cookiecutter creates the
project folder from it before this hook runs.
"""

import json
import keyword
import sys

# Rendered by cookiecutter; user input arrives as JSON data, never as Python code.
CONTEXT = json.loads(r"""{{ cookiecutter | tojson }}""")

# Every import name the project's dependencies bring, dev tools and their own
# dependencies included (tests/test_hooks.py checks this against what is installed):
# a package with one of these names would shadow it, and the project would break.
DEPENDENCY_IMPORTS = {
    "_pytest",
    "_yaml",
    "aiosqlite",
    "alembic",
    "alembic_linear_migrations",
    "alembic_postgresql_enum",
    "annotated_doc",
    "annotated_types",
    "anyio",
    "arrow",
    "ast_serialize",
    "asyncmy",
    "asyncpg",
    "binaryornot",
    "certifi",
    "charset_normalizer",
    "click",
    "colorama",  # installed on Windows only (click, pytest)
    "cookiecutter",
    "cruft",
    "dateutil",
    "dotenv",
    "fastapi",
    "git",
    "gitdb",
    "greenlet",
    "h11",
    "httpcore2",
    "httptools",
    "httpx2",
    "idna",
    "iniconfig",
    "jinja2",
    "librt",
    "mako",
    "markdown_it",
    "markupsafe",
    "mdurl",
    "mypy",
    "mypy_extensions",
    "mypyc",
    "opentelemetry",
    "packaging",
    "pathspec",
    "pluggy",
    "psycopg2",
    "py",
    "pydantic",
    "pydantic_core",
    "pydantic_settings",
    "pygments",
    "pymysql",
    "pytest",
    "pytest_alembic",
    "pytest_asyncio",
    "requests",
    "rich",
    "ruff",
    "shellingham",
    "slugify",
    "smmap",
    "sqlalchemy",
    "sqlmodel",
    "starlette",
    "text_unidecode",
    "truststore",
    "typer",
    "typing_extensions",
    "typing_inspection",
    "tzdata",
    "urllib3",
    "uv",
    "uvicorn",
    "uvloop",
    "watchfiles",
    "websockets",
    "yaml",
}
# What virtual environments hold besides the project's dependencies: pip, and setuptools
# with its helpers (python -m venv installs them up to Python 3.11; tests/test_hooks.py
# checks this against the wheels ensurepip bundles), and wheel (virtualenv's). A
# package of one of these names could not be imported (the environment's own module
# comes first on sys.path) and would break pip (`python -m pip` in the project folder).
ENVIRONMENT_IMPORTS = {
    "_distutils_hack",
    "distutils",
    "pip",
    "pkg_resources",
    "setuptools",
    "wheel",
}
# Modules Python imports by name whenever it starts, from anywhere on sys.path.
STARTUP_IMPORTS = {"sitecustomize", "usercustomize"}
# The project's own top-level folders, importable beside the package.
PROJECT_FOLDERS = {"migrations", "tools", "tests", "docs", "build", "dist", "backups"}
# Longer names push generated lines past the line length the project lints with.
MAX_PACKAGE = 40
# Answers written into files as text: one line each (a newline would inject lines
# into the Makefile, pyproject.toml or the README).
TEXT_ANSWERS = ("project_name", "description", "author_name", "author_email")


def package_problem(name: str) -> str | None:
    """Why `name` cannot be the Python import name, if it cannot."""
    fix = "choose another package_name"
    if len(name) > MAX_PACKAGE:
        return f"package_name is {len(name)} characters long: use at most {MAX_PACKAGE}"
    if not name.isidentifier() or not name.isascii():
        return (
            f"package_name {name!r} is not a Python identifier (ASCII letters, digits "
            f"and '_', not starting with a digit): {fix}"
        )
    if keyword.iskeyword(name):
        return f"package_name {name!r} is a Python keyword: {fix}"
    if name.startswith("__") and name.endswith("__"):
        return f"package_name {name!r} is a name Python reserves (__name__): {fix}"
    if name != name.lower():
        return f"package_name {name!r} must be lower-case (PEP 8): {fix}"
    if name in PROJECT_FOLDERS:
        return f"package_name {name!r} is a folder name the project reserves: {fix}"
    if name in DEPENDENCY_IMPORTS:
        return f"package_name {name!r} would shadow the project's dependency {name!r}: {fix}"
    if name in ENVIRONMENT_IMPORTS:
        return (
            f"package_name {name!r} would shadow {name!r}, which virtual environments "
            f"install: {fix}"
        )
    if name in STARTUP_IMPORTS:
        return f"package_name {name!r} is a module Python runs whenever it starts: {fix}"
    # sys.stdlib_module_names leaves out `test`, Python's own test suite, which most
    # installs carry.
    if name in sys.stdlib_module_names or name == "test":
        return f"package_name {name!r} would shadow the standard library's {name!r}: {fix}"
    return None


def text_problem(key: str, value: str) -> str | None:
    """Why a free-text answer cannot be written into the project's files, if it cannot."""
    if any(ord(character) < 32 or ord(character) == 127 for character in value):
        return f"{key} contains a control character (a line break?): use one line of text"
    return None


def main() -> int:
    """Print the first problem found and fail, so cookiecutter writes nothing."""
    # `database` needs no check here: cookiecutter itself refuses a value not listed.
    problems = [
        *(text_problem(key, str(CONTEXT.get(key, ""))) for key in TEXT_ANSWERS),
        package_problem(CONTEXT["package_name"]),
    ]
    for problem in problems:
        if problem:
            print(f"ERROR: {problem}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
