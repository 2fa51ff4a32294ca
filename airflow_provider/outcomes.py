"""How QA.tech results and errors become Airflow task outcomes and XComs (shared by operators and sensor)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from airflow_provider.version_compat import AirflowException, AirflowFailException, Context
from qatech_orchestration.errors import QATechError, QATechRunFailed, QATechWaitTimeout
from qatech_orchestration.models import RunStatus, TestPlan
from qatech_orchestration.report import MAX_LISTED, MAX_TEXT, RunReport, build_report, interrupted_report

if TYPE_CHECKING:
    from qatech_orchestration.client import QATechClient

#: What a task does with the report of its run before it succeeds or fails (:class:`~airflow_provider.signals.
#: QATechSignals`: the outlet events' ``extra``, the OpenLineage facets).
RecordVerdict = Callable[[Context, RunReport], None]

log = logging.getLogger(__name__)

#: An operator's ``self.log`` (a Logger on Airflow 2, a structlog BoundLogger on Airflow 3).
TaskLog = Any

XCOM_RUN_SHORT_ID = "run_short_id"
XCOM_RUN_ID = "run_id"
XCOM_RUN_URL = "run_url"
XCOM_RUN_STATUS = "run_status"
XCOM_RUN_RESULT = "run_result"
#: A small summary of the finished run (see :func:`finish`), for a downstream task's message.
XCOM_RUN_SUMMARY = "run_summary"


def rendered_optional(value: Any) -> str | None:
    """An optional templated value: ``None`` when it rendered to nothing (an absent XCom renders ``"None"``)."""
    if value is None or (isinstance(value, str) and value.strip() in ("", "None", "null")):
        return None
    return str(value).strip()


def check_rendered_run_short_id(value: Any) -> str:
    """A templated run short ID that rendered to nothing usable (an upstream task that pushed no XCom renders
    ``"None"``) is refused before any request, naming the field."""
    from qatech_orchestration.validation import check_run_short_id, fail

    if rendered_optional(value) is None:
        raise fail(
            "run_short_id",
            f"rendered to {value!r}: the upstream task pushed no run short ID (did the start fail?); "
            "check the template, e.g. \"{{ ti.xcom_pull(task_ids='start') }}\"",
        )
    return check_run_short_id(value)


def to_airflow_exception(exc: QATechError) -> AirflowException:
    """Configuration problems (400/401/402/403/404, or a start that may already have happened) must not
    burn Airflow retries: ``AirflowFailException``. Transient ones (5xx, 429, connection) and runs that
    failed or timed out are ``AirflowException``, so the task's ``retries`` apply."""
    if exc.retryable or isinstance(exc, QATechRunFailed | QATechWaitTimeout):
        return AirflowException(str(exc))
    return AirflowFailException(str(exc))


def first_look(client: QATechClient, short_id: str, run_url: str | None, task_log: TaskLog) -> RunStatus | None:
    """The run's status before deferring (it may already be over), or ``None`` when QA.tech did not answer or
    does not list the run yet: the trigger waits through that, and says so. What waiting cannot help (401, 403)
    raises."""
    from qatech_orchestration.errors import QATechNotFoundError
    from qatech_orchestration.waiting import is_transient

    try:
        status = client.get_run(short_id, test_cases="all", retry=False)
    except QATechError as exc:
        if not (is_transient(exc) or isinstance(exc, QATechNotFoundError)):
            raise exc if exc.run_url or not run_url else exc.evolve(run_url=run_url) from None
        task_log.info(f"QA.tech run {short_id}: no status before deferring ({exc}); the triggerer reads it again")
        return None
    return status if status.url or not run_url else replace(status, url=run_url)


def push_status(context: Context, status: RunStatus) -> None:
    ti = context["ti"]
    ti.xcom_push(key=XCOM_RUN_STATUS, value=status.status)
    if status.result is not None:  # an ERROR or CANCELLED run has none; Airflow 3.0 refuses a null XCom (422)
        ti.xcom_push(key=XCOM_RUN_RESULT, value=status.result)


