"""The habits a baked project ships: Makefile, CI workflow, pre-commit, Docker files.

Each is parsed, and what it runs is run here for real: the make targets, the workflow's
steps, the pre-commit drift hook, the Dockerfile's RUN and CMD and the compose commands
(outside Docker, which cannot run on this machine).
"""

import fnmatch
import json
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import make_url

from .helpers import (
    BIN,
    SYSTEM_PATH,
    Baked,
    assert_project_works_in_its_venv,
    bake_alone,
    bake_command,
    doc_pages,
    doc_section,
    documentation,
    free_port,
    headings,
    postgres_tables,
    run,
    start_server,
    the_project,
    uv_only_path,
)

# The test runner's own environment has the project's packages: for projects without
# a .venv, make is pointed at it, as a developer would with an activated environment.
PYTHON = f"PYTHON={sys.executable}"
DAILY_TARGETS = {
    "install",
    "test",
    "lint",
    "format",
    "migrate",
    "revision",
    "downgrade",
    "check",
    "history",
    "run",
}
# A model no migration describes yet, in a module of its own (found by itself).
NEW_MODEL = '''"""Notes (added by a test)."""

from sqlmodel import Field, SQLModel

class Note(SQLModel, table=True):
    """A note (added by a test)."""

    id: int | None = Field(default=None, primary_key=True)
    body: str = Field(max_length=200)
'''
DRIFT = "New upgrade operations detected"
COMPOSE_VARIABLE = re.compile(r"(?<!\$)\$\{(\w+)(?::-([^}]*))?\}")


def make(project: Path, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess:
    """Run make in the project folder, with only the system's tools on PATH."""
    return run(["make", *args], check=check, cwd=project, **{"PATH": SYSTEM_PATH, **env})


def add_model(project: Path, package: str) -> None:
    (project / package / "models" / "notes.py").write_text(NEW_MODEL)


def makefile_targets(project: Path) -> dict[str, str]:
    """Every target the Makefile defines, with its `## ` description ("" if none)."""
    targets = {}
    for line in (project / "Makefile").read_text().splitlines():
        match = re.match(r"([a-zA-Z0-9_-]+):(?!=)(.*)$", line)
        if match:
            _, _, description = match.group(2).partition("## ")
            targets[match.group(1)] = description.strip()
    return targets


def load_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="session")
def readme_bake(
    cookiecutter_alone: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Baked, subprocess.CompletedProcess]:
    """The project as the README's first command makes it: cookiecutter alone in its
    environment and no uv on PATH, so the hook installs uv with pip, writes uv.lock and
    builds the project's .venv from it."""
    output = tmp_path_factory.mktemp("installed")
    result = bake_alone(cookiecutter_alone, output, f"{cookiecutter_alone / 'bin'}:{SYSTEM_PATH}")
    assert result.returncode == 0, result.stderr
    path = the_project(output)
    return Baked(path, path.name.replace("-", "_")), result


@pytest.fixture(scope="session")
def installed(readme_bake: tuple[Baked, subprocess.CompletedProcess]) -> Baked:
    """That project, its .venv holding the project (editable) and its dev tools."""
    return readme_bake[0]


def test_the_readme_bake_builds_the_project_venv_from_its_lock(
    readme_bake: tuple[Baked, subprocess.CompletedProcess],
) -> None:
    project, result = readme_bake
    assert "Installing uv with pip" in result.stdout
    assert "Locked the dependencies: uv.lock" in result.stdout
    assert f"Creating {project.path / '.venv'} from uv.lock" in result.stdout
    assert len(project.versions) == 1
    assert_project_works_in_its_venv(project.path)


# --- Makefile -------------------------------------------------------------------------


def test_makefile_has_the_daily_targets_each_documented(baked_sqlite: Baked) -> None:
    targets = makefile_targets(baked_sqlite.path)
    assert set(targets) >= DAILY_TARGETS
    assert all(targets[name] for name in DAILY_TARGETS), targets


