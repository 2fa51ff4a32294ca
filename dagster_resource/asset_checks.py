"""Asset checks that run a QA.tech test plan after an asset materializes, and gate what is downstream.

One ``@asset_check`` per asset (blocking checks on multi-asset checks do not reliably block).
"""

from collections.abc import Mapping, Sequence
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    AssetsDefinition,
    MetadataValue,
    asset_check,
)

from dagster_resource.metadata import run_status_metadata, started_run_metadata
from dagster_resource.ops import failure_from_error
from qatech_orchestration.errors import QATechError, QATechWaitTimeout
from qatech_orchestration.models import StartedRun
from qatech_orchestration.outcome import judge_run
from qatech_orchestration.request_builder import START_RUN_FIELDS, build_start_run_body

AssetLike = str | Sequence[str] | AssetKey | AssetsDefinition


def build_qatech_asset_check(
    asset: AssetLike,
    *,
    test_plan_short_id: str | None = None,
    applications: Sequence[Mapping[str, Any]] | None = None,
    notifications: Sequence[Mapping[str, Any]] | None = None,
    trigger: str | None = None,
    actor: str | None = None,
    branch: str | None = None,
    commit_hash: str | None = None,
    commit_message: str | None = None,
    repository: str | None = None,
    project_short_id: str | None = None,
    test_case_ids: Sequence[str] | None = None,
    parameters: Mapping[str, Any] | None = None,
    name: str = "qatech_e2e",
    description: str | None = None,
    blocking: bool = True,
    severity: AssetCheckSeverity = AssetCheckSeverity.ERROR,
    poll_interval: float = 30.0,
    timeout: float = 3600.0,
    fail_on_skipped: bool = False,
    rerun_failed_once: bool = False,
    resource_key: str = "qatech",
) -> AssetChecksDefinition:
    """An asset check that starts a QA.tech run after ``asset`` materializes, waits, and passes only if the
    run passed.

    The request fields are those of :func:`qatech_orchestration.build_start_run_body`; they are validated
    now, when the definitions load, so a typo fails ``dagster definitions validate`` instead of a run.

    The result's metadata: run URL and short ID, status, result, test case counts, and the failing test
    cases with their ``resultTitle``. A blocking check (the default) with severity ERROR keeps downstream
    assets from materializing when the app is broken. With ``rerun_failed_once``, failed test cases are rerun
    once and the rerun decides. API errors and a wait timeout fail the check with a clear message (and the
    run URL once a run exists).
    """
    arguments = locals()
    fields: dict[str, Any] = {name: arguments[name] for name in START_RUN_FIELDS}
    build_start_run_body(**fields)  # fail at definition time on bad input
    plan = f" (test plan {test_plan_short_id})" if test_plan_short_id else ""

    @asset_check(
        asset=asset,
        name=name,
        blocking=blocking,
        required_resource_keys={resource_key},
        description=description or f"QA.tech end-to-end tests{plan} pass against the app this asset feeds.",
    )
    def _qatech_check(context: AssetCheckExecutionContext) -> AssetCheckResult:
        client = getattr(context.resources, resource_key).get_client()
        run: StartedRun | None = None
        try:
            run = client.start_run(**fields)
            context.log.info(f"QA.tech run {run.short_id} started ({run.test_count} test cases): {run.url}")
            status = client.wait_for_run(run.short_id, poll_interval=poll_interval, timeout=timeout, run_url=run.url)
            first = status
            if rerun_failed_once and not judge_run(status, fail_on_skipped=fail_on_skipped).ok:
                context.log.warning(f"QA.tech run {run.short_id} did not pass; rerunning its failed test cases once")
                run = client.rerun(run.short_id, failed_only=True)
                context.log.info(f"QA.tech rerun {run.short_id} started: {run.url}")
                status = client.wait_for_run(
                    run.short_id, poll_interval=poll_interval, timeout=timeout, run_url=run.url
                )
        except QATechWaitTimeout as exc:
            # The app is not known to work: a failed check (with the run to look at), not a crashed step.
            return AssetCheckResult(
                passed=False,
                severity=severity,
                description=str(exc),
                metadata={**(started_run_metadata(run) if run else {}), "status": "TIMED_OUT"},
            )
        except QATechError as exc:
            raise failure_from_error(exc, run.url if run else None) from None
        outcome = judge_run(status, fail_on_skipped=fail_on_skipped)
        if outcome.warning:
            context.log.warning(outcome.warning)
        metadata = run_status_metadata(status)
        metadata["run_url"] = MetadataValue.url(run.url)
        metadata["test_count"] = run.test_count
        if first is not status:
            metadata["first_run_short_id"] = first.short_id
            metadata["first_run_result"] = first.result or first.status
        return AssetCheckResult(passed=outcome.ok, severity=severity, description=outcome.message, metadata=metadata)

    return _qatech_check


def build_qatech_asset_checks(assets: Sequence[AssetLike], **kwargs: Any) -> list[AssetChecksDefinition]:
    """One :func:`build_qatech_asset_check` per asset, with the same settings."""
    return [build_qatech_asset_check(asset, **kwargs) for asset in assets]
