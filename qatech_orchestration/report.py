"""One report of a run's test cases, which every place that shows results renders.

:func:`build_report` turns a :class:`~qatech_orchestration.models.RunStatus` into a :class:`RunReport`:
the verdict (:func:`~qatech_orchestration.outcome.judge_run`), the counts per kind of test case (passed,
failed, skipped, errored, not finished) and each test case's name, result, ``resultTitle`` and evaluation.
The JUnit XML file (:mod:`qatech_orchestration.junit`), the Markdown summary
(:mod:`qatech_orchestration.markdown`), GitHub Actions outputs (:mod:`qatech_orchestration.github_actions`),
:func:`~qatech_orchestration.outcome.run_summary`, the Airflow task log and ``run_summary`` XCom and the
Dagster table all draw this one object, so they give the same numbers.

A report knows what it does not list: built from an Airflow trigger event (which carries the counts but at
most 20 of the test cases that did not pass), :attr:`RunReport.listed_all` is false and the bounded views
say how many they leave out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from qatech_orchestration.errors import QATechError, QATechWaitTimeout
from qatech_orchestration.models import (
    CASE_ERRORED,
    CASE_FAILED,
    CASE_KINDS,
    CASE_NOT_FINISHED,
    CASE_PASSED,
    CASE_SKIPPED,
    RunStatus,
    TestCaseResult,
    TestPlan,
)
from qatech_orchestration.outcome import RunOutcome, judge_run

#: How a kind of test case is shown (JUnit type, Markdown and log labels).
KIND_LABELS = {
    CASE_PASSED: "PASSED",
    CASE_FAILED: "FAILED",
    CASE_SKIPPED: "SKIPPED",
    CASE_ERRORED: "ERROR",
    CASE_NOT_FINISHED: "NOT FINISHED",
}
#: The order bounded views list test cases in: what needs a look first, passed ones last.
_SEVERITY = {CASE_FAILED: 0, CASE_ERRORED: 1, CASE_NOT_FINISHED: 2, CASE_SKIPPED: 3, CASE_PASSED: 4}

#: Bounds of the small views (the ``run_summary`` XCom, log lines): test cases listed, characters per text.
MAX_LISTED = 20
MAX_TEXT = 300


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")


def printable(text: str) -> str:
    """``text`` without control characters (a terminal escape in a test case's name must not reach a log)."""
    return _CONTROL.sub("\ufffd", text)


def shorten(text: str | None, limit: int | None) -> str | None:
    """``text`` cut to ``limit`` characters, an ellipsis saying it was cut (``None`` and short text unchanged)."""
    if text is None or limit is None or len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + "…"


@dataclass(frozen=True)
class CaseReport:
    """One test case of a report.

    Attributes:
        name: the test case's name.
        kind: one of :data:`~qatech_orchestration.models.CASE_KINDS`.
        result: QA.tech's ``result`` (``None`` when it gave none).
        status: QA.tech's ``status`` of the test case.
        title: ``resultTitle``, QA.tech's short summary of the result.
        evaluation: ``evaluationThought``, the evaluator's reasoning (not in trigger events).
        short_id: the test case execution's short ID.
    """

    name: str
    kind: str
    result: str | None
    status: str
    title: str | None = None
    evaluation: str | None = None
    short_id: str | None = None

    @classmethod
    def from_result(cls, case: TestCaseResult) -> CaseReport:
        return cls(
            name=case.name,
            kind=case.kind,
            result=case.result,
            status=case.status,
            title=case.result_title,
            evaluation=case.evaluation_thought,
            short_id=case.short_id,
        )

    @property
    def label(self) -> str:
        """``PASSED``, ``FAILED``, ``SKIPPED``, ``ERROR`` or ``NOT FINISHED``."""
        return KIND_LABELS[self.kind]

    @property
    def detail(self) -> str:
        """What to say about it in one line: its ``resultTitle``, else its result or status."""
        return self.title or self.result or self.status


@dataclass(frozen=True)
class ReportCounts:
    """How many test cases a run has, in all and per kind."""

    total: int = 0
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    errored: int = 0
    not_finished: int = 0

    @property
    def unsuccessful(self) -> int:
        """Test cases that did not pass (failed, skipped, errored, not finished)."""
        return self.total - self.passed

    def as_dict(self) -> dict[str, int]:
        return {"total": self.total, **{kind: getattr(self, kind) for kind in CASE_KINDS}}

    def text(self) -> str:
        """``7 test case(s): 3 passed, 2 failed, 1 skipped, 1 errored`` (kinds with none left out)."""
        parts = [f"{getattr(self, kind)} {kind.replace('_', ' ')}" for kind in CASE_KINDS if getattr(self, kind)]
        return f"{self.total} test case(s)" + (": " + ", ".join(parts) if parts else "")


@dataclass(frozen=True)
class RunReport:
    """What a run came to, for every renderer.

    Attributes:
        run_short_id: the run's short ID.
        run_url: its page in QA.tech (when known).
        status: QA.tech's run status (``""`` when no status was ever read).
        result: QA.tech's run result (``None`` while running, and for ERROR and CANCELLED runs).
        counts: the run's counts per kind.
        cases: its test cases, in QA.tech's order (only those listed; see ``listed_all``).
        listed_all: whether ``cases`` holds every test case ``counts`` counts.
        ok: the verdict: whether a task, op or check gating on the run succeeds.
        verdict: the verdict in one line (:func:`~qatech_orchestration.outcome.judge_run`'s message).
        warning: set when the run succeeded with a caveat (a skipped run).
        test_plan: the run's test plan (when known: QA.tech's start answer names it, its status does not).
        interrupted: why the wait ended before the run did (a timeout, an API error); ``None`` otherwise.
        timed_out: the wait's deadline passed before the run finished.
    """

    run_short_id: str
    run_url: str | None
    status: str
    result: str | None
    counts: ReportCounts
    cases: tuple[CaseReport, ...]
    listed_all: bool
    ok: bool
    verdict: str
    warning: str | None = None
    test_plan: TestPlan | None = None
    interrupted: str | None = None
    timed_out: bool = False

    @property
    def unsuccessful(self) -> tuple[CaseReport, ...]:
        """The listed test cases that did not pass, most severe first (failed, errored, not finished, skipped)."""
        return tuple(case for case in self.by_severity() if case.kind != CASE_PASSED)

    def by_severity(self) -> tuple[CaseReport, ...]:
        """Every listed test case, those that need a look first; QA.tech's order within a kind."""
        return tuple(sorted(self.cases, key=lambda case: _SEVERITY[case.kind]))

    @property
    def title(self) -> str:
        """A headline: ``QA.tech run r1 (Nightly) passed`` / ``did not pass`` / ``did not finish in time``."""
        plan = f" ({self.test_plan.name})" if self.test_plan and self.test_plan.name else ""
        if self.timed_out:
            return f"QA.tech run {self.run_short_id}{plan} did not finish before the wait's timeout"
        if self.interrupted:
            return f"Waiting for QA.tech run {self.run_short_id}{plan} failed"
        if self.ok:
            return f"QA.tech run {self.run_short_id}{plan} " + ("passed" if not self.warning else "was skipped")
        return f"QA.tech run {self.run_short_id}{plan} did not pass"

    def log_lines(self, max_cases: int = 50, max_text: int = MAX_TEXT) -> list[str]:
        """A summary for a task log: the state, the counts and the URL, then one line per test case that did
        not pass (at most ``max_cases``, then how many more)."""
        where = f" {self.run_url}" if self.run_url else ""
        state = f"{self.status}/{self.result}" if self.result else (self.status or "no status")
        lines = [printable(f"QA.tech run {self.run_short_id} {state}: {self.counts.text()}.{where}")]
        unsuccessful = self.unsuccessful
        for case in unsuccessful[:max_cases]:
            text = f"{shorten(case.name, max_text)}: {shorten(case.detail, max_text)}"
            lines.append(f"  {case.label:<12} {printable(' '.join(text.split()))}")
        left_out = self.counts.unsuccessful - min(len(unsuccessful), max_cases)
        if left_out > 0:
            lines.append(f"  ... and {left_out} more that did not pass")
        return lines

    def summary(self, *, max_cases: int | None = None, max_text: int | None = None) -> dict[str, Any]:
        """A JSON-serializable summary (:func:`~qatech_orchestration.outcome.run_summary`, the Airflow
        ``run_summary`` XCom, Dagster op outputs, the CLI's ``--json``).

        Keys: ``run_short_id``, ``run_url``, ``status``, ``result``, ``test_cases_<total|passed|failed|skipped|
        errored|not_finished>``, ``failing_test_cases`` (the test cases that did not pass, most severe first:
        ``name``, ``result``, ``result_title``, ``kind``, ``status``), ``failing_test_cases_omitted`` (how many
        that did not pass are not listed), ``ok``, ``message`` (the verdict), ``test_plan`` (its name or
        ``None``), ``timed_out``. ``max_cases`` and ``max_text`` bound the list and each text in it.
        """
        unsuccessful = self.unsuccessful
        listed = unsuccessful if max_cases is None else unsuccessful[:max_cases]
        return {
            "run_short_id": self.run_short_id,
            "run_url": self.run_url,
            "status": self.status,
            "result": self.result,
            **{f"test_cases_{name}": count for name, count in self.counts.as_dict().items()},
            "failing_test_cases": [
                {
                    "name": shorten(case.name, max_text),
                    "result": case.result,
                    "result_title": shorten(case.title, max_text),
                    "kind": case.kind,
                    "status": case.status,
                }
                for case in listed
            ],
            "failing_test_cases_omitted": max(self.counts.unsuccessful - len(listed), 0),
            "ok": self.ok,
            "message": shorten(self.verdict, None if max_text is None else 4 * max_text),
            "test_plan": self.test_plan.name if self.test_plan else None,
            "timed_out": self.timed_out,
        }

    def signal(self) -> dict[str, Any]:
        """The verdict as a small JSON object for pipelines downstream: an Airflow asset event's ``extra``, the
        OpenLineage run facet. Keys: ``run_short_id``, ``run_url``, ``status``, ``result``, ``ok``,
        ``test_cases_<total|passed|failed|skipped|errored|not_finished>`` (as in :meth:`summary`), and
        ``test_plan`` (its name) and ``test_plan_short_id`` when known. No test case texts: their size is QA.tech's.
        """
        return {
            "run_short_id": self.run_short_id,
            "run_url": self.run_url,
            "status": self.status,
            "result": self.result,
            "ok": self.ok,
            **{f"test_cases_{name}": count for name, count in self.counts.as_dict().items()},
            "test_plan": self.test_plan.name if self.test_plan else None,
            "test_plan_short_id": self.test_plan.short_id if self.test_plan else None,
        }


def build_report(
    status: RunStatus,
    *,
    fail_on_skipped: bool = False,
    test_plan: TestPlan | None = None,
    counts: Mapping[str, int] | None = None,
    outcome: RunOutcome | None = None,
) -> RunReport:
    """The report of a run's status.

    Args:
        status: the run as last read (``test_cases="all"`` lists every test case).
        fail_on_skipped: judge an all-skipped run a failure (as the task, op or check does).
        test_plan: the run's test plan, when known (a start's answer names it).
        counts: the run's counts when ``status`` lists only some test cases (an Airflow trigger event:
            :meth:`RunStatus.to_event` keeps the counts but at most 20 of the test cases that did not pass).
            Given counts replace those of the listed test cases.
        outcome: the verdict when already made (e.g. carried by a ``QATechRunFailed``); judged otherwise.
    """
    cases = tuple(CaseReport.from_result(case) for case in status.test_cases)
    merged = {**status.counts(), **{k: int(v) for k, v in (counts or {}).items() if k in ("total", *CASE_KINDS)}}
    report_counts = ReportCounts(**merged)
    outcome = outcome or judge_run(status, fail_on_skipped=fail_on_skipped)
    return RunReport(
        run_short_id=status.short_id,
        run_url=status.url,
        status=status.status,
        result=status.result,
        counts=report_counts,
        cases=cases,
        listed_all=len(cases) >= report_counts.total,
        ok=outcome.ok,
        verdict=outcome.message,
        warning=outcome.warning,
        test_plan=test_plan,
    )


def interrupted_report(
    run_short_id: str,
    error: QATechError,
    *,
    last: RunStatus | None = None,
    run_url: str | None = None,
    test_plan: TestPlan | None = None,
    counts: Mapping[str, int] | None = None,
) -> RunReport:
    """The report of a wait that ended before the run did: its deadline passed (``QATechWaitTimeout``) or
    QA.tech answered with an error waiting cannot help. The test cases are those of the last status read
    (``last``), if any (``counts`` as in :func:`build_report`, when it lists only some); the verdict is the
    error's message."""
    base = last or RunStatus(id="", short_id=run_short_id, status="", result=None, url=run_url)
    report = build_report(base, test_plan=test_plan, outcome=RunOutcome(False, str(error)), counts=counts)
    return replace(
        report,
        run_url=report.run_url or run_url or error.run_url,
        interrupted=str(error),
        timed_out=isinstance(error, QATechWaitTimeout),
    )
