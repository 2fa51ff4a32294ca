"""Testing pipelines against the emulator: what the ``qatech_emulator`` pytest fixture hands a test.

:class:`QATechMock` wraps a running :class:`~qatech_orchestration.emulator.QATechEmulator`: its token and
base URL, what it received (``starts``, ``reruns``, ``reads``), ways to script what QA.tech does (how runs
end and how long they take, errors, outages, hung answers) and assertions that read like the test's intent,
with the difference shown when they fail. It imports neither pytest nor an orchestrator; the fixtures are in
:mod:`qatech_orchestration.pytest_plugin`.

This module's public names are a stable API (semantic versioning applies to them).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from qatech_orchestration.emulator.state import Fault, Outcome, RecordedRequest

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from qatech_orchestration.emulator import QATechEmulator
    from qatech_orchestration.request_model import StartRunFields

__all__ = ["Outcome", "QATechMock", "RecordedRequest"]


class QATechMock:
    """QA.tech as a test sees it: an emulator on loopback, scripted and inspected.

    Attributes:
        emulator: the :class:`~qatech_orchestration.emulator.QATechEmulator` behind it (full control).
    """

    def __init__(self, emulator: QATechEmulator) -> None:
        self.emulator = emulator

    def __repr__(self) -> str:  # never the token
        return f"QATechMock(base_url={self.base_url!r}, starts={len(self.starts)}, reruns={len(self.reruns)})"

    # --- where it is ------------------------------------------------------------------------------

    @property
    def token(self) -> str:
        """The API token it accepts (a random one per session; never shown in reports)."""
        return self.emulator.token

    @property
    def base_url(self) -> str:
        """The ``base_url`` (Airflow connection host, Dagster resource field) that reaches it."""
        return self.emulator.base_url

    # --- what it received -------------------------------------------------------------------------

    @property
    def starts(self) -> list[RecordedRequest]:
        """Every ``POST /run`` received, oldest first; ``.body`` is the JSON sent."""
        return self.emulator.requests_to("start_run")

    @property
    def reruns(self) -> list[RecordedRequest]:
        """Every ``POST /run/{shortId}`` received; ``.path`` names the run rerun, ``.body`` the JSON sent."""
        return self.emulator.requests_to("rerun")

    @property
    def reads(self) -> list[RecordedRequest]:
        """Every ``GET /run/{shortId}`` received."""
        return self.emulator.requests_to("get_run")

    @property
    def runs(self) -> list[str]:
        """The short IDs of the runs it created (starts and reruns), oldest first."""
        return list(self.emulator.project.runs)

    def url(self, run_short_id: str) -> str:
        """The URL QA.tech gives run ``run_short_id`` (what tasks log, XCom and Dagster metadata show)."""
        return self.emulator.project.runs[run_short_id].url

    # --- scripting QA.tech ------------------------------------------------------------------------

    def script(
        self,
        outcome: str | Outcome = "PASSED",
        *,
        failing: Mapping[str, str] | None = None,
        test_plan_short_id: str | None = None,
        reads: int | None = None,
        seconds: float | None = None,
        times: int = 1,
    ) -> None:
        """How the next ``times`` runs end (or every run of ``test_plan_short_id``): ``PASSED``, ``FAILED``
        (``failing={"Checkout": "Pay button missing"}``: test case name -> ``resultTitle``), ``SKIPPED``,
        ``ERROR``, ``CANCELLED``, or ``NEVER`` (runs on for ever), or an :class:`Outcome` (test cases that end
        skipped or errored, the run's own test case names); and how long they take: ``reads`` status
        reads (the first says INITIATED) or ``seconds`` after the start. Reruns take the next scripted one.
        """
        self.emulator.script_outcome(
            outcome,
            failing=dict(failing) if failing else None,
            test_plan_short_id=test_plan_short_id,
            reads=reads,
            seconds=seconds,
            times=times,
        )

    def fail(
        self,
        endpoint: str = "get_run",
        *,
        status: int = 503,
        message: str = "Service Unavailable",
        retry_after: float | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` requests to ``endpoint`` (``start_run``, ``get_run``, ``rerun``) get HTTP
        ``status`` with QA.tech's ``{"message": ...}``, unprocessed (e.g. 429 with ``retry_after``, 401, 500)."""
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        self.emulator.inject_fault(endpoint, status=status, message=message, headers=headers, times=times)

    def hang(self, endpoint: str = "get_run", *, seconds: float = 60.0, times: int = 1) -> None:
        """The next ``times`` requests to ``endpoint`` are processed, then answered ``seconds`` later."""
        self.emulator.inject_fault(endpoint, delay=seconds, times=times)

    def outage(self, seconds: float, *, mode: str = "refused", starting: str = "now") -> None:
        """QA.tech goes away for ``seconds``: ``mode="refused"`` (nothing listens) or ``"hung"`` (connections
        accepted, never answered); ``starting="now"`` or at the next ``"get_run"`` / ``"start_run"`` /
        ``"rerun"`` request (mid-wait, after the start)."""
        if starting == "now":
            self.emulator.outage(seconds, mode=mode)
        else:
            self.emulator.inject_fault(starting, Fault(outage=seconds, outage_mode=mode))

    def inject(self, endpoint: str, **fault: Any) -> None:
        """Any fault of :class:`~qatech_orchestration.emulator.state.Fault` (``drop``, ``malformed``, ``html``,
        ``body``, ...), for what the helpers above do not cover."""
        self.emulator.inject_fault(endpoint, **fault)

    # --- assertions -------------------------------------------------------------------------------

    def assert_no_start(self) -> None:
        """No run was started (``POST /run``)."""
        __tracebackhide__ = True  # pytest shows the test's line, not this one
        if self.starts:
            raise AssertionError(
                f"QA.tech was asked to start {len(self.starts)} run(s), none expected; sent:\n"
                + "\n".join(_pretty(r.body) for r in self.starts)
            )

    def assert_started(self, times: int) -> None:
        """Exactly ``times`` runs were started (a duplicate run spends quota and may page people)."""
        __tracebackhide__ = True  # pytest shows the test's line, not this one
        if len(self.starts) != times:
            raise AssertionError(
                f"QA.tech was asked to start {len(self.starts)} run(s), {times} expected"
                + ("; sent:\n" + "\n".join(_pretty(r.body) for r in self.starts) if self.starts else "")
            )

    def assert_started_once(self, **fields: Unpack[StartRunFields]) -> RecordedRequest:
        """Exactly one run was started, and its body has these fields (the names and shapes of
        :func:`~qatech_orchestration.build_start_run_body`; fields not named are not compared).
        Returns the recorded request."""
        __tracebackhide__ = True  # pytest shows the test's line, not this one
        from qatech_orchestration.request_builder import build_start_run_body

        self.assert_started(1)
        (start,) = self.starts
        expected = build_start_run_body(**fields)
        sent = start.body if isinstance(start.body, dict) else {}
        wrong = {key: value for key, value in expected.items() if sent.get(key) != value}
        if wrong:
            lines = ["QA.tech was asked to start a run with other fields than expected:"]
            for key, value in wrong.items():
                got = _pretty(sent[key]) if key in sent else "(not sent)"
                lines += [f"  {key}:", f"    expected: {_pretty(value)}", f"    sent:     {got}"]
            lines.append(f"the whole body sent: {_pretty(sent)}")
            raise AssertionError("\n".join(lines))
        return start

    def assert_rerun_once(self, run_short_id: str | None = None, *, failed_only: bool | None = None) -> None:
        """Exactly one rerun was asked for (of ``run_short_id`` when given; ``failedOnly`` as given)."""
        __tracebackhide__ = True  # pytest shows the test's line, not this one
        if len(self.reruns) != 1:
            raise AssertionError(f"QA.tech was asked for {len(self.reruns)} rerun(s), 1 expected")
        (rerun,) = self.reruns
        of = rerun.path.rsplit("/", 1)[-1]
        if run_short_id is not None and of != run_short_id:
            raise AssertionError(f"the rerun was of run {of}, not {run_short_id}")
        sent = rerun.body.get("failedOnly") if isinstance(rerun.body, dict) else None
        if failed_only is not None and sent is not failed_only:
            raise AssertionError(f"the rerun was sent failedOnly={sent!r}, {failed_only!r} expected")

    def assert_no_rerun(self) -> None:
        """No rerun was asked for."""
        __tracebackhide__ = True  # pytest shows the test's line, not this one
        if self.reruns:
            raise AssertionError(f"QA.tech was asked for {len(self.reruns)} rerun(s), none expected")


def _pretty(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
