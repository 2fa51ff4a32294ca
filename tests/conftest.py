"""Fixtures shared by every test, and the token-leak guard that runs around each of them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from qatech_orchestration import QATechClient
from qatech_orchestration.emulator import QATechEmulator

# The fault matrix's fixtures (emu, down_url) serve tests/reliability, tests/airflow and tests/dagster.
# tests.token_guard fails any test that shows the token anywhere a user could see it.
pytest_plugins = ("tests.token_guard", "tests.reliability.fault_matrix", "tests.network_fixtures", "pytester")
pytest.register_assert_rewrite(*pytest_plugins[:3])  # imported below, before pytest loads them as plugins

from tests.token_guard import TOKEN  # noqa: E402


@pytest.fixture
def emulator() -> Iterator[QATechEmulator]:
    with QATechEmulator(token=TOKEN, polls_to_finish=2) as emu:
        yield emu


@pytest.fixture
def client(emulator: QATechEmulator) -> Iterator[QATechClient]:
    with QATechClient(TOKEN, base_url=emulator.base_url, backoff_factor=0.01, read_timeout=5) as c:
        yield c
