"""The emulated QA.tech project: runs, their lifecycle, scripted outcomes and faults (no HTTP here)."""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from qatech_orchestration.errors import QATechValidationError
from qatech_orchestration.request_model import RERUN, START_RUN, RequestModel
from qatech_orchestration.validation import check_short_id

TERMINAL = ("COMPLETED", "ERROR", "CANCELLED")
_DEFAULT_TEST_NAMES = ("Sign in", "Dashboard shows today's totals", "Export report as CSV")


class BadRequest(Exception):
    """A 400 (or other status) answer with QA.tech's ``{"message": ...}`` body."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class Outcome:
    """How a run ends.

    ``result`` is PASSED, FAILED or SKIPPED for a COMPLETED run; ``status`` may instead be ERROR or
    CANCELLED, ``"NEVER"`` (the run stays RUNNING forever) or any string (an undocumented status).
    ``failing`` maps test case names to their ``resultTitle``; those cases fail (added to the run's test
    cases when not among ``test_names``), the others pass. ``skipped`` and ``errored`` do the same for test
    cases that end SKIPPED, or with status ERROR and no result (how a run with every kind of test case is
    scripted: ``Outcome(result="FAILED", failing={...}, skipped={...}, errored={...})``). How long the run
    takes: ``reads`` status reads (the first says INITIATED, then RUNNING), or ``seconds`` after it started;
    neither: the emulator's ``polls_to_finish``.
    """

    result: str | None = "PASSED"
    status: str = "COMPLETED"
    failing: dict[str, str] = field(default_factory=dict)
    test_names: tuple[str, ...] = _DEFAULT_TEST_NAMES
    reads: int | None = None
    seconds: float | None = None
    skipped: dict[str, str] = field(default_factory=dict)
    errored: dict[str, str] = field(default_factory=dict)

    @property
    def all_test_names(self) -> list[str]:
        """``test_names``, then the scripted test cases not among them (they exist too)."""
        names = list(self.test_names)
        for scripted in (self.failing, self.skipped, self.errored):
            names += [name for name in scripted if name not in names]
        return names

    @classmethod
    def named(
        cls,
        name: str,
        failing: dict[str, str] | None = None,
        *,
        reads: int | None = None,
        seconds: float | None = None,
    ) -> Outcome:
        """``PASSED``, ``FAILED``, ``SKIPPED``, ``ERROR``, ``CANCELLED``, ``NEVER`` or a custom status."""
        upper = name.upper()
        if upper in ("PASSED", "SKIPPED"):
            return cls(result=upper, reads=reads, seconds=seconds)
        if upper == "FAILED":
            failing = failing or {"Export report as CSV": "Export button returned HTTP 500"}
            return cls(result="FAILED", failing=failing, reads=reads, seconds=seconds)
        if upper in ("ERROR", "CANCELLED"):
            return cls(result=None, status=upper, failing=failing or {}, reads=reads, seconds=seconds)
        return cls(result=None, status=name, reads=reads, seconds=seconds)


@dataclass
class Fault:
    """An injected misbehaviour for one endpoint (``start_run``, ``get_run`` or ``rerun``).

    - ``status``: answer this HTTP status instead (the request is not processed), with ``{"message":
      message}`` or ``body`` and ``headers`` (e.g. ``{"Retry-After": "1"}``).
    - ``body``: answer 200 (or ``status``) with this JSON instead (e.g. missing ``run.shortId``).
    - ``malformed``: answer 200 with a body that is not JSON; ``html``: an HTML error page.
    - ``drop``: ``"before"`` closes the connection without answering; ``"mid"`` sends part of the answer.
    - ``delay``: seconds to wait before answering (read timeouts).
    - ``outage``: this request starts an outage of that many seconds (see ``QATechEmulator.outage``) in
      ``outage_mode`` ``"refused"`` (this connection is cut, the next ones refused) or ``"hung"`` (no
      answer); the request is not processed. Outages that must begin mid-wait, after a start, use it.
    Faults other than ``status`` and ``outage`` process the request first (a run is created), as a real
    server would before its answer got lost. ``times`` is how many requests the fault applies to.
    """

    status: int | None = None
    message: str = "Injected fault"
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    malformed: bool = False
    html: bool = False
    drop: str | None = None
    delay: float = 0.0
    outage: float = 0.0
    outage_mode: str = "refused"
    times: int = 1

    @property
    def rejects_request(self) -> bool:
        """A plain status answer: the server refused the request without processing it."""
        return self.status is not None and self.body is None and not (self.malformed or self.html or self.drop)


@dataclass
class RecordedRequest:
    """One request the emulator received (the token itself is never kept)."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    authorized: bool
    user_agent: str | None
    endpoint: str | None
    #: when it arrived (``time.time()``, comparable across processes)
    at: float = field(default_factory=time.time)


