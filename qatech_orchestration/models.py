"""Typed models of what QA.tech's v1 API takes and returns.

Request-side objects (:class:`ApplicationOverride`, :class:`PreviewEnvironment`,
:class:`ExistingEnvironment`, :class:`SlackNotification`) are an alternative to the API's own camelCase
dicts; both are accepted by :func:`~qatech_orchestration.build_start_run_body`.

Response-side objects (:class:`StartedRun`, :class:`RunStatus`, :class:`TestCaseResult`) are parsed
strictly enough that a 2xx answer which is not the documented JSON raises
:class:`~qatech_orchestration.errors.QATechBadResponseError` instead of producing half-empty objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from qatech_orchestration.errors import QATechBadResponseError

# Run statuses (GET /run/{shortId} "status").
INITIATED = "INITIATED"
RUNNING = "RUNNING"
COMPLETED = "COMPLETED"
ERROR = "ERROR"
CANCELLED = "CANCELLED"
TERMINAL_STATUSES = frozenset({COMPLETED, ERROR, CANCELLED})
KNOWN_STATUSES = frozenset({INITIATED, RUNNING, COMPLETED, ERROR, CANCELLED})

# Run results ("result"); None while the run is not finished.
PASSED = "PASSED"
FAILED = "FAILED"
SKIPPED = "SKIPPED"

# What a test case came to (:attr:`TestCaseResult.kind`): the kinds every report counts. QA.tech gives a
# test case a result (PASSED, FAILED, SKIPPED) or none; one that ended without a result (its status ERROR or
# CANCELLED, or COMPLETED with no verdict) or with a result this package does not know is "errored", one
# still INITIATED or RUNNING "not_finished".
CASE_PASSED = "passed"
CASE_FAILED = "failed"
CASE_SKIPPED = "skipped"
CASE_ERRORED = "errored"
CASE_NOT_FINISHED = "not_finished"
CASE_KINDS = (CASE_PASSED, CASE_FAILED, CASE_SKIPPED, CASE_ERRORED, CASE_NOT_FINISHED)
_KIND_OF_RESULT = {PASSED: CASE_PASSED, FAILED: CASE_FAILED, SKIPPED: CASE_SKIPPED}


# ----------------------------------------------------------------------------------------------
# Request side
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreviewEnvironment:
    """Run against a URL (QA.tech creates or reuses a preview environment for it)."""

    url: str
    name: str | None = None

    def to_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {"url": self.url}
        if self.name is not None:
            body["name"] = self.name
        return body


@dataclass(frozen=True)
class ExistingEnvironment:
    """Run against an environment that already exists in QA.tech (``env_...`` short ID)."""

    short_id: str

    def to_api(self) -> dict[str, Any]:
        return {"shortId": self.short_id}


@dataclass(frozen=True)
class ApplicationOverride:
    """Per-run override of one application's environment and/or device preset.

    ``environment`` is a :class:`PreviewEnvironment`, an :class:`ExistingEnvironment`, or the API's own dict
    (``{"url": ...}`` or ``{"shortId": ...}``); it is validated when the request is built.
    """

    application_short_id: str
    environment: PreviewEnvironment | ExistingEnvironment | Mapping[str, Any] | None = None
    device_preset_short_id: str | None = None

    def to_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {"applicationShortId": self.application_short_id}
        if isinstance(self.environment, PreviewEnvironment | ExistingEnvironment):
            body["environment"] = self.environment.to_api()
        elif self.environment is not None:
            body["environment"] = self.environment
        if self.device_preset_short_id is not None:
            body["devicePresetShortId"] = self.device_preset_short_id
        return body


@dataclass(frozen=True)
class SlackNotification:
    """Send this run's Slack messages to ``channel`` (a Slack channel ID such as ``C0478ABCDEF``).

    ``notify_on`` is ``"always"`` (start and final summary) or ``"failure"`` (final summary only when the
    result is not PASSED); ``None`` leaves it to QA.tech (which means ``"always"``).
    """

    channel: str
    notify_on: str | None = None

    def to_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": "slack", "channel": self.channel}
        if self.notify_on is not None:
            body["notifyOn"] = self.notify_on
        return body


# ----------------------------------------------------------------------------------------------
# Response side
# ----------------------------------------------------------------------------------------------


def _require(data: Any, key: str, kind: type | tuple[type, ...], what: str, nullable: bool = False) -> Any:
    if not isinstance(data, dict) or key not in data:
        raise QATechBadResponseError(f"QA.tech answered without '{key}' in {what}")
    value = data[key]
    if value is None and nullable:
        return None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise QATechBadResponseError(f"QA.tech answered with '{key}' of type {type(value).__name__} in {what}")
    return value


def _optional_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class TestPlan:
    """The test plan a run executes."""

    __test__ = False  # not a pytest test class

    name: str
    short_id: str


@dataclass(frozen=True)
class StartedRun:
    """A run that QA.tech accepted (answer of ``POST /run`` and of a rerun)."""

    id: str
    short_id: str
    url: str
    test_count: int
    test_plan: TestPlan | None = None

    @classmethod
    def from_api(cls, payload: Any) -> StartedRun:
        run = _require(payload, "run", dict, "the start-run answer")
        what = "the started run"
        plan_data = run.get("testPlan")
        plan = None
        if isinstance(plan_data, dict) and "shortId" in plan_data:
            plan = TestPlan(name=str(plan_data.get("name") or ""), short_id=str(plan_data["shortId"]))
        return cls(
            id=_require(run, "id", str, what),
            short_id=_require(run, "shortId", str, what),
            url=_require(run, "url", str, what),
            test_count=_require(run, "testCount", int, what),
            test_plan=plan,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable form (for XCom, metadata, ``--json``, Airflow's task state store)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StartedRun:
        """Inverse of :meth:`to_dict`."""
        plan = data.get("test_plan")
        return cls(
            id=str(data["id"]),
            short_id=str(data["short_id"]),
            url=str(data["url"]),
            test_count=int(data.get("test_count") or 0),
            test_plan=TestPlan(**plan) if isinstance(plan, dict) else None,
        )


@dataclass(frozen=True)
class TestCaseResult:
    """One test case execution inside a run (``runTestCases[]``)."""

    __test__ = False

    id: str
    short_id: str
    name: str
    status: str
    result: str | None
    result_title: str | None = None
    evaluation_thought: str | None = None
    prompt_goal: str | None = None
    prompt_examples: str | None = None

    @classmethod
    def from_api(cls, data: Any) -> TestCaseResult:
        what = "a run test case"
        return cls(
            id=_require(data, "id", str, what),
            short_id=_require(data, "shortId", str, what),
            name=_require(data, "name", str, what),
            status=_require(data, "status", str, what),
            result=_require(data, "result", str, what, nullable=True),
            result_title=_optional_str(data, "resultTitle"),
            evaluation_thought=_optional_str(data, "evaluationThought"),
            prompt_goal=_optional_str(data, "promptGoal"),
            prompt_examples=_optional_str(data, "promptExamples"),
        )

    @property
    def passed(self) -> bool:
        return self.result == PASSED

    @property
    def failed(self) -> bool:
        """True only for a FAILED result (not for skipped, errored or unfinished test cases)."""
        return self.result == FAILED

    @property
    def kind(self) -> str:
        """One of :data:`CASE_KINDS`: passed, failed, skipped, errored or not_finished."""
        if self.result in _KIND_OF_RESULT:
            return _KIND_OF_RESULT[self.result]
        if self.result is not None or self.status in TERMINAL_STATUSES:
            return CASE_ERRORED  # ended without a verdict, or with one this package does not know
        return CASE_NOT_FINISHED

    def summary(self) -> str:
        """``name: resultTitle`` (or its result when QA.tech gave no title)."""
        detail = self.result_title or self.result or self.status
        return f"{self.name}: {detail}"


@dataclass(frozen=True)
class RunStatus:
    """A run's state (answer of ``GET /run/{shortId}``).

    ``status`` and ``result`` are kept as the strings QA.tech sent: an unknown status is kept, reported by
    :attr:`is_known`, and never counted as success.
    """

    id: str
    short_id: str
    status: str
    result: str | None
    test_cases: tuple[TestCaseResult, ...] = field(default_factory=tuple)
    url: str | None = None

    @classmethod
    def from_api(cls, payload: Any) -> RunStatus:
        what = "the run status"
        cases = _require(payload, "runTestCases", list, what)
        return cls(
            id=_require(payload, "id", str, what),
            short_id=_require(payload, "shortId", str, what),
            status=_require(payload, "status", str, what),
            result=_require(payload, "result", str, what, nullable=True),
            test_cases=tuple(TestCaseResult.from_api(c) for c in cases),
        )

    @property
    def is_known(self) -> bool:
        """Whether ``status`` is one of the statuses QA.tech documents."""
        return self.status in KNOWN_STATUSES

    @property
    def is_terminal(self) -> bool:
        """COMPLETED, ERROR or CANCELLED: the run will not change any more."""
        return self.status in TERMINAL_STATUSES

    @property
    def passed(self) -> bool:
        """True only for a COMPLETED run whose result is PASSED."""
        return self.status == COMPLETED and self.result == PASSED

    @property
    def skipped(self) -> bool:
        return self.status == COMPLETED and self.result == SKIPPED

    @property
    def failed_test_cases(self) -> tuple[TestCaseResult, ...]:
        """The test cases whose result is FAILED (as far as this answer lists them)."""
        return tuple(c for c in self.test_cases if c.failed)

    @property
    def unsuccessful_test_cases(self) -> tuple[TestCaseResult, ...]:
        """The test cases that did not pass: failed, skipped, errored or unfinished (what messages list)."""
        return tuple(c for c in self.test_cases if not c.passed)

    def counts(self) -> dict[str, int]:
        """How many test cases this answer lists, in all (``total``) and per kind (:data:`CASE_KINDS`)."""
        kinds = [case.kind for case in self.test_cases]
        return {"total": len(kinds), **{kind: kinds.count(kind) for kind in CASE_KINDS}}

    @property
    def state_label(self) -> str:
        """``COMPLETED/FAILED``-style label for messages."""
        return f"{self.status}/{self.result}" if self.result else self.status

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable form (for XCom, trigger events, metadata, ``--json``)."""
        data = asdict(self)
        data["test_cases"] = [asdict(c) for c in self.test_cases]
        data["passed"] = self.passed
        return data

    def to_event(self, *, max_cases: int = 20, max_title: int = 300) -> dict[str, Any]:
        """A small JSON form for a trigger event (the metadata database stores every event): status,
        result, counts, and the names and ``resultTitle`` (capped) of at most ``max_cases`` test cases that
        did not pass. :meth:`from_dict` reads it back; ``unsuccessful_total`` says whether it is complete."""
        unsuccessful = self.unsuccessful_test_cases
        return {
            "id": self.id,
            "short_id": self.short_id,
            "status": self.status,
            "result": self.result,
            "url": self.url,
            "passed": self.passed,
            "counts": self.counts(),
            "unsuccessful_total": len(unsuccessful),
            "test_cases": [
                {
                    "id": case.id,
                    "short_id": case.short_id,
                    "name": case.name[:max_title],
                    "status": case.status,
                    "result": case.result,
                    "result_title": (case.result_title or "")[:max_title] or None,
                }
                for case in unsuccessful[:max_cases]
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunStatus:
        """Inverse of :meth:`to_dict` (and of :meth:`to_event`, which keeps only unsuccessful test cases)."""
        return cls(
            id=data["id"],
            short_id=data["short_id"],
            status=data["status"],
            result=data["result"],
            test_cases=tuple(TestCaseResult(**case) for case in data.get("test_cases", ())),
            url=data.get("url"),
        )
