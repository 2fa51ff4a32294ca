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
    A ``get_run`` row runs through every way of waiting: the sync and the async client's ``wait_for_run``,
    an Airflow task waiting in its worker and deferred to the triggerer, and a Dagster op.
    """

    endpoint: str
    fault: str
    inject: dict[str, Any] = field(default_factory=dict)
    special: str | None = None
    #: the client sends the request again by itself (in a wait: until the wait's deadline)
    retried: bool = False
    #: what the core raises, through either transport (None: the call succeeds after the client's retries)
    exception: str | None = None
    #: "success", "fails (retries apply)" or "fails (no retry)"
    airflow: str = "success"
    #: "success" or "Failure"
    dagster: str = "success"
    #: what the user reads (in the exception, task log or Failure description)
    reads: str = ""
    #: seconds between status reads of the wait (outage rows poll slower, like a real wait)
    poll_interval: float = 0.01
    #: the wait's timeout (None: generous, the row ends well before it)
    timeout: float | None = None

    @property
    def fragments(self) -> list[str]:
        """The parts of :attr:`reads` that must appear in what the user reads."""
        return [] if self.reads.startswith("(") else [part.strip() for part in self.reads.split("…")]

    @property
    def id(self) -> str:
        return f"{self.endpoint}-{self.fault}".replace(" ", "_")


def wait_timeout(row: Row) -> float:
    """The row's own timeout, else generous: those rows finish (or fail) well before it."""
    return row.timeout if row.timeout is not None else 15.0