@dataclass
class EmulatedTestCase:
    id: str
    short_id: str
    name: str
    project_test_case_id: str
    final_result: str | None
    result_title: str | None
    #: the status it ends with when not the run's (an errored test case: ERROR)
    final_status: str | None = None


@dataclass
class EmulatedRun:
    id: str
    short_id: str
    url: str
    test_plan: dict[str, str] | None
    outcome: Outcome
    test_cases: list[EmulatedTestCase]
    request_body: dict[str, Any]
    polls: int = 0
    rerun_of: str | None = None
    started: float = field(default_factory=time.monotonic)


class EmulatedProject:
    """One QA.tech project as the emulator keeps it. Thread-safe."""

    def __init__(
        self,
        *,
        polls_to_finish: int = 2,
        project_short_id: str = "proj_emulator",
        test_plans: dict[str, str] | None = None,
        slack_channels: set[str] | None = None,
        default_outcome: str | Outcome = "PASSED",
        dashboard_url: str = "http://127.0.0.1/dashboard",
    ) -> None:
        self.polls_to_finish = polls_to_finish
        self.project_short_id = project_short_id
        self.test_plans = test_plans
        self.slack_channels = slack_channels
        self.default_outcome = self._as_outcome(default_outcome)
        self.dashboard_url = dashboard_url
        self.runs: dict[str, EmulatedRun] = {}
        self.requests: list[RecordedRequest] = []
        self._next_outcomes: deque[Outcome] = deque()
        self._plan_outcomes: dict[str, Outcome] = {}
        self._faults: dict[str, deque[Fault]] = {}
        self._lock = threading.Lock()
        self._counter = 0

    # --- scripting -------------------------------------------------------------------------

    @staticmethod
    def _as_outcome(
        outcome: str | Outcome,
        failing: dict[str, str] | None = None,
        reads: int | None = None,
        seconds: float | None = None,
    ) -> Outcome:
        if isinstance(outcome, Outcome):
            return outcome
        return Outcome.named(outcome, failing, reads=reads, seconds=seconds)

    def script_outcome(
        self,
        outcome: str | Outcome,
        *,
        test_plan_short_id: str | None = None,
        failing: dict[str, str] | None = None,
        times: int = 1,
        reads: int | None = None,
        seconds: float | None = None,
    ) -> None:
        """Script how the next ``times`` runs end, or every run of ``test_plan_short_id``, and how long they
        take (``reads`` status reads, or ``seconds``)."""
        value = self._as_outcome(outcome, failing, reads, seconds)
        with self._lock:
            if test_plan_short_id:
                self._plan_outcomes[test_plan_short_id] = value
            else:
                self._next_outcomes.extend([value] * times)

    def release_held_runs(self, test_plan_short_id: str) -> int:
        """Runs of ``test_plan_short_id`` scripted ``NEVER`` (held RUNNING) pass at their next read, and later
        runs of the plan are no longer held. Returns how many held runs were released.

        For tests that need a run to stay RUNNING until a fault is over (a killed worker, an API outage)."""
        passed = Outcome.named("PASSED")
        with self._lock:
            if self._plan_outcomes.get(test_plan_short_id, passed).status == "NEVER":
                del self._plan_outcomes[test_plan_short_id]
            held = [
                run
                for run in self.runs.values()
                if run.outcome.status == "NEVER" and (run.test_plan or {}).get("shortId") == test_plan_short_id
            ]
            for run in held:
                run.outcome = Outcome(test_names=run.outcome.test_names)  # every test case passed at creation
        return len(held)

    def add_run(
        self,
        short_id: str,
        outcome: str | Outcome = "PASSED",
        *,
        failing: dict[str, str] | None = None,
        test_plan_short_id: str = "pln_default",
    ) -> EmulatedRun:
        """A run that exists already and has finished, under a short ID of the caller's (a run started
        elsewhere: what ``status``, ``wait`` and ``rerun`` read in a README example or a demo)."""
        value = self._as_outcome(outcome, failing)
        names = [*value.test_names, *(name for name in value.failing if name not in value.test_names)]
        plan = {
            "name": (self.test_plans or {}).get(test_plan_short_id, "Default test plan"),
            "shortId": test_plan_short_id,
        }
        with self._lock:
            if short_id in self.runs:
                raise ValueError(f"run {short_id!r} exists already")
            run = self._new_run(value, plan, {}, names, short_id=short_id)
            run.polls = self.polls_to_finish  # finished: its next read is terminal
        return run

    def inject_fault(self, endpoint: str, fault: Fault | None = None, **kwargs: Any) -> Fault:
        """Make ``endpoint`` (``start_run``, ``get_run``, ``rerun``) misbehave; see :class:`Fault`."""
        if endpoint not in ("start_run", "get_run", "rerun"):
            raise ValueError("endpoint must be 'start_run', 'get_run' or 'rerun'")
        fault = fault or Fault(**kwargs)
        with self._lock:
            self._faults.setdefault(endpoint, deque()).append(fault)
        return fault

    def take_fault(self, endpoint: str) -> Fault | None:
        with self._lock:
            queue = self._faults.get(endpoint)
            if not queue:
                return None
            fault = queue[0]
            fault.times -= 1
            if fault.times <= 0:
                queue.popleft()
            return fault

    def pending_faults(self, endpoint: str) -> int:
        """How many requests to ``endpoint`` the injected faults will still hit (0: all were hit)."""
        with self._lock:
            return sum(fault.times for fault in self._faults.get(endpoint, ()))

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def stats(self) -> dict[str, Any]:
        """Requests received per endpoint and runs created (served at ``GET /_emulator/stats``)."""
        with self._lock:
            counts: dict[str, int] = {"start_run": 0, "get_run": 0, "rerun": 0}
            for request in self.requests:
                if request.endpoint:
                    counts[request.endpoint] += 1
            return {"requests": counts, "runs": len(self.runs)}

    def first_reads_after(self, moment: float) -> dict[str, float]:
        """``{run short ID: when its status was first read after moment}`` (``time.time()`` values)."""
        with self._lock:
            first: dict[str, float] = {}
            for request in self.requests:
                if request.endpoint == "get_run" and request.at > moment:
                    first.setdefault(request.path.rsplit("/", 1)[-1], request.at)
            return first

    def requests_to(self, endpoint: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.endpoint == endpoint]

    # --- API behaviour ---------------------------------------------------------------------

    def check_project(self, value: Any) -> None:
        if value is None:
            return
        try:
            check_short_id(value, "projectShortId", prefix="proj")
        except QATechValidationError as exc:
            raise BadRequest(exc.message) from None
        if value != self.project_short_id:
            raise BadRequest("API key is not scoped to this project", status=403)

    def start_run(self, body: Any) -> dict[str, Any]:
        body = _validated(START_RUN, body)
        self.check_project(body.get("projectShortId"))
        channels = [n["channel"] for n in body.get("notifications", ())]
        missing = [c for c in channels if self.slack_channels is not None and c not in self.slack_channels]
        if missing:
            raise BadRequest(
                f"Slack channel override failed. Ensure the QA.tech bot has access to: {', '.join(missing)}"
            )
        plan_id = body.get("testPlanShortId")
        plan: dict[str, str] | None
        if plan_id is None:
            plan = {"name": "Default test plan", "shortId": "pln_default"}
        elif self.test_plans is not None and plan_id not in self.test_plans:
            raise BadRequest(f"Test plan {plan_id} not found", status=404)
        else:
            name = (self.test_plans or {}).get(plan_id) or f"Test plan {plan_id}"
            plan = {"name": name, "shortId": plan_id}
        with self._lock:
            if self._next_outcomes:
                outcome = self._next_outcomes.popleft()
            else:
                outcome = self._plan_outcomes.get(plan["shortId"], self.default_outcome)
            run = self._new_run(outcome, plan, body, outcome.all_test_names)
        return {"success": True, "run": self._started(run, with_plan=True)}

    def rerun(self, short_id: str, body: Any) -> dict[str, Any]:
        body = _validated(RERUN, body)
        failed_only = body.get("failedOnly")
        ids = body.get("projectTestCaseIds")
        if failed_only and ids is not None:
            raise BadRequest("failedOnly and projectTestCaseIds cannot be used together")
        self.check_project(body.get("projectShortId"))
        with self._lock:
            original = self.runs.get(short_id)
            if original is None:
                raise BadRequest(f"Run {short_id} not found", status=404)
            if failed_only:
                if original.outcome.status not in TERMINAL:
                    raise BadRequest("Run has not finished yet; nothing to rerun")
                names = [c.name for c in original.test_cases if c.final_result != "PASSED"]
                if not names:
                    raise BadRequest("Nothing to rerun: the run has no failed test cases")
            elif ids is not None:
                by_id = {c.project_test_case_id: c.name for c in original.test_cases}
                missing = [i for i in ids if i not in by_id]
                if missing or not ids:
                    raise BadRequest(f"Test cases not in this run: {', '.join(missing) or '(none given)'}")
                names = [by_id[i] for i in ids]
            else:
                names = [c.name for c in original.test_cases]
            if self._next_outcomes:
                outcome = self._next_outcomes.popleft()
            else:
                plan_id = original.test_plan["shortId"] if original.test_plan else ""
                outcome = self._plan_outcomes.get(plan_id, self.default_outcome)
            run = self._new_run(outcome, original.test_plan, body, names, rerun_of=short_id)
        return {"success": True, "run": self._started(run, with_plan=False)}

    def get_run(self, short_id: str, test_cases: str | None) -> dict[str, Any]:
        if test_cases not in (None, "failed", "all"):
            raise BadRequest("testCases: expected 'failed' or 'all'")
        with self._lock:
            run = self.runs.get(short_id)
            if run is None:
                raise BadRequest(f"Run {short_id} not found", status=404)
            run.polls += 1
            status, result, finished = self._state(run)
            cases = []
            for case in run.test_cases:
                case_result = case.final_result if finished else None
                if case.final_status is not None and finished:
                    case_status = case.final_status
                elif run.outcome.status in ("ERROR", "CANCELLED") and finished:
                    case_status = run.outcome.status if case_result != "PASSED" else "COMPLETED"
                else:
                    case_status = "COMPLETED" if finished else ("RUNNING" if run.polls > 1 else "INITIATED")
                if test_cases is None or (test_cases == "failed" and case_result == "PASSED"):
                    continue
                if test_cases == "failed" and not finished:
                    continue
                cases.append(
                    {
                        "id": case.id,
                        "shortId": case.short_id,
                        "name": case.name,
                        "status": case_status,
                        "result": case_result,
                        "resultTitle": case.result_title if finished else None,
                        "evaluationThought": (
                            f"The agent checked '{case.name}': {case.result_title}" if finished else None
                        ),
                        "promptGoal": f"Verify that {case.name.lower()} works",
                        "promptExamples": None,
                    }
                )
        return {
            "id": run.id,
            "shortId": run.short_id,
            "status": status,
            "result": result,
            "runTestCases": cases,
        }

    def _state(self, run: EmulatedRun) -> tuple[str, str | None, bool]:
        outcome = run.outcome
        if outcome.seconds is not None:
            going = time.monotonic() - run.started < outcome.seconds
        else:
            going = run.polls < (outcome.reads if outcome.reads is not None else self.polls_to_finish)
        if outcome.status == "NEVER" or going:
            return ("INITIATED" if run.polls <= 1 and outcome.status != "NEVER" else "RUNNING"), None, False
        if outcome.status not in TERMINAL:  # an undocumented status, kept for ever
            return outcome.status, outcome.result, False
        return outcome.status, outcome.result, True

    def _new_run(
        self,
        outcome: Outcome,
        plan: dict[str, str] | None,
        body: dict[str, Any],
        names: list[str],
        rerun_of: str | None = None,
        short_id: str | None = None,
    ) -> EmulatedRun:
        self._counter += 1
        short_id = short_id or f"r{self._counter:05d}"
        cases = []
        for i, name in enumerate(names):
            final_status = None
            if name in outcome.failing:
                final, title = "FAILED", outcome.failing[name]
            elif name in outcome.skipped:
                final, title = "SKIPPED", outcome.skipped[name]
            elif name in outcome.errored:
                final, title, final_status = None, outcome.errored[name], "ERROR"
            elif outcome.result == "SKIPPED":
                final, title = "SKIPPED", "Skipped: a dependency did not run"
            elif outcome.status in ("ERROR", "CANCELLED") and i == len(names) - 1:
                final, title = None, f"Run {outcome.status.lower()} before this test finished"
            else:
                final, title = "PASSED", "As expected"
            cases.append(
                EmulatedTestCase(
                    id=str(uuid.uuid4()),
                    short_id=f"t{self._counter:05d}{i}",
                    name=name,
                    project_test_case_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"qatech-emulator/{name}")),
                    final_result=final,
                    result_title=title,
                    final_status=final_status,
                )
            )
        run = EmulatedRun(
            id=str(uuid.uuid4()),
            short_id=short_id,
            url=f"{self.dashboard_url}/runs/{short_id}",
            test_plan=plan,
            outcome=outcome,
            test_cases=cases,
            request_body=body,
            rerun_of=rerun_of,
        )
        self.runs[short_id] = run
        return run

    @staticmethod
    def _started(run: EmulatedRun, *, with_plan: bool) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": run.id,
            "shortId": run.short_id,
            "url": run.url,
            "testCount": len(run.test_cases),
        }
        if with_plan:
            data["testPlan"] = run.test_plan
        return data


def _validated(model: RequestModel, body: Any) -> dict[str, Any]:
    """Check a received body with the package's one request model (QA.tech's 400 with a message)."""
    try:
        return model.check_body(body)
    except QATechValidationError as exc:
        raise BadRequest(exc.message) from None
