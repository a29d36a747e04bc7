"""Benchmark: the generated API against a minimal FastAPI + SQLModel app, on PostgreSQL.

The apps are served by uvicorn (one process each, side by side), each on a migrated
database of its own with the same rows, and loaded over loopback by wrk (Debian's
package: apt-get install wrk), their runs interleaved so all see the same machine.
Prints requests per second and p50/p99 latency for `GET /users/{id}` and
`POST /users/{id}/orders` at each concurrency (the median of the rounds), the ratio of
the generated app's throughput to the baseline's (target: at least 0.9), the failed
requests (target: none) and the most database connections the generated app held at
once (target: never above its pool, SQLAlchemy's default 5 + 10 overflow).

`--stack async` measures a stack=async project against a minimal async app
(AsyncSession on asyncpg), and prints the sync project's throughput beside them.

Usage: python benchmarks/api_throughput.py [--stack sync|async] [--seconds S]
    [--rounds N] [--concurrency 1 16]
    [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]
"""

import argparse
import contextlib
import http.client
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg2

TEMPLATE = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
POOL_LIMIT = 5 + 10  # SQLAlchemy's QueuePool defaults: pool_size + max_overflow
USERS = 1000
# wrk scripts: each request names another of the seeded users.
GET_USER = """
n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/users/" .. (n % USERS + 1))
end
"""
POST_ORDER = """
n = 0
request = function()
  n = n + 1
  local headers = {["Content-Type"] = "application/json"}
  return wrk.format("POST", "/users/" .. (n % USERS + 1) .. "/orders", headers,
                    '{"total": "19.98"}')
end
"""

# The baselines: what anyone would write first. A session per request, nothing else.
MODELS = """
from datetime import UTC, datetime
from decimal import Decimal

from sqlmodel import Field, SQLModel


class User(SQLModel, table=True):
    __tablename__ = "users"
    id: int | None = Field(default=None, primary_key=True)
    email: str
    name: str
    created_at: datetime


class Order(SQLModel, table=True):
    __tablename__ = "orders"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int
    total: Decimal
    status: str = "pending"
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
"""
BASELINE_APP = """
import os
from decimal import Decimal

from fastapi import FastAPI, HTTPException
from sqlmodel import Session, create_engine

from models import Order, User

# psycopg2, as the generated app (SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3).
engine = create_engine(os.environ["DATABASE_URL"].replace("postgresql:", "postgresql+psycopg2:"))
app = FastAPI()


@app.get("/users/{user_id}")
def get_user(user_id: int) -> User:
    with Session(engine) as session:
        user = session.get(User, user_id)
        if user is None:
            raise HTTPException(404)
        return user


@app.post("/users/{user_id}/orders", status_code=201)
def create_order(user_id: int, body: dict) -> Order:
    with Session(engine) as session:
        order = Order(user_id=user_id, total=Decimal(body.get("total", "0")))
        session.add(order)
        session.commit()
        session.refresh(order)
        return order
"""
BASELINE_ASYNC_APP = """
import os
from decimal import Decimal

from fastapi import FastAPI, HTTPException
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Order, User

url = os.environ["DATABASE_URL"].replace("postgresql:", "postgresql+asyncpg:")
engine = create_async_engine(url)
app = FastAPI()


@app.get("/users/{user_id}")
async def get_user(user_id: int) -> User:
    async with AsyncSession(engine) as session:
        user = await session.get(User, user_id)
        if user is None:
            raise HTTPException(404)
        return user


@app.post("/users/{user_id}/orders", status_code=201)
async def create_order(user_id: int, body: dict) -> Order:
    async with AsyncSession(engine) as session:
        order = Order(user_id=user_id, total=Decimal(body.get("total", "0")))
        session.add(order)
        await session.commit()
        await session.refresh(order)
        return order
"""


