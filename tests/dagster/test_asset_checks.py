"""Asset checks that gate downstream assets, materialized against the emulator."""

from __future__ import annotations

import logging
from typing import Any

import dagster as dg
import pytest

from dagster_resource import QATechResource, build_qatech_asset_check, build_qatech_asset_checks
from qatech_orchestration import QATechValidationError
from qatech_orchestration.emulator import QATechEmulator


@dg.asset
def dashboard_data() -> int:
    return 1


@dg.asset(deps=[dashboard_data])
def published_dashboard() -> int:
    return 2


@dg.asset
def orders_app_data() -> int:
    return 3


def _check(**kwargs: Any) -> dg.AssetChecksDefinition:
    settings: dict[str, Any] = {"test_plan_short_id": "pln_dashboard_7fQ2", "poll_interval": 0.01, "timeout": 10}
    return build_qatech_asset_check(dashboard_data, **{**settings, **kwargs})


def _materialize(check: Any, resource: QATechResource, results: list[Any]) -> tuple[Any, set[str], Any]:
    result = dg.materialize(
        [dashboard_data, published_dashboard, check], resources={"qatech": resource}, raise_on_error=False
    )
    results.append(result)
    materialized = {m.asset_key.to_user_string() for m in result.get_asset_materialization_events()}
    evaluations = result.get_asset_check_evaluations()
    return result, materialized, evaluations[0] if evaluations else None


def test_passed_check_lets_downstream_materialize(
    resource: QATechResource, emulator: QATechEmulator, no_token_in_events: list[Any]
) -> None:
    result, materialized, evaluation = _materialize(_check(), resource, no_token_in_events)
    assert result.success and materialized == {"dashboard_data", "published_dashboard"}
    (run,) = emulator.project.runs.values()
    assert evaluation.passed and evaluation.check_name == "qatech_e2e"
    assert evaluation.metadata["run_url"] == dg.MetadataValue.url(run.url)
    assert evaluation.metadata["run_short_id"].value == run.short_id
    assert evaluation.metadata["result"].value == "PASSED"
    assert evaluation.metadata["test_cases_passed"].value == 3
    assert emulator.requests_to("start_run")[0].body == {"testPlanShortId": "pln_dashboard_7fQ2"}


def test_failed_blocking_check_stops_downstream(
    resource: QATechResource, emulator: QATechEmulator, no_token_in_events: list[Any]
) -> None:
    emulator.script_outcome("FAILED", failing={"Totals match the warehouse": "Shows 1,208 orders, expected 1,280"})
    result, materialized, evaluation = _materialize(_check(), resource, no_token_in_events)
    assert not result.success
    assert materialized == {"dashboard_data"}  # published_dashboard blocked
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    table = evaluation.metadata["failing_test_cases"].value
    assert "Totals match the warehouse" in table and "Shows 1,208 orders, expected 1,280" in table
    assert evaluation.metadata["test_cases_failed"].value == 1


def test_failed_non_blocking_check_lets_downstream_run(
    resource: QATechResource, emulator: QATechEmulator, no_token_in_events: list[Any]
) -> None:
    emulator.script_outcome("FAILED")
    _, materialized, evaluation = _materialize(
        _check(blocking=False, severity=dg.AssetCheckSeverity.WARN), resource, no_token_in_events
    )
    assert materialized == {"dashboard_data", "published_dashboard"}
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN


@pytest.mark.parametrize("outcome", ["ERROR", "CANCELLED"])
def test_error_and_cancelled_runs_fail_the_check(
    outcome: str, resource: QATechResource, emulator: QATechEmulator, no_token_in_events: list[Any]
) -> None:
    emulator.script_outcome(outcome)
    _, materialized, evaluation = _materialize(_check(), resource, no_token_in_events)
    assert not evaluation.passed and evaluation.metadata["status"].value == outcome
    assert "published_dashboard" not in materialized


def test_skipped_passes_with_warning_or_fails_when_asked(
    resource: QATechResource, emulator: QATechEmulator, no_token_in_events: list[Any]
) -> None:
    emulator.script_outcome("SKIPPED", times=2)
    _, materialized, evaluation = _materialize(_check(), resource, no_token_in_events)
    assert evaluation.passed and "published_dashboard" in materialized
    _, materialized, evaluation = _materialize(_check(fail_on_skipped=True), resource, no_token_in_events)
    assert not evaluation.passed and "published_dashboard" not in materialized


def test_rerun_failed_once_lets_a_flaky_failure_pass(
    resource: QATechResource, emulator: QATechEmulator, no_token_in_events: list[Any]
) -> None:
    emulator.script_outcome("FAILED")  # first run fails, the rerun passes (default outcome)
    result, materialized, evaluation = _materialize(_check(rerun_failed_once=True), resource, no_token_in_events)
    assert result.success and evaluation.passed
    first, second = emulator.project.runs
    assert evaluation.metadata["run_short_id"].value == second
    assert evaluation.metadata["first_run_short_id"].value == first
    assert evaluation.metadata["first_run_result"].value == "FAILED"
    # the rerun's own counts cover only the cases it reran; the first run's totals stay beside them
    assert evaluation.metadata["first_run_test_cases_total"].value == 3
    assert evaluation.metadata["first_run_test_cases_failed"].value >= 1
    assert "published_dashboard" in materialized


