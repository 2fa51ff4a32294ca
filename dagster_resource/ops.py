"""Ops that start a QA.tech run, wait for it and rerun it.

(No ``from __future__ import annotations`` here: Dagster reads the ops' config annotations at runtime.)

The run short ID is each op's output (a ``str``). The ops expect :class:`~dagster_resource.QATechResource`
under the resource key ``qatech``; the ``build_*`` factories take another key (and name).
"""

from typing import Any

from dagster import Config, Failure, In, Nothing, OpDefinition, OpExecutionContext, Out, Output, op
from pydantic import Field

from dagster_resource.core_logs import core_logs_to
from dagster_resource.metadata import (
    report_metadata,
    run_status_metadata,
    started_run_metadata,
    timed_out_metadata,
)
from qatech_orchestration.errors import QATechError, QATechRunFailed, QATechWaitTimeout
from qatech_orchestration.models import RunStatus
from qatech_orchestration.outcome import RunOutcome, raise_for_outcome
from qatech_orchestration.progress import ProgressLog
from qatech_orchestration.report import build_report
from qatech_orchestration.request_model import RERUN, START_RUN

KIND_TAGS = {"dagster/kind/qatech": ""}


def _doc(name: str) -> str:
    return START_RUN[name].doc


class QATechStartRunConfig(Config):
    """The fields of ``POST /run`` (see ``qatech_orchestration.build_start_run_body``).

    ``applications`` and ``notifications`` take the API's JSON shape, so a run config can be pasted from
    QA.tech's documentation. The fields and their descriptions come from the core's request model.
    """

    test_plan_short_id: str | None = Field(default=None, description=_doc("test_plan_short_id"))
    applications: list[dict[str, Any]] | None = Field(default=None, description=_doc("applications"))
    notifications: list[dict[str, Any]] | None = Field(default=None, description=_doc("notifications"))
    trigger: str | None = Field(default=None, description=_doc("trigger"))
    actor: str | None = Field(default=None, description=_doc("actor"))
    branch: str | None = Field(default=None, description=_doc("branch"))
    commit_hash: str | None = Field(default=None, description=_doc("commit_hash"))
    commit_message: str | None = Field(default=None, description=_doc("commit_message"))
    repository: str | None = Field(default=None, description=_doc("repository"))
    project_short_id: str | None = Field(default=None, description=_doc("project_short_id"))
    test_case_ids: list[str] | None = Field(default=None, description=_doc("test_case_ids"))
    parameters: dict[str, Any] | None = Field(default=None, description=_doc("parameters"))


class QATechWaitConfig(Config):
    poll_interval: float = Field(default=30.0, description="Seconds between status reads")
    timeout: float = Field(default=3600.0, description="Seconds to wait at most; the run goes on after")
    fail_on_skipped: bool = Field(default=False, description="Fail when every test case was skipped")


class QATechRerunConfig(Config):
    failed_only: bool | None = Field(default=None, description=RERUN["failed_only"].doc)
    project_test_case_ids: list[str] | None = Field(default=None, description=RERUN["project_test_case_ids"].doc)


def failure_from_error(exc: QATechError, run_url: str | None = None) -> Failure:
    """A Dagster ``Failure`` for a core error: its message, and the run's URL and state where known."""
    metadata: dict[str, Any] = {}
    url = exc.run_url or run_url
    if isinstance(exc, QATechRunFailed):  # the verdict is made: the table and summary say why
        metadata = run_status_metadata(exc.status, outcome=RunOutcome(False, exc.message))
    elif isinstance(exc, QATechWaitTimeout):  # the test cases of the last status read
        metadata = timed_out_metadata(exc, url)
    if url:
        from dagster import MetadataValue

        metadata["run_url"] = MetadataValue.url(url)
    if exc.status_code:
        metadata["http_status"] = exc.status_code
    return Failure(description=str(exc), metadata=metadata, allow_retries=exc.retryable)


def _find_run_url(context: OpExecutionContext, short_id: str) -> str | None:
    """The URL the start op of this Dagster run recorded for ``short_id`` (GET /run does not return it)."""
    from dagster import DagsterEventType

    try:
        records = context.instance.get_records_for_run(context.run_id, of_type=DagsterEventType.STEP_OUTPUT)
    except Exception:  # an instance without event-log queries: the URL is a convenience
        return None
    for record in records.records:
        event = record.event_log_entry.dagster_event
        data = getattr(event, "step_output_data", None)
        metadata = getattr(data, "metadata", None) or {}
        if getattr(metadata.get("run_short_id"), "value", None) == short_id and "run_url" in metadata:
            return str(metadata["run_url"].value)
    return None


