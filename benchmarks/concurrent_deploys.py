"""Benchmark: N replicas running `alembic upgrade head` at once on an empty PostgreSQL
database, for N = 2, 4, 8. Prints how long until all have exited (converged).

Usage: python benchmarks/concurrent_deploys.py [--admin-url URL] [--runs N]
Each run uses a fresh database created (and dropped) on the server of --admin-url.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg2

TEMPLATE = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def bake(output: Path) -> Path:
    cookiecutter = [str(BIN / "cookiecutter"), "--no-input", "-o", str(output), str(TEMPLATE)]
    subprocess.run(cookiecutter, check=True, capture_output=True, timeout=300)
    (project,) = [p for p in output.iterdir() if p.is_dir()]
    return project


def converge(project: Path, url: str, replicas: int) -> float:
    """Start the replicas together; seconds until the last one exits (all must succeed)."""
    command = [str(BIN / "alembic"), "-c", str(project / "alembic.ini"), "upgrade", "head"]
    env = {**os.environ, "DATABASE_URL": url}
    start = time.perf_counter()
    processes = [
        subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(replicas)
    ]
    for process in processes:
        _, err = process.communicate(timeout=300)
        if process.returncode != 0:
            raise SystemExit(f"a replica failed: {err.decode()[-500:]}")
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    admin = psycopg2.connect(args.admin_url)
    admin.autocommit = True
    base = args.admin_url.rsplit("/", 1)[0]
    with tempfile.TemporaryDirectory() as scratch:
        project = bake(Path(scratch))
        print("the template's initial revision; times include each process's start-up")
        for replicas in (1, 2, 4, 8):
            times = []
            for _ in range(args.runs):
                name = f"bench_{uuid.uuid4().hex[:10]}"
                admin.cursor().execute(f'CREATE DATABASE "{name}"')
                try:
                    times.append(converge(project, f"{base}/{name}", replicas))
                finally:
                    admin.cursor().execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            print(
                f"{replicas} replica(s): median {statistics.median(times):.2f} s "
                f"(runs: {', '.join(f'{t:.2f}' for t in times)})"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
