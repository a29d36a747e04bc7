"""Refuse names that would bake a broken project, before anything is written."""

import json
import keyword
import re
import sys

# Rendered by cookiecutter; user input arrives as JSON data, never as Python code.
CONTEXT = json.loads(r"""{{ cookiecutter | tojson }}""")

# Import names the generated project depends on (or imports in its tooling): a package
# with one of these names would shadow the real library.
DEPENDENCY_IMPORTS = {
    "alembic",
    "sqlmodel",
    "sqlalchemy",
    "dotenv",
    "psycopg2",
    "pydantic",
    "pydantic_core",
    "pytest",
    "ruff",
    "mako",
    "typing_extensions",
    "mypy",
}
# The project's own top-level folders, importable beside the package.
PROJECT_FOLDERS = {"migrations", "tools", "tests", "docs"}
SLUG_RULE = re.compile(r"[a-z0-9]([a-z0-9._-]*[a-z0-9])?")


def slug_problem(slug: str) -> str | None:
    """Why `slug` cannot be the project folder and distribution name, if it cannot."""
    if not SLUG_RULE.fullmatch(slug):
        return (
            f"project_slug {slug!r} is not a valid folder/distribution name: use lower-case "
            "letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
        )
    return None


def package_problem(name: str) -> str | None:
    """Why `name` cannot be the Python import name, if it cannot."""
    fix = "choose another package_name"
    if not name.isidentifier() or not name.isascii():
        return (
            f"package_name {name!r} is not a Python identifier (ASCII letters, digits "
            f"and '_', not starting with a digit): {fix}"
        )
    if keyword.iskeyword(name):
        return f"package_name {name!r} is a Python keyword: {fix}"
    if name != name.lower():
        return f"package_name {name!r} must be lower-case (PEP 8): {fix}"
    if name in PROJECT_FOLDERS:
        return f"package_name {name!r} is already the project's {name}/ folder: {fix}"
    if name in DEPENDENCY_IMPORTS:
        return f"package_name {name!r} would shadow the project's dependency {name!r}: {fix}"
    if name in sys.stdlib_module_names:
        return f"package_name {name!r} would shadow the standard library's {name!r}: {fix}"
    return None


def main() -> int:
    """Print the first problem found and fail, so cookiecutter writes nothing."""
    # `database` needs no check here: cookiecutter itself refuses a value not listed.
    problems = [
        slug_problem(CONTEXT["project_slug"]),
        package_problem(CONTEXT["package_name"]),
    ]
    for problem in problems:
        if problem:
            print(f"ERROR: {problem}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