def build_qatech_start_run_op(name: str = "qatech_start_run_op", resource_key: str = "qatech") -> OpDefinition:
    """An op that starts a QA.tech run and outputs its short ID (metadata: run_url, run_id, test_count).

    Its config is :class:`QATechStartRunConfig`; an optional ``start_after`` Nothing input orders it after
    another op. ``qatech_start_run_op`` is this op with the default name and resource key.

    Examples:
        .. code-block:: python

            import dagster as dg
            from dagster_resource import build_qatech_start_run_op, qatech_start_run_op, qatech_wait_for_run_op


            @dg.job
            def nightly_regression():
                qatech_wait_for_run_op(qatech_start_run_op())


            nightly_regression.execute_in_process(
                run_config={"ops": {"qatech_start_run_op": {"config": {"test_plan_short_id": "pln_abc123"}}}},
                resources={"qatech": QATechResource(api_token=dg.EnvVar("QATECH_API_TOKEN"))},
            )

            start_smoke = build_qatech_start_run_op(name="start_smoke", resource_key="qatech_staging")
    """

    @op(
        name=name,
        ins={"start_after": In(Nothing)},
        out=Out(str, description="The QA.tech run short ID"),
        required_resource_keys={resource_key},
        tags=KIND_TAGS,
        description="Start a QA.tech test run (POST /run); outputs the run short ID.",
    )
    def _start(context: OpExecutionContext, config: QATechStartRunConfig) -> Any:
        client = getattr(context.resources, resource_key).get_client()
        try:
            run = client.start_run(**config.model_dump())
        except QATechError as exc:
            raise failure_from_error(exc) from None
        context.log.info(f"QA.tech run {run.short_id} started ({run.test_count} test case(s)): {run.url}")
        yield Output(run.short_id, metadata=started_run_metadata(run))

    return _start


def build_qatech_wait_for_run_op(name: str = "qatech_wait_for_run_op", resource_key: str = "qatech") -> OpDefinition:
    """An op that waits for a run and outputs its final status (a dict, :func:`qatech_orchestration.run_summary`'s
    keys); a run that did not pass raises ``Failure`` with the run URL, status, result and failing test cases.
    Both carry the ``test_cases`` table (name, result, title) and a Markdown ``summary`` as metadata.

    Its config is :class:`QATechWaitConfig`; its input the run short ID. ``qatech_wait_for_run_op`` is
    this op with the default name and resource key.

    Examples:
        .. code-block:: python

            run_config = {
                "ops": {"qatech_wait_for_run_op": {"config": {"poll_interval": 30, "timeout": 7200}}},
            }
    """

    @op(
        name=name,
        ins={"run_short_id": In(str)},
        out=Out(dict, description="Final status: run_short_id, status, result, test case counts"),
        required_resource_keys={resource_key},
        tags=KIND_TAGS,
        description="Wait for a QA.tech run and fail unless it passed.",
    )
    def _wait(context: OpExecutionContext, config: QATechWaitConfig, run_short_id: str) -> Any:
        client = getattr(context.resources, resource_key).get_client()
        url = _find_run_url(context, run_short_id)
        with core_logs_to(context.log):  # retried reads show in the event log, not only on stderr
            try:
                status = client.wait_for_run(
                    run_short_id, poll_interval=config.poll_interval, timeout=config.timeout, run_url=url,
                    on_poll=ProgressLog(context.log.info), log=context.log,
                )  # fmt: skip
                outcome = raise_for_outcome(status, fail_on_skipped=config.fail_on_skipped)
            except QATechError as exc:
                raise failure_from_error(exc, url) from None
        if outcome.warning:
            context.log.warning(outcome.warning)
        report = build_report(status, fail_on_skipped=config.fail_on_skipped, outcome=outcome)
        yield Output(report.summary(), metadata=report_metadata(report))

    return _wait


def build_qatech_rerun_op(name: str = "qatech_rerun_op", resource_key: str = "qatech") -> OpDefinition:
    """An op that reruns a run (failed test cases only by default) and outputs the new short ID.

    Its config is :class:`QATechRerunConfig`; its input the run short ID. ``qatech_rerun_op`` is this op
    with the default name and resource key.

    Examples:
        .. code-block:: python

            @dg.job
            def deflake():
                qatech_wait_for_run_op(qatech_rerun_op(qatech_start_run_op()))


            run_config = {"ops": {"qatech_rerun_op": {"config": {"failed_only": False}}}}  # rerun everything
    """

    @op(
        name=name,
        ins={"run_short_id": In(str)},
        out=Out(str, description="The new run's short ID"),
        required_resource_keys={resource_key},
        tags=KIND_TAGS,
        description="Rerun a QA.tech run (POST /run/{shortId}); outputs the new run short ID.",
    )
    def _rerun(context: OpExecutionContext, config: QATechRerunConfig, run_short_id: str) -> Any:
        client = getattr(context.resources, resource_key).get_client()
        try:
            run = client.rerun(
                run_short_id, failed_only=config.failed_only, project_test_case_ids=config.project_test_case_ids
            )
        except QATechError as exc:
            raise failure_from_error(exc) from None
        context.log.info(f"QA.tech run {run_short_id} rerun as {run.short_id}: {run.url}")
        yield Output(run.short_id, metadata=started_run_metadata(run))

    return _rerun


qatech_start_run_op = build_qatech_start_run_op()
qatech_wait_for_run_op = build_qatech_wait_for_run_op()
qatech_rerun_op = build_qatech_rerun_op()

__all__ = [
    "QATechRerunConfig",
    "QATechStartRunConfig",
    "QATechWaitConfig",
    "RunStatus",
    "build_qatech_rerun_op",
    "build_qatech_start_run_op",
    "build_qatech_wait_for_run_op",
    "qatech_rerun_op",
    "qatech_start_run_op",
    "qatech_wait_for_run_op",
]
