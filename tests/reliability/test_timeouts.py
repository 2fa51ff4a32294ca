"""Each timeout limit, held past by a real loopback server, raises what its row says in both transports."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from qatech_orchestration import QATechClient, QATechError, QATechWaitTimeout
from tests.conftest import TOKEN, needs_aiohttp
from tests.reliability.timeouts import ROWS, SETTINGS, WAIT_TIMEOUT, Row, holding_past, markdown_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"
TRANSPORTS = ("sync", pytest.param("async", marks=needs_aiohttp))


def test_docs_show_exactly_this_table() -> None:
    assert markdown_table() in DOC.read_text(), (
        "docs/reliability.md is stale: paste `python -m tests.reliability.timeouts`"
    )


def _read(transport: str, base_url: str, **waiting: Any) -> None:
    if transport == "sync":
        with QATechClient(TOKEN, base_url=base_url, **SETTINGS) as client:
            if waiting:
                client.wait_for_run("abc123", **waiting)
            else:
                client.get_run("abc123")
        return

    from qatech_orchestration.async_client import AsyncQATechClient

    async def read() -> None:
        async with AsyncQATechClient(TOKEN, base_url=base_url, **SETTINGS) as client:
            if waiting:
                await client.wait_for_run("abc123", **waiting)
            else:
                await client.get_run("abc123")

    asyncio.run(read())


def _retries(caplog: pytest.LogCaptureFixture) -> int:
    return sum("; retry 1 of 1 in" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.limit)
def test_a_read_raises_what_the_row_says(row: Row, transport: str, caplog: pytest.LogCaptureFixture) -> None:
    with holding_past(row.limit) as base_url, pytest.raises(QATechError) as caught:
        _read(transport, base_url)
    error = caught.value
    assert type(error).__name__ == row.read_raises, repr(error)
    assert row.says in str(error), str(error)
    assert _retries(caplog) == (1 if row.read_retried else 0), [r.getMessage() for r in caplog.records]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.limit)
def test_a_start_raises_what_the_row_says(row: Row) -> None:
    sleeps: list[float] = []
    with holding_past(row.limit) as base_url:
        client = QATechClient(TOKEN, base_url=base_url, sleep=sleeps.append, **SETTINGS)
        with pytest.raises(QATechError) as caught:
            client.start_run()
    error = caught.value
    assert type(error).__name__ == row.start_raises.split(" ")[0], repr(error)
    assert row.says in str(error)
    assert error.run_may_exist is ("may have started" in row.start_raises)
    assert len(sleeps) == (1 if row.start_retried else 0)  # re-sent only when it provably never left


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.limit)
def test_a_wait_reads_again_until_its_deadline(row: Row, transport: str) -> None:
    with holding_past(row.limit) as base_url, pytest.raises(QATechWaitTimeout) as caught:
        _read(transport, base_url, poll_interval=0.2, timeout=WAIT_TIMEOUT, run_url="https://app.qa.tech/r/abc123")
    text = str(caught.value)
    assert "no usable answer from QA.tech for" in text and row.says in text, text
    assert "the run goes on" in text and "https://app.qa.tech/r/abc123" in text