def test_a_long_wait_says_where_it_stands_and_when_qatech_is_away_in_the_event_log(
    resource: QATechResource, emulator: QATechEmulator
) -> None:
    emulator.inject_fault("get_run", status=503, message="upstream busy", times=3)  # QA.tech away for 3 reads
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [dashboard_data, published_dashboard, _check()], resources={"qatech": resource}, instance=instance
    )
    assert result.success
    (run,) = emulator.project.runs
    logs = [(entry.level, entry.user_message) for entry in instance.all_logs(result.run_id) if entry.user_message]
    infos = [message for level, message in logs if level == logging.INFO]
    changes = [message.split(" (")[0] for message in infos if message.startswith(f"QA.tech run {run}: ")]
    assert changes == [f"QA.tech run {run}: INITIATED", f"QA.tech run {run}: COMPLETED/PASSED"]  # each once
    warnings = [message for level, message in logs if level == logging.WARNING]
    (away,) = [m for m in warnings if m.startswith("QA.tech is not answering")]  # once, not once per read
    assert f"run {run}" in away and f"GET /run/{run} -> HTTP 503: upstream busy" in away  # not only on stderr
    (back,) = [m for m in infos if m.startswith("QA.tech answers again")]
    assert f"QA.tech run {run}" in back and "(3 failed read(s))" in back
    assert len(emulator.requests_to("start_run")) == 1


def test_wait_timeout_fails_the_check_with_the_run_url(
    resource: QATechResource, emulator: QATechEmulator, no_token_in_events: list[Any]
) -> None:
    emulator.script_outcome("NEVER")
    _, materialized, evaluation = _materialize(_check(timeout=0.2), resource, no_token_in_events)
    (run,) = emulator.project.runs.values()
    assert not evaluation.passed and "goes on" in evaluation.description
    assert evaluation.metadata["run_url"] == dg.MetadataValue.url(run.url)
    assert "published_dashboard" not in materialized
    # the table of the last status read (the run's 3 test cases, still running) and a summary that says why
    assert evaluation.metadata["status"] == dg.MetadataValue.text("TIMED_OUT")
    table = evaluation.metadata["test_cases"]
    assert isinstance(table, dg.TableMetadataValue) and len(table.records) == 3 and table.schema is not None
    assert "did not finish before the wait's timeout" in evaluation.metadata["summary"].value


@pytest.mark.parametrize("status", [401, 402, 500])
def test_api_errors_fail_the_check_and_block_downstream(
    status: int, resource: QATechResource, emulator: QATechEmulator, no_token_in_events: list[Any]
) -> None:
    emulator.inject_fault("start_run", status=status, message=f"server says {status}")
    result, materialized, evaluation = _materialize(_check(), resource, no_token_in_events)
    assert not result.success and evaluation is None
    assert "published_dashboard" not in materialized
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert f"HTTP {status}" in failure.step_failure_data.user_failure_data.description


def test_bad_input_fails_when_definitions_load() -> None:
    with pytest.raises(QATechValidationError, match=r"applications\[0\].environment.url"):
        build_qatech_asset_check(
            dashboard_data, applications=[{"applicationShortId": "app_a", "environment": {"url": "not a url"}}]
        )


def test_plural_builds_one_check_per_asset(resource: QATechResource, emulator: QATechEmulator) -> None:
    checks = build_qatech_asset_checks(
        [dashboard_data, orders_app_data], test_plan_short_id="pln_a", poll_interval=0.01
    )
    assert [next(iter(c.check_keys)).asset_key.to_user_string() for c in checks] == [
        "dashboard_data",
        "orders_app_data",
    ]
    result = dg.materialize([dashboard_data, orders_app_data, *checks], resources={"qatech": resource})
    assert len(result.get_asset_check_evaluations()) == 2 == len(emulator.project.runs)


@pytest.mark.parametrize("mode", ["refused", "hung"])
def test_a_blocking_check_outlives_an_outage_without_a_retry_policy(
    mode: str, emulator: QATechEmulator, token_env: dg.EnvVar, no_token_in_events: list[Any]
) -> None:
    # One read's own retries cover a few hundredths of a second; QA.tech is away for 3 s mid-wait.
    resource = QATechResource(
        api_token=token_env, base_url=emulator.base_url, max_retries=1, backoff_factor=0.01, read_timeout=1
    )
    emulator.project.polls_to_finish = 4
    emulator.inject_fault("get_run", outage=3.0, outage_mode=mode)
    result, materialized, evaluation = _materialize(
        _check(poll_interval=0.25, timeout=60), resource, no_token_in_events
    )
    assert result.success and evaluation.passed, evaluation
    assert materialized == {"dashboard_data", "published_dashboard"}  # downstream went ahead after the outage
    assert emulator.project.pending_faults("get_run") == 0
    assert len(emulator.requests_to("start_run")) == 1
