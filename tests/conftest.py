"""Fixtures shared by every test, and the token-leak guard that runs around each of them."""

from __future__ import annotations

import importlib.util
import signal
import threading
from collections.abc import Iterator
from types import FrameType

import pytest

from qatech_orchestration import QATechClient
from qatech_orchestration.emulator import QATechEmulator

# The fault matrix's fixtures (emu, down_url) serve tests/reliability, tests/airflow and tests/dagster.
# tests.token_guard fails any test that shows the token anywhere a user could see it.
pytest_plugins = ("tests.token_guard", "tests.reliability.fault_matrix", "tests.network_fixtures", "pytester")
pytest.register_assert_rewrite(*pytest_plugins[:3])  # imported below, before pytest loads them as plugins

from tests.deadlines import SCALE  # noqa: E402
from tests.token_guard import TOKEN  # noqa: E402

#: For tests of the async client (the triggerer's): aiohttp comes with the airflow extra, and the core legs of
#: ./scripts/test.sh run without it (their sync halves still run there).
needs_aiohttp = pytest.mark.skipif(
    importlib.util.find_spec("aiohttp") is None, reason="the async client needs aiohttp (the airflow extra)"
)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config: pytest.Config) -> None:
    # A SIGTERM (a CI runner's time-out, ./scripts/test.sh stopped) ends the session as Ctrl-C does, so that
    # fixtures' finalizers stop the processes they started instead of leaving them behind.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """pytest-timeout's limit for each test (its marker, or the ini's ``timeout``) times the deadline factor."""
    if SCALE == 1:
        return
    default = float(config.getini("timeout") or 0)
    for item in items:
        marker = item.get_closest_marker("timeout")
        limit = float(marker.args[0]) if marker is not None and marker.args else default
        if limit > 0:
            item.add_marker(pytest.mark.timeout(limit * SCALE), append=False)


@pytest.fixture
def emulator() -> Iterator[QATechEmulator]:
    with QATechEmulator(token=TOKEN, polls_to_finish=2) as emu:
        yield emu


@pytest.fixture
def client(emulator: QATechEmulator) -> Iterator[QATechClient]:
    with QATechClient(TOKEN, base_url=emulator.base_url, backoff_factor=0.01, read_timeout=5) as c:
        yield c