def _post_rows(endpoint: str) -> list[Row]:
    lost = "may have reached QA.tech, so it was not re-sent"
    return [
        Row(endpoint, "connection refused", special="refused", retried=True, exception="QATechConnectionError",
            airflow="fails (retries apply)", dagster="Failure", reads="no answer from QA.tech"),
        Row(endpoint, "reset mid-response", {"drop": "mid", "times": 10}, exception="QATechConnectionError",
            airflow="fails (no retry)", dagster="Failure", reads=lost),
        Row(endpoint, "read timeout", {"delay": 2.5, "times": 10}, exception="QATechConnectionError",
            airflow="fails (no retry)", dagster="Failure", reads=f"read_timeout=1 s passed … {lost}"),
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


#: What a wait that reached its deadline without an answer says (the run URL, the outage, the last error).
_OUTAGE_TIMEOUT = "did not finish within … no usable answer from QA.tech for … last error: … the run goes on"
#: Outages of these rows are 3 s, during a wait of 15 s polled every 0.25 s: one read's own retries (2 retries,
#: backoff 0.01 s) cover a few hundredths of a second, so only the wait's outlasting it gets the run through.
OUTAGE = 3.0


def _get_rows() -> list[Row]:
    ok = {"retried": True, "exception": None, "airflow": "success", "dagster": "success"}
    gone = {"retried": True, "exception": "QATechWaitTimeout", "airflow": "fails (retries apply)",
            "dagster": "Failure", "timeout": 1.0}  # fmt: skip
    return [
        Row("get_run", "connection refused", special="refused", reads=_OUTAGE_TIMEOUT.replace("last error: …",
            "last error: no answer from QA.tech …"), **gone),
        Row("get_run", "reset mid-response", {"drop": "mid", "times": 1}, reads="(retried, then passes)", **ok),
        Row("get_run", "read timeout", {"delay": 2.5, "times": 1}, reads="(retried, then passes)", **ok),
        Row("get_run", "429 with Retry-After", {"status": 429, "headers": {"Retry-After": "0"}, "times": 1},
            reads="(retried after Retry-After, then passes)", **ok),
        Row("get_run", "429 without Retry-After", {"status": 429, "times": 1}, reads="(retried, then passes)", **ok),
        *[Row("get_run", f"{code}", {"status": code, "times": 1}, reads="(retried, then passes)", **ok)
          for code in (500, 502, 503, 504)],
        Row("get_run", "503 persisting", {"status": 503, "message": "upstream 503", "times": 1000},
            reads=_OUTAGE_TIMEOUT.replace("last error: …", "last error: HTTP 503: upstream 503 …"), **gone),
        Row("get_run", "200 not JSON persisting", {"malformed": True, "times": 1000},
            reads=_OUTAGE_TIMEOUT.replace("last error: …", "last error: QA.tech answered HTTP 200 with a body that "
                                          "is not usable JSON …"), **gone),
        Row("get_run", "HTML error page", {"html": True, "status": 502, "times": 1}, reads="(retried, then passes)",
            **ok),
        Row("get_run", f"refused for {OUTAGE:g} s mid-wait", {"outage": OUTAGE}, poll_interval=0.25,
            reads="(waited through, then passes)", **ok),
        Row("get_run", f"hung for {OUTAGE:g} s mid-wait", {"outage": OUTAGE, "outage_mode": "hung"},
            poll_interval=0.25, reads="(waited through, then passes)", **ok),
        Row("get_run", "an outage longer than the wait", {"outage": 60}, poll_interval=0.25,
            reads=_OUTAGE_TIMEOUT, **{**gone, "timeout": 2.0}),
        Row("get_run", "404 once", {"status": 404, "times": 1}, reads="(read again a poll interval later, passes)",
            **ok),
        Row("get_run", "404 persisting", {"status": 404, "message": "Run not found", "times": 1000}, retried=True,
            exception="QATechNotFoundError", airflow="fails (no retry)", dagster="Failure",
            reads="HTTP 404: Run not found (still not found … after the first 404) (run: <run URL>)"),
        Row("get_run", "401 (token revoked)", {"status": 401, "message": "Invalid API key", "times": 1000},
            exception="QATechAuthError", airflow="fails (no retry)", dagster="Failure",
            reads="HTTP 401: Invalid API key (run: <run URL>)"),
        Row("get_run", "403", {"status": 403, "message": "Forbidden", "times": 1000},
            exception="QATechPermissionError", airflow="fails (no retry)", dagster="Failure",
            reads="HTTP 403: Forbidden (run: <run URL>)"),
        Row("get_run", "JSON missing keys", {"body": MISSING_STATUS_KEYS, "times": 100},
            exception="QATechBadResponseError", airflow="fails (retries apply)", dagster="Failure",
            reads="without 'runTestCases' … (run: <run URL>)"),
        Row("get_run", "unknown status", special="unknown_status", exception="QATechWaitTimeout",
            airflow="fails (retries apply)", dagster="Failure", reads="last status PAUSED … the run goes on",
            timeout=1.0),
        Row("get_run", "never finishes", special="never", exception="QATechWaitTimeout",
            airflow="fails (retries apply)", dagster="Failure", reads="did not finish within … the run goes on",
            timeout=1.0),
    ]  # fmt: skip


ROWS: list[Row] = [*_post_rows("start_run"), *_get_rows(), *_post_rows("rerun")]

BEGIN = "<!-- fault-matrix:begin (generated by `python -m tests.reliability.fault_matrix`) -->"
END = "<!-- fault-matrix:end -->"


def markdown_table() -> str:
    lines = [
        BEGIN,
        "| Endpoint | Fault | Client retries it | Sync client raises | Async client raises | Airflow task (worker "
        "/ deferred) | Dagster op | The user reads |",
        "|---|---|---|---|---|---|---|---|",
    ]
    endpoints = {"start_run": "`POST /run`", "get_run": "`GET /run/{id}`", "rerun": "`POST /run/{id}`"}
    for row in ROWS:
        raises = f"`{row.exception}`" if row.exception else "— (succeeds)"
        retried = "yes" if row.retried else "no"
        if row.endpoint == "get_run" and row.retried:
            retried = "until the wait's deadline"
        async_raises = raises if row.endpoint == "get_run" else "— (reads only)"
        lines.append(
            f"| {endpoints[row.endpoint]} | {row.fault} | {retried} | {raises} | {async_raises} | {row.airflow} | "
            f"{row.dagster} | {row.reads} |"
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
