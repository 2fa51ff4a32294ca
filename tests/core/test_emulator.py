"""The emulator's own behaviour: lifecycle, scripting, request log, command line."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time

import pytest
import requests

from qatech_orchestration import QATechClient
from qatech_orchestration.emulator import QATechEmulator
from tests.conftest import TOKEN
from tests.deadlines import poll_until
from tests.subprocesses import run, started


def test_lifecycle_initiated_running_then_terminal() -> None:
    with QATechEmulator(token=TOKEN, polls_to_finish=3) as emu:
        client = QATechClient(TOKEN, base_url=emu.base_url)
        run = client.start_run()
        seen = [client.get_run(run.short_id).status for _ in range(4)]
    assert seen == ["INITIATED", "RUNNING", "COMPLETED", "COMPLETED"]


def test_scripted_outcomes_are_consumed_in_order(client: QATechClient, emulator: QATechEmulator) -> None:
    emulator.script_outcome("FAILED")
    emulator.script_outcome("ERROR")
    results = []
    for _ in range(3):
        run = client.start_run()
        status = client.wait_for_run(run.short_id, poll_interval=0.01, timeout=5)
        results.append((status.status, status.result))
    assert results == [("COMPLETED", "FAILED"), ("ERROR", None), ("COMPLETED", "PASSED")]


def test_held_runs_stay_running_until_released(client: QATechClient, emulator: QATechEmulator) -> None:
    emulator.script_outcome("NEVER", test_plan_short_id="pln_held")
    held = [client.start_run(test_plan_short_id="pln_held").short_id for _ in range(2)]
    other = client.start_run(test_plan_short_id="pln_other").short_id
    for _ in range(5):
        assert {client.get_run(short_id).status for short_id in held} == {"RUNNING"}
    assert emulator.release_held_runs("pln_other") == 0
    assert client.get_run(held[0]).status == "RUNNING"
    assert emulator.release_held_runs("pln_held") == 2
    assert {(s.status, s.result) for s in (client.get_run(i, test_cases="all") for i in held)} == {
        ("COMPLETED", "PASSED")
    }
    later = client.start_run(test_plan_short_id="pln_held")  # the plan is no longer held
    assert client.wait_for_run(later.short_id, poll_interval=0.01, timeout=5).result == "PASSED"
    assert client.get_run(other).status != "NEVER"


def test_request_log_keeps_bodies_but_not_the_token(client: QATechClient, emulator: QATechEmulator) -> None:
    client.start_run(test_plan_short_id="pln_x")
    (request,) = emulator.requests
    assert request.body == {"testPlanShortId": "pln_x"}
    assert request.authorized
    assert TOKEN not in repr(request)


def test_dashboard_page_serves_the_run_url(client: QATechClient, emulator: QATechEmulator) -> None:
    run = client.start_run()
    page = requests.get(run.url, timeout=5)
    assert page.status_code == 200 and run.short_id in page.text


# The command line's own token: a failure report shows the command line, and the suite's token stays out of it.
CLI_TOKEN = "emulator-cli-token-1234567"


@pytest.mark.parametrize("inherited", ["default", "ignored"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_command_line_serves_until_interrupted(signum: signal.Signals, inherited: str) -> None:
    """It stops cleanly on SIGINT (Ctrl-C) and SIGTERM (containers, service managers) even when it inherited
    them ignored, as a background job (``cmd &`` in a non-interactive shell) inherits SIGINT."""
    command = [sys.executable, "-m", "qatech_orchestration.emulator", "--port", "0", "--token", CLI_TOKEN]
    if inherited == "ignored":
        command = ["sh", "-c", 'trap "" INT TERM; exec "$@"', "sh", *command]
    with started(command, env={**os.environ, "PYTHONUNBUFFERED": "1"}) as emulator:
        line = emulator.wait_for_output("serving http://127.0.0.1:", timeout=30)
        base_url = line.split("serving ", 1)[1].split()[0]
        with QATechClient(CLI_TOKEN, base_url=base_url, max_retries=0) as client:
            assert client.start_run().short_id == "r00001"
        emulator.process.send_signal(signum)
        assert emulator.exit_code(timeout=10) == 0, emulator.output()
        assert "QA.tech emulator stopped" in emulator.output()


def test_command_line_stops_quietly_with_a_request_in_flight() -> None:
    command = [sys.executable, "-m", "qatech_orchestration.emulator", "--port", "0", "--token", CLI_TOKEN]
    with started([*command, "--latency", "30"], env={**os.environ, "PYTHONUNBUFFERED": "1"}) as emulator:
        line = emulator.wait_for_output("serving http://127.0.0.1:", timeout=30)
        base_url = line.split("serving ", 1)[1].split()[0]
        stats_url = base_url.replace("/v1", "/_emulator/stats")
        client = QATechClient(CLI_TOKEN, base_url=base_url, max_retries=0, read_timeout=60)

        def start() -> None:
            with contextlib.suppress(Exception):  # the emulator stops before it answers
                client.start_run()

        threading.Thread(target=start, daemon=True).start()
        poll_until(
            "the start to be in flight",
            lambda: requests.get(stats_url, timeout=5).json()["requests"]["start_run"] == 1,
            timeout=30,
        )
        emulator.process.send_signal(signal.SIGTERM)
        assert emulator.exit_code(timeout=10) == 0, emulator.output()
    assert "Traceback" not in emulator.output() and "CancelledError" not in emulator.output(), emulator.output()


def test_stats_endpoint_counts_requests(client: QATechClient, emulator: QATechEmulator) -> None:
    run = client.start_run()
    client.get_run(run.short_id)
    stats = requests.get(emulator.base_url.replace("/v1", "/_emulator/stats"), timeout=5).json()
    assert stats == {
        "requests": {"start_run": 1, "get_run": 1, "rerun": 0},
        "runs": 1,
        # the client's one keep-alive connection served both calls; the other is this stats read's own
        "connections_accepted": 2,
        "connections_open": 2,
        "outage_ended_at": None,  # no outage yet
        "in_flight_peak": 1,  # one request at a time
    }


def test_the_control_endpoints_take_an_outage_and_say_who_read_again(
    client: QATechClient, emulator: QATechEmulator
) -> None:
    control = emulator.base_url.replace("/v1", "/_emulator")
    run = client.start_run()
    requests.post(f"{control}/outage", params={"seconds": 0.3}, timeout=5)
    _poll_until(lambda: emulator.outage_ended_at is not None)
    returned = emulator.outage_ended_at
    client.wait_for_run(run.short_id, poll_interval=0.01, timeout=10)
    first = requests.get(f"{control}/first-reads", params={"after": returned}, timeout=5).json()
    assert list(first) == [run.short_id] and first[run.short_id] > returned


def _poll_until(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the emulator did not come back"
        time.sleep(0.05)


def test_an_outage_refuses_connections_then_the_emulator_answers_again(emulator: QATechEmulator) -> None:
    url = f"{emulator.base_url}/run/r00001"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with requests.Session() as kept_alive:
        assert kept_alive.get(url, headers=headers, timeout=5).status_code == 404
        emulator.outage(0.5, mode="refused")
        try:
            requests.get(url, headers=headers, timeout=5)
        except requests.ConnectionError as exc:
            assert "Connection refused" in str(exc)
        else:
            raise AssertionError("a request went through during the outage")
        try:  # the connection that was open when the outage began is closed, not slipped through
            kept_alive.get(url, headers=headers, timeout=5)
        except requests.ConnectionError:
            pass
        else:
            raise AssertionError("a kept-alive connection went through during the outage")

    def answers() -> bool:
        try:
            return requests.get(url, headers=headers, timeout=5).status_code == 404
        except requests.ConnectionError:
            return False

    _poll_until(answers)


def test_a_hung_outage_reads_requests_and_never_answers_them(emulator: QATechEmulator) -> None:
    emulator.outage(1.0, mode="hung")
    url = f"{emulator.base_url}/run/r00001"
    try:
        requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=(2, 0.3))
    except requests.ReadTimeout:
        pass
    else:
        raise AssertionError("a request was answered during a hung outage")

    def answers() -> bool:  # a request made during the outage stays unanswered: ask again on a new connection
        try:
            return requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=(2, 0.3)).status_code == 404
        except requests.ReadTimeout:
            return False

    _poll_until(answers)


def _post(emulator: QATechEmulator, path: str, data: bytes) -> requests.Response:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    return requests.post(f"{emulator.base_url}{path}", data=data, headers=headers, timeout=5)


def test_a_null_body_is_refused_as_the_schema_says(client: QATechClient, emulator: QATechEmulator) -> None:
    run = client.start_run()
    client.wait_for_run(run.short_id, poll_interval=0.01, timeout=5)
    for path in ("/run", f"/run/{run.short_id}"):
        answer = _post(emulator, path, b"null")
        assert answer.status_code == 400, answer.text
        assert answer.json() == {"message": "Request body must be a JSON object, not null"}
    assert list(emulator.project.runs) == [run.short_id]  # nothing started
    assert _post(emulator, "/run", b"").status_code == 200  # no body at all: the schema's body is optional


def test_an_empty_enum_value_is_refused(client: QATechClient, emulator: QATechEmulator) -> None:
    run = client.start_run()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    answer = requests.get(f"{emulator.base_url}/run/{run.short_id}?testCases=", headers=headers, timeout=5)
    assert answer.status_code == 400 and "testCases" in answer.json()["message"]
    answer = requests.get(f"{emulator.base_url}/run/{run.short_id}?testCases=all", headers=headers, timeout=5)
    assert answer.status_code == 200


_OPEN_CLIENTS = """
import sys, threading, time
from qatech_orchestration import QATechClient
from qatech_orchestration.emulator import QATechEmulator
from qatech_orchestration.errors import QATechError

