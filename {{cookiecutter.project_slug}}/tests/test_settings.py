"""The app and its migrations read their settings apart: settings.py is yours to
change, migrations/settings.py is the migration runtime's own. These check they still
meet the same database, so a change to one that the other does not follow fails here,
not in production."""

from pathlib import Path

import pytest

from {{ cookiecutter.package_name }} import settings as service_settings
from {{ cookiecutter.package_name }}.settings import (
    SettingError,
    Settings,
    database_url,
)

from migrations import settings as runtime

READ = ("DATABASE_URL", "DATABASE_PASSWORD", "MIGRATION_DATABASE_URL")
{%- if cookiecutter.database == "mysql" %}
SERVER = "mysql://app@db.example:3306/shop"
{%- else %}
SERVER = "postgres://app@db.example:5432/shop"
{%- endif %}


@pytest.mark.parametrize(
    "environ",
    [
        {},  # the default: a SQLite file in the project
        {"DATABASE_URL": "sqlite:///data/app.db"},  # relative: in the project
        {"DATABASE_URL": f"  {SERVER}  "},
        {"DATABASE_URL": SERVER, "DATABASE_PASSWORD": " p@ss w$rd%40 "},
        {"DATABASE_URL": SERVER.replace("app@", "app:in%40url@")},
    ],
    ids=["default", "relative-sqlite", "server", "password-apart", "password-in-url"],
)
def test_the_app_and_the_migrations_find_the_same_database(
    monkeypatch: pytest.MonkeyPatch, environ: dict[str, str]
) -> None:
    for name in READ:  # blank in the environment: .env is not read for it
        monkeypatch.setenv(name, environ.get(name, ""))
    assert database_url() == runtime.database_url()


def test_no_password_shows_in_the_settings_repr(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", SERVER.replace("app@", "app:in-url-pw@"))
    monkeypatch.setenv("DATABASE_PASSWORD", "apart-pw")
    shown = repr(Settings())
    assert "in-url-pw" not in shown and "apart-pw" not in shown


def test_both_read_env_file_values_as_written(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env_file = tmp_path / ".env"
    password = "pa$" + "{HOME}ss"  # what python-dotenv would expand by default
    env_file.write_text(f"DATABASE_URL={SERVER}\nDATABASE_PASSWORD='{password}'\n")
    monkeypatch.setattr(service_settings, "ENV_FILE", env_file)
    for name in READ:
        monkeypatch.delenv(name, raising=False)
    assert Settings().database_password.get_secret_value() == password
    assert database_url() == runtime.database_url(env_file=env_file)


@pytest.mark.parametrize("broken", ["folder", "unclosed-quote"])
def test_an_env_file_that_cannot_be_read_is_refused_not_skipped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, broken: str
) -> None:
    # Skipped, a secret on a line python-dotenv cannot parse would be silently unset.
    env_file = tmp_path / ".env"
    if broken == "folder":
        env_file.mkdir()
    else:
        env_file.write_text("DATABASE_URL=x\nDATABASE_PASSWORD='unclosed\n")
    monkeypatch.setattr(service_settings, "ENV_FILE", env_file)
    with pytest.raises(SettingError, match="not a file|line 2") as refused:
        Settings()
    assert "tok-abc" not in str(refused.value)


def test_only_the_exact_names_count_for_both(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The migrations read DATABASE_URL and no other spelling: nor may the app, or it
    # would serve a database they never migrated.
    env_file = tmp_path / ".env"
    env_file.write_text(f"database_url={SERVER}\n")
    monkeypatch.setattr(service_settings, "ENV_FILE", env_file)
    for name in READ:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("Database_Url", SERVER)
    assert database_url() == runtime.database_url(env_file=env_file)


@pytest.mark.parametrize(
    "url",
    [
        f"{SERVER}?port=abc",
        f"{SERVER}?port=99999",
        SERVER.replace("://", "+nosuchdriver://", 1),
        SERVER.split(":")[0],  # a scheme alone
        SERVER.replace("app@", "app:pa?ss@hidden@"),  # a '?', then a second '@'
        SERVER.replace("shop", "sh%00op"),
        "sqlite://host/app.db",
        "sqlite:///app.db?timeout=abc",
        "sqlite:///app.db password",  # DATABASE_PASSWORD with SQLite
    ],
    ids=[
        "port-not-a-number",
        "port-out-of-range",
        "unknown-driver",
        "scheme-alone",
        "second-at-after-a-question-mark",
        "nul",
        "sqlite-with-a-host",
        "bad-option",
        "sqlite-with-a-password",
    ],
)
def test_what_the_migrations_refuse_the_app_refuses_at_start(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    # Taken, it would start and answer every request 500 with a traceback.
    url, _, password = url.partition(" ")
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DATABASE_PASSWORD", password)
    with pytest.raises(runtime.SettingError):
        runtime.database_url()
    with pytest.raises(SettingError, match="make migrate. says why"):
        database_url()
