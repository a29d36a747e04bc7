"""Every supported combination bakes into a clean, lint-free project with its first migration."""

import ast
import json
import re
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

from .helpers import RUFF, UV, Baked, bake, doc_pages, doc_section, documentation, run

# The option combinations are data: each one is baked and checked the same way.
SUPPORTED_COMBINATIONS = [
    {"database": "sqlite"},
    {"database": "postgresql"},
    {"database": "sqlite", "python_version": "3.12"},
    {"database": "postgresql", "python_version": "3.13"},
    {"database": "mysql", "python_version": "3.12"},
    {"project_name": "Billing API", "description": 'Quotes " and \\ backslashes'},
    # A long import name must still leave every line within the line length.
    {"project_name": "x", "package_name": "a_package_name_as_long_as_may_be_allowed"},
    {"project_name": "Ünïcode Shop", "author_name": "Zoë O'Brien"},
    {"database": "sqlite", "include_docker": "n"},
    {"database": "sqlite", "include_api": "n"},
    {"database": "postgresql", "include_docker": "n", "include_api": "n", "python_version": "3.12"},
]
TEMPLATE_MARKUP = re.compile(r"{{|}}|{%|%}|cookiecutter\.")
# GitHub Actions expressions, ${{ ... }}: meant to survive rendering (escaped in the template).
ACTIONS_EXPRESSION = re.compile(r"\$\{\{[^{}]*\}\}")


def combination_id(combination: dict[str, str]) -> str:
    return "-".join(f"{key}={value}" for key, value in combination.items())


@pytest.fixture(scope="session", params=SUPPORTED_COMBINATIONS, ids=combination_id)
def answers(request: pytest.FixtureRequest) -> dict[str, str]:
    return request.param


# Combinations other modules bake too: theirs is shared (made once per run).
SHARED_BAKES = {
    "database=sqlite": "baked_sqlite",
    "database=postgresql": "baked_postgresql",
    "database=sqlite-include_docker=n": "baked_without_docker",
}


