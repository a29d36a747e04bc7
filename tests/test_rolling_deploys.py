"""Expand and contract: each revision's phase, written by autogenerate and checked by
`make check`; alembic_phases kept by every run; readiness that lets the previous release
serve while only expand revisions are ahead of it; `make migrate-expand` and
`make migrate-contract` for a rolling deploy.

The classifier is tested in place (migrations/phases.py loaded from the template, no
bake); the rest through the real CLIs on a baked project and real servers."""

import importlib.util
import shutil
import sys
import textwrap
import threading
import time
from pathlib import Path
from types import ModuleType

import pytest

from .helpers import (
    SYSTEM_PATH,
    TEMPLATE,
    Baked,
    Server,
    make_run,
    mysql_connect,
    postgres_rows,
    run,
)

PHASES = TEMPLATE / "{{cookiecutter.project_slug}}" / "migrations" / "phases.py"


@pytest.fixture(scope="module")
def phases() -> ModuleType:
    spec = importlib.util.spec_from_file_location("template_phases", PHASES)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def revision(upgrade: str, downgrade: str = "pass", header: str = 'phase = "expand"\n') -> str:
    body = "".join(
        f"def {name}() -> None:\n{textwrap.indent(textwrap.dedent(code).strip(), '    ')}\n\n"
        for name, code in (("upgrade", upgrade), ("downgrade", downgrade))
    )
    return f"from alembic import op\nimport sqlalchemy as sa\n{header}\n{body}"


EXPAND = {
    "a nullable column": "op.add_column('users', sa.Column('bio', sa.Text(), nullable=True))",
    "a NOT NULL column with a server default": (
        "op.add_column('users', sa.Column('n', sa.Integer(), nullable=False, server_default='0'))"
    ),
    "a table": "op.create_table('notes', sa.Column('id', sa.Integer(), primary_key=True))",
    "an index": "op.create_index('ix_users_bio', 'users', ['bio'])",
    "a column made nullable": """
        with op.batch_alter_table('users') as batch_op:
            batch_op.alter_column('bio', existing_type=sa.Text(), nullable=True)
    """,
    "a server default changed": "op.alter_column('users', 'n', server_default='1')",
    "an enum value added": (
        "op.sync_enum_values(enum_schema='public', enum_name='status', "
        "new_values=['new', 'paid', 'sent'], affected_columns=[])"
    ),
    "an enum value added to the column's own type (MySQL)": """
        with op.batch_alter_table('users') as batch_op:
            batch_op.alter_column(
                'status',
                existing_type=sa.Enum('new', 'paid', name='status'),
                type_=sa.Enum('new', 'paid', 'sent', name='status'),
            )
    """,
}
CONTRACT = {
    "a dropped column": "op.drop_column('users', 'bio')",
    "a dropped column in batch mode": """
        with op.batch_alter_table('users') as batch_op:
            batch_op.drop_column('bio')
    """,
    "a dropped table": "op.drop_table('notes')",
    "a dropped index": "op.drop_index('ix_users_bio', table_name='users')",
    "a dropped constraint": "op.drop_constraint('uq_users_email', 'users')",
    "a renamed table": "op.rename_table('notes', 'memos')",
    "a renamed column": "op.alter_column('users', 'bio', new_column_name='about')",
    "SET NOT NULL": "op.alter_column('users', 'bio', existing_type=sa.Text(), nullable=False)",
    "a new type": "op.alter_column('users', 'bio', type_=sa.String(80))",
    "an enum value taken from the column's own type (MySQL)": (
        "op.alter_column('users', 'status', existing_type=sa.Enum('new', 'paid', name='s'), "
        "type_=sa.Enum('new', name='s'))"
    ),
    "a NOT NULL column without a default": (
        "op.add_column('users', sa.Column('n', sa.Integer(), nullable=False))"
    ),
}


@pytest.mark.parametrize("case", EXPAND)
def test_additions_are_expand(phases: ModuleType, case: str) -> None:
    downgrade = (
        "op.sync_enum_values(enum_schema='public', enum_name='status', "
        "new_values=['new', 'paid'], affected_columns=[])"
        if "sync_enum_values" in EXPAND[case]
        else "pass"
    )
    assert phases.contract_work(revision(EXPAND[case], downgrade)) == []


