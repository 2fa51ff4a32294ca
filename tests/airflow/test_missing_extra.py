"""A deferrable wait where aiohttp (the ``[airflow]`` extra's triggerer transport) is missing: the task fails
before it starts anything, naming the extra; a triggerer without it ends the wait with that message."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pendulum
import pytest

from airflow_provider.operators.qatech import QATechStartRunOperator
from airflow_provider.sensors.qatech import QATechRunSensor
from qatech_orchestration.emulator import QATechEmulator
from tests.airflow.conftest import dag_class, new_dag_id, run_dag, task_states
from tests.blocked_imports import ROOT, env_without

START = pendulum.datetime(2026, 1, 1, tz="UTC")
EXTRA = 'pip install "qatech-orchestration[airflow]"'


@pytest.fixture
def no_aiohttp(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process as a worker without aiohttp (``None`` in ``sys.modules`` makes every import of it fail)."""
    monkeypatch.setitem(sys.modules, "aiohttp", None)


@pytest.mark.parametrize(
    "make_task",
    [
        lambda: QATechStartRunOperator(task_id="qa", wait_for_completion=True, deferrable=True),
        lambda: QATechRunSensor(task_id="qa", run_short_id="r00001", deferrable=True),
    ],
    ids=["start-and-wait", "sensor"],
)
def test_a_deferrable_wait_without_aiohttp_fails_before_any_request(
    make_task: Callable[[], Any], no_aiohttp: None, emulator: QATechEmulator, task_output: Callable[[], str]
) -> None:
    with dag_class()(dag_id=new_dag_id("no_aiohttp"), schedule=None, start_date=START, catchup=False) as dag:
        make_task()
    dagrun = run_dag(dag)
    assert task_states(dagrun)["qa"] == "failed"
    output = task_output()
    assert "deferrable=True waits in the triggerer with aiohttp, which is not installed" in output
    assert EXTRA in output
    assert emulator.requests == []  # no run started, not even a status read


def test_waiting_without_deferring_needs_no_aiohttp(
    no_aiohttp: None, emulator: QATechEmulator, task_output: Callable[[], str]
) -> None:
    with dag_class()(dag_id=new_dag_id("no_aiohttp_sync"), schedule=None, start_date=START, catchup=False) as dag:
        QATechStartRunOperator(task_id="qa", wait_for_completion=True, deferrable=False, poll_interval=0.05)
    dagrun = run_dag(dag)
    assert task_states(dagrun)["qa"] == "success", task_output()
    assert len(emulator.requests_to("start_run")) == 1


_TRIGGER = """
import asyncio, json, time
from airflow_provider.triggers.qatech import QATechRunTrigger

trigger = QATechRunTrigger("r00001", "qatech_default", time.time() + 30, 0.01, run_url="http://example/r00001")


async def events():
    return [event.payload async for event in trigger.run()]


print(json.dumps(asyncio.run(events())))
"""


def test_a_triggerer_without_aiohttp_ends_the_wait_naming_the_extra(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _TRIGGER], capture_output=True, text=True, cwd=ROOT,
        env=env_without(tmp_path, "aiohttp"), timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (event,) = json.loads(result.stdout.splitlines()[-1])
    assert event["status"] == "error" and event["retryable"] is False
    assert "No module named 'aiohttp'" in event["message"] and EXTRA in event["message"]
