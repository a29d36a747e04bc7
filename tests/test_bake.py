"""Every supported combination bakes into a clean, lint-free project with its first migration."""

import re
import tomllib
from pathlib import Path

import pytest

from .helpers import RUFF, Baked, bake, run

# The option combinations are data: each one is baked and checked the same way.
SUPPORTED_COMBINATIONS = [
    {"database": "sqlite"},
    {"database": "postgresql"},
    {"database": "sqlite", "python_version": "3.12"},
    {"database": "postgresql", "python_version": "3.13"},
    {"project_name": "Billing API", "description": 'Quotes " and \\ backslashes'},
    # A long import name must still leave every line within the line length.
    {"project_name": "x", "package_name": "a_rather_long_package_name_here"},
    {"project_name": "Ünïcode Shop", "author_name": "Zoë O'Brien"},
    {"database": "sqlite", "include_docker": "n"},
    {"database": "postgresql", "include_docker": "n", "python_version": "3.12"},
]
TEMPLATE_MARKUP = re.compile(r"{{|}}|{%|%}|cookiecutter\.")
# GitHub Actions expressions, ${{ ... }}: meant to survive rendering (escaped in the template).
ACTIONS_EXPRESSION = re.compile(r"\$\{\{[^{}]*\}\}")


def combination_id(combination: dict[str, str]) -> str:
    return "-".join(f"{key}={value}" for key, value in combination.items())


@pytest.fixture(scope="module", params=SUPPORTED_COMBINATIONS, ids=combination_id)
def baked(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Baked:
    return bake(tmp_path_factory.mktemp("combo"), **request.param)


def project_files(project: Path) -> list[Path]:
    return [p for p in project.rglob("*") if p.is_file() and ".ruff_cache" not in p.parts]


def test_no_template_markup_is_left(baked: Baked) -> None:
    for path in project_files(baked.path):
        text = path.read_text(encoding="utf-8")
        if ".github" in path.parts:
            text = ACTIONS_EXPRESSION.sub("", text)
        # Mako's ${...} in script.py.mako is Alembic's own template syntax, not ours.
        leftovers = TEMPLATE_MARKUP.findall(text)
        assert not leftovers, f"{path}: {leftovers}"


def test_project_passes_ruff(baked: Baked) -> None:
    run([RUFF, "check", "--no-cache", str(baked.path)])
    run([RUFF, "format", "--check", "--no-cache", str(baked.path)])


def test_layout(baked: Baked) -> None:
    expected = [
        "pyproject.toml",
        ".env.example",
        ".gitignore",
        "README.md",
        "alembic.ini",
        "alembic/env.py",
        "alembic/script.py.mako",
        "tests/conftest.py",
        f"{baked.package}/models.py",
        f"{baked.package}/settings.py",
        f"{baked.package}/db.py",
    ]
    missing = [name for name in expected if not (baked.path / name).is_file()]
    assert not missing


def test_pyproject_declares_the_stack(baked: Baked) -> None:
    pyproject = tomllib.loads((baked.path / "pyproject.toml").read_text())
    runtime = " ".join(pyproject["project"]["dependencies"])
    dev = " ".join(pyproject["project"]["optional-dependencies"]["dev"])
    for package in ("sqlmodel", "alembic", "python-dotenv", "psycopg2-binary"):
        assert package in runtime
    for package in ("pytest", "ruff"):
        assert package in dev


def test_gitignore_keeps_secrets_and_local_state_out(baked: Baked) -> None:
    lines = (baked.path / ".gitignore").read_text().splitlines()
    for entry in (".env", "*.db", ".venv/"):
        assert entry in lines


def test_alembic_ini_is_current_and_has_no_url(baked: Baked) -> None:
    text = (baked.path / "alembic.ini").read_text()
    assert re.search(r"^path_separator = os$", text, re.M)
    assert "version_path_separator" not in text
    assert "sqlalchemy.url" not in text


def test_one_initial_migration_creates_the_three_tables(baked: Baked) -> None:
    (migration,) = baked.versions
    text = migration.read_text()
    assert '"""initial schema' in text
    for table in ("user", "order", "item"):
        assert f'op.create_table(\n        "{table}"' in text
    for constraint in (
        "fk_order_user_id_user",
        "fk_item_order_id_order",
        "uq_item_order_id_sku",
        "ix_user_email",
        "ix_order_user_id",
        "pk_user",
        "ck_order_status",
    ):
        assert constraint in text
    assert text.count('ondelete="CASCADE"') == 2


def test_migration_names_sqlalchemy_types_only(baked: Baked) -> None:
    (migration,) = baked.versions
    text = migration.read_text()
    assert "sqlmodel" not in text
    assert "sa.DateTime(timezone=True)" in text
    assert "sa.String(length=255)" in text


def test_database_choice_sets_the_example_url(baked: Baked) -> None:
    example = (baked.path / ".env.example").read_text()
    active = [line for line in example.splitlines() if line.startswith("DATABASE_URL=")]
    assert len(active) == 1
    pyproject = (baked.path / "README.md").read_text()
    assert pyproject.strip()
    assert active[0].startswith(("DATABASE_URL=sqlite:///", "DATABASE_URL=postgresql://"))