@pytest.mark.parametrize("case", CONTRACT)
def test_what_takes_away_or_narrows_is_contract(phases: ModuleType, case: str) -> None:
    (work,) = phases.contract_work(revision(CONTRACT[case]))
    assert work.split("(")[0].split(".")[-1] in CONTRACT[case]


def test_an_enum_value_removed_is_contract(phases: ModuleType) -> None:
    sync = (
        "op.sync_enum_values(enum_schema='public', enum_name='status', "
        "new_values={}, affected_columns=[])"
    )
    source = revision(sync.format("['new']"), sync.format("['new', 'paid']"))
    assert phases.contract_work(source) == ["removes enum value 'paid' of status"]


def test_the_review_names_the_operation_and_the_fix_in_one_line(
    phases: ModuleType, tmp_path: Path
) -> None:
    path = tmp_path / "0002_drop_bio.py"
    path.write_text(revision(CONTRACT["a dropped column"] + "\nop.drop_table('notes')"))
    (line,) = phases.review(path).splitlines()
    assert line.startswith("0002_drop_bio.py is marked expand but op.drop_column('users', 'bio')")
    assert "(and 1 more)" in line and "split it" in line and 'phase = "contract"' in line
    # Marked as what it is, or reviewed on purpose: nothing to say.
    for header in ('phase = "contract"\n', 'phase = "expand"\ncontract_reviewed = "no reader"\n'):
        path.write_text(revision(CONTRACT["a dropped column"], header=header))
        assert phases.review(path) is None


# --- a rolling deploy on PostgreSQL, through the real CLIs -----------------------------


def make(project: Path, *args: str, check: bool = True, **env: str):
    command = ["make", *args, f"PYTHON={sys.executable}"]
    return run(command, check=check, cwd=project, PATH=SYSTEM_PATH, **env)


def test_a_revision_written_by_hand_asks_for_its_phase(project: Baked) -> None:
    # Not "written by autogenerate": nothing classified it (make check will).
    project.alembic("revision", "-m", "by hand")
    (written, initial) = sorted(project.versions, key=lambda p: "_by_hand" not in p.name)
    assert "# Written by hand: say which it is" in written.read_text()
    assert "# Written by autogenerate" in initial.read_text()


def test_a_revision_that_adds_and_takes_away_splits_as_the_docs_say(project: Baked) -> None:
    # docs/deploying.md, "Rolling deploys": the draft thrown away as docs/migrations.md
    # says, then written again in two steps, from the models alone.
    make(project.path, "migrate")
    models = project.path / project.package / "models" / "examples.py"
    before = models.read_text()
    project.drop_field("UserBase", "name")
    project.add_field("UserBase", "phone: str | None = Field(default=None, max_length=30)")
    mixed = make(project.path, "revision", "m=phone, no name")
    assert "contract revision that also adds users.phone" in mixed.stderr
    (draft,) = [path for path in project.versions if path.name.endswith("_phone_no_name.py")]
    draft.unlink()  # never applied: nothing to downgrade
    make(project.path, "migration-head")

    models.write_text(before)  # what the draft took away, back
    project.add_field("UserBase", "phone: str | None = Field(default=None, max_length=30)")
    make(project.path, "revision", "m=add phone")
    make(project.path, "migrate")
    project.drop_field("UserBase", "name")
    contract = make(project.path, "revision", "m=drop name")
    assert "also adds" not in contract.stderr
    written = {path.name.split("_", 2)[2]: path.read_text() for path in project.versions}
    assert 'phase = "expand"' in written["add_phone.py"]
    assert 'phase = "contract"' in written["drop_name.py"]
    make(project.path, "migrate-contract")
    make(project.path, "check")


class Load:
    """Requests to a server in a loop, from a thread, until stopped: reads and writes,
    each answer's status kept."""

    def __init__(self, server: Server, token: str) -> None:
        self.server, self.token = server, token
        self.statuses: list[int] = []
        self.running = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        number = 0
        while self.running.is_set():
            number += 1
            body = {"email": f"load-{number}@example.com", "name": "Load"}
            for method, path, sent in (("GET", "/users/1", None), ("POST", "/users", body)):
                try:
                    status, _ = self.server.call(method, path, sent, token=self.token)
                except OSError:  # refused, reset, timed out
                    status = 0
                self.statuses.append(status)

    def __enter__(self) -> "Load":
        self.running.set()
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.running.clear()
        self.thread.join(timeout=30)


