"""Every row of the fault matrix through the core client, over real HTTP (Airflow and Dagster: their own
test_fault_matrix.py).

Invariants checked in every row: no POST is sent twice for one task attempt; a short ID once received is
in XCom / op metadata even when a later step fails; the error names the run URL where one exists.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from qatech_orchestration import QATechClient, QATechError
from qatech_orchestration.emulator import QATechEmulator
from tests.conftest import TOKEN, needs_aiohttp
from tests.reliability.fault_matrix import (
    CLIENT_SETTINGS,
    ROWS,
    Row,
    arrange,
    check_reads,
    markdown_table,
    wait_timeout,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"


def test_docs_show_exactly_this_matrix() -> None:
    text = DOC.read_text()
    assert markdown_table() in text, "docs/reliability.md is stale: paste `python -m tests.reliability.fault_matrix`"


# ------------------------------------------------------------------------------------------------
# The core
# ------------------------------------------------------------------------------------------------


#: Every row through the sync client; the rows of a wait (status reads) also through the async one.
CASES = [pytest.param(row, "sync", id=f"{row.id}-sync") for row in ROWS] + [
    pytest.param(row, "async", id=f"{row.id}-async", marks=needs_aiohttp) for row in ROWS if row.endpoint == "get_run"
]


@pytest.mark.parametrize(("row", "transport"), CASES)
def test_core(row: Row, transport: str, emulator: QATechEmulator, down_url: str) -> None:
    previous = arrange(row, emulator) if row.endpoint == "rerun" else None
    base_url = down_url if row.special == "refused" else emulator.base_url
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        time.sleep(seconds)

    client = QATechClient(TOKEN, base_url=base_url, sleep=sleep, **CLIENT_SETTINGS)
    run_url = None
    error: QATechError | None = None
    try:
        if row.endpoint == "start_run":
            arrange(row, emulator)
            client.start_run(test_plan_short_id="pln_matrix_1")
        elif row.endpoint == "rerun":
            client.rerun(str(previous), failed_only=True)
        else:
            if row.special == "refused":
                short_id, run_url = "r00001", "https://app.qa.tech/runs/r00001"
            else:  # the fault is on status reads: the start goes through (scripted outcomes are set before)
                if row.special:
                    arrange(row, emulator)
                started = QATechClient(TOKEN, base_url=emulator.base_url).start_run()
                short_id, run_url = started.short_id, started.url
                if not row.special:
                    arrange(row, emulator)
            waiting = {"poll_interval": row.poll_interval, "timeout": wait_timeout(row), "run_url": run_url}
            if transport == "sync":
                client.wait_for_run(short_id, **waiting)
            else:
                asyncio.run(_async_wait(base_url, short_id, waiting))
    except QATechError as exc:
        error = exc
    if row.exception is None:
        assert error is None, f"expected success, got {error!r}"
    else:
        assert error is not None and type(error).__name__ == row.exception, repr(error)
        check_reads(row, str(error), run_url)
        assert TOKEN not in str(error) + repr(error)
    if row.endpoint != "get_run":
        sent = len(emulator.requests_to(row.endpoint))
        assert sent == (0 if row.special == "refused" else 1), "a POST was sent twice"
        assert len(sleeps) == (CLIENT_SETTINGS["max_retries"] if row.retried else 0)
    else:
        assert len(emulator.requests_to("start_run")) == (0 if row.special == "refused" else 1)
        if row.exception is None and row.inject:  # the fault hit a read, and the wait read on
            assert emulator.project.pending_faults("get_run") == 0, "no read met the fault"


async def _async_wait(base_url: str, short_id: str, waiting: dict[str, Any]) -> None:
    from qatech_orchestration.async_client import AsyncQATechClient

    async with AsyncQATechClient(TOKEN, base_url=base_url, **CLIENT_SETTINGS) as client:
        await client.wait_for_run(short_id, **waiting)
