"""Real Dagster in tests: ``execute_in_process`` and ``materialize`` against the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("dagster", reason="the dagster extra is not installed")

from dagster import EnvVar

from dagster_resource import QATechResource
from qatech_orchestration.emulator import QATechEmulator
from tests.conftest import TOKEN


@pytest.fixture
def token_env(monkeypatch: pytest.MonkeyPatch) -> EnvVar:
    """The token as users configure it: an ``EnvVar`` (a plain string warns that Dagster stores it)."""
    monkeypatch.setenv("QATECH_API_TOKEN", TOKEN)
    return EnvVar("QATECH_API_TOKEN")


@pytest.fixture
def resource(emulator: QATechEmulator, token_env: EnvVar) -> QATechResource:
    return QATechResource(api_token=token_env, base_url=emulator.base_url, backoff_factor=0.01)


def event_texts(result: Any) -> str:
    """Everything a Dagster event record holds, as text: messages, metadata, failure data."""
    return "\n".join(repr(event) + str(getattr(event, "message", "")) for event in result.all_events)


@pytest.fixture
def no_token_in_events() -> Iterator[list[Any]]:
    """Collects results; fails the test if the token is in any of their event records."""
    results: list[Any] = []
    yield results
    for result in results:
        assert TOKEN not in event_texts(result)