@pytest.mark.postgres
def test_a_rolling_deploy_keeps_the_old_release_serving_until_the_contract(
    baked_postgresql: Baked, postgres_url: str, tmp_path: Path
) -> None:
    old = Baked(tmp_path / "old" / baked_postgresql.path.name, baked_postgresql.package)
    new = Baked(tmp_path / "new" / baked_postgresql.path.name, baked_postgresql.package)
    for release in (old, new):
        shutil.copytree(baked_postgresql.path, release.path)
    database = {"DATABASE_URL": postgres_url}
    make(old.path, "migrate", **database)
    postgres_rows(
        postgres_url,
        "INSERT INTO users (email, name, created_at) SELECT 'u' || n || '@example.com', "
        "'User', now() FROM generate_series(1, 200000) AS n",
    )

    # The next release, written on a developer's database: a column with an index
    # (expand), then a column taken away (contract).
    dev = {"DATABASE_URL": f"sqlite:///{tmp_path / 'dev.db'}"}
    make(new.path, "migrate", **dev)
    field = "nickname: str | None = Field(default=None, max_length=40, index=True)"
    new.add_field("User", field)
    make(new.path, "revision", "m=add nickname", **dev)
    make(new.path, "migrate", **dev)
    new.drop_field("User", "nickname")
    make(new.path, "revision", "m=take it away", **dev)
    (expand,) = new.path.glob("migrations/versions/*_add_nickname.py")
    (contract,) = new.path.glob("migrations/versions/*_take_it_away.py")
    assert 'phase = "expand"' in expand.read_text()
    assert "online.create_index(" in expand.read_text()  # the table has writers
    assert 'phase = "contract"' in contract.read_text()
    assert "online.drop_index(" in contract.read_text()
    make(new.path, "check", DRIFT_DATABASE_URL="")
    # squawk passes what autogenerate wrote, once the reviewer accepts the drop itself
    # (docs/deploying.md, "Linting revisions").
    assert "DATA LOSS: drops column users.nickname" in contract.read_text()
    assert "make it nullable" not in contract.read_text()  # it is nullable already
    contract.write_text(contract.read_text() + "# squawk-ignore: ban-drop-column\n")
    make(new.path, "lint-migrations")

    token = "a-token-for-the-rolling-deploy-test"
    server = make_run(old, tmp_path / "old.log", API_TOKENS=token, **database)
    try:
        # Step 1, while release 1 serves: only the expand revision runs.
        with Load(server, token) as load:
            done = make(new.path, "migrate-expand", **database)
            time.sleep(0.5)  # answers after the migration too
        summary = "Expand revisions pending: 1; left for the contract step"
        assert f"{summary} (alembic upgrade head): 1" in done.stderr
        assert len(load.statuses) > 20
        assert set(load.statuses) <= {200, 201}, sorted(set(load.statuses))
        status, body = server.call("GET", "/health/ready")
        assert status == 200 and body["detail"].startswith("ahead of the head"), body
        assert "by 1 expand revision(s)" in body["detail"]
        index = "SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_users_nickname'::regclass"
        assert postgres_rows(postgres_url, index) == [(True,)]

        # Step 2: release 2 starts and serves beside it.
        second = make_run(new, tmp_path / "new.log", API_TOKENS=token, **database)
        try:
            status, body = second.call("GET", "/health/ready")
            assert status == 200 and "by contract revision(s) only" in body["detail"], body
            assert second.call("GET", "/users/1", token=token)[0] == 200
            # Step 3, release 1 gone from the load balancer: it would be refused now.
            make(new.path, "migrate-contract", **database)
            status, body = server.call("GET", "/health/ready")
            assert status == 503 and body["detail"].startswith("contract revision "), body
            assert second.call("GET", "/health/ready")[0] == 200
        finally:
            second.stop()
    finally:
        server.stop()
    rows = postgres_rows(postgres_url, "SELECT phase FROM alembic_phases ORDER BY phase")
    assert [phase for (phase,) in rows] == ["contract", "expand", "expand"]
    # Undone, a revision leaves no record behind.
    make(new.path, "downgrade", **database)
    assert len(postgres_rows(postgres_url, "SELECT * FROM alembic_phases")) == 2


