"""Benchmark: the generated project's whole test suite on SQLite (its default).

Bakes the default project, runs its suite a few times with this interpreter and prints
the wall time of each run and the median. Usage: python benchmarks/generated_suite.py [--runs N]
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TEST_DATABASE_URL")}

    with tempfile.TemporaryDirectory() as scratch:
        cookiecutter = [str(BIN / "cookiecutter"), "--no-input", "-o", scratch, str(TEMPLATE)]
        subprocess.run(cookiecutter, check=True, capture_output=True, timeout=300)
        (project,) = [p for p in Path(scratch).iterdir() if p.is_dir()]
        suite = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        times, summary = [], ""
        for _ in range(args.runs):
            start = time.perf_counter()
            result = subprocess.run(
                suite, cwd=project, env=env, capture_output=True, text=True, timeout=600
            )
            times.append(time.perf_counter() - start)
            if result.returncode != 0:
                print(result.stdout[-2000:])
                return 1
            summary = result.stdout.strip().splitlines()[-1]

    print(f"generated suite on SQLite, {args.runs} runs: {summary}")
    print("wall times (s): " + ", ".join(f"{t:.2f}" for t in times))
    print(f"median wall time: {statistics.median(times):.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
