"""What the deployments of the system tests share: a free loopback port, components started as processes of
their own (output to a log file each) and stopped by PID with their children, and bounded waits."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import requests

from tests.deadlines import poll_until as _poll_until
from tests.subprocesses import stop_groups


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def poll_until(what: str, check: Callable[[], Any], timeout: float, interval: float, logs: Callable[[], str]) -> Any:
    """``check()``'s first truthy value (a refused request counts as not yet), by ``timeout`` times the
    deadline factor; on time-out, an error that shows ``logs()`` (the components' output), since that is where
    a deployment says why it is stuck."""
    details = lambda: f"component logs:\n{logs()}"  # noqa: E731
    return _poll_until(what, check, timeout, interval, details=details, retry_on=(requests.RequestException,))


def component_logs(log_dir: Path, tail: int = 3000) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-tail:]}" for p in sorted(log_dir.glob("*.log")))


@contextmanager
def running(commands: dict[str, list[str]], env: dict[str, str], log_dir: Path) -> Iterator[None]:
    """Each command a process (and process group) of its own, writing to ``log_dir/<name>.log``; on exit,
    however the block ends (or a later command fails to start), all are stopped by PID with their children
    (executor workers, code servers, run workers): SIGTERM, then SIGKILL after a bounded wait."""
    log_dir.mkdir(parents=True, exist_ok=True)
    processes: list[subprocess.Popen[bytes]] = []
    with ExitStack() as logs:
        try:
            for name, command in commands.items():
                log = logs.enter_context(open(log_dir / f"{name}.log", "wb"))
                processes.append(
                    subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
                )
            yield
        finally:
            stop_groups(processes, grace=30)
