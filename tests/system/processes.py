"""What the deployments of the system tests share: a free loopback port, components started as processes of
their own (output to a log file each), killed or restarted one at a time, and all stopped by PID with their
children; bounded waits."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

import psutil
import requests

from tests.deadlines import poll_until as _poll_until


def free_port() -> int:
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


def _family(pid: int) -> list[psutil.Process]:
    """The process and all its descendants (task processes, code servers, run workers), as far as they live."""
    try:
        parent = psutil.Process(pid)
        return [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def kill_family(pid: int) -> list[int]:
    """SIGKILL a process and all its descendants at once (a lost machine), and wait for them to end."""
    family = _family(pid)
    for member in family:
        with suppress(psutil.NoSuchProcess):
            member.kill()
    psutil.wait_procs(family, timeout=30)
    return [member.pid for member in family]


class Components:
    """Named processes of one deployment, each in a process group of its own and writing to
    ``log_dir/<name>.log`` (appended to when the component is started again).

    ``kill`` ends one component and every descendant (a Celery worker's task processes, a run worker's step
    processes) the way a lost machine does; ``stop_all`` stops what is left by PID: its ``stop_signal``
    (SIGTERM unless given) to each process group, SIGKILL after 30 s, then any descendant left.
    """

    def __init__(self, env: Mapping[str, str], log_dir: Path) -> None:
        self.env, self.log_dir = dict(env), log_dir
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._stop_signals: dict[str, signal.Signals] = {}
        self._logs: dict[str, IO[bytes]] = {}
        self._ended: list[subprocess.Popen[bytes]] = []
        log_dir.mkdir(parents=True, exist_ok=True)

    def start(
        self,
        name: str,
        command: list[str],
        env: Mapping[str, str] | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
    ) -> subprocess.Popen[bytes]:
        assert name not in self.processes or self.processes[name].poll() is not None, f"{name} is running"
        log = self._logs.get(name) or open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 (closed in stop_all)
        self._logs[name] = log
        log.write(f"=== {time.strftime('%H:%M:%S')} starting {name}\n".encode())
        log.flush()
        process = subprocess.Popen(
            command, env={**self.env, **(env or {})}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes[name] = process
        self._stop_signals[name] = stop_signal
        return process

    def kill(self, name: str, sig: signal.Signals = signal.SIGKILL) -> list[int]:
        """Send ``sig`` to the component and all its descendants at once; wait for the component to end (and,
        for SIGKILL, for the descendants too). Returns the PIDs signalled."""
        process = self.processes[name]
        family = _family(process.pid)
        for member in family:
            with suppress(psutil.NoSuchProcess):
                member.send_signal(sig)
        process.wait(timeout=60)
        if sig == signal.SIGKILL:
            psutil.wait_procs(family, timeout=30)
        self._ended.append(process)
        return [member.pid for member in family]

    def running(self, name: str) -> bool:
        return name in self.processes and self.processes[name].poll() is None

    def stop_all(self) -> None:
        processes = list(self.processes.values())
        family = [member for process in processes for member in _family(process.pid)]
        for name, process in self.processes.items():
            with suppress(ProcessLookupError):
                os.killpg(process.pid, self._stop_signals[name])
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        # Descendants that left the group (or outlived their parent): by PID, as the brief of the tests asks.
        _, alive = psutil.wait_procs(family, timeout=10)
        for member in alive:
            with suppress(psutil.NoSuchProcess):
                member.kill()
        psutil.wait_procs(alive, timeout=10)
        for log in self._logs.values():
            log.close()


@contextmanager
def running(commands: dict[str, list[str]], env: dict[str, str], log_dir: Path) -> Iterator[Components]:
    """Each command a component (see :class:`Components`); on exit all are stopped by PID with their
    children (executor workers, code servers, run workers)."""
    components = Components(env, log_dir)
    try:
        for name, command in commands.items():
            components.start(name, command)
        yield components
    finally:
        components.stop_all()
