"""Benchmark: a no-op `alembic upgrade head` against importing Alembic and SQLAlchemy.

The deploy path runs `alembic upgrade head` on every start; on an up-to-date database it
should cost little more than Alembic's own start-up. Prints both medians and their ratio
(target: at most 1.15). `--stack async` bakes a stack=async project; its baseline also
imports sqlalchemy.ext.asyncio, as Alembic's own async env.py does (that import brings
sqlalchemy.orm, ~120 ms here, which the sync deploy path never loads).

Usage: python benchmarks/deploy_upgrade.py [--runs N] [--url URL] [--stack sync|async]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BASELINES = {
    "sync": "import alembic.config, alembic.command, sqlalchemy",
    "async": "import alembic.config, alembic.command, sqlalchemy.ext.asyncio",
}


def bake(output: Path, stack: str) -> Path:
    """Bake the default project of `stack` with the real cookiecutter CLI."""
    cookiecutter = [str(BIN / "cookiecutter"), "--no-input", "-o", str(output), str(TEMPLATE)]
    cookiecutter.append(f"stack={stack}")
    subprocess.run(cookiecutter, check=True, capture_output=True, timeout=300)
    (project,) = [p for p in output.iterdir() if p.is_dir()]
    return project


def wall_time(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env, timeout=120)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--url", help="DATABASE_URL to upgrade (default: the project's SQLite)")
    parser.add_argument("--stack", choices=["sync", "async"], default="sync")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        project = bake(Path(scratch), args.stack)
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        if args.url:
            env["DATABASE_URL"] = args.url
        upgrade = [str(BIN / "alembic"), "-c", str(project / "alembic.ini"), "upgrade", "head"]
        subprocess.run(upgrade, check=True, capture_output=True, env=env, timeout=120)

        # Interleaved, after a warm-up, so both see the same machine state.
        baseline_command = [sys.executable, "-c", BASELINES[args.stack]]
        for command in (baseline_command, upgrade):
            wall_time(command, env)
        baseline, noop = [], []
        for _ in range(args.runs):
            baseline.append(wall_time(baseline_command, env))
            noop.append(wall_time(upgrade, env))

    base, up = statistics.median(baseline), statistics.median(noop)
    print(f"runs: {args.runs} each, interleaved; stack={args.stack}")
    print(f"{BASELINES[args.stack]}: median {base * 1000:.1f} ms")
    print(f"alembic upgrade head (no-op): median {up * 1000:.1f} ms")
    print(f"ratio: {up / base:.2f} (target <= 1.15)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
