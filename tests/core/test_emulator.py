"""The emulator's own behaviour: lifecycle, scripting, request log, command line."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading

import pytest
import requests

from qatech_orchestration import QATechClient
from qatech_orchestration.emulator import QATechEmulator
from tests.conftest import TOKEN
from tests.deadlines import poll_until
from tests.subprocesses import started


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
    }
