"""Asset checks that run a QA.tech test plan after an asset materializes, and gate what is downstream.

One ``@asset_check`` per asset (blocking checks on multi-asset checks do not reliably block).
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    AssetsDefinition,
    MetadataValue,
    RetryPolicy,
    asset_check,
)

from dagster_resource.core_logs import core_logs_to
from dagster_resource.metadata import first_run_metadata, report_metadata, started_run_metadata, timed_out_metadata
from dagster_resource.ops import failure_from_error
from dagster_resource.run_record import earlier_started_run, record_started_run
from qatech_orchestration.durable import resume_or_start
from qatech_orchestration.errors import QATechError, QATechWaitTimeout
from qatech_orchestration.models import StartedRun
from qatech_orchestration.outcome import judge_run
from qatech_orchestration.progress import ProgressLog
from qatech_orchestration.report import build_report
from qatech_orchestration.request_builder import build_start_run_body
from qatech_orchestration.request_model import StartRunFields

if TYPE_CHECKING:
    from typing_extensions import Unpack

AssetLike = str | Sequence[str] | AssetKey | AssetsDefinition


def build_qatech_asset_check(
    asset: AssetLike,
    *,
    name: str = "qatech_e2e",
    description: str | None = None,
    blocking: bool = True,
    severity: AssetCheckSeverity = AssetCheckSeverity.ERROR,
    poll_interval: float = 30.0,
    timeout: float = 3600.0,
    fail_on_skipped: bool = False,
    rerun_failed_once: bool = False,
    resource_key: str = "qatech",
    retry_policy: RetryPolicy | None = None,
    **fields: "Unpack[StartRunFields]",
) -> AssetChecksDefinition:
    """An asset check that starts a QA.tech run after ``asset`` materializes, waits, and passes only if the
    run passed.

    The request fields are those of :func:`qatech_orchestration.build_start_run_body`; they are validated
    now, when the definitions load, so a typo fails ``dagster definitions validate`` instead of a run.

    The result's metadata: run URL and short ID, status, result, test case counts, a ``test_cases`` table
    (name, result, ``resultTitle``; with a schema) and a Markdown ``summary``. A blocking check (the
    default) with severity ERROR keeps downstream assets from materializing when the app is broken. With
    ``rerun_failed_once``, failed test cases are rerun once and the rerun decides. API errors and a wait
    timeout fail the check with a clear message (and the run URL once a run exists).

    Durable: the run is recorded in the event log as soon as it starts. A retry of the check's step (its
    ``retry_policy``, or "re-execute from failure") re-attaches to that run while it is still going, or
    takes its result when it already passed, instead of starting another; a start whose outcome is unknown
    (5xx, lost answer) fails the step without retries, since it may have created a run.

    Examples:
        .. code-block:: python

            import dagster as dg
            from dagster_resource import QATechResource, build_qatech_asset_check


            @dg.asset
            def dashboard_data() -> None: ...


            dashboard_e2e = build_qatech_asset_check(
                dashboard_data,
                test_plan_short_id="pln_dashboard-checks_7fQ2",
                applications=[{"applicationShortId": "app_gXeBl2", "environment": {"url": "https://dash.example.com"}}],
            )
            defs = dg.Definitions(
                assets=[dashboard_data],
                asset_checks=[dashboard_e2e],
                resources={"qatech": QATechResource(api_token=dg.EnvVar("QATECH_API_TOKEN"))},
            )
    """
    build_start_run_body(**fields)  # fail at definition time on bad input
    plan = f" (test plan {fields['test_plan_short_id']})" if fields.get("test_plan_short_id") else ""

    @asset_check(
        asset=asset,
        name=name,
        blocking=blocking,
        required_resource_keys={resource_key},
        retry_policy=retry_policy,
        description=description or f"QA.tech end-to-end tests{plan} pass against the app this asset feeds.",
    )
    def _qatech_check(context: AssetCheckExecutionContext) -> AssetCheckResult:
        with core_logs_to(context.log):  # retried reads show in the event log, not only on stderr
            return _check(context)

    def _check(context: AssetCheckExecutionContext) -> AssetCheckResult:
        client = getattr(context.resources, resource_key).get_client()
        op_context = context.op_execution_context

        def record(started: StartedRun) -> None:
            record_started_run(op_context, started)  # before waiting: a retry finds it
            context.log.info(
                f"QA.tech run {started.short_id} started ({started.test_count} test case(s)): {started.url}"
            )

        run: StartedRun | None = None
        progress = ProgressLog(context.log.info)
        try:
            resumed = resume_or_start(
                client,
                earlier_started_run(op_context),
                lambda: client.start_run(**fields),
                record=record,
                fail_on_skipped=fail_on_skipped,
            )
            run = resumed.run
            test_plan = run.test_plan  # a rerun's answer names no plan: the first run's is the rerun's
            status = resumed.status
            if status is None or not status.is_terminal:
                status = client.wait_for_run(
                    run.short_id, poll_interval=poll_interval, timeout=timeout, run_url=run.url,
                    on_poll=progress, log=context.log,
                )  # fmt: skip
            first = status
            if rerun_failed_once and not judge_run(status, fail_on_skipped=fail_on_skipped).ok:
                context.log.warning(f"QA.tech run {run.short_id} did not pass; rerunning its failed test cases once")
                run = client.rerun(run.short_id)  # failed, skipped and errored test cases only
                record(run)
                status = client.wait_for_run(
                    run.short_id, poll_interval=poll_interval, timeout=timeout, run_url=run.url,
                    on_poll=progress, log=context.log,
                )  # fmt: skip
        except QATechWaitTimeout as exc:
            # The app is not known to work: a failed check (with the run to look at), not a crashed step.
            metadata = started_run_metadata(run) if run else {}
            # the table and summary of the last status read, and the timeout as the verdict
            metadata.update(timed_out_metadata(exc, run.url if run else None, run.test_plan if run else None))
            return AssetCheckResult(passed=False, severity=severity, description=str(exc), metadata=metadata)
        except QATechError as exc:
            raise failure_from_error(exc, run.url if run else None) from None
        outcome = judge_run(status, fail_on_skipped=fail_on_skipped)
        if outcome.warning:
            context.log.warning(outcome.warning)
        metadata = report_metadata(build_report(status, test_plan=test_plan, outcome=outcome))
        metadata["run_url"] = MetadataValue.url(run.url)
        metadata["test_count"] = run.test_count
        if first is not status:  # rerun_failed_once: the rerun decides; the first run's totals stay visible
            metadata.update(first_run_metadata(first))
        return AssetCheckResult(passed=outcome.ok, severity=severity, description=outcome.message, metadata=metadata)

    return _qatech_check


def build_qatech_asset_checks(assets: Sequence[AssetLike], **kwargs: Any) -> list[AssetChecksDefinition]:
    """One :func:`build_qatech_asset_check` per asset, with the same settings."""
    return [build_qatech_asset_check(asset, **kwargs) for asset in assets]
