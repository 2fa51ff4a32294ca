"""QATechRunTrigger on its own: serialization, its run() against the emulator, the event loop kept free."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from airflow_provider.triggers.qatech import QATechRunTrigger
from qatech_orchestration import QATechClient
from qatech_orchestration.emulator import QATechEmulator
from tests.conftest import TOKEN


def _trigger(short_id: str, **kwargs: Any) -> QATechRunTrigger:
    args: dict[str, Any] = {
        "run_short_id": short_id,
        "conn_id": "qatech_default",
        "end_time": time.time() + 30,
        "poll_interval": 0.01,
        "run_url": f"http://example/{short_id}",
    }
    return QATechRunTrigger(**{**args, **kwargs})


async def _events(trigger: QATechRunTrigger) -> list[dict[str, Any]]:
    return [event.payload async for event in trigger.run()]


def test_serialize_round_trip_uses_primitives_only() -> None:
    trigger = _trigger("abc123", project_short_id="proj_acme")
    path, kwargs = trigger.serialize()
    assert path == "airflow_provider.triggers.qatech.QATechRunTrigger"
    assert json.loads(json.dumps(kwargs)) == kwargs  # JSON primitives only
    assert TOKEN not in json.dumps(kwargs)
    module, _, name = path.rpartition(".")
    cls = getattr(__import__(module, fromlist=[name]), name)
    again = cls(**kwargs)
    assert again.serialize() == (path, kwargs)


def test_run_yields_exactly_one_terminal_event(emulator: QATechEmulator) -> None:
    emulator.script_outcome("FAILED")
    run = QATechClient(TOKEN, base_url=emulator.base_url).start_run()
    events = asyncio.run(_events(_trigger(run.short_id)))
    assert len(events) == 1
    (event,) = events
    assert event["status"] == "terminal" and event["run"]["result"] == "FAILED"
    assert event["run"]["url"] == f"http://example/{run.short_id}"
    assert any(c["result"] == "FAILED" for c in event["run"]["test_cases"])
    assert TOKEN not in json.dumps(event)


def test_run_times_out_at_end_time(emulator: QATechEmulator) -> None:
    emulator.script_outcome("NEVER")
    run = QATechClient(TOKEN, base_url=emulator.base_url).start_run()
    (event,) = asyncio.run(_events(_trigger(run.short_id, end_time=time.time() + 0.2)))
    assert event["status"] == "timeout" and event["last_status"] == "RUNNING"


@pytest.mark.parametrize(("status", "retryable"), [(401, False), (404, False)])
def test_api_errors_become_one_error_event(status: int, retryable: bool, emulator: QATechEmulator) -> None:
    emulator.inject_fault("get_run", status=status, message="nope", times=10)
    (event,) = asyncio.run(_events(_trigger("abc123")))
    assert event["status"] == "error" and event["status_code"] == status
    assert event["retryable"] is retryable and "nope" in event["message"]


def test_the_event_loop_keeps_running_while_a_read_is_in_flight(emulator: QATechEmulator) -> None:
    """A slow status read must not block other triggers sharing the triggerer's event loop."""
    emulator.project.polls_to_finish = 1
    run = QATechClient(TOKEN, base_url=emulator.base_url).start_run()
    emulator.inject_fault("get_run", delay=1.0)  # processed, then answered a second later

    async def scenario() -> bool:
        done = asyncio.Event()
        seen_in_flight = False

        async def watch() -> None:
            nonlocal seen_in_flight
            while not done.is_set():
                # the request has reached the server but the trigger has not yielded yet
                if emulator.requests_to("get_run"):
                    seen_in_flight = True
                    return
                await asyncio.sleep(0.01)

        async def consume() -> None:
            await _events(_trigger(run.short_id))
            done.set()

        await asyncio.gather(watch(), consume())
        return seen_in_flight

    assert asyncio.run(scenario()) is True
