"""Benchmark: how long a writer waits while a migration indexes or references a busy table.

On PostgreSQL, with a 1,000,000-row "orders" table, a writer thread inserts and updates
rows in a loop, one short transaction each, while a migration adds, on that table:

- an index: migrations/online.py's create_index (CREATE INDEX CONCURRENTLY) against a
  plain op.create_index, each in a revision-like transaction;
- a foreign key: online.create_foreign_key (NOT VALID, then VALIDATE in a transaction of
  its own) against a plain op.create_foreign_key.

Both run through Alembic's own Operations with migrations/online.py loaded from the
template in place, under the lock timeout a deploy sets (MIGRATION_LOCK_TIMEOUT, 5 s by
default here). Prints, for each, the migration's wall time and the writer's longest and
median wait per statement (target: the online form never makes the writer wait longer
than the lock timeout; the plain form for comparison). Creates and drops its own database.
Usage: python benchmarks/online_ddl.py [--rows N] [--lock-timeout 5s]
"""

import argparse
import importlib.util
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import psycopg2
import sqlalchemy as sa
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from backfill import ADMIN_URL, admin  # this folder's: a scratch database each

TEMPLATE = Path(__file__).resolve().parent.parent
ONLINE = TEMPLATE / "{{cookiecutter.project_slug}}" / "migrations" / "online.py"


def load_online() -> ModuleType:
    spec = importlib.util.spec_from_file_location("online", ONLINE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fill(url: str, rows: int) -> None:
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE users (id BIGINT PRIMARY KEY)")
        cursor.execute("INSERT INTO users SELECT generate_series(1, 1000)")
        cursor.execute(
            "CREATE TABLE orders (id BIGSERIAL PRIMARY KEY, user_id BIGINT NOT NULL, "
            "total NUMERIC(10, 2) NOT NULL)"
        )
        cursor.execute(
            "INSERT INTO orders (user_id, total) "
            f"SELECT 1 + n % 1000, n % 997 FROM generate_series(1, {rows}) AS n"
        )
        cursor.execute("ANALYZE")


class Writer(threading.Thread):
    """Inserts and updates orders, one short autocommit statement at a time."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.waits, self.running = url, [], threading.Event()

    def run(self) -> None:
        connection = psycopg2.connect(self.url)
        connection.autocommit = True
        cursor = connection.cursor()
        number = 0
        while self.running.is_set():
            number += 1
            start = time.perf_counter()
            if number % 2:
                cursor.execute(
                    "INSERT INTO orders (user_id, total) VALUES (%s, 1)", (number % 1000 + 1,)
                )
            else:
                cursor.execute("UPDATE orders SET total = total + 1 WHERE id = %s", (number,))
            self.waits.append(time.perf_counter() - start)
        connection.close()


def measure(url: str, lock_timeout: str, migrate: Callable[[], None]) -> tuple[float, list[float]]:
    """Run `migrate` (given the Operations proxy installed) while a writer writes."""
    writer = Writer(url)
    writer.running.set()
    writer.start()
    time.sleep(0.5)  # the writer's pace before the migration, in its figures too
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg2://"))
    start = time.perf_counter()
    with engine.connect() as connection:
        connection.exec_driver_sql(f"SET lock_timeout = '{lock_timeout}'")
        connection.commit()
        context = MigrationContext.configure(connection)
        with Operations.context(context), context.begin_transaction():
            migrate()
        connection.commit()
    took = time.perf_counter() - start
    time.sleep(0.5)
    writer.running.clear()
    writer.join()
    engine.dispose()
    return took, writer.waits


def report(name: str, took: float, waits: list[float]) -> None:
    longest, median = max(waits) * 1000, statistics.median(waits) * 1000
    print(
        f"{name:<34} migration {took:6.2f} s   writer: {len(waits):6d} statements, "
        f"longest wait {longest:8.1f} ms, median {median:6.2f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--lock-timeout", default="5s")
    args = parser.parse_args()
    online = load_online()
    from alembic import op

    name = f"bench_online_{uuid.uuid4().hex[:8]}"
    admin(f"CREATE DATABASE {name}")
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        fill(url, args.rows)
        print(f"orders: {args.rows:,} rows; lock timeout {args.lock_timeout}")
        cases = [
            ("index, plain CREATE INDEX", lambda: op.create_index("ix_plain", "orders", ["total"])),
            (
                "index, online.create_index",
                lambda: online.create_index("ix_online", "orders", ["total"]),
            ),
            (
                "foreign key, plain",
                lambda: op.create_foreign_key("fk_plain", "orders", "users", ["user_id"], ["id"]),
            ),
            (
                "foreign key, online",
                lambda: online.create_foreign_key(
                    "fk_online", "orders", "users", ["user_id"], ["id"]
                ),
            ),
        ]
        for label, migrate in cases:
            took, waits = measure(url, args.lock_timeout, migrate)
            report(label, took, waits)
    finally:
        admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
