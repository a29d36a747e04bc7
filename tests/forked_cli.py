"""The alembic CLI, each command in a process forked from one that imported alembic.

Started as a program, an `alembic` command here spends most of its time (about 0.55 s
of 0.6 s) starting Python and importing alembic and SQLAlchemy, and the tests run a
few hundred. So each test worker keeps one server process (this file, run as a
script) that imports them once and forks a child per command. The child is a process
of its own: the command's environment, working directory, argv and output, and
`alembic.config.main`, which is what the `alembic` console script calls. It ends as
the CLI would: the exit status of a SystemExit, or 1 and the traceback.

What only the start of an interpreter reads (PYTHON* variables such as
PYTHONHASHSEED, the locale) cannot reach a forked child: a command whose environment
differs there, or one asked for while another is running, gets the real CLI.
"""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping

import alembic.config

# Read only as an interpreter starts; a forked child would ignore a new value.
_AT_START = ("PYTHON", "LC_", "LANG")


def _starts_with(env: Mapping[str, str]) -> dict[str, str]:
    return {key: value for key, value in env.items() if key.startswith(_AT_START)}


class ForkedCLI:
    """One server per process; `run` returns None when the real CLI must run instead."""

    def __init__(self, python: str, env: Mapping[str, str]) -> None:
        self._python, self._env = python, dict(env)
        self._server: subprocess.Popen[str] | None = None
        self._busy = threading.Lock()

    def run(
        self, argv: list[str], env: Mapping[str, str], cwd: str, timeout: float
    ) -> subprocess.CompletedProcess[str] | None:
        if _starts_with(env) != _starts_with(self._env):
            return None
        if not self._busy.acquire(blocking=False):  # commands meant to run at once
            return None
        try:
            server = self._started()
            request = {"argv": argv, "env": dict(env), "cwd": cwd, "timeout": timeout}
            assert server.stdin and server.stdout
            server.stdin.write(json.dumps(request) + "\n")
            server.stdin.flush()
            answer = json.loads(server.stdout.readline())
        finally:
            self._busy.release()
        if answer["returncode"] is None:
            raise subprocess.TimeoutExpired(argv, timeout, answer["stdout"], answer["stderr"])
        return subprocess.CompletedProcess(
            argv, answer["returncode"], answer["stdout"], answer["stderr"]
        )

    def _started(self) -> subprocess.Popen[str]:
        if self._server is None or self._server.poll() is not None:
            self._server = subprocess.Popen(
                [self._python, __file__],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=self._env,
                cwd="/",
                text=True,
            )
        return self._server


def _child(request: dict, out: int, err: int) -> None:
    """Run one command in this forked process, then leave it; never returns."""
    code = 1
    try:
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(err, 2)
        os.environ.clear()
        os.environ.update(request["env"])
        if hasattr(time, "tzset"):
            time.tzset()
        os.chdir(request["cwd"])
        sys.argv = list(request["argv"])
        sys.path[0] = os.path.dirname(sys.argv[0])  # the console script's folder
        try:
            alembic.config.main(argv=sys.argv[1:], prog="alembic")
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if not isinstance(exc.code, int | None):
                print(exc.code, file=sys.stderr)
        except BaseException:
            sys.excepthook(*sys.exc_info())
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code & 0xFF)


def _serve() -> None:
    for line in sys.stdin:
        request = json.loads(line)
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            sys.stdout.flush()
            pid = os.fork()
            if pid == 0:
                _child(request, out.fileno(), err.fileno())
            done = os.pidfd_open(pid)
            finished = select.select([done], [], [], request["timeout"])[0]
            if not finished:
                os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            os.close(done)
            texts = []
            for file in (out, err):
                file.seek(0)
                texts.append(file.read().decode().replace("\r\n", "\n"))
        returncode = os.waitstatus_to_exitcode(status) if finished else None
        answer = {"returncode": returncode, "stdout": texts[0], "stderr": texts[1]}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    _serve()