with QATechEmulator(token=sys.argv[1], polls_to_finish=2) as emu:
    idle = QATechClient(sys.argv[1], base_url=emu.base_url)  # keeps its keep-alive connection open
    run = idle.start_run()
    idle.get_run(run.short_id)
    busy = QATechClient(sys.argv[1], base_url=emu.base_url, max_retries=0)
    emu.inject_fault("get_run", delay=30.0)  # this one is mid-request when the emulator stops
    outcome = []

    def read() -> None:
        try:
            busy.get_run(run.short_id)
        except QATechError as exc:
            outcome.append(type(exc).__name__)

    reader = threading.Thread(target=read)
    reader.start()
    while len(emu.requests_to("get_run")) < 2:
        time.sleep(0.01)
reader.join(30)
print("stopped;", *outcome)
"""


def test_the_emulator_exits_cleanly_with_open_clients() -> None:
    """Python 3.11 logged "Exception in callback StreamReaderProtocol.connection_made ... CancelledError" when
    the ``with`` block ended while a client held a keep-alive connection."""
    result = run([sys.executable, "-c", _OPEN_CLIENTS, TOKEN], timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "stopped; QATechConnectionError"  # the busy client's answer was cut
    assert result.stderr == ""


def test_a_run_added_under_a_chosen_short_id_is_finished(client: QATechClient, emulator: QATechEmulator) -> None:
    emulator.add_run("abc123", "FAILED", failing={"Checkout": "Pay button missing"})
    status = client.get_run("abc123", test_cases="failed")
    assert (status.status, status.result) == ("COMPLETED", "FAILED")
    assert [(c.name, c.result_title) for c in status.test_cases] == [("Checkout", "Pay button missing")]
    rerun = client.rerun("abc123")  # it has failed test cases to rerun
    assert emulator.project.runs[rerun.short_id].rerun_of == "abc123"
    with pytest.raises(ValueError, match="run 'abc123' exists already"):
        emulator.add_run("abc123")
