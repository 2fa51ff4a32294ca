"""What a finished run means for a task, an op or an asset check.

The Airflow and Dagster adapters both judge runs here, so PASSED, FAILED, SKIPPED, ERROR, CANCELLED and
unknown statuses mean the same thing everywhere:

=====================  ============================================================
COMPLETED + PASSED     success
COMPLETED + SKIPPED    success with a warning, or failure with ``fail_on_skipped``
COMPLETED + FAILED     failure, naming the failing test cases and their ``resultTitle``
ERROR, CANCELLED       failure
anything else          failure (an unknown status or result is never success)
=====================  ============================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qatech_orchestration.errors import QATechRunFailed
from qatech_orchestration.models import COMPLETED, RunStatus

#: How many failing test cases a message lists before it says "and N more".
MAX_LISTED_TEST_CASES = 10


@dataclass(frozen=True)
class RunOutcome:
    """The verdict on a finished run.

    Attributes:
        ok: whether the task/op/check should succeed.
        message: one line for logs and exceptions (with the run URL when known).
        warning: set when the run succeeded with a caveat (a skipped run).
    """

    ok: bool
    message: str
    warning: str | None = None


def failing_test_case_lines(status: RunStatus, limit: int = MAX_LISTED_TEST_CASES) -> list[str]:
    """``name: resultTitle`` for each test case that did not pass, at most ``limit`` (plus a tail line)."""
    failing = status.unsuccessful_test_cases
    lines = [case.summary() for case in failing[:limit]]
    if len(failing) > limit:
        lines.append(f"... and {len(failing) - limit} more")
    return lines


def judge_run(status: RunStatus, *, fail_on_skipped: bool = False) -> RunOutcome:
    """Judge a run that reached a terminal status (see the table in this module's docstring)."""
    where = f" ({status.url})" if status.url else ""
    label = f"QA.tech run {status.short_id} {status.state_label}{where}"
    if status.passed:
        return RunOutcome(True, f"{label}: passed")
    if status.skipped:
        text = f"{label}: all test cases were skipped"
        if fail_on_skipped:
            return RunOutcome(False, f"{text} (fail_on_skipped=True)")
        return RunOutcome(True, text, warning=text)
    if not status.is_terminal:
        return RunOutcome(False, f"{label}: the run has not finished")
    if status.status == COMPLETED and status.result is None:
        return RunOutcome(False, f"{label}: completed without a result")
    lines = failing_test_case_lines(status)
    detail = ("; failing test cases: " + "; ".join(lines)) if lines else ""
    return RunOutcome(False, f"{label}: did not pass{detail}")


def raise_for_outcome(status: RunStatus, *, fail_on_skipped: bool = False) -> RunOutcome:
    """Return the outcome if the run passed (or was skipped and that is allowed), else raise.

    Raises:
        QATechRunFailed: carrying the status, short ID and URL.
    """
    outcome = judge_run(status, fail_on_skipped=fail_on_skipped)
    if not outcome.ok:
        raise QATechRunFailed(outcome.message, status=status, run_short_id=status.short_id, run_url=status.url)
    return outcome


def run_summary(status: RunStatus) -> dict[str, Any]:
    """Counts and failing test cases of a run, for XCom values and Dagster metadata: the unbounded
    :meth:`~qatech_orchestration.report.RunReport.summary` of :func:`~qatech_orchestration.report.build_report`
    (every test case that did not pass is listed)."""
    from qatech_orchestration.report import build_report  # it builds on judge_run, above

    return build_report(status).summary()
