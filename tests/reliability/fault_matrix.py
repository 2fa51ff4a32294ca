"""The fault matrix: for each endpoint and fault, what the client, an Airflow task and a Dagster op do.

The rows are data: ``tests/reliability/test_fault_matrix.py`` runs every row through the core, the
Airflow operator and the Dagster ops, and checks that ``docs/reliability.md`` shows exactly this table
(``python -m tests.reliability.fault_matrix`` prints it).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import Any

import pytest

from qatech_orchestration import QATechClient
from qatech_orchestration.emulator import QATechEmulator
from tests.conftest import TOKEN

#: Client settings of every row: 2 retries, 1 s read timeout (the delay faults last 2.5 s), fast backoff.
CLIENT_SETTINGS: dict[str, Any] = {
    "connect_timeout": 2,
    "read_timeout": 1.0,
    "max_retries": 2,
    "backoff_factor": 0.01,
    "retry_after_max": 1,
}


MISSING_SHORT_ID = {"success": True, "run": {"id": "5b0c1e0e", "url": "https://app.qa.tech/r/x", "testCount": 3}}
MISSING_STATUS_KEYS = {"id": "5b0c1e0e", "shortId": "r00001"}


@dataclass(frozen=True)
class Row:
    """One fault on one endpoint.

    ``inject`` is passed to ``QATechEmulator.inject_fault`` (``times`` included); the special faults
    ``refused`` (nothing listens), ``never`` and ``unknown_status`` are set up by the tests themselves.
    """

    endpoint: str
    fault: str
    inject: dict[str, Any] = field(default_factory=dict)
    special: str | None = None
    #: the client sends the request again by itself
    retried: bool = False
    #: what the core raises (None: the call succeeds after the client's retries)
    exception: str | None = None
    #: "success", "fails (retries apply)" or "fails (no retry)"
    airflow: str = "success"
    #: "success" or "Failure"
    dagster: str = "success"
    #: what the user reads (in the exception, task log or Failure description)
    reads: str = ""

    @property
    def fragments(self) -> list[str]:
        """The parts of :attr:`reads` that must appear in what the user reads."""
        return [] if self.reads.startswith("(") else [part.strip() for part in self.reads.split("…")]

    @property
    def id(self) -> str:
        return f"{self.endpoint}-{self.fault}".replace(" ", "_")


def wait_timeout(row: Row) -> float:
    """Short for the rows that wait for ever; generous for the others, which finish well before it."""
    return 1.0 if row.special in ("never", "unknown_status") else 15.0


def _post_rows(endpoint: str) -> list[Row]:
    lost = "may have reached QA.tech, so it was not re-sent"
    return [
        Row(endpoint, "connection refused", special="refused", retried=True, exception="QATechConnectionError",
            airflow="fails (retries apply)", dagster="Failure", reads="no answer from QA.tech"),
        Row(endpoint, "reset mid-response", {"drop": "mid", "times": 10}, exception="QATechConnectionError",
            airflow="fails (no retry)", dagster="Failure", reads=lost),
        Row(endpoint, "read timeout", {"delay": 2.5, "times": 10}, exception="QATechConnectionError",
            airflow="fails (no retry)", dagster="Failure", reads=lost),
        Row(endpoint, "429 with Retry-After", {"status": 429, "headers": {"Retry-After": "1"}, "times": 10},
            exception="QATechRateLimitError", airflow="fails (retries apply)", dagster="Failure", reads="HTTP 429"),
        Row(endpoint, "429 without Retry-After", {"status": 429, "times": 10}, exception="QATechRateLimitError",
            airflow="fails (retries apply)", dagster="Failure", reads="HTTP 429"),
        *[  # a 5xx on a start may have created the run (a gateway that lost the answer): never re-sent
            Row(endpoint, f"{code}", {"status": code, "message": f"upstream {code}", "times": 10},
                exception="QATechServerError", airflow="fails (no retry)", dagster="Failure",
                reads=f"HTTP {code}: upstream {code} … a run may have started")
            for code in (500, 502, 503, 504)
        ],
        Row(endpoint, "200 not JSON", {"malformed": True, "times": 10}, exception="QATechBadResponseError",
            airflow="fails (no retry)", dagster="Failure", reads="a run may have started: check the dashboard"),
        Row(endpoint, "HTML error page", {"html": True, "status": 502, "times": 10}, exception="QATechServerError",
            airflow="fails (no retry)", dagster="Failure", reads="502 Bad Gateway … a run may have started"),
        Row(endpoint, "JSON missing run.shortId", {"body": MISSING_SHORT_ID, "times": 10},
            exception="QATechBadResponseError", airflow="fails (no retry)", dagster="Failure",
            reads="without 'shortId' … a run may have started"),
    ]  # fmt: skip


def _get_rows() -> list[Row]:
    ok = {"retried": True, "exception": None, "airflow": "success", "dagster": "success"}
    return [
        Row("get_run", "connection refused", special="refused", retried=True, exception="QATechConnectionError",
            airflow="fails (retries apply)", dagster="Failure", reads="no answer from QA.tech"),
        Row("get_run", "reset mid-response", {"drop": "mid", "times": 1}, reads="(retried, then passes)", **ok),
        Row("get_run", "read timeout", {"delay": 2.5, "times": 1}, reads="(retried, then passes)", **ok),
        Row("get_run", "429 with Retry-After", {"status": 429, "headers": {"Retry-After": "0"}, "times": 1},
            reads="(retried after Retry-After, then passes)", **ok),
        Row("get_run", "429 without Retry-After", {"status": 429, "times": 1}, reads="(retried, then passes)", **ok),
        *[Row("get_run", f"{code}", {"status": code, "times": 1}, reads="(retried, then passes)", **ok)
          for code in (500, 502, 503, 504)],
        Row("get_run", "503 persisting", {"status": 503, "message": "upstream 503", "times": 100}, retried=True,
            exception="QATechServerError", airflow="fails (retries apply)", dagster="Failure",
            reads="HTTP 503: upstream 503 (run: <run URL>)"),
        Row("get_run", "200 not JSON", {"malformed": True, "times": 100}, exception="QATechBadResponseError",
            airflow="fails (retries apply)", dagster="Failure", reads="not JSON … (run: <run URL>)"),
        Row("get_run", "HTML error page", {"html": True, "status": 502, "times": 1}, reads="(retried, then passes)",
            **ok),
        Row("get_run", "JSON missing keys", {"body": MISSING_STATUS_KEYS, "times": 100},
            exception="QATechBadResponseError", airflow="fails (retries apply)", dagster="Failure",
            reads="without 'runTestCases' … (run: <run URL>)"),
        Row("get_run", "unknown status", special="unknown_status", exception="QATechWaitTimeout",
            airflow="fails (retries apply)", dagster="Failure", reads="last status PAUSED … the run goes on"),
        Row("get_run", "never finishes", special="never", exception="QATechWaitTimeout",
            airflow="fails (retries apply)", dagster="Failure", reads="did not finish within … the run goes on"),
    ]  # fmt: skip


ROWS: list[Row] = [*_post_rows("start_run"), *_get_rows(), *_post_rows("rerun")]

BEGIN = "<!-- fault-matrix:begin (generated by `python -m tests.reliability.fault_matrix`) -->"
END = "<!-- fault-matrix:end -->"


def markdown_table() -> str:
    lines = [
        BEGIN,
        "| Endpoint | Fault | Client retries it | Core raises | Airflow task | Dagster op | The user reads |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in ROWS:
        endpoint = {"start_run": "`POST /run`", "get_run": "`GET /run/{id}`", "rerun": "`POST /run/{id}`"}
        lines.append(
            f"| {endpoint[row.endpoint]} | {row.fault} | {'yes' if row.retried else 'no'} | "
            f"{f'`{row.exception}`' if row.exception else '— (succeeds)'} | {row.airflow} | {row.dagster} | "
            f"{row.reads} |"
        )
    lines.append(END)
    return "\n".join(lines)


@pytest.fixture
def down_url() -> str:
    """A base URL where nothing listens: every connection is refused before a byte leaves."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def arrange(row: Row, emu: QATechEmulator) -> str | None:
    """Set the emulator up for ``row``; returns the run to rerun, for rerun rows."""
    previous = None
    if row.endpoint == "rerun":
        client = QATechClient(TOKEN, base_url=emu.base_url)
        emu.script_outcome("FAILED")
        previous = client.start_run().short_id
        client.wait_for_run(previous, poll_interval=0.01, timeout=5)
    if row.special == "unknown_status":
        emu.script_outcome("PAUSED")
    elif row.special == "never":
        emu.script_outcome("NEVER")
    elif row.inject:
        emu.inject_fault(row.endpoint, **row.inject)
    return previous


def check_reads(row: Row, text: str, run_url: str | None) -> None:
    for fragment in row.fragments:
        fragment = fragment.replace("<run URL>", run_url or "<no run>")
        assert fragment in text, f"{fragment!r} not in {text[-1500:]!r}"


if __name__ == "__main__":
    print(markdown_table())
