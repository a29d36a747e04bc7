"""The template's own code (hooks, tests, benchmarks) keeps the lint it asks of projects."""

from .helpers import RUFF, TEMPLATE, run


def test_template_code_is_ruff_clean() -> None:
    # The root pyproject.toml excludes the template folder, whose Jinja is not Python.
    run([RUFF, "check", "--no-cache", str(TEMPLATE)], cwd=TEMPLATE)
    run([RUFF, "format", "--check", "--no-cache", str(TEMPLATE)], cwd=TEMPLATE)