def wrk(port: int, script: Path, clients: int, seconds: float) -> tuple[float, float, float, int]:
    """Requests per second, p50 and p99 in ms, and failed requests, as wrk measured."""
    command = ["wrk", f"-t{min(clients, 2)}", f"-c{clients}", f"-d{seconds}s", "--latency"]
    command += ["-s", str(script), f"http://127.0.0.1:{port}"]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])
    p50, p99 = (_ms(re.search(rf"\s{q}%\s+([\d.]+\w+)", out)[1]) for q in ("50", "99"))
    failed = sum(
        int(n) for n in re.findall(r"(?:Non-2xx or 3xx responses|errors: .*?):\s*(\d+)", out)
    )
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    failed += sum(int(n) for n in errors.groups()) if errors else 0
    return rps, p50, p99, failed


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


class ConnectionWatch:
    """The most connections one app held on its database at once, sampled every 20 ms."""

    def __init__(self, url: str) -> None:
        self.url, self.database, self.peak = url, url.rsplit("/", 1)[1], 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch)

    def _watch(self) -> None:
        connection = psycopg2.connect(self.url)
        # Autocommit and no `with connection` (psycopg2 2.9 opens a transaction there):
        # inside one, pg_stat_activity would repeat its first snapshot.
        connection.autocommit = True
        with connection.cursor() as cursor:
            while not self._stop.wait(0.02):
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
                    " AND pid <> pg_backend_pid()",
                    (self.database,),
                )
                self.peak = max(self.peak, cursor.fetchone()[0])
        connection.close()

    def __enter__(self) -> "ConnectionWatch":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


@contextmanager
def serving(command: list[str], cwd: Path, env: dict[str, str], port: int):
    """Run a server until the block ends; fail with its output if it never answers."""
    log = cwd / f"server-{port}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=output)
    try:
        deadline = time.monotonic() + 30
        while process.poll() is None and time.monotonic() < deadline:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                connection.request("GET", "/openapi.json")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise SystemExit(f"{command} did not serve:\n{log.read_text()[-2000:]}")
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", choices=["sync", "async"], default="sync")
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")

    apps = ["generated", "baseline"] + (["sync"] if args.stack == "async" else [])
    databases = {app: f"bench_{uuid.uuid4().hex[:8]}_{app}" for app in apps}
    admin = psycopg2.connect(args.admin_url)
    admin.autocommit = True
    server = args.admin_url.rsplit("/", 1)[0]
    try:
        for name in databases.values():
            admin.cursor().execute(f'CREATE DATABASE "{name}"')
        urls = {app: f"{server}/{name}" for app, name in databases.items()}
        with tempfile.TemporaryDirectory() as scratch:
            return run_benchmark(Path(scratch), urls, args)
    finally:
        for name in databases.values():
            admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def bake(scratch: Path, stack: str) -> tuple[Path, str]:
    """A project of `stack` with every other default: its folder and its package."""
    output = scratch / stack
    command = [str(BIN / "cookiecutter"), "--no-input", "-o", str(output), str(TEMPLATE)]
    subprocess.run([*command, f"stack={stack}"], check=True, capture_output=True, timeout=300)
    (project,) = [p for p in output.iterdir() if p.is_dir()]
    (package,) = [p.parent.name for p in project.glob("*/db.py")]  # the service
    return project, package