def test_help_lists_every_documented_target_and_is_the_default(baked_sqlite: Baked) -> None:
    documented = {name: text for name, text in makefile_targets(baked_sqlite.path).items() if text}
    for args in (["help"], []):
        output = make(baked_sqlite.path, *args).stdout
        for name, description in documented.items():
            assert re.search(rf"^\s+make {name}\s+{re.escape(description)}$", output, re.M), (
                name,
                output,
            )


def test_commands_use_the_project_venv_when_it_exists(installed: Baked) -> None:
    dry_run = make(installed.path, "-n", "test", "lint", "migrate").stdout.splitlines()
    assert dry_run and all(line.startswith(".venv/bin/python -m ") for line in dry_run), dry_run


def test_commands_use_python3_on_path_without_a_venv(project: Baked) -> None:
    assert not (project.path / ".venv").exists()
    path = f"{BIN}:{SYSTEM_PATH}"  # an activated environment
    dry_run = make(project.path, "-n", "test", PATH=path).stdout.strip()
    assert dry_run == f"{BIN / 'python3'} -m pytest"
    override = make(project.path, "-n", "test", "PYTHON=/opt/py/bin/python").stdout.strip()
    assert override == "/opt/py/bin/python -m pytest"


def test_the_venv_has_the_project_and_its_dev_tools_and_install_keeps_it(
    installed: Baked,
) -> None:
    python = installed.path / ".venv" / "bin" / "python"
    probe = "import alembic, pytest, ruff, sqlmodel, {0}; print({0}.__file__)"
    where = run([str(python), "-c", probe.format(installed.package)]).stdout.strip()
    assert Path(where).parent == installed.path / installed.package  # editable
    # Again: the existing .venv is kept, not replaced.
    config = (installed.path / ".venv" / "pyvenv.cfg").read_text()
    make(installed.path, "install")
    assert (installed.path / ".venv" / "pyvenv.cfg").read_text() == config


def test_install_uses_uv_when_it_is_on_path(project: Baked, tmp_path: Path) -> None:
    path = f"{uv_only_path(tmp_path / 'uv')}:{SYSTEM_PATH}"
    make(project.path, "install", PATH=path, UV_PYTHON_DOWNLOADS="never")
    assert "uv = " in (project.path / ".venv" / "pyvenv.cfg").read_text()
    python = project.path / ".venv" / "bin" / "python"
    run([str(python), "-c", f"import alembic, pytest, ruff, {project.package}"])


def test_lint_passes_then_fails_on_a_finding_and_format_fixes_style(project: Baked) -> None:
    make(project.path, "lint", PYTHON)
    sloppy = project.path / project.package / "sloppy.py"
    sloppy.write_text("import os\nimport sys\nx = [1,2]\nprint(sys, x)\n")
    failed = make(project.path, "lint", PYTHON, check=False)
    assert failed.returncode != 0 and "F401" in failed.stdout  # the unused import

    sloppy.write_text("import sys\nimport os\nx = [1,2]\nprint(os, sys, x)\n")
    failed = make(project.path, "lint", PYTHON, check=False)
    assert failed.returncode != 0 and "sloppy.py" in failed.stdout + failed.stderr
    make(project.path, "format", PYTHON)
    assert sloppy.read_text() == "import os\nimport sys\n\nx = [1, 2]\nprint(os, sys, x)\n"
    make(project.path, "lint", PYTHON)