@pytest.fixture(scope="session")
def baked(
    answers: dict[str, str],
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Baked:
    if shared := SHARED_BAKES.get(combination_id(answers)):
        return request.getfixturevalue(shared)
    return bake(tmp_path_factory.mktemp("combo"), **answers)


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


# Each folder one audience: the service, what Alembic runs, developer commands.
SERVICE = {"__init__.py", "settings.py", "db.py", "errors.py", "crud.py"}
API = {"__init__.py", "__main__.py", "app.py", "deps.py", "errors.py", "health.py", "security.py"}
ROUTES = {"__init__.py", "examples.py"}
API_TESTS = {"test_api.py", "test_health.py", "test_security.py"}
MODELS = {"__init__.py", "columns.py", "examples.py"}
MIGRATION_RUNTIME = {
    "__init__.py",
    "env.py",
    "script.py.mako",
    "autogenerate.py",
    "safety.py",
    "settings.py",
    "sqlite.py",
    "backfill.py",
    "review.py",
    "dependency_order.py",
    "phases.py",
    "online.py",
    "head.txt",
}
# Each database's module under migrations/: a project keeps its server's beside SQLite's
# (a SQLite project's CI runs its tests on PostgreSQL too).
DATABASE_MODULES = {
    "sqlite": {"postgresql.py"},
    "postgresql": {"postgresql.py"},
    "mysql": {"mysql.py"},
}
TOOLS = {
    "__init__.py",
    "lint_migrations.py",
    "backup.py",
    "format_migration.py",
    "migration_head.py",
    "initial_revision.py",
}


def file_names(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir() if path.is_file()}


def test_each_folder_holds_one_audience(baked: Baked, answers: dict[str, str]) -> None:
    assert file_names(baked.path / baked.package) == SERVICE
    with_api = answers.get("include_api", "y") == "y"
    api = baked.path / baked.package / "api"
    assert api.exists() is with_api
    if with_api:
        assert file_names(api) == API
        assert file_names(api / "routes") == ROUTES
    assert (file_names(baked.path / "tests") >= API_TESTS) is with_api
    assert file_names(baked.path / baked.package / "models") == MODELS
    database_module = DATABASE_MODULES[answers.get("database", "sqlite")]
    assert file_names(baked.path / "migrations") == MIGRATION_RUNTIME | database_module
    # squawk lints PostgreSQL's SQL: a MySQL project has no migration linter.
    linter = {"lint_migrations.py"} if answers.get("database") == "mysql" else set()
    assert file_names(baked.path / "tools") == TOOLS - linter
    assert (baked.path / "migrations" / "versions").is_dir()
    assert not (baked.path / "alembic").exists()


def absolute_imports(module: Path) -> set[str]:
    """The dotted names a module imports (relative imports aside)."""
    tree = ast.parse(module.read_text())
    return {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and not node.level
    }


def test_the_service_never_imports_the_migration_runtime_or_tools(baked: Baked) -> None:
    for module in (baked.path / baked.package).rglob("*.py"):
        imported = {name.split(".")[0] for name in absolute_imports(module)}
        assert not imported & {"migrations", "tools", "alembic"}, (module.name, imported)


def test_the_runtime_and_tools_import_nothing_of_the_service_but_its_models(
    baked: Baked,
) -> None:
    """So the service's settings, engine and API are its team's to change."""
    modules = [*(baked.path / "migrations").glob("*.py"), *(baked.path / "tools").glob("*.py")]
    reached = {
        (module.name, name)
        for module in modules
        for name in absolute_imports(module)
        if name.split(".")[0] == baked.package
    }
    assert reached == {("env.py", f"{baked.package}.models")}


ROOMS = ("yours to edit", "generated once", "infrastructure", "from the template")


def test_readme_layout_names_every_folder_and_file_and_whose_it_is(baked: Baked) -> None:
    layout = doc_section(baked, "Layout")
    assert layout is not None
    skip = {"__pycache__", ".ruff_cache", ".pytest_cache", ".mypy_cache"}
    # By folder, not file by file: what is inside a folder may be renamed freely.
    tops = {path for path in baked.path.iterdir() if path.name not in skip}
    missing = [
        path.name
        for path in tops
        if (f"{path.name}/" if path.is_dir() else path.name) not in layout
    ]
    assert not missing
    # Each folder says whose it is: the lines from its name to the next entry.
    entries = re.split(r"\n(?=\S)", layout)
    for folder in (path for path in tops if path.is_dir() and path.name != ".github"):
        (entry,) = [text for text in entries if text.startswith(f"{folder.name}/")]
        assert any(room in entry for room in ROOMS), entry
    for room in ROOMS[:3]:
        assert room in layout.lower()


README_LINES = 150


def test_the_readme_is_a_front_door_of_at_most_150_lines(baked: Baked) -> None:
    lines = (baked.path / "README.md").read_text().splitlines()
    assert len(lines) <= README_LINES, f"{len(lines)} lines: move a topic to docs/"


def test_the_readme_links_every_docs_page_with_something_to_say(baked: Baked) -> None:
    pages = doc_pages(baked)
    readme = pages.pop("README.md")
    linked = set(re.findall(r"\]\((docs/[\w.-]+\.md)\)", readme))
    # A page with something to say is linked from the README; a page left empty (the API
    # or Docker page of a bake without them) is not.
    assert linked == {name for name, text in pages.items() if text.strip()}
    # ...and the hook deletes such a page: a bake ships no empty file of docs.
    assert all(text.strip() for text in pages.values()), "an empty docs page was left"


# What each database's deploy steps back up with, and what replicas queue on.
DEPLOY_STEP_WORDS = {
    "sqlite": ("SQLite's backup API", "lock of the SQLite file"),
    "postgresql": ("pg_dump", "PostgreSQL advisory lock"),
    "mysql": ("mysqldump", "MySQL GET_LOCK"),
}


def test_the_deploy_steps_name_the_chosen_databases_backup_and_lock(
    baked: Baked, answers: dict[str, str]
) -> None:
    steps = " ".join(doc_section(baked, "A deploy, step by step").split())
    database = answers.get("database", "sqlite")
    for word in DEPLOY_STEP_WORDS[database]:
        assert word in steps
    for other, words in DEPLOY_STEP_WORDS.items():
        if other != database:
            assert not any(word in steps for word in words), other


# What gives away code for a server: its dialect, drivers, URLs, locks and tools.
SERVER_TRACES = {
    "mysql": re.compile(r"mysql|mariadb|GET_LOCK", re.I),
    "postgresql": re.compile(r"psycopg|postgresql://|postgres:|pg_dump|advisory|squawk", re.I),
}
# ...and what gives away prose for one: any mention of it, its driver, tools and lock.
PROSE_TRACES = {
    "mysql": re.compile(r"mysql|mariadb|GET_LOCK|utf8mb4", re.I),
    "postgresql": re.compile(
        r"postgres|psycopg|pg_dump|pg_restore|\bpsql\b|createdb|advisory|squawk", re.I
    ),
}


def test_a_project_carries_no_code_for_a_server_it_did_not_choose(
    baked: Baked, answers: dict[str, str]
) -> None:
    other = "postgresql" if answers.get("database") == "mysql" else "mysql"
    folders = ("migrations", "tools", "tests", baked.package, ".github")
    files = [
        path
        for folder in folders
        for path in (baked.path / folder).rglob("*")
        if path.suffix in (".py", ".yml", ".toml") and "versions" not in path.parts
    ]
    files += [baked.path / name for name in ("pyproject.toml", "compose.yaml", "Makefile")]
    files += list(baked.path.glob(".*.toml"))  # .squawk.toml in a MySQL project
    for path in files:
        if path.exists():
            found = SERVER_TRACES[other].findall(path.read_text())
            assert not found, (str(path.relative_to(baked.path)), found)
    # Nor prose: its manual, README and .env.example speak of the chosen server only.
    prose = [*(baked.path / "docs").rglob("*.md"), *(baked.path / "docs").glob("examples/*.py")]
    prose += [baked.path / "README.md", baked.path / ".env.example"]
    for path in prose:
        name = str(path.relative_to(baked.path))
        lines = path.read_text().splitlines()
        found = [
            (n, line.strip()) for n, line in enumerate(lines, 1) if PROSE_TRACES[other].search(line)
        ]
        assert not found, (name, found)


def test_pyproject_declares_the_stack(baked: Baked, answers: dict[str, str]) -> None:
    pyproject = tomllib.loads((baked.path / "pyproject.toml").read_text())
    runtime = " ".join(pyproject["project"]["dependencies"])
    dev = " ".join(pyproject["dependency-groups"]["dev"])
    for package in ("sqlmodel", "alembic", "python-dotenv"):
        assert package in runtime
    # One database driver: the chosen server's (a SQLite project's CI runs its tests on
    # PostgreSQL too, so it keeps psycopg2).
    database = answers.get("database", "sqlite")
    assert ("pymysql" in runtime) is (database == "mysql")
    assert ("psycopg2-binary" in runtime) is (database != "mysql")
    for package in ("pytest", "ruff"):
        assert package in dev
    # Without the API, nothing of it is installed.
    with_api = answers.get("include_api", "y") == "y"
    assert ("fastapi" in runtime and "uvicorn" in runtime) is with_api
    assert ("httpx" in dev) is with_api


def test_the_lock_holds_what_was_chosen_and_is_fresh(baked: Baked, answers: dict[str, str]) -> None:
    lock = tomllib.loads((baked.path / "uv.lock").read_text())
    locked = {package["name"]: package for package in lock["package"]}
    database = answers.get("database", "sqlite")
    assert ("pymysql" in locked) is (database == "mysql")
    assert ("psycopg2-binary" in locked) is (database != "mysql")
    assert ("fastapi" in locked) is (answers.get("include_api", "y") == "y")
    assert {"sqlmodel", "alembic", "pytest", "uv"} <= set(locked)
    lowest = answers.get("python_version", "3.11")
    assert lock["requires-python"] == f">={lowest}"
    # CI tests on the project's lowest Python, as the lock allows.
    ci = yaml.safe_load((baked.path / ".github" / "workflows" / "ci.yml").read_text())
    assert ci["env"]["PYTHON_VERSION"] == lowest
    for package in locked.values():
        if "registry" in package["source"]:  # every file from the index has its hash
            files = [*package.get("wheels", []), *filter(None, [package.get("sdist")])]
            assert files and all(file["hash"].startswith("sha256:") for file in files)
    # In step with pyproject.toml, checked without the package index.
    run([str(UV), "lock", "--check", "--offline"], cwd=baked.path)


API_WORDS = ("fastapi", "uvicorn", "make run", "/health/ready", "the api", "an api", "api_tokens")


def test_the_api_is_named_exactly_when_chosen(baked: Baked, answers: dict[str, str]) -> None:
    named = {
        word
        for path in project_files(baked.path)
        for word in API_WORDS
        if word in path.read_text(encoding="utf-8").lower()
    }
    assert named == (set(API_WORDS) if answers.get("include_api", "y") == "y" else set())


def test_gitignore_keeps_secrets_and_local_state_out(baked: Baked) -> None:
    lines = (baked.path / ".gitignore").read_text().splitlines()
    for entry in (".env", "*.db", ".venv/"):
        assert entry in lines


# Asked of git itself (check-ignore), in a copy of the default project.
IGNORED = [".env", ".env.local", ".env.production", "app.db", "app.db-wal", "app.db-shm"]
IGNORED += ["data.sqlite3", "backups/x.dump", "elsewhere/y.dump", "build/lib", "dist/x.whl"]
KEPT = [".env.example", "migrations/versions/x.py", "migrations/head.txt", "docs/a.md"]


def test_git_ignores_secrets_databases_and_dumps_anywhere(project: Baked) -> None:
    run(["git", "init", "-q"], cwd=project.path)
    ignored = run(
        ["git", "check-ignore", "--no-index", *IGNORED, *KEPT], cwd=project.path, check=False
    ).stdout.split()
    assert sorted(ignored) == sorted(IGNORED)
    # Anchored: a package may be called build or dist and still be committed.
    assert (
        run(
            ["git", "check-ignore", "-q", "src/build/x.py"], cwd=project.path, check=False
        ).returncode
        == 1
    )


def test_alembic_ini_is_current_and_has_no_url(baked: Baked) -> None:
    text = (baked.path / "alembic.ini").read_text()
    assert re.search(r"^path_separator = os$", text, re.M)
    assert "version_path_separator" not in text
    assert "sqlalchemy.url" not in text


def test_one_initial_migration_creates_the_three_tables(baked: Baked) -> None:
    (migration,) = baked.versions
    text = migration.read_text()
    assert '"""initial schema' in text
    for table in ("users", "orders", "order_items"):
        assert f'op.create_table(\n        "{table}"' in text
    for constraint in (
        "fk_orders_user_id_users",
        "fk_order_items_order_id_orders",
        "uq_order_items_order_id_sku",
        "ix_users_email",
        "ix_orders_user_id",
        "pk_users",
        "ck_orders_status",
    ):
        assert constraint in text
    assert text.count('ondelete="CASCADE"') == 2


def test_migration_names_sqlalchemy_types_only(baked: Baked) -> None:
    (migration,) = baked.versions
    text = migration.read_text()
    assert "sqlmodel" not in text
    assert "sa.DateTime(timezone=True)" in text
    assert "sa.String(length=255)" in text


def test_database_choice_sets_the_example_url(baked: Baked, answers: dict[str, str]) -> None:
    example = (baked.path / ".env.example").read_text()
    active = [line for line in example.splitlines() if line.startswith("DATABASE_URL=")]
    assert len(active) == 1
    scheme = {"sqlite": "sqlite:///", "postgresql": "postgresql://", "mysql": "mysql://"}
    assert active[0].startswith("DATABASE_URL=" + scheme[answers.get("database", "sqlite")])


def test_the_wheel_ships_the_service_alone(project: Baked, tmp_path: Path) -> None:
    run([UV, "build", "--wheel", "--quiet", "--out-dir", str(tmp_path), str(project.path)])
    (wheel,) = tmp_path.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split("/")[0] for name in archive.namelist()}
    assert {top for top in tops if not top.endswith(".dist-info")} == {project.package}


