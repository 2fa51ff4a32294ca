"""What the deployments of the system tests share: a free loopback port, components started as processes of
their own (output to a log file each) and stopped by PID with their children, and bounded waits."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import Any

import requests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def poll_until(what: str, check: Callable[[], Any], timeout: float, interval: float, logs: Callable[[], str]) -> Any:
    """``check()``'s first truthy value (a refused request counts as not yet); on timeout, an error that shows
    ``logs()`` (the components' output), since that is where a deployment says why it is stuck."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            value = check()
        except requests.RequestException:
            value = None
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}; component logs:\n{logs()}")


def component_logs(log_dir: Path, tail: int = 3000) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-tail:]}" for p in sorted(log_dir.glob("*.log")))


@contextmanager
def running(commands: dict[str, list[str]], env: dict[str, str], log_dir: Path) -> Iterator[None]:
    """Each command a process (and process group) of its own, writing to ``log_dir/<name>.log``; on exit all are
    stopped by PID with their children (executor workers, code servers, run workers)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    processes: list[subprocess.Popen[bytes]] = []
    with ExitStack() as logs:
        for name, command in commands.items():
            log = logs.enter_context(open(log_dir / f"{name}.log", "wb"))
            processes.append(
                subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            )
        try:
            yield
        finally:
            _stop(processes)


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
