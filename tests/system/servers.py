"""Real PostgreSQL and Redis servers for the production-like system tests (#18), on loopback and free ports.

The binaries come from Debian's packages (``postgresql``, ``redis-server``), which ``scripts/system_servers.sh``
installs when they are missing and it runs as root; ``./scripts/test.sh`` calls it. Each server here is a
throwaway: a cluster in a temporary directory, started as a child process of the tests, stopped by PID.
No mock: where the servers cannot be had, the tests fail naming what is missing, unless
``QATECH_SKIP_SERVER_TESTS=1`` opts out (they are then skipped, and the summary says so).
"""

from __future__ import annotations

import getpass
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.system.processes import Components, free_port

SKIP_VARIABLE = "QATECH_SKIP_SERVER_TESTS"
INSTALL_HINT = (
    "run ./scripts/system_servers.sh as root (it installs Debian's postgresql and redis-server packages), "
    f"or set {SKIP_VARIABLE}=1 to skip the production-like system tests"
)
#: Where Debian's postgresql packages put the server binaries (not on PATH).
_DEBIAN_POSTGRES = "/usr/lib/postgresql/*/bin"


def skip_requested() -> bool:
    return os.environ.get(SKIP_VARIABLE, "") not in ("", "0")


def postgres_bin_dir() -> Path | None:
    """The newest PostgreSQL server installation: Debian's layout first, then ``initdb`` on PATH."""
    candidates = sorted(Path("/").glob(_DEBIAN_POSTGRES.lstrip("/")), key=lambda p: int(p.parent.name), reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for directory in candidates:
        if all((directory / tool).exists() for tool in ("initdb", "postgres", "pg_dump", "psql")):
            return directory
    return None


def require_servers() -> tuple[Path, str]:
    """The PostgreSQL binaries' directory and the ``redis-server`` path, or a failure naming what is missing
    (a skip when ``QATECH_SKIP_SERVER_TESTS=1``)."""
    if skip_requested():
        pytest.skip(f"production-like system tests skipped: {SKIP_VARIABLE}=1")
    missing = []
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        missing.append("PostgreSQL server (initdb, postgres, pg_dump, psql; Debian package postgresql)")
    redis = shutil.which("redis-server")
    if redis is None:
        missing.append("Redis server (redis-server; Debian package redis-server)")
    if os.geteuid() == 0 and bin_dir is not None and not _has_user("postgres"):
        missing.append("the 'postgres' system user (PostgreSQL refuses to run as root; the package creates it)")
    if missing:
        pytest.fail(f"missing for the production-like system tests: {'; '.join(missing)}. {INSTALL_HINT}")
    assert bin_dir is not None and redis is not None
    return bin_dir, redis


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@dataclass
class Postgres:
    bin_dir: Path
    port: int
    user: str

    def url(self, database: str, driver: str = "postgresql+psycopg2") -> str:
        return f"{driver}://{self.user}@127.0.0.1:{self.port}/{database}"

    def _client(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / tool), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, *args]
        return subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)

    def create_database(self, name: str) -> str:
        self._client("psql", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-c", f'CREATE DATABASE "{name}"')
        return name

    def query(self, database: str, sql: str) -> list[list[str]]:
        """Rows of ``sql`` as text (``psql`` unaligned, tab-separated)."""
        out = self._client("psql", "-d", database, "-v", "ON_ERROR_STOP=1", "-At", "-F", "\t", "-c", sql).stdout
        return [line.split("\t") for line in out.splitlines() if line]

    def values(self, database: str) -> Iterator[Any]:
        """Every value of every row of every table (bytes as they are stored, e.g. zlib-compressed)."""
        import psycopg2

        with closing(psycopg2.connect(host="127.0.0.1", port=self.port, user=self.user, dbname=database)) as db:
            cursor = db.cursor()
            cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            for (table,) in cursor.fetchall():
                cursor.execute(f'SELECT * FROM "{table}"')
                for row in cursor.fetchall():
                    yield from (value for value in row if value is not None)

    def dump(self, database: str) -> str:
        """``pg_dump`` of the whole database (schema and rows), as an operator would back it up."""
        return self._client("pg_dump", "-d", database).stdout


@dataclass
class Redis:
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def _wait(what: str, ready: Callable[[], bool], components: Components, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if ready():
            return
        for name, process in components.processes.items():
            if process.poll() is not None:
                log = (components.log_dir / f"{name}.log").read_text(errors="replace")[-3000:]
                raise AssertionError(f"{what} exited with {process.returncode}:\n{log}")
        time.sleep(0.2)
    raise AssertionError(f"{what} not ready after {timeout} s")


@contextmanager
def servers(log_dir: Path) -> Iterator[tuple[Postgres, Redis]]:
    """A PostgreSQL cluster and a Redis server, each a child process on a free loopback port, stopped by PID.

    PostgreSQL runs as the ``postgres`` user when the tests run as root (it refuses root), in a temporary
    data directory that user owns. Durability is off (``fsync``, ``full_page_writes``): a test cluster that
    is thrown away need not survive a power cut, and a busy 2-core machine writes less.
    """
    bin_dir, redis_binary = require_servers()
    as_root = os.geteuid() == 0
    user = "postgres" if as_root else getpass.getuser()
    data = Path(tempfile.mkdtemp(prefix="qatech-pg-"))  # not under pytest's tmp: its parent is root-only
    if as_root:
        entry = pwd.getpwnam(user)
        os.chown(data, entry.pw_uid, entry.pw_gid)

    def as_user(command: list[str]) -> list[str]:
        return ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", *command] if as_root else command

    components = Components(os.environ, log_dir)
    try:
        initdb = [str(bin_dir / "initdb"), "-D", str(data / "cluster"), "-A", "trust", "-U", user, "-E", "UTF8"]
        subprocess.run(as_user(initdb), check=True, capture_output=True, timeout=120)
        pg_port, redis_port = free_port(), free_port()
        components.start(
            "postgres",
            as_user([
                str(bin_dir / "postgres"), "-D", str(data / "cluster"), "-p", str(pg_port),
                "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "max_connections=300",
                "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
            ]),
            stop_signal=signal.SIGQUIT,  # immediate shutdown: no checkpoint for a cluster about to be deleted
        )  # fmt: skip
        components.start(
            "redis",
            [redis_binary, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        )
        postgres, redis = Postgres(bin_dir, pg_port, user), Redis(redis_port)

        def postgres_ready() -> bool:
            probe = [str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(pg_port), "-U", user, "-q"]
            return subprocess.run(probe, check=False, timeout=30).returncode == 0

        def redis_ready() -> bool:
            with suppress(OSError), socket.create_connection(("127.0.0.1", redis_port), timeout=5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
            return False

        _wait("PostgreSQL", postgres_ready, components)
        _wait("Redis", redis_ready, components)
        yield postgres, redis
    finally:
        components.stop_all()
        shutil.rmtree(data, ignore_errors=True)
