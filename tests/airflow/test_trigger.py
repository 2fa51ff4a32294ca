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
from tests.deadlines import scaled


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
    assert event["status"] == "timeout" and "(last status RUNNING)" in event["message"]
    assert run.url in event["message"] or f"http://example/{run.short_id}" in event["message"]
    # the last status read, small (to_event), for the task's run_summary
    assert event["last"]["status"] == "RUNNING" and event["last"]["counts"]["total"] == 3


@pytest.mark.parametrize(("outcome", "result"), [("PASSED", "PASSED"), ("FAILED", "FAILED")])
def test_a_trigger_taken_up_after_its_deadline_reads_the_run_once(
    outcome: str, result: str, emulator: QATechEmulator
) -> None:
    """A triggerer down (or busy) past a wait's end: the run may have ended meanwhile; its verdict counts."""
    emulator.script_outcome(outcome, seconds=0)  # over by the time the triggerer takes the wait up
    run = QATechClient(TOKEN, base_url=emulator.base_url).start_run()
    reads = len(emulator.project.requests_to("get_run"))
    (event,) = asyncio.run(_events(_trigger(run.short_id, end_time=time.time() - 120)))
    assert event["status"] == "terminal" and event["run"]["result"] == result
    assert event["run"]["url"] == f"http://example/{run.short_id}"
    assert len(emulator.project.requests_to("get_run")) == reads + 1
    assert len(emulator.project.requests_to("start_run")) == 1


def test_a_trigger_taken_up_after_its_deadline_times_out_saying_the_run_goes_on(emulator: QATechEmulator) -> None:
    emulator.script_outcome("NEVER")
    run = QATechClient(TOKEN, base_url=emulator.base_url).start_run()
    (event,) = asyncio.run(_events(_trigger(run.short_id, end_time=time.time() - 120)))
    assert event["status"] == "timeout"
    message = event["message"]
    assert f"QA.tech run {run.short_id} (http://example/{run.short_id}) did not finish" in message
    assert "had passed 120 s before the triggerer took the wait up (last status RUNNING)" in message
    assert "the run goes on in QA.tech" in message
    assert event["last"]["status"] == "RUNNING"
    assert len(emulator.project.requests_to("start_run")) == 1  # the test's own: a trigger starts nothing


def test_a_late_trigger_whose_read_fails_still_times_out_naming_the_error(emulator: QATechEmulator) -> None:
    emulator.inject_fault("get_run", status=503, message="gateway down", times=100)
    (event,) = asyncio.run(_events(_trigger("abc123", end_time=time.time() - 5)))
    assert event["status"] == "timeout"
    assert "its status could not be read" in event["message"] and "gateway down" in event["message"]
    assert "the run goes on in QA.tech" in event["message"]
    assert emulator.project.requests_to("start_run") == []


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


# ------------------------------------------------------------------------------------------------
# Triggerer scale: one shared pool per connection, deadlines, small events (#10)
# ------------------------------------------------------------------------------------------------


