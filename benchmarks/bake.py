"""Benchmark: a default bake against its parts run on their own.

A bake renders the template, then its hook locks the dependencies and writes the first
migration. With the stack installed, it should cost little more than those parts run on
their own: rendering with hooks off, one `uv lock` and one `alembic revision
--autogenerate` process in a rendered project. Prints the medians, measured
interleaved, and the bake's ratio to the sum of its parts (target: at most 1.2).
Usage: python benchmarks/bake.py [--runs N]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
COOKIECUTTER = [str(BIN / "cookiecutter"), "--no-input", str(TEMPLATE)]


def timed(command: list[str], env: dict[str, str]) -> float:
    """Wall time of one run of `command`."""
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env, timeout=300)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        rendered = root / "rendered"
        subprocess.run(
            [*COOKIECUTTER, "--accept-hooks", "no", "-o", str(rendered)],
            check=True,
            capture_output=True,
            timeout=300,
        )
        (project,) = rendered.iterdir()
        versions = project / "migrations" / "versions"
        autogenerate = [
            *(str(BIN / "alembic"), "-c", str(project / "alembic.ini")),
            *("revision", "--autogenerate", "-m", "initial schema"),
        ]

        def render() -> float:
            output = root / "render"
            shutil.rmtree(output, ignore_errors=True)
            return timed([*COOKIECUTTER, "--accept-hooks", "no", "-o", str(output)], env)

        def bare_autogenerate() -> float:
            for revision in versions.glob("*.py"):
                revision.unlink()
            return timed(autogenerate, {**env, "DATABASE_URL": "sqlite://"})

        def lock() -> float:
            (project / "uv.lock").unlink(missing_ok=True)
            return timed([str(BIN / "uv"), "lock", "--quiet", "--project", str(project)], env)

        def bake() -> float:
            output = root / "bake"
            shutil.rmtree(output, ignore_errors=True)
            return timed([*COOKIECUTTER, "-o", str(output)], env)

        parts = {"render only (hooks off)": render, "one uv lock": lock}
        parts["one autogenerate"] = bare_autogenerate
        parts["bake"] = bake
        for measure in parts.values():  # warm-up
            measure()
        times: dict[str, list[float]] = {name: [] for name in parts}
        for _ in range(args.runs):
            for name, measure in parts.items():
                times[name].append(measure())

    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"runs: {args.runs} each, interleaved")
    for name, median in medians.items():
        print(f"{name}: median {median:.2f} s")
    parts_sum = sum(median for name, median in medians.items() if name != "bake")
    ratio = medians["bake"] / parts_sum
    print(f"bake / (render + lock + autogenerate): {ratio:.2f} (target <= 1.2)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