def finish(
    context: Context,
    status: RunStatus,
    *,
    fail_on_skipped: bool,
    task_log: TaskLog = log,
    counts: dict[str, int] | None = None,
    test_plan: TestPlan | None = None,
    record: RecordVerdict | None = None,
) -> None:
    """Push the final status, result and ``run_summary``, log the summary, then succeed, warn (skipped) or
    raise (after pushing: a downstream ``trigger_rule="all_done"`` task reads them from a failed task too).

    ``task_log`` is the task's own logger, so the summary and verdict land in the task log users read: the
    counts and the run URL, then one line per test case that did not pass. ``run_summary`` is
    :meth:`~qatech_orchestration.report.RunReport.summary` bounded to 20 test cases and 300 characters per
    text (``failing_test_cases_omitted`` says how many more did not pass). ``counts`` are the run's when
    ``status`` lists only some test cases (a trigger event). ``record`` gets the report first.
    """
    push_status(context, status)
    report = build_report(status, fail_on_skipped=fail_on_skipped, counts=counts, test_plan=test_plan)
    if record is not None:
        record(context, report)
    context["ti"].xcom_push(key=XCOM_RUN_SUMMARY, value=report.summary(max_cases=MAX_LISTED, max_text=MAX_TEXT))
    for line in report.log_lines():
        task_log.info(line)
    if not report.ok:
        raise AirflowException(report.verdict)
    if report.warning:
        task_log.warning(report.warning)
    else:
        task_log.info(report.verdict)


def interrupted(
    context: Context,
    error: QATechError,
    *,
    short_id: str,
    run_url: str | None = None,
    last: RunStatus | None = None,
    task_log: TaskLog = log,
    test_plan: TestPlan | None = None,
    counts: Mapping[str, int] | None = None,
) -> AirflowException:
    """A wait that ended before the run did (its timeout, an error waiting cannot help): push a ``run_summary``
    that says so (``ok`` false, ``timed_out``, ``message``: the error, the test cases of ``last``, the last
    status read, if any), log it, and return the exception to raise (:func:`to_airflow_exception`), so that a
    downstream ``all_done`` task can report a run that never came to a verdict too."""
    report = interrupted_report(short_id, error, last=last, run_url=run_url, test_plan=test_plan, counts=counts)
    context["ti"].xcom_push(key=XCOM_RUN_SUMMARY, value=report.summary(max_cases=MAX_LISTED, max_text=MAX_TEXT))
    if last is not None:
        for line in report.log_lines():
            task_log.info(line)
    return to_airflow_exception(error)


def finish_from_event(
    context: Context,
    event: dict[str, Any] | None,
    *,
    fail_on_skipped: bool,
    task_log: TaskLog = log,
    reread: Callable[[str], RunStatus] | None = None,
    record: RecordVerdict | None = None,
) -> str:
    """Judge the one event a :class:`~airflow_provider.triggers.qatech.QATechRunTrigger` yields.

    The event lists a capped number of the test cases that did not pass; when it had to leave some out,
    ``reread`` (a status read) gets them all for the message.
    """
    if not event:
        raise AirflowException("QA.tech trigger returned no event")
    short_id = str(event.get("run_short_id"))
    where = f" ({event['run_url']})" if event.get("run_url") else ""
    kind = event.get("status")
    if kind == "terminal":
        data = event["run"]
        status = RunStatus.from_dict(data)
        counts = data.get("counts")  # the event lists the test cases that did not pass, not the passed ones
        if reread is not None and data.get("unsuccessful_total", 0) > len(data.get("test_cases", ())):
            try:
                status, counts = replace(reread(short_id), url=status.url), None
            except QATechError as exc:  # the verdict is known; the full list is a convenience
                task_log.warning(f"Could not read every test case of QA.tech run {short_id} ({exc}); listing some")
        finish(
            context,
            status,
            fail_on_skipped=fail_on_skipped,
            task_log=task_log,
            counts=counts,
            record=record,
        )
        return short_id
    url = event.get("run_url") or None
    error: QATechError
    last_read = event.get("last")  # a timeout's last status read, in to_event form (older events have none)
    last = RunStatus.from_dict(last_read) if last_read else None
    if kind == "timeout":
        error = QATechWaitTimeout(
            event.get("message")
            or f"QA.tech run {short_id}{where} did not finish before the timeout (last status "
            f"{event.get('last_status')}); the run goes on in QA.tech, which has no cancel endpoint",
            run_url=url,
        )
    else:
        error = QATechError(
            f"Waiting for QA.tech run {short_id}{where} failed: {event.get('message')}",
            run_url=url,
            retryable=bool(event.get("retryable")),
        )
    raise interrupted(context, error, short_id=short_id, run_url=url, task_log=task_log, last=last,
                      counts=last_read.get("counts") if last_read else None)  # fmt: skip
