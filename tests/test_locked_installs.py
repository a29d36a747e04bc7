"""Reproducible installs: a baked project installs what its uv.lock records, the same
packages every time, with the package index gone once uv's cache is warm, and stops in
one line when pyproject.toml has moved on without `make lock`. The template's own test
environment is locked too (requirements-test.txt)."""

import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from .helpers import SYSTEM_PATH, TEMPLATE, UV, Baked, run, uv_only_path

# Every request to the package index goes to a closed port.
NO_INDEX = {name: "http://127.0.0.1:9" for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")}


def make(project: Path, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess:
    """make in the project, with the system's tools and uv on PATH (as in CI)."""
    path = f"{uv_only_path(project.parent / 'uv-only')}:{SYSTEM_PATH}"
    env = {"PATH": path, "UV_PYTHON_DOWNLOADS": "never", "NO_PROXY": "", **env}
    return run(["make", *args], check=check, cwd=project, **env)


def installed_packages(project: Path) -> dict[str, str]:
    """name -> version of what the project's .venv holds, the project itself aside."""
    python = str(project / ".venv" / "bin" / "python")
    frozen = run([UV, "pip", "freeze", "--exclude-editable", "--python", python]).stdout
    return dict(line.split("==") for line in frozen.split())


def locked_packages(project: Path) -> dict[str, str]:
    """name -> version of every package uv.lock records from the index."""
    lock = tomllib.loads((project / "uv.lock").read_text())
    return {p["name"]: p["version"] for p in lock["package"] if "registry" in p["source"]}


def normalized(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def add_dependency(project: Path, requirement: str) -> None:
    """Add a dependency to pyproject.toml, as a developer does, without `make lock`."""
    pyproject = project / "pyproject.toml"
    anchor = '"python-dotenv>=1.0",'
    pyproject.write_text(pyproject.read_text().replace(anchor, f'{anchor}\n    "{requirement}",'))


@pytest.fixture
def two_copies(baked_postgresql: Baked, tmp_path: Path) -> tuple[Path, Path]:
    copies = []
    for name in ("first", "second"):
        copy = tmp_path / name / baked_postgresql.path.name
        shutil.copytree(baked_postgresql.path, copy)
        copies.append(copy)
    return copies[0], copies[1]


def test_two_installs_are_identical_and_the_second_needs_no_index(
    two_copies: tuple[Path, Path],
) -> None:
    first, second = two_copies
    make(first, "install")
    # uv's cache is warm now: the package index is not needed any more.
    make(second, "install", **NO_INDEX)
    installed = installed_packages(first)
    assert installed == installed_packages(second)
    locked = locked_packages(first)
    # Exactly the locked versions: every installed package is in the lock at that
    # version (the lock also holds packages for other platforms and Pythons).
    assert installed and all(locked[normalized(name)] == v for name, v in installed.items())
    for tool in ("pytest", "ruff", "mypy", "uv"):  # the dev tools, from the lock too
        assert tool in installed


def test_a_dependency_changed_without_make_lock_stops_install_in_one_line(
    two_copies: tuple[Path, Path],
) -> None:
    project, _ = two_copies
    add_dependency(project, "six")
    stale = make(project, "install", check=False)
    assert stale.returncode != 0
    assert not (project / ".venv").exists()  # nothing half-installed
    (line, made) = stale.stderr.strip().splitlines()  # ours, then make's "*** Error"
    assert line == "uv.lock does not match pyproject.toml: run `make lock` and commit uv.lock."
    assert made.startswith("make: ***")

    make(project, "lock")
    assert "six" in locked_packages(project)
    make(project, "install")
    run([str(project / ".venv" / "bin" / "python"), "-c", "import six"])
    # A newer allowed release of every package, if there is one; the lock stays fresh.
    make(project, "lock-upgrade")
    run([UV, "lock", "--check", "--offline"], cwd=project)


def test_without_uv_install_bootstraps_it_once_and_the_venv_holds_only_the_lock(
    baked_sqlite: Baked, tmp_path: Path
) -> None:
    """No uv on PATH: pip installs uv once for the user (outside the project), so a second
    fresh copy installs with the package index gone, and .venv is uv's own: the locked
    packages and nothing else (no pip or setuptools seeded by `python -m venv`)."""
    copies = [tmp_path / name / baked_sqlite.path.name for name in ("first", "second")]
    for copy in copies:
        shutil.copytree(baked_sqlite.path, copy)
    env = {"PATH": SYSTEM_PATH, "HOME": str(tmp_path / "home"), "UV_PYTHON_DOWNLOADS": "never"}
    run(["make", "install"], cwd=copies[0], **env)
    assert (tmp_path / "home" / ".local" / "share" / "uv-bootstrap" / "bin" / "uv").is_file()
    run(["make", "install"], cwd=copies[1], **env, **NO_INDEX, NO_PROXY="")
    for copy in copies:
        installed = installed_packages(copy)
        locked = locked_packages(copy)
        assert all(locked[normalized(name)] == v for name, v in installed.items()), installed
        assert "pip" not in installed and "setuptools" not in installed
    venv_uv = copies[0] / ".venv" / "bin" / "uv"
    version = run([str(venv_uv), "--version"]).stdout.split()[1]
    assert version == locked_packages(copies[0])["uv"]
    # make uses the locked uv in .venv from now on, even with no uv on PATH.
    dry_run = run(["make", "-n", "lock"], cwd=copies[0], **env).stdout
    assert "'.venv/bin/uv' lock" in dry_run


def test_a_lock_that_cannot_be_checked_stops_install_in_one_line(
    two_copies: tuple[Path, Path],
) -> None:
    """A new dependency, and no package index to resolve it against: one line saying so."""
    project, _ = two_copies
    add_dependency(project, "six")
    cold = {"UV_CACHE_DIR": str(project.parent / "cold-cache"), **NO_INDEX}
    stopped = make(project, "install", check=False, **cold)
    assert stopped.returncode != 0 and not (project / ".venv").exists()
    (line, made) = stopped.stderr.strip().splitlines()
    assert line.startswith("uv.lock could not be checked against pyproject.toml"), line
    assert line.partition("; uv says: ")[2].startswith("error: ")  # uv's own reason
    assert made.startswith("make: ***")


def test_dependabot_updates_the_lock_and_the_actions(baked_sqlite: Baked) -> None:
    config = yaml.safe_load((baked_sqlite.path / ".github" / "dependabot.yml").read_text())
    assert config["version"] == 2
    updates = {update["package-ecosystem"]: update for update in config["updates"]}
    assert set(updates) == {"uv", "github-actions"}
    for update in updates.values():
        assert update["directory"] == "/" and update["schedule"]["interval"] == "weekly"


def test_the_templates_own_test_requirements_are_locked(tmp_path: Path) -> None:
    """requirements-test.txt is requirements-test.in compiled, every package pinned and
    hashed; compiling again (keeping its pins) changes nothing."""
    locked = (TEMPLATE / "requirements-test.txt").read_text()
    command = locked.splitlines()[1].removeprefix("#").split()
    assert command[:3] == ["uv", "pip", "compile"] and "--generate-hashes" in command
    output = tmp_path / "requirements-test.txt"
    shutil.copy(TEMPLATE / "requirements-test.txt", output)  # its pins are kept
    arguments = [str(TEMPLATE / a) if a.startswith("requirements-") else a for a in command[3:]]
    arguments[arguments.index("-o") + 1] = str(output)
    run([UV, "pip", "compile", "--quiet", *arguments])
    pins = [line for line in locked.splitlines() if line and not line.startswith((" ", "#"))]
    fresh = [line for line in output.read_text().splitlines() if line and line[0] not in " #"]
    assert pins == fresh
    assert all("==" in pin for pin in pins) and locked.count("--hash=sha256:") >= len(pins)
