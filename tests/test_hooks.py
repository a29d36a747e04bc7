"""The hooks' logic, in-process: each hook is rendered as cookiecutter renders it, then
imported, so its functions are called directly (no bake, no subprocess per case)."""

import ast
import ensurepip
import importlib.util
import logging
import re
import sys
import textwrap
import time
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path
from types import ModuleType

import pytest
from cookiecutter.exceptions import FailedHookException
from cookiecutter.generate import generate_context
from cookiecutter.prompt import prompt_for_config
from cookiecutter.utils import create_env_with_context
from packaging.requirements import Requirement

from .helpers import TEMPLATE

HOOKS = TEMPLATE / "hooks"
EXTENSIONS = TEMPLATE / "local_extensions.py"


def render_hook(name: str, folder: Path, **answers: str) -> ModuleType:
    """The hook `name` rendered with `answers` (defaults for the rest), imported."""
    context = generate_context(
        context_file=str(TEMPLATE / "cookiecutter.json"), extra_context=answers
    )
    context = {"cookiecutter": prompt_for_config(context, no_input=True)}
    source = (HOOKS / f"{name}.py").read_text()
    rendered = create_env_with_context(context).from_string(source).render(**context)
    path = folder / f"{name}.py"
    path.write_text(rendered)
    spec = importlib.util.spec_from_file_location(f"rendered_{name}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def pre_gen(tmp_path: Path) -> ModuleType:
    return render_hook("pre_gen_project", tmp_path)


@pytest.fixture
def post_gen(tmp_path: Path) -> ModuleType:
    return render_hook("post_gen_project", tmp_path)


# --- pre_gen_project: names that would bake a broken project --------------------------

# (value, words the one-line reason must contain)
BAD_SLUGS = {
    "empty": ("", ["project_slug ''"]),
    "too-long": ("a" * 65, ["65 characters", "at most 64"]),
    "space": ("my service", ["project_slug", "'my service'"]),
    "upper-case": ("MyService", ["project_slug", "lower-case"]),
    "path": ("../escape", ["project_slug", "'../escape'"]),
}
BAD_PACKAGES = {
    "starts-with-digit": ("2fa_service", ["'2fa_service'", "not a Python identifier"]),
    "hyphen": ("my-service", ["identifier"]),
    "keyword": ("class", ["'class'", "keyword"]),
    "shadows-alembic": ("alembic", ["'alembic'", "shadow", "dependency"]),
    "shadows-sqlmodel": ("sqlmodel", ["'sqlmodel'", "shadow"]),
    "shadows-stdlib": ("email", ["'email'", "standard library"]),
    "shadows-python-test-suite": ("test", ["'test'", "standard library"]),
    "dunder": ("__init__", ["'__init__'", "reserves"]),
    "upper-case": ("MyService", ["lower-case"]),
    "non-ascii": ("café", ["identifier"]),
    "migrations-folder": ("migrations", ["'migrations'", "folder"]),
    "tools-folder": ("tools", ["'tools'", "folder"]),
    "tests-folder": ("tests", ["'tests'", "folder"]),
    "docs-folder": ("docs", ["'docs'", "folder"]),
    "build-folder": ("build", ["'build'", "folder"]),
    "dist-folder": ("dist", ["'dist'", "folder"]),
    "backups-folder": ("backups", ["'backups'", "folder"]),
    # Indirect and dev dependencies shadow as surely as direct ones.
    "shadows-annotated-types": ("annotated_types", ["'annotated_types'", "shadow"]),
    "shadows-typing-inspection": ("typing_inspection", ["shadow"]),
    "shadows-markupsafe": ("markupsafe", ["shadow"]),
    "shadows-pytest-alembic": ("pytest_alembic", ["shadow"]),
    "shadows-private-pytest": ("_pytest", ["shadow"]),
    "shadows-pluggy": ("pluggy", ["shadow"]),
    "shadows-iniconfig": ("iniconfig", ["shadow"]),
    # A dependency on Windows only, which uv.lock records for every platform.
    "shadows-colorama": ("colorama", ["'colorama'", "shadow"]),
    # What every virtual environment has: pip would import itself, not the package.
    "shadows-pip": ("pip", ["'pip'", "shadow", "virtual environments"]),
    "shadows-setuptools": ("setuptools", ["'setuptools'", "shadow"]),
    "shadows-distutils-hack": ("_distutils_hack", ["'_distutils_hack'", "shadow"]),
    "shadows-pkg-resources": ("pkg_resources", ["shadow"]),
    "shadows-distutils": ("distutils", ["shadow"]),
    # Imported by every Python that starts in the environment.
    "sitecustomize": ("sitecustomize", ["'sitecustomize'", "whenever it starts"]),
    "too-long": ("a" * 41, ["41 characters", "at most 40"]),
}


def local_extensions() -> ModuleType:
    """The template's Jinja extension module, which checks project_slug."""
    spec = importlib.util.spec_from_file_location("template_extensions", EXTENSIONS)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("slug, words", BAD_SLUGS.values(), ids=BAD_SLUGS.keys())
def test_bad_slug_is_named_with_the_rule(slug: str, words: list[str]) -> None:
    problem = local_extensions().slug_problem(slug)
    assert problem and "\n" not in problem
    assert all(word in problem for word in words), problem
    assert "use" in problem  # the fix, not just the fault


@pytest.mark.parametrize("name, words", BAD_PACKAGES.values(), ids=BAD_PACKAGES.keys())
def test_bad_package_is_named_with_the_rule(
    pre_gen: ModuleType, name: str, words: list[str]
) -> None:
    problem = pre_gen.package_problem(name)
    assert problem and "\n" not in problem
    assert problem.startswith("package_name")
    assert all(word in problem for word in words), problem
    assert "choose another package_name" in problem or "use at most" in problem


def test_every_import_name_the_project_installs_is_refused(pre_gen: ModuleType) -> None:
    # The project's real dependency closure (dev tools included), read from what is
    # installed here, against the hook's list: no name that shadows may slip through.
    pyproject = (TEMPLATE / "{{cookiecutter.project_slug}}" / "pyproject.toml").read_text()
    wanted = re.findall(r'^\s+"([A-Za-z0-9_.-]+(?:\[[a-z,]+\])?)[><=~!]', pyproject, re.M)
    assert "sqlmodel" in wanted and "pytest" in wanted and "uvicorn[standard]" in wanted
    missing = sorted(import_names(wanted) - pre_gen.DEPENDENCY_IMPORTS)
    assert not missing, f"add to DEPENDENCY_IMPORTS in hooks/pre_gen_project.py: {missing}"


def test_every_module_a_new_virtual_environment_holds_is_refused(pre_gen: ModuleType) -> None:
    # What `python -m venv` installs (pip, and setuptools up to Python 3.11): the wheels
    # ensurepip bundles, read here.
    bundled = Path(ensurepip.__file__).parent / "_bundled"
    names = {
        name.split("/")[0].removesuffix(".py")
        for wheel in bundled.glob("*.whl")
        for name in zipfile.ZipFile(wheel).namelist()
    }
    names = {name for name in names if name.isidentifier()}
    assert "pip" in names
    refused = {name for name in names if pre_gen.package_problem(name)}
    assert refused == names


def import_names(requirements: list[str]) -> set[str]:
    """Top-level import names of `requirements` and everything they require."""
    seen: dict[str, metadata.Distribution] = {}
    todo = [Requirement(raw) for raw in requirements]
    done: set[tuple[str, str]] = set()
    while todo:
        wanted = todo.pop()
        key = re.sub(r"[-_.]+", "-", wanted.name).lower()
        extras = sorted(wanted.extras) or [""]
        if all((key, extra) in done for extra in extras):
            continue
        done |= {(key, extra) for extra in extras}
        try:
            seen[key] = distribution = metadata.distribution(wanted.name)
        except metadata.PackageNotFoundError:
            continue
        for raw in distribution.requires or []:
            requirement = Requirement(raw)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": extra}) for extra in extras):
                todo.append(requirement)
    names = set()
    for distribution in seen.values():
        top_level = distribution.read_text("top_level.txt")
        if top_level:
            names |= set(top_level.split())
            continue
        for path in distribution.files or []:
            first = path.parts[0].removesuffix(".py")
            if len(path.parts) > 1 or path.parts[0].endswith(".py"):
                names.add(first)
    return {name for name in names if name.isidentifier() and not name.startswith("__")}


@pytest.mark.parametrize("key", ["project_name", "description", "author_name"])
def test_an_answer_with_a_line_break_is_refused(pre_gen: ModuleType, key: str) -> None:
    problem = pre_gen.text_problem(key, "Orders\nall: ; rm -rf /")
    assert problem and key in problem and "one line" in problem
    assert pre_gen.text_problem(key, "Zoë O'Brien & Co.") is None


TOML_TEXTS = [
    "Orders \U0001f600 service",  # outside the BMP: JSON escapes it as a surrogate pair
    "Zoë O'Brien & <Co.>",
    'a "quoted" C:\\Users\\me \\N',
    "tab\tand\x7fdel\x1b\x00 and\nline \u2028 break",
    "",
]


@pytest.mark.parametrize("text", TOML_TEXTS)
def test_toml_string_reads_back_as_the_text(text: str) -> None:
    written = local_extensions().toml_string(text)
    assert "\n" not in written
    assert tomllib.loads(f"key = {written}")["key"] == text
    if text.isprintable():
        assert written == '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def test_only_a_failed_hooks_traceback_is_left_out_of_the_log() -> None:
    extensions = local_extensions()
    quiet = extensions.QuietHookFailure()

    def record(error: Exception) -> logging.LogRecord:
        try:
            raise error
        except Exception:
            info = sys.exc_info()
        return logging.LogRecord("cookiecutter.hooks", logging.ERROR, "", 0, "x", (), info)

    failed = record(FailedHookException("Hook script failed (exit status: 1)"))
    assert quiet.filter(failed) and failed.exc_info is None  # the line stays, alone
    other = record(ValueError("a bug in a template"))
    assert quiet.filter(other) and other.exc_info is not None


@pytest.mark.parametrize("name", ["orders_service", "billing", "a_rather_long_package_name"])
def test_good_package_names_pass(pre_gen: ModuleType, name: str) -> None:
    assert pre_gen.package_problem(name) is None
    assert local_extensions().slug_problem(name.replace("_", "-")) is None


def test_pre_gen_main_prints_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hook = render_hook("pre_gen_project", tmp_path, package_name="class")
    assert hook.main() == 1
    assert capsys.readouterr().err.splitlines() == ["ERROR: " + hook.package_problem("class")]


# --- post_gen_project ----------------------------------------------------------------


def test_failure_cause_prefers_the_error_over_the_last_lines(post_gen: ModuleType) -> None:
    pip_output = textwrap.dedent(
        """\
        Collecting sqlmodel
        ERROR: Could not find a version that satisfies the requirement sqlmodel>=0.0.50
        ERROR: No matching distribution found for sqlmodel>=0.0.50

        [notice] See above for output.
        """
    )
    cause = post_gen.failure_cause(pip_output)
    assert "No matching distribution found for sqlmodel" in cause
    assert "See above" not in cause
    assert post_gen.failure_cause("only\nsome\nlines") == "only | some | lines"


def test_a_failed_command_reports_its_cause(post_gen: ModuleType, tmp_path: Path) -> None:
    command = [sys.executable, "-c", "import sys; sys.exit('error: the real cause')"]
    with pytest.raises(post_gen.HookFailure, match="error: the real cause"):
        post_gen.run(command, tmp_path)


def test_commands_are_bounded_by_a_timeout(post_gen: ModuleType, tmp_path: Path) -> None:
    start = time.monotonic()
    with pytest.raises(post_gen.HookFailure, match="took longer than 1 s"):
        post_gen.run([sys.executable, "-c", "import time; time.sleep(30)"], tmp_path, timeout=1)
    assert time.monotonic() - start < 10


def test_every_subprocess_goes_through_run() -> None:
    # run() is the one place that applies a timeout and turns failures into one line.
    for hook in HOOKS.glob("*.py"):
        tree = ast.parse(hook.read_text().replace("{{ cookiecutter | tojson }}", "{}"))
        calls = [
            node
            for function in ast.walk(tree)
            if isinstance(function, ast.FunctionDef) and function.name != "run"
            for node in ast.walk(function)
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "subprocess"
        ]
        assert calls == [], hook.name


def test_hooks_import_the_standard_library_only_at_top_level() -> None:
    # cookiecutter from pipx has nothing else; Alembic is imported only once found.
    for hook in HOOKS.glob("*.py"):
        tree = ast.parse(hook.read_text().replace("{{ cookiecutter | tojson }}", "{}"))
        top = {
            alias.name.split(".")[0]
            for node in tree.body
            if isinstance(node, ast.Import)
            for alias in node.names
        } | {
            node.module.split(".")[0]
            for node in tree.body
            if isinstance(node, ast.ImportFrom) and node.module
        }
        assert top <= set(sys.stdlib_module_names), (hook.name, top)


def unreachable_index(monkeypatch: pytest.MonkeyPatch, cache: Path) -> None:
    """No package index: every request goes to a closed port, and uv's cache is empty."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.setenv("UV_CACHE_DIR", str(cache))
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")
    monkeypatch.delenv("NO_PROXY", raising=False)


def test_without_an_index_the_lock_is_left_for_make_lock_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    hook = render_hook("post_gen_project", tmp_path)
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "p"\nversion = "0"\ndependencies = ["sqlmodel"]\n'
    )
    unreachable_index(monkeypatch, tmp_path / "empty-cache")
    start = time.monotonic()
    assert hook.write_lock(project, tmp_path / "spare") is None
    assert time.monotonic() - start < 60
    assert not (project / "uv.lock").exists()
    warning, advice = capsys.readouterr().err.strip().splitlines()
    assert warning.startswith("WARNING: uv.lock was not written: ") and "error" in warning
    assert advice.endswith(f"cd {project} && make lock")
    # The migration's own steps then start with `make lock`.
    hook.finish_by_hand(project, "there is no uv.lock to install from")
    steps = capsys.readouterr().err
    assert steps.index("make lock") < steps.index("make install")


def test_finish_by_hand_names_the_cause_and_the_commands(
    post_gen: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    post_gen.finish_by_hand(tmp_path, "pip install failed: ERROR: no network")
    err = capsys.readouterr().err
    assert "not written: pip install failed: ERROR: no network" in err
    assert f"cd {tmp_path}" in err and "make install" in err
    assert "DATABASE_URL=sqlite:// MIGRATION_DATABASE_URL= .venv/bin/alembic revision" in err


@pytest.mark.parametrize(("api", "docker"), [("y", "y"), ("n", "y"), ("y", "n"), ("n", "n")])
def test_the_files_of_an_answered_no_are_removed(tmp_path: Path, api: str, docker: str) -> None:
    project = tmp_path / "p"
    (project / "orders_service" / "api").mkdir(parents=True)
    (project / "tests").mkdir()
    files = ["orders_service/api/__init__.py", "orders_service/crud.py", "tests/test_api.py"]
    files += [
        "tests/test_health.py",
        "tests/test_security.py",
        "Dockerfile",
        "compose.yaml",
        ".dockerignore",
        "Makefile",
    ]
    for name in files:
        (project / name).write_text("")
    hook = render_hook("post_gen_project", tmp_path, include_api=api, include_docker=docker)
    hook.remove_unwanted_files(project)
    kept = {name for name in files if (project / name).exists()}
    api_files = {name for name in files if re.search("api|health|security", name)}
    docker_files = {"Dockerfile", "compose.yaml", ".dockerignore"}
    expected = set(files) - (api_files if api == "n" else set())
    expected -= docker_files if docker == "n" else set()
    assert kept == expected
    assert (project / "orders_service" / "api").exists() is (api == "y")


def test_an_existing_history_is_kept(
    post_gen: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    versions = tmp_path / "migrations" / "versions"
    versions.mkdir(parents=True)
    (versions / "0001_mine.py").write_text("# the user's\n")
    assert post_gen.main(tmp_path) == 0
    assert [p.name for p in versions.iterdir()] == ["0001_mine.py"]
    assert "no new initial migration" in capsys.readouterr().out