def test_many_triggers_share_one_client_and_its_bounded_pool(
    emulator: QATechEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    import qatech_orchestration.async_client as async_client
    from airflow_provider.hooks.async_clients import clients_in_loop
    from tests.airflow.conftest import connection_json

    created: list[Any] = []

    class Counted(async_client.AsyncQATechClient):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            created.append(self)

    monkeypatch.setattr(async_client, "AsyncQATechClient", Counted)
    monkeypatch.setenv("AIRFLOW_CONN_QATECH_DEFAULT", connection_json(emulator.base_url, pool_size=4))
    emulator.project.polls_to_finish = 3
    starter = QATechClient(TOKEN, base_url=emulator.base_url)
    runs = [starter.start_run().short_id for _ in range(40)]
    starter.close()
    before = emulator.connections_accepted

    async def scenario() -> list[list[dict[str, Any]]]:
        results = await asyncio.gather(*(_events(_trigger(s)) for s in runs))
        assert clients_in_loop() == {}  # closed with its last trigger
        return list(results)

    events = asyncio.run(scenario())
    assert all(e == [{**e[0], "status": "terminal"}] and e[0]["run"]["result"] == "PASSED" for e in events)
    assert len(created) == 1  # one client for the 40 triggers of the connection
    assert emulator.connections_accepted - before <= 4  # sockets never exceed the pool


def test_a_changed_connection_gets_a_new_client_and_the_old_one_closes_with_its_last_user() -> None:
    import airflow_provider.hooks.async_clients as module
    from airflow_provider.hooks.async_clients import clients_in_loop, shared_client

    first = {"api_token": TOKEN, "base_url": "http://127.0.0.1:9/v1"}
    rotated = {**first, "api_token": TOKEN + "-rotated"}
    lookups: list[str] = []

    def lookup(kwargs: dict[str, Any]) -> Any:
        async def fetch() -> dict[str, Any]:
            lookups.append(kwargs["api_token"])
            return kwargs

        return fetch

    async def scenario() -> None:
        async with shared_client("qatech_default", None, lookup(first)) as old:
            async with shared_client("qatech_default", None, lookup(first)) as same:
                assert same is old
            assert len(lookups) == 1  # the second trigger reused the fresh lookup
            module.CONNECTION_TTL = 0.0  # the lookup is stale: the next trigger looks again, sees a new token
            async with shared_client("qatech_default", None, lookup(rotated)) as new:
                assert new is not old
                assert clients_in_loop() == {("qatech_default", None): 1}  # new users go to the new one
            assert old._session is None or not old._session.closed  # still lent out
        assert clients_in_loop() == {}

    try:
        asyncio.run(scenario())
    finally:
        module.CONNECTION_TTL = 30.0


def test_the_deadline_fires_while_a_read_hangs(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.airflow.conftest import connection_json

    with QATechEmulator(token=TOKEN, latency=30.0) as slow:
        monkeypatch.setenv("AIRFLOW_CONN_QATECH_DEFAULT", connection_json(slow.base_url))
        trigger = _trigger("abc123", end_time=time.time() + 0.3)
        # A guard against a hang, not a speed assertion: without the deadline this read takes 30 s.
        (event,) = asyncio.run(asyncio.wait_for(_events(trigger), scaled(20)))
    assert event["status"] == "timeout" and "(no status read yet)" in event["message"]
    assert event["last"] is None


def test_triggers_stored_by_an_earlier_version_still_run(emulator: QATechEmulator) -> None:
    run = QATechClient(TOKEN, base_url=emulator.base_url).start_run()
    stored = {  # as version 0.1.0 serialized it into the metadata database
        "run_short_id": run.short_id,
        "conn_id": "qatech_default",
        "end_time": time.time() + 30,
        "poll_interval": 0.01,
        "run_url": run.url,
        "project_short_id": None,
    }
    (event,) = asyncio.run(_events(QATechRunTrigger(**stored)))
    assert event["status"] == "terminal" and event["run"]["result"] == "PASSED"


def test_the_event_stays_small_and_the_operator_reads_the_rest(emulator: QATechEmulator) -> None:
    from qatech_orchestration.emulator import Outcome

    failing = {f"Case {i:02d}": "x" * 2000 for i in range(60)}
    emulator.script_outcome(Outcome(result="FAILED", failing=failing, test_names=()))
    run = QATechClient(TOKEN, base_url=emulator.base_url).start_run()
    (event,) = asyncio.run(_events(_trigger(run.short_id)))
    size = len(json.dumps(event))
    assert size < 16 * 1024, size  # the full status is over 120 KB
    assert event["run"]["unsuccessful_total"] == 60 and len(event["run"]["test_cases"]) == 20
    assert all(len(c["result_title"]) <= 300 for c in event["run"]["test_cases"])

    from airflow_provider.outcomes import finish_from_event
    from airflow_provider.version_compat import AirflowException
    from qatech_orchestration import QATechClient as Client

    class _Ti:
        def xcom_push(self, key: str, value: Any) -> None:
            pass

    reread = Client(TOKEN, base_url=emulator.base_url).get_run
    with pytest.raises(AirflowException) as info:
        finish_from_event({"ti": _Ti()}, event, fail_on_skipped=False, reread=lambda s: reread(s, "all"))
    assert "and 50 more" in str(info.value)  # counted from the full run, not from the event's 20


def test_a_connection_the_triggerer_cannot_find_ends_in_one_error_event_naming_the_working_form() -> None:
    (event,) = asyncio.run(_events(_trigger("abc123", conn_id="qatech_nowhere")))
    assert event["status"] == "error" and event["retryable"] is False
    assert "the triggerer found no connection 'qatech_nowhere'" in event["message"]
    assert "AIRFLOW_CONN_QATECH_NOWHERE=" in event["message"]