# --- What the README says about the project baked with it ------------------------------


def readme_section(project: Baked, heading: str) -> str:
    """The text under `heading` in the README or the docs page it now lives in."""
    section = doc_section(project, heading)
    assert section is not None, heading
    return section


def test_readme_states_no_test_count_or_timing_it_cannot_keep(baked: Baked) -> None:
    testing = readme_section(baked, "Testing")
    claims = {int(count) for count in re.findall(r"\b(\d+)\s+tests\b", testing)}
    if claims:  # a count stated must be the one this bake starts with
        collected = run(
            [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
            cwd=baked.path,
        ).stdout
        count = re.search(r"^(\d+) tests? collected", collected, re.M)
        assert count and claims == {int(count[1])}, (claims, collected[-300:])
    # Timings depend on the machine: none is promised.
    assert not re.search(r"\b\d+(\.\d+)?\s?s\b", testing), testing


def test_readme_testing_commands_are_those_of_the_projects_ci(
    baked: Baked, answers: dict[str, str]
) -> None:
    testing = readme_section(baked, "Testing")
    workflow = (baked.path / ".github" / "workflows" / "ci.yml").read_text()
    ci_servers = set(re.findall(r"test-database-url: (\w+)://", workflow))
    shown = set(re.findall(r"TEST_DATABASE_URL=(\w+)://", testing))
    assert shown == ci_servers, testing
    database = f"{baked.package}_test"
    if answers.get("database") == "mysql":
        assert f"mysql -u root -e 'CREATE DATABASE {database} CHARACTER SET utf8mb4" in testing
        assert "createdb" not in testing and "postgres" not in testing.lower()
    else:
        assert f"createdb {database}" in testing
        assert "mysql" not in testing.lower()


def test_readme_says_what_the_compose_migrate_service_runs(baked: Baked) -> None:
    if not (baked.path / "compose.yaml").exists():  # include_docker=n: nothing to say
        assert doc_section(baked, "Docker") is None
        assert "compose" not in documentation(baked)
        return
    services = yaml.safe_load((baked.path / "compose.yaml").read_text())["services"]
    assert services["migrate"]["command"] == ["alembic", "upgrade", "head"]
    dockerfile = (baked.path / "Dockerfile").read_text()
    (cmd,) = re.findall(r"^CMD (\[.*\])$", dockerfile, re.M)
    docker = readme_section(baked, "Docker")
    (migrate,) = re.findall(r"^- `migrate`:.*(?:\n  .*)*", docker, re.M)
    assert "`alembic upgrade head`" in migrate, migrate
    if "default command" in migrate:
        assert json.loads(cmd) == ["alembic", "upgrade", "head"], migrate