def run_benchmark(scratch: Path, urls: dict[str, str], args: argparse.Namespace) -> int:
    env = {k: v for k, v in os.environ.items() if k not in ("API_TOKENS", "API_OPEN")}
    projects = {"generated": bake(scratch, args.stack)}
    if "sync" in urls:
        projects["sync"] = bake(scratch, "sync")
    (scratch / "models.py").write_text(MODELS)
    baseline = BASELINE_ASYNC_APP if args.stack == "async" else BASELINE_APP
    (scratch / "baseline_app.py").write_text(baseline)
    for app, url in urls.items():
        project = projects.get(app, projects["generated"])[0]  # the baseline's schema too
        alembic = [str(BIN / "alembic"), "-c", str(project / "alembic.ini"), "upgrade", "head"]
        migrate_env = {**env, "DATABASE_URL": url}
        subprocess.run(alembic, check=True, capture_output=True, timeout=120, env=migrate_env)
        with psycopg2.connect(url) as connection, connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO users (email, name) SELECT 'user' || n || '@example.com', 'User'"
                f" FROM generate_series(1, {USERS}) AS n"
            )
    scripts = {}
    for name, lua in (("GET /users/{id}", GET_USER), ("POST /users/{id}/orders", POST_ORDER)):
        scripts[name] = scratch / f"{len(scripts)}.lua"
        scripts[name].write_text(lua.replace("USERS", str(USERS)))

    # Served alike: uvicorn's defaults (access log included), one process each.
    ports = {app: free_port() for app in urls}
    commands = {
        app: (
            [sys.executable, "-m", f"{package}.api", "--port", str(ports[app])],
            project,
        )
        for app, (project, package) in projects.items()
    }
    commands["baseline"] = (
        [sys.executable, "-m", "uvicorn", "--port", str(ports["baseline"]), "baseline_app:app"],
        scratch,
    )
    figures: dict[tuple[str, str, int], list[tuple[float, float, float, int]]] = {}
    with contextlib.ExitStack() as stack:
        for app, (command, cwd) in commands.items():
            stack.enter_context(
                serving(command, cwd, {**env, "DATABASE_URL": urls[app]}, ports[app])
            )
        watch = stack.enter_context(ConnectionWatch(urls["generated"]))
        for endpoint, script in scripts.items():
            for app in ports:
                wrk(ports[app], script, 4, 1)  # warm-up: imports, pools, caches
            for clients in args.concurrency:
                for _ in range(args.rounds):
                    for app, port in ports.items():
                        figures.setdefault((app, endpoint, clients), []).append(
                            wrk(port, script, clients, args.seconds)
                        )

    def median(app: str, endpoint: str, clients: int) -> tuple[float, float, float, int]:
        runs = figures[app, endpoint, clients]
        rps, p50, p99 = (statistics.median(run[i] for run in runs) for i in range(3))
        return rps, p50, p99, sum(run[3] for run in runs)

    print(f"wrk, {args.rounds} interleaved rounds of {args.seconds} s per figure (median);")
    print(f"uvicorn, one process per app; PostgreSQL on loopback; stack={args.stack}")
    beside = "sync/s" if "sync" in urls else ""
    print(
        f"{'endpoint':<26}{'clients':>8}{'app/s':>8}{'base/s':>8}{'ratio':>7}"
        f"{'p50 ms':>8}{'p99 ms':>8}{'base p50':>9}{'base p99':>9}{'errors':>7}{beside:>8}"
    )
    worst, errors = float("inf"), 0
    for endpoint in scripts:
        for clients in args.concurrency:
            rps, p50, p99, failed = median("generated", endpoint, clients)
            base_rps, base_p50, base_p99, base_failed = median("baseline", endpoint, clients)
            worst, errors = min(worst, rps / base_rps), errors + failed + base_failed
            sync = ""
            if "sync" in urls:
                sync_rps, *_, sync_failed = median("sync", endpoint, clients)
                sync, errors = f"{sync_rps:>8.0f}", errors + sync_failed
            print(
                f"{endpoint:<26}{clients:>8}{rps:>8.0f}{base_rps:>8.0f}{rps / base_rps:>7.2f}"
                f"{p50:>8.1f}{p99:>8.1f}{base_p50:>9.1f}{base_p99:>9.1f}{failed:>7}{sync}"
            )
    print(f"lowest throughput ratio: {worst:.2f} (target >= 0.9)")
    print(f"failed requests: {errors} (target 0)")
    print(f"most database connections the generated app held: {watch.peak} (pool: {POOL_LIMIT})")
    return 0 if worst >= 0.9 and errors == 0 and watch.peak <= POOL_LIMIT else 1


if __name__ == "__main__":
    sys.exit(main())
