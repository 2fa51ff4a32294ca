"""Fixtures shared by every test, and the token-leak guard that runs around each of them."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from qatech_orchestration import QATechClient
from qatech_orchestration.emulator import QATechEmulator

# The fault matrix's fixtures (emu, down_url) serve tests/reliability, tests/airflow and tests/dagster.
pytest_plugins = ("tests.reliability.fault_matrix",)

#: A distinctive token: if it shows up in any log record, the test fails (see ``_no_token_in_logs``).
TOKEN = "qtk_live_7Hq2ZxV9pL4mN8rS1tW6yB3cD5fG0jK"


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a record whose args do not format is still checked by its template
            text = str(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            text += " " + repr(record.exc_info[1]) + " " + str(record.exc_info[1])
        self.texts.append(text)


@pytest.fixture(autouse=True)
def _no_token_in_logs() -> Iterator[None]:
    """Fail any test during which the API token reached a log record, at any level."""
    handler = _Collect()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
    leaked = [t for t in handler.texts if TOKEN in t]
    assert not leaked, f"the API token appeared in {len(leaked)} log record(s)"


@pytest.fixture
def emulator() -> Iterator[QATechEmulator]:
    with QATechEmulator(token=TOKEN, polls_to_finish=2) as emu:
        yield emu


@pytest.fixture
def client(emulator: QATechEmulator) -> Iterator[QATechClient]:
    with QATechClient(TOKEN, base_url=emulator.base_url, backoff_factor=0.01, timeout=5) as c:
        yield c
