"""Benchmark: the generated project's batched backfill against one UPDATE and the guide's loop.

On PostgreSQL, lower-cases the e-mail of every row of a 1,000,000-row "users" table (unique
index on email, as in the models) three ways, each on a fresh copy of the same data:

- one UPDATE statement in one transaction (fastest; locks every row until it commits);
- the project's helper (backfill.run_batches on an AUTOCOMMIT connection, as inside a
  revision): one statement and one commit per batch;
- the migration guide's loop (UPDATE ... WHERE id IN (SELECT ... LIMIT n) until nothing is
  left, in one transaction), stopped after a time limit since it slows down as it goes.

Prints wall times, rates, the helper/UPDATE ratio (target: at most 1.5) and how long each
batch's UPDATE held its row locks (median, longest). Creates and drops its own database.
Usage: python benchmarks/backfill.py [--rows N] [--batch-size N ...] [--guide-seconds S]
"""

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import ModuleType

import psycopg2
import sqlalchemy as sa
from sqlalchemy import event

TEMPLATE = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ADMIN_URL = os.environ.get(
    "TEMPLATE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)

USERS = sa.table("users", sa.column("id", sa.BigInteger), sa.column("email", sa.String))
LOWERED = sa.func.lower(USERS.c.email)
SINGLE_UPDATE = "UPDATE users SET email = lower(email) WHERE email <> lower(email)"
GUIDE_LOOP = """
    UPDATE users SET email = lower(email)
    WHERE id IN (SELECT id FROM users WHERE email != lower(email) LIMIT {batch})
"""


def load_helper(output: Path) -> ModuleType:
    """Bake the default project with the real cookiecutter CLI; load its backfill module."""
    cookiecutter = [str(BIN / "cookiecutter"), "--no-input", "-o", str(output), str(TEMPLATE)]
    subprocess.run(cookiecutter, check=True, capture_output=True, timeout=300)
    (path,) = output.glob("*/migrations/backfill.py")
    spec = importlib.util.spec_from_file_location("baked_backfill", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def admin(statement: str) -> None:
    connection = psycopg2.connect(ADMIN_URL)
    connection.autocommit = True
    try:
        connection.cursor().execute(statement)
    finally:
        connection.close()


def fill_seed(engine: sa.Engine, rows: int) -> None:
    """A table of `rows` users, every address in mixed case, to copy before each run."""
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TABLE users_seed (id bigint PRIMARY KEY, email varchar(255) NOT NULL, "
            "name varchar(100) NOT NULL)"
        )
        connection.exec_driver_sql(
            "INSERT INTO users_seed SELECT g, 'User.' || g || '@Example.COM', 'Name ' || g "
            f"FROM generate_series(1, {rows}) AS g"
        )


def fresh_table(engine: sa.Engine) -> None:
    """Recreate "users" from the seed, indexed, vacuumed and checkpointed: same start each run."""
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS users")
        connection.exec_driver_sql("CREATE TABLE users (LIKE users_seed INCLUDING ALL)")
        connection.exec_driver_sql("INSERT INTO users SELECT * FROM users_seed")
        connection.exec_driver_sql("CREATE UNIQUE INDEX ix_users_email ON users (email)")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE users")
        connection.exec_driver_sql("CHECKPOINT")


def pending_rows(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        query = sa.select(sa.func.count()).select_from(USERS).where(USERS.c.email != LOWERED)
        return connection.execute(query).scalar_one()


def single_update(engine: sa.Engine) -> float:
    start = time.perf_counter()
    with engine.begin() as connection:
        connection.exec_driver_sql(SINGLE_UPDATE)
    return time.perf_counter() - start


def helper(engine: sa.Engine, backfill: ModuleType, batch_size: int) -> tuple[float, list[float]]:
    """Wall time, and how long each batch's UPDATE ran: how long it held its row locks."""
    locked: list[float] = []

    def lower_emails(batch: sa.ColumnElement[bool]) -> sa.Executable:
        return USERS.update().where(batch).values(email=LOWERED)

    def before(_conn, _cursor, statement, *_args) -> None:
        if statement.startswith("UPDATE"):
            locked.append(-time.perf_counter())

    def after(_conn, _cursor, statement, *_args) -> None:
        if statement.startswith("UPDATE"):
            locked[-1] += time.perf_counter()  # AUTOCOMMIT: the locks end with it

    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        event.listen(connection, "before_cursor_execute", before)
        event.listen(connection, "after_cursor_execute", after)
        start = time.perf_counter()
        backfill.run_batches(
            connection, USERS, lower_emails, USERS.c.email != LOWERED, batch_size=batch_size
        )
        return time.perf_counter() - start, locked


def guide_loop(
    engine: sa.Engine, batch_size: int, limit: float, synchronized_scans: bool
) -> tuple[int, float, bool]:
    """Rows done, seconds taken, and whether it finished before the time limit."""
    done, start = 0, time.perf_counter()
    with engine.begin() as connection:  # the guide runs inside the migration's transaction
        if not synchronized_scans:
            connection.exec_driver_sql("SET LOCAL synchronize_seqscans = off")
        while time.perf_counter() - start < limit:
            written = connection.exec_driver_sql(GUIDE_LOOP.format(batch=batch_size)).rowcount
            done += written
            if written == 0:
                return done, time.perf_counter() - start, True
    return done, time.perf_counter() - start, False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, nargs="+", default=[1_000, 5_000, 20_000])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, median reported")
    parser.add_argument("--guide-batch", type=int, default=1_000)
    parser.add_argument("--guide-seconds", type=float, default=20.0)
    args = parser.parse_args()

    name = f"backfill_bench_{uuid.uuid4().hex[:8]}"
    admin(f'CREATE DATABASE "{name}"')
    url = ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg2://", 1)
    engine = sa.create_engine(f"{url}/{name}", poolclass=sa.pool.NullPool)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            backfill = load_helper(Path(scratch))
        fill_seed(engine, args.rows)
        print(f"{args.rows:,} rows, lower(email), unique index on email; median of {args.repeat}")

        single: list[float] = []
        batched: dict[int, list[tuple[float, list[float]]]] = {b: [] for b in args.batch_size}
        # Interleaved, so each way sees the same machine state on average.
        for _ in range(args.repeat):
            fresh_table(engine)
            single.append(single_update(engine))
            assert pending_rows(engine) == 0
            for batch_size in args.batch_size:
                fresh_table(engine)
                batched[batch_size].append(helper(engine, backfill, batch_size))
                assert pending_rows(engine) == 0

        base = statistics.median(single)
        print(f"one UPDATE:              {base:6.2f} s  {args.rows / base:>10,.0f} rows/s")
        for batch_size, runs in batched.items():
            wall = statistics.median(seconds for seconds, _ in runs)
            longest = max(max(locked) for _, locked in runs)
            typical = statistics.median(d for _, locked in runs for d in locked)
            print(
                f"helper, batches of {batch_size:>6,}: {wall:6.2f} s  "
                f"{args.rows / wall:>10,.0f} rows/s  ratio {wall / base:.2f}  "
                f"rows locked per batch: median {typical * 1000:.0f} ms, "
                f"longest {longest * 1000:.0f} ms"
            )

        # PostgreSQL starts a sequential scan of a big table (over shared_buffers / 4)
        # where the last one stopped, which hides the loop's rescans; without that, each
        # pass reads every row already done again.
        for synchronized in (True, False):
            fresh_table(engine)
            done, seconds, finished = guide_loop(
                engine, args.guide_batch, args.guide_seconds, synchronized
            )
            state = "finished" if finished else f"stopped after {args.guide_seconds:.0f} s"
            print(
                f"guide's loop, {args.guide_batch:,} per pass, synchronize_seqscans="
                f"{'on' if synchronized else 'off'}: {state}, {done:,} rows in "
                f"{seconds:.1f} s, {done / seconds:,.0f} rows/s, every row locked to the end"
            )
    finally:
        engine.dispose()
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