def test_migration_workflow_through_make(project: Baked) -> None:
    def run_make(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        return make(project.path, *args, PYTHON, check=check)

    initial = project.initial_revision()
    assert f"-> {initial}" in run_make("migrate").stderr
    assert re.search(rf"-> {initial} \(head\) \(current\)", run_make("history").stdout)
    assert "No new upgrade operations detected" in run_make("check").stdout

    add_model(project.path, project.package)
    drift = run_make("check", check=False)
    assert drift.returncode != 0 and DRIFT in drift.stdout + drift.stderr

    refused = run_make("revision", check=False)
    assert refused.returncode == 2
    assert 'make revision m="add phone to user"' in refused.stderr
    assert len(project.versions) == 1

    run_make("revision", "m=add user's notes")
    new = [path for path in project.versions if initial not in path.name]
    assert len(new) == 1 and "add_user_s_notes" in new[0].name
    assert "add user's notes" in new[0].read_text()
    assert 'op.create_table(\n        "note"' in new[0].read_text()

    assert "No new upgrade operations detected" in run_make("check").stdout
    assert "add user's notes" in run_make("migrate").stderr
    assert re.search(r"\(head\) \(current\), add user's notes", run_make("history").stdout)
    run_make("downgrade")
    assert re.search(rf"-> {initial} \(current\)", run_make("history").stdout)


def test_check_builds_a_scratch_database_and_never_uses_database_url(
    project: Baked, tmp_path: Path
) -> None:
    scratch_root = tmp_path / "tmp"
    scratch_root.mkdir()
    # A developer's .env names their own server, its password and migration route.
    unreachable = "postgresql://nobody@127.0.0.1:1/none"
    (project.path / ".env").write_text(
        f"DATABASE_URL={unreachable}\nDATABASE_PASSWORD=secret\n"
        f"MIGRATION_DATABASE_URL={unreachable}\n"
    )
    env = {"TMPDIR": str(scratch_root)}
    make(project.path, "check", PYTHON, **env)
    add_model(project.path, project.package)
    assert make(project.path, "check", PYTHON, check=False, **env).returncode != 0
    assert list(scratch_root.iterdir()) == []  # removed, failure or not
    assert not list(project.path.glob("*.db"))


@pytest.mark.postgres
def test_check_on_postgresql_with_drift_database_url(project: Baked, postgres_url: str) -> None:
    make(project.path, "check", PYTHON, f"DRIFT_DATABASE_URL={postgres_url}")
    assert {"users", "orders", "order_items"} <= postgres_tables(postgres_url)
    add_model(project.path, project.package)
    drift = make(project.path, "check", PYTHON, check=False, DRIFT_DATABASE_URL=postgres_url)
    assert drift.returncode != 0 and DRIFT in drift.stdout + drift.stderr


# --- GitHub Actions workflow ----------------------------------------------------------


def workflow(project: Baked) -> dict:
    return load_yaml(project.path / ".github" / "workflows" / "ci.yml")


def test_workflow_keeps_its_expressions_through_jinja(baked_sqlite: Baked) -> None:
    text = (baked_sqlite.path / ".github" / "workflows" / "ci.yml").read_text()
    for expression in (
        "${{ matrix.database }}",
        "${{ env.PYTHON_VERSION }}",
        "${{ matrix.test-database-url }}",
        "${{ github.workflow }}-${{ github.ref }}",
    ):
        assert expression in text
    assert "raw %}" not in text and "{%" not in text
    assert text.endswith("make template-check\n")


def test_workflow_runs_lint_tests_on_both_databases_and_the_drift_check(
    baked_sqlite: Baked,
) -> None:
    flow = workflow(baked_sqlite)
    triggers = flow.get("on", flow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert set(triggers) == {"push", "pull_request"}
    assert flow["env"]["PYTHON_VERSION"] == "3.11"
    jobs = flow["jobs"]
    assert set(jobs) == {"lint", "test", "drift", "image", "template"}
    # cruft check is opt-in: a private template location must not fail every build.
    assert jobs["template"]["if"] == "${{ vars.CRUFT_CHECK == 'true' }}"

    legs = {leg["database"]: leg for leg in jobs["test"]["strategy"]["matrix"]["include"]}
    assert legs["sqlite"]["test-database-url"] == ""
    assert jobs["test"]["env"]["TEST_DATABASE_URL"] == "${{ matrix.test-database-url }}"
    for job, url in (
        (jobs["test"], legs["postgresql"]["test-database-url"]),
        (jobs["drift"], jobs["drift"]["env"]["DRIFT_DATABASE_URL"]),
    ):
        # The URL reaches the job's own PostgreSQL service container, once it is healthy.
        service = job["services"]["postgres"]
        target = make_url(url)
        assert service["image"].startswith("postgres:")
        assert "--health-cmd" in service["options"] and "pg_isready" in service["options"]
        assert f"{target.port}:5432" in service["ports"]
        assert target.host == "localhost" and target.username == "postgres"
        assert target.password == service["env"]["POSTGRES_PASSWORD"]
        assert target.database == service["env"]["POSTGRES_DB"]

    for name, job in jobs.items():
        steps = job["steps"]
        assert steps[0]["uses"].startswith("actions/checkout@")
        if name == "image":  # Docker builds it: no Python on the runner
            continue
        assert steps[1]["uses"].startswith("actions/setup-python@")
        assert steps[1]["with"]["python-version"] == "${{ env.PYTHON_VERSION }}"
        # uv for make install, which installs from uv.lock (its cache keyed on the lock)
        assert steps[2]["uses"].startswith("astral-sh/setup-uv@")
        assert steps[2]["with"]["cache-dependency-glob"] == "uv.lock"
        assert steps[3]["run"] == "make install"


def test_every_workflow_step_runs_make_targets_that_exist(baked_sqlite: Baked) -> None:
    # The image job's steps are Docker's and curl's (run here in the Dockerfile's test).
    targets = set(makefile_targets(baked_sqlite.path))
    commands = [
        line
        for name, job in workflow(baked_sqlite)["jobs"].items()
        if name != "image"
        for step in job["steps"]
        for line in step.get("run", "").splitlines()
    ]
    assert commands
    for command in commands:
        words = shlex.split(command)
        assert words[0] == "make", command
        named = [word for word in words[1:] if "=" not in word]
        assert named and set(named) <= targets, command
    used = {shlex.split(command)[1] for command in commands}
    assert {"install", "lint", "test", "check"} <= used


def expand_matrix(value: str, leg: dict[str, str]) -> str:
    return re.sub(r"\$\{\{ matrix\.([\w-]+) \}\}", lambda m: leg[m.group(1)], value)


# The test job's `make test` runs in test_generated_suite.py, once per backend, with the
# same TEST_DATABASE_URL this workflow sets; running it here again would prove nothing new.
@pytest.mark.parametrize("job_name", ["lint", pytest.param("drift", marks=pytest.mark.postgres)])
def test_workflow_job_passes_when_run_here(
    installed: Baked, job_name: str, request: pytest.FixtureRequest
) -> None:
    job = workflow(installed)["jobs"][job_name]
    legs = job.get("strategy", {}).get("matrix", {}).get("include", [{}])
    for leg in legs:
        env = {name: expand_matrix(value, leg) for name, value in job.get("env", {}).items()}
        for name, value in env.items():
            if value.startswith("postgresql://"):
                # The service container here: this machine's server, a fresh database.
                env[name] = request.getfixturevalue("postgres_url")
        for step in job["steps"]:
            for command in step.get("run", "").splitlines():
                run(["sh", "-c", command], cwd=installed.path, PATH=SYSTEM_PATH, **env)


# --- pre-commit -----------------------------------------------------------------------


def pre_commit_hooks(project: Baked) -> dict[str, dict]:
    config = load_yaml(project.path / ".pre-commit-config.yaml")
    return {
        hook["id"]: {**hook, "repo": repo["repo"], "rev": repo.get("rev")}
        for repo in config["repos"]
        for hook in repo["hooks"]
    }


def test_pre_commit_hooks_are_local_make_targets(baked_sqlite: Baked) -> None:
    # Nothing to fetch: every hook runs a make target with the project's own tools.
    config = load_yaml(baked_sqlite.path / ".pre-commit-config.yaml")
    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    hooks = pre_commit_hooks(baked_sqlite)
    assert set(hooks) == {"format", "lint", "migrations-match-models"}
    targets = set(makefile_targets(baked_sqlite.path))
    for hook in hooks.values():
        assert hook["language"] == "system" and hook["pass_filenames"] is False
        words = shlex.split(hook["entry"])
        assert words[0] == "make" and set(words[1:]) <= targets, hook

    drift = hooks["migrations-match-models"]
    files = re.compile(drift["files"])
    package = baked_sqlite.package
    for changed in (f"{package}/models/x.py", "migrations/versions/x.py", "alembic.ini"):
        assert files.search(changed), changed
    for unrelated in ("README.md", "tests/test_examples.py", "docs/deploying.md"):
        assert not files.search(unrelated), unrelated


def test_pre_commit_runs_offline_in_a_fresh_clone(project: Baked, tmp_path: Path) -> None:
    pre_commit = BIN / "pre-commit"
    home = tmp_path / "home"  # pre-commit's cache: empty, so nothing could be reused
    env = {"PATH": f"{BIN}:{SYSTEM_PATH}", "PRE_COMMIT_HOME": str(home), "HOME": str(home)}
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    run([*git, "init", "-q"], cwd=project.path)
    run([*git, "add", "-A"], cwd=project.path)
    result = run(
        [str(pre_commit), "run", "--all-files"],
        cwd=project.path,
        check=False,
        # A proxy that does not exist: any download would fail.
        HTTPS_PROXY="http://127.0.0.1:1",
        HTTP_PROXY="http://127.0.0.1:1",
        **env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("format", "lint", "migrations describe every model change"):
        assert re.search(rf"^{re.escape(name)}.*Passed$", result.stdout, re.M), result.stdout


def test_pre_commit_drift_hook_passes_then_blocks_a_model_change(project: Baked) -> None:
    entry = shlex.split(pre_commit_hooks(project)["migrations-match-models"]["entry"])
    path = f"{BIN}:{SYSTEM_PATH}"  # pre-commit runs system hooks with the caller's PATH
    run(entry, cwd=project.path, PATH=path)
    add_model(project.path, project.package)
    blocked = run(entry, cwd=project.path, check=False, PATH=path)
    assert blocked.returncode != 0 and DRIFT in blocked.stdout + blocked.stderr


# --- Dockerfile and compose -----------------------------------------------------------


def dockerfile(project: Baked) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = (project.path / "Dockerfile").read_text().replace("\\\n", " ")
    pairs = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            instruction, _, arguments = line.strip().partition(" ")
            pairs.append((instruction.upper(), " ".join(arguments.split())))
    return pairs


def compose(project: Baked) -> dict:
    return load_yaml(project.path / "compose.yaml")


def interpolate(value: str, environ: dict[str, str] | None = None) -> str:
    """What docker compose makes of ${VAR:-default} and $$ with `environ` set."""
    environ = environ or {}
    value = COMPOSE_VARIABLE.sub(lambda m: environ.get(m.group(1)) or m.group(2) or "", value)
    return value.replace("$$", "$")


def commented_defaults(project: Baked) -> dict[str, str]:
    """The `# NAME=value` lines of .env.example."""
    text = (project.path / ".env.example").read_text()
    return dict(re.findall(r"^# (\w+)=(.*)$", text, re.M))


def test_dockerfile_uses_the_projects_python_and_serves_the_api(baked_sqlite: Baked) -> None:
    steps = dockerfile(baked_sqlite)
    assert ("ARG", "PYTHON_VERSION=3.11") in steps
    assert ("FROM", "python:${PYTHON_VERSION}-slim") in steps
    serve = ["python", "-m", f"{baked_sqlite.package}.api", "--host", "0.0.0.0", "--port", "8000"]
    assert steps[-1] == ("CMD", json.dumps(serve))
    assert ("EXPOSE", "8000") in steps
    (user,) = [arguments for instruction, arguments in steps if instruction == "USER"]
    assert user not in ("root", "0")
    uv_version = run([str(BIN / "uv"), "--version"]).stdout.split()[1]
    assert ("COPY", f"--from=ghcr.io/astral-sh/uv:{uv_version} /uv /bin/uv") in steps


def test_dockerignore_keeps_secrets_and_local_state_out(baked_sqlite: Baked) -> None:
    patterns = (baked_sqlite.path / ".dockerignore").read_text().splitlines()
    for pattern in (".env", ".venv", ".git", "**/*.db", "**/__pycache__"):
        assert pattern in patterns


def build_context(project: Path, destination: Path) -> Path:
    """Copy the project as `docker build` would send it, .dockerignore applied."""
    patterns = [
        line.strip()
        for line in (project / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(folder: str, names: list[str]) -> set[str]:
        relative = Path(folder).relative_to(project)
        return {
            name
            for name in names
            for pattern in patterns
            if fnmatch.fnmatch(str(relative / name), pattern.removeprefix("**/"))
            or (pattern.startswith("**/") and fnmatch.fnmatch(name, pattern[3:]))
        }

    shutil.copytree(project, destination, ignore=ignored)
    return destination


@pytest.mark.postgres
def test_dockerfile_and_compose_commands_work_outside_docker(
    project: Baked, tmp_path: Path, postgres_url: str
) -> None:
    # Local state that must not reach the image.
    (project.path / ".env").write_text("DATABASE_URL=postgresql://nobody:x@127.0.0.1:1/none\n")
    (project.path / f"{project.package}.db").write_text("")
    (project.path / ".venv").mkdir()
    context = build_context(project.path, tmp_path / "app")
    assert not {".env", ".venv", f"{project.package}.db"} & {p.name for p in context.iterdir()}

    steps = dockerfile(project)
    (env_line,) = [arguments for instruction, arguments in steps if instruction == "ENV"]
    image_env = dict(word.split("=", 1) for word in shlex.split(env_line))
    venv = tmp_path / "venv"
    uv_dir = uv_only_path(tmp_path / "uv")  # the image copies uv into /bin
    env = {
        name: value.replace(image_env["UV_PROJECT_ENVIRONMENT"], str(venv)).replace(
            "$PATH", f"{uv_dir}:{SYSTEM_PATH}"
        )
        for name, value in image_env.items()
    }
    assert env["PATH"].startswith(f"{venv}/bin:")

    # The build's COPY and RUN steps, in order, in a folder standing for WORKDIR /app:
    # the dependencies install from pyproject.toml and uv.lock alone.
    workdir = tmp_path / "workdir"
    workdir.mkdir()
    runs = 0
    for instruction, arguments in steps:
        if instruction == "COPY" and not arguments.startswith("--from="):
            *sources, _ = arguments.split()
            for source in sources:
                if source == ".":
                    shutil.copytree(context, workdir, dirs_exist_ok=True)
                else:
                    shutil.copy(context / source, workdir / source)
        elif instruction == "RUN":
            command = re.sub(r"^(--\S+\s+)*", "", arguments)  # --mount=... is Docker's
            assert command.startswith("uv sync --locked --no-dev"), command
            run(["sh", "-c", command], cwd=workdir, **env)
            runs += 1
    assert runs == 2
    context = workdir
    # The image holds the locked runtime packages and none of the developer's tools.
    lacking = run([str(venv / "bin/python"), "-c", "import pytest"], check=False, **env)
    assert lacking.returncode != 0
    run([str(venv / "bin/python"), "-c", f"import fastapi, psycopg2, {project.package}"])

    services = compose(project)["services"]
    migrate = services["migrate"]["command"]
    migrated = run(migrate, cwd=context, DATABASE_URL=postgres_url, **env)
    assert "Running upgrade" in migrated.stderr

    # The image's command serves the API; compose's healthcheck finds it ready.
    (cmd,) = [json.loads(arguments) for instruction, arguments in steps if instruction == "CMD"]
    port = str(free_port())
    cmd = [port if part == "8000" else part for part in cmd]
    check = [part.replace(":8000/", f":{port}/") for part in services["app"]["healthcheck"]["test"]]
    assert check[0] == "CMD"
    # Without API_TOKENS the image refuses to start, in one line, before serving.
    refused = run(cmd, check=False, cwd=context, DATABASE_URL=postgres_url, **env)
    assert refused.returncode == 2
    (line,) = (refused.stdout + refused.stderr).strip().splitlines()
    assert line.startswith("Refusing to serve an open API on 0.0.0.0") and "API_TOKENS" in line
    token = "a-long-random-token-for-this-test"
    server = start_server(
        cmd,
        int(port),
        context,
        tmp_path / "app.log",
        DATABASE_URL=postgres_url,
        API_TOKENS=token,
        **env,
    )
    try:
        server.wait_until_up()
        run(check[1:], cwd=context, **env)
        assert server.call("GET", "/users")[0] == 401
        assert server.call("GET", "/users", token=token) == (200, [])
        # CI's image job asks the same questions with curl, once compose is up.
        asked = [step["run"] for step in workflow(project)["jobs"]["image"]["steps"][2:4]]
        answers = []
        for command in asked:  # curl --fail-with-body: an answer that is not 2xx fails
            assert "127.0.0.1:8000/" in command
            local = command.replace(":8000/", f":{port}/")
            answers.append(json.loads(run(["sh", "-c", local], API_TOKENS=token).stdout))
        assert answers[1] == []  # /users, with the token the job hands compose
    finally:
        log = server.stop()
    assert token not in log


def test_compose_starts_db_then_migrations_then_app(baked_sqlite: Baked) -> None:
    services = compose(baked_sqlite)["services"]
    assert set(services) == {"db", "migrate", "app"}
    db, migrate, app = services["db"], services["migrate"], services["app"]

    assert db["image"].startswith("postgres:")
    health = db["healthcheck"]
    assert health["test"][0] == "CMD-SHELL" and "pg_isready" in health["test"][1]
    assert "$$POSTGRES_USER" in health["test"][1]  # the container's variable, not compose's
    assert health["retries"] > 0
    assert migrate["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert app["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    assert "restart" not in migrate  # one-shot

    # The tokens reach the API alone: migrations have no use for them.
    assert app["environment"]["API_TOKENS"] == "${API_TOKENS:-}"
    assert "API_TOKENS" not in migrate["environment"]
    for service in (migrate, app):
        assert service["build"] == "."
        url = make_url(interpolate(service["environment"]["DATABASE_URL"]))
        assert url.host == "db" and url.port == 5432
        assert url.username == interpolate(db["environment"]["POSTGRES_USER"])
        # The password travels on its own, never inside the URL (any character works).
        assert url.password is None
        assert interpolate(service["environment"]["DATABASE_PASSWORD"]) == interpolate(
            db["environment"]["POSTGRES_PASSWORD"]
        )
        assert url.database == interpolate(db["environment"]["POSTGRES_DB"])
    assert interpolate(db["environment"]["POSTGRES_DB"]) == baked_sqlite.package
    assert interpolate(db["environment"]["POSTGRES_DB"], {"POSTGRES_DB": "x"}) == "x"

    (volume,) = db["volumes"]
    assert volume.split(":")[0] in compose(baked_sqlite)["volumes"]
    assert "ports" not in db  # only the stack's services reach the database
    # The API, on this machine only, healthy once ready (the image's command serves it).
    assert "command" not in app
    assert app["ports"] == ["127.0.0.1:${APP_PORT:-8000}:8000"]
    assert "/health/ready" in " ".join(app["healthcheck"]["test"])
    assert migrate["command"] == ["alembic", "upgrade", "head"]


def test_compose_variables_are_documented_with_the_same_defaults(baked_sqlite: Baked) -> None:
    text = (baked_sqlite.path / "compose.yaml").read_text()
    used = {name: default for name, default in COMPOSE_VARIABLE.findall(text)}
    assert set(used) == {
        "POSTGRES_USER",
        "POSTGRES_PASSWORD",
        "POSTGRES_DB",
        "APP_PORT",
        "API_TOKENS",
        "API_OPEN",
    }
    documented = commented_defaults(baked_sqlite)
    for name, default in used.items():
        if default:
            assert documented.get(name) == default, name
        else:  # unset by default: documented with a placeholder at most
            assert name in documented, name
    assert documented["API_TOKENS"] == "replace-with-a-long-random-token"


def test_without_docker_the_container_files_and_their_docs_are_left_out(
    baked_sqlite: Baked, baked_without_docker: Baked
) -> None:
    without = baked_without_docker
    docker_files = {"Dockerfile", "compose.yaml", ".dockerignore"}

    def files(project: Baked) -> set[str]:
        # What the template wrote: not the migration, nor caches other tests left.
        skip = {"versions", "__pycache__", ".ruff_cache", ".pytest_cache"}
        return {
            str(path.relative_to(project.path))
            for path in project.path.rglob("*")
            if path.is_file() and not skip & set(path.parts)
        }

    # The Docker page goes with the container files it describes.
    assert files(baked_sqlite) - files(without) == docker_files | {"docs/docker.md"}
    assert docker_files <= files(baked_sqlite)
    docs = documentation(without)
    assert "compose" not in docs and "Dockerfile" not in docs
    assert "POSTGRES_" not in (without.path / ".env.example").read_text()
    assert doc_section(without, "Docker") is None
    assert doc_section(baked_sqlite, "Docker") is not None


def test_include_docker_accepts_only_y_or_n(tmp_path: Path) -> None:
    result = run(bake_command(tmp_path, include_docker="yes"), check=False)
    assert result.returncode != 0
    assert list(tmp_path.iterdir()) == []


# --- .env.example and the README ------------------------------------------------------


def variables_read(project: Baked) -> set[str]:
    """Every environment variable the project's code, Makefile or compose file reads."""
    readers: list[tuple[Callable[[Path], bool], re.Pattern[str]]] = [
        (
            lambda p: p.suffix == ".py",
            re.compile(r"""(?:environ\.get|getenv|setting|duration)\(\s*["']([A-Z][A-Z0-9_]+)"""),
        ),
        # settings.database_url(name="DATABASE_URL"): the variable a reader is given.
        (
            lambda p: p.suffix == ".py",
            re.compile(r"""\bname(?:: str)? ?= ?["']([A-Z][A-Z0-9_]+)"""),
        ),
        (lambda p: p.name == "Makefile", re.compile(r"\$\$\{([A-Z][A-Z0-9_]+)")),
        (lambda p: p.name == "compose.yaml", COMPOSE_VARIABLE),
    ]
    names = set()
    for path in project.path.rglob("*"):
        if not path.is_file() or ".venv" in path.parts:
            continue
        for wanted, pattern in readers:
            if wanted(path):
                found = pattern.findall(path.read_text())
                names |= {item[0] if isinstance(item, tuple) else item for item in found}
    return names


def test_env_example_documents_every_variable_with_safe_values(baked_sqlite: Baked) -> None:
    names = variables_read(baked_sqlite)
    assert {"DATABASE_URL", "TEST_DATABASE_URL", "DRIFT_DATABASE_URL", "POSTGRES_PASSWORD"} <= names
    example = (baked_sqlite.path / ".env.example").read_text()
    missing = [name for name in sorted(names) if name not in example]
    assert not missing
    urls = re.findall(r"postgresql://\S+", example)
    assert urls and all(make_url(url).password == "change-me" for url in urls), urls
    assert commented_defaults(baked_sqlite)["POSTGRES_PASSWORD"] == "change-me"


def test_readme_covers_the_daily_habits(baked_sqlite: Baked) -> None:
    pages = doc_pages(baked_sqlite)
    readme_headings = headings(pages["README.md"])
    for heading in ("Quick start", "Daily commands", "Layout", "Read on"):
        assert heading in readme_headings
    found = [heading for text in pages.values() for heading in headings(text)]
    for heading in (
        "Configuration",
        "Migrations",
        "Testing",
        "Continuous integration",
        "Pre-commit",
        "Docker",
        "Deploying migrations safely",
        "Data migrations",
    ):
        assert heading in found, heading
    for text in pages.values():  # within a page, every heading leads somewhere else
        assert len(headings(text)) == len(set(headings(text))), headings(text)
    readme = pages["README.md"]
    for target in DAILY_TARGETS:  # the front door lists every daily command
        assert f"`make {target}" in readme, target
    docs = documentation(baked_sqlite)
    for name in variables_read(baked_sqlite):
        assert f"`{name}`" in docs, name
    assert "/health/ready" in docs  # compose's app is the API, healthy when ready


def test_values_given_to_make_are_never_run(project: Baked, tmp_path: Path) -> None:
    planted = tmp_path / "planted"
    for target, variable in (("revision", "m"), ("rebase-migration", "ONTO")):
        dry_run = make(
            project.path, "-n", target, f"{variable}=$(shell touch {planted}) x", PYTHON
        ).stdout
        assert f"'$(shell touch {planted}) x'" in dry_run  # passed on, quoted, as text
    assert not planted.exists()