@pytest.mark.postgres
def test_a_foreign_key_and_not_null_on_a_table_in_use_are_validated_apart(
    project: Baked, postgres_url: str, tmp_path: Path
) -> None:
    # As autogenerate writes them for an existing table: NOT VALID, then VALIDATE in a
    # transaction of its own; NOT NULL proven by a CHECK validated the same way.
    dev = {"DATABASE_URL": f"sqlite:///{tmp_path / 'dev.db'}"}
    make(project.path, "migrate", **dev)
    project.add_field("Order", "code: str | None = Field(default=None, max_length=8)")
    project.add_field(
        "Order",
        "referrer_id: int | None = Field(default=None, foreign_key='users.id', sa_type=BigInteger)",
    )
    make(project.path, "revision", "m=code and referrer", **dev)
    make(project.path, "migrate", **dev)
    project.set_field("Order", "code", "code: str = Field(default='', max_length=8)")
    make(project.path, "revision", "m=code required", **dev)
    (keyed,) = project.path.glob("migrations/versions/*_code_and_referrer.py")
    (required,) = project.path.glob("migrations/versions/*_code_required.py")
    assert "online.create_foreign_key(" in keyed.read_text()
    assert "online.set_not_null(" in required.read_text()
    assert 'phase = "contract"' in required.read_text()

    database = {"DATABASE_URL": postgres_url}
    make(project.path, "migrate-expand", **database)
    postgres_rows(postgres_url, "UPDATE orders SET code = 'x'")
    make(project.path, "migrate-contract", **database)
    checks = postgres_rows(
        postgres_url,
        "SELECT conname, contype, convalidated FROM pg_constraint "
        "WHERE conrelid = 'orders'::regclass AND contype IN ('f', 'c') ORDER BY conname",
    )
    assert ("fk_orders_referrer_id_users", "f", True) in checks
    assert not [name for name, kind, _ in checks if kind == "c" and "not_null" in name]
    not_null = "SELECT attnotnull FROM pg_attribute WHERE attrelid = 'orders'::regclass"
    assert postgres_rows(postgres_url, f"{not_null} AND attname = 'code'") == [(True,)]
    make(project.path, "lint-migrations")
    make(project.path, "downgrade", **database)
    make(project.path, "downgrade", **database)
    make(project.path, "check", DRIFT_DATABASE_URL=postgres_url)


@pytest.mark.postgres
def test_a_printed_script_records_the_phases_too(baked_postgresql: Baked) -> None:
    script = baked_postgresql.alembic(
        "upgrade", "head", "--sql", DATABASE_URL="postgresql://nobody@127.0.0.1:1/none"
    ).stdout
    assert "CREATE TABLE IF NOT EXISTS alembic_phases" in script
    initial = baked_postgresql.initial_revision()
    assert f"INSERT INTO alembic_phases (revision, down_revision, phase) VALUES ('{initial}'" in (
        script
    )


@pytest.mark.mysql
def test_mysql_records_each_revision_and_forgets_an_undone_one(
    mysql_project: Baked, mysql_url: str
) -> None:
    mysql_project.alembic("upgrade", "head", DATABASE_URL=mysql_url)
    mysql_project.add_field("User", "nickname: str | None = Field(default=None, max_length=40)")
    mysql_project.alembic("revision", "--autogenerate", "-m", "nickname", DATABASE_URL=mysql_url)
    mysql_project.alembic("upgrade", "head", DATABASE_URL=mysql_url)
    with mysql_connect(mysql_url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT phase FROM alembic_phases")
        assert [phase for (phase,) in cursor.fetchall()] == ["expand", "expand"]
    mysql_project.alembic("downgrade", "-1", DATABASE_URL=mysql_url)
    with mysql_connect(mysql_url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT revision FROM alembic_phases")
        assert [revision for (revision,) in cursor.fetchall()] == [mysql_project.initial_revision()]
