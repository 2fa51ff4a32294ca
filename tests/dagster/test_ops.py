"""The resource and the start / wait / rerun ops, executed in process against the emulator."""

from __future__ import annotations

import warnings
from typing import Any

import dagster as dg
import pytest

from dagster_resource import (
    QATechResource,
    build_qatech_start_run_op,
    qatech_rerun_op,
    qatech_start_run_op,
    qatech_wait_for_run_op,
)
from dagster_resource.resource import PlainTokenWarning
from qatech_orchestration.emulator import QATechEmulator
from tests.conftest import TOKEN
from tests.dagster.conftest import event_texts


@dg.job
def start_job() -> None:
    qatech_start_run_op()


@dg.job
def start_wait_job() -> None:
    qatech_wait_for_run_op(qatech_start_run_op())


@dg.job
def start_wait_rerun_job() -> None:
    qatech_rerun_op(qatech_start_run_op())


def _run(job: Any, resource: QATechResource, ops: dict[str, Any] | None = None) -> Any:
    return job.execute_in_process(
        resources={"qatech": resource},
        run_config={"ops": {name: {"config": config} for name, config in (ops or {}).items()}},
        raise_on_error=False,
    )


def _failure(result: Any, step: str) -> Any:
    (event,) = [e for e in result.all_node_events if e.is_step_failure and e.step_key == step]
    return event.step_failure_data


def test_resource_hides_the_token_and_caches_the_client(emulator: QATechEmulator) -> None:
    with pytest.warns(PlainTokenWarning):  # a plain string, the one form whose value the resource holds
        resource = QATechResource(api_token=TOKEN, base_url=emulator.base_url)
    assert TOKEN not in repr(resource) and TOKEN not in str(resource)
    assert resource.get_client() is resource.get_client()
    assert TOKEN not in repr(resource.get_client())


def test_resource_from_env_var(
    monkeypatch: pytest.MonkeyPatch, emulator: QATechEmulator, no_token_in_events: list[Any]
) -> None:
    monkeypatch.setenv("QATECH_API_TOKEN", TOKEN)
    resource = QATechResource(api_token=dg.EnvVar("QATECH_API_TOKEN"), base_url=emulator.base_url)
    result = _run(start_job, resource)
    no_token_in_events.append(result)
    assert result.success


def test_a_plain_string_token_warns_where_it_is_written_and_an_env_var_does_not(
    monkeypatch: pytest.MonkeyPatch, emulator: QATechEmulator
) -> None:
    monkeypatch.setenv("QATECH_API_TOKEN", TOKEN)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from_env = QATechResource(api_token=dg.EnvVar("QATECH_API_TOKEN"), base_url=emulator.base_url)
        assert _run(start_job, from_env).success  # Dagster rebuilds it with the value read: still no warning
        assert not [w for w in caught if issubclass(w.category, PlainTokenWarning)]
        QATechResource(api_token=TOKEN, base_url=emulator.base_url)
    (warning,) = [w for w in caught if issubclass(w.category, PlainTokenWarning)]
    assert warning.filename == __file__  # points at the line that wrote the token
    assert 'dg.EnvVar("QATECH_API_TOKEN")' in str(warning.message) and TOKEN not in str(warning.message)


@pytest.mark.parametrize(
    ("base_url", "says"),
    [("htps://api.qa.tech/v1", "is not a valid API root"), ("http://qa.example.com/v1", "is plain http://")],
)
def test_a_bad_base_url_fails_when_the_resource_is_built(base_url: str, says: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlainTokenWarning)
        with pytest.raises(Exception, match=f"base_url: {base_url!r} {says}") as raised:
            QATechResource(api_token=TOKEN, base_url=base_url)  # at load time: `dg check defs` reports it
    assert TOKEN not in str(raised.value)  # pydantic would show the input, token included


def test_start_op_outputs_short_id_with_metadata(
    resource: QATechResource, emulator: QATechEmulator, no_token_in_events: list[Any]
) -> None:
    result = _run(start_job, resource, {"qatech_start_run_op": {
        "test_plan_short_id": "pln_abc123",
        "applications": [{"applicationShortId": "app_gXeBl2",
                          "environment": {"url": "https://pr-123.example.app", "name": "PR-123"}}],
        "notifications": [{"type": "slack", "channel": "C0478ABCDEF", "notifyOn": "always"}],
    }})  # fmt: skip
    no_token_in_events.append(result)
    assert result.success
    (run,) = emulator.project.runs.values()
    assert result.output_for_node("qatech_start_run_op") == run.short_id
    (output_event,) = [e for e in result.all_node_events if e.is_successful_output]
    metadata = output_event.step_output_data.metadata
    assert metadata["run_url"] == dg.MetadataValue.url(run.url)
    assert metadata["run_id"].value == run.id and metadata["test_count"].value == 3
    assert emulator.requests_to("start_run")[0].body == {
        "testPlanShortId": "pln_abc123",
        "applications": [{"applicationShortId": "app_gXeBl2",
                          "environment": {"url": "https://pr-123.example.app", "name": "PR-123"}}],
        "notifications": [{"type": "slack", "channel": "C0478ABCDEF", "notifyOn": "always"}],
    }  # fmt: skip


def test_start_then_wait_passed(resource: QATechResource, no_token_in_events: list[Any]) -> None:
    result = _run(start_wait_job, resource, {"qatech_wait_for_run_op": {"poll_interval": 0.01}})
    no_token_in_events.append(result)
    assert result.success
    final = result.output_for_node("qatech_wait_for_run_op")
    assert final["status"] == "COMPLETED" and final["result"] == "PASSED" and final["test_cases_total"] == 3


@pytest.mark.parametrize("outcome", ["FAILED", "ERROR", "CANCELLED"])
def test_wait_raises_failure_with_url_status_and_failing_cases(
    outcome: str, resource: QATechResource, emulator: QATechEmulator, no_token_in_events: list[Any]
) -> None:
    emulator.script_outcome(outcome, failing={"Checkout": "Pay button missing"})
    result = _run(start_wait_job, resource, {"qatech_wait_for_run_op": {"poll_interval": 0.01}})
    no_token_in_events.append(result)
    assert not result.success
    (run,) = emulator.project.runs.values()
    failure = _failure(result, "qatech_wait_for_run_op")
    metadata = failure.user_failure_data.metadata
    assert metadata["run_url"] == dg.MetadataValue.url(run.url)
    assert metadata["status"].value == ("COMPLETED" if outcome == "FAILED" else outcome)
    assert (
        "Checkout" in metadata["failing_test_cases"].value
        and "Pay button missing" in metadata["failing_test_cases"].value
    )
    assert run.url in failure.user_failure_data.description


def test_skipped_passes_unless_fail_on_skipped(
    resource: QATechResource, emulator: QATechEmulator, no_token_in_events: list[Any]
) -> None:
    emulator.script_outcome("SKIPPED", times=2)
    ok = _run(start_wait_job, resource, {"qatech_wait_for_run_op": {"poll_interval": 0.01}})
    strict = _run(
        start_wait_job, resource, {"qatech_wait_for_run_op": {"poll_interval": 0.01, "fail_on_skipped": True}}
    )
    no_token_in_events.extend([ok, strict])
    assert ok.success and "skipped" in event_texts(ok)
    assert not strict.success


def test_wait_timeout_fails_with_url_and_last_status(resource: QATechResource, emulator: QATechEmulator) -> None:
    emulator.script_outcome("NEVER")
    result = _run(start_wait_job, resource, {"qatech_wait_for_run_op": {"poll_interval": 0.01, "timeout": 0.2}})
    assert not result.success
    (run,) = emulator.project.runs.values()
    failure = _failure(result, "qatech_wait_for_run_op")
    assert "goes on" in failure.user_failure_data.description
    metadata = failure.user_failure_data.metadata
    assert metadata["run_url"] == dg.MetadataValue.url(run.url)
    # as a timed-out check: the table of the last status read (3 test cases, still running) and why it ended
    assert metadata["status"] == dg.MetadataValue.text("TIMED_OUT")
    table = metadata["test_cases"]
    assert isinstance(table, dg.TableMetadataValue) and len(table.records) == 3 and table.schema is not None
    assert "did not finish before the wait's timeout" in metadata["summary"].value


@pytest.mark.parametrize("status", [401, 402, 403, 404, 500])
def test_api_errors_fail_the_start_op_with_the_server_message(
    status: int, resource: QATechResource, emulator: QATechEmulator, no_token_in_events: list[Any]
) -> None:
    emulator.inject_fault("start_run", status=status, message=f"server says {status}")
    result = _run(start_job, resource)
    no_token_in_events.append(result)
    assert not result.success
    failure = _failure(result, "qatech_start_run_op")
    assert f"HTTP {status}" in failure.user_failure_data.description
    assert f"server says {status}" in failure.user_failure_data.description
    assert failure.user_failure_data.metadata["http_status"].value == status
    assert len(emulator.requests_to("start_run")) == 1


def test_bad_config_is_a_clear_error_and_sends_nothing(resource: QATechResource, emulator: QATechEmulator) -> None:
    result = _run(start_job, resource, {"qatech_start_run_op": {
        "applications": [{"applicationShortId": "app_gXeBl2", "environmnet": {"url": "https://x.io"}}]}})  # fmt: skip
    assert not result.success
    description = _failure(result, "qatech_start_run_op").user_failure_data.description
    assert "applications[0]: unknown key 'environmnet'; did you mean 'environment'?" in description
    assert emulator.requests == []


def test_unknown_config_field_is_rejected_by_dagster(resource: QATechResource) -> None:
    with pytest.raises(dg.DagsterInvalidConfigError, match="test_plan"):
        start_job.execute_in_process(
            resources={"qatech": resource},
            run_config={"ops": {"qatech_start_run_op": {"config": {"test_plan": "pln_a"}}}},
        )


def test_rerun_op_outputs_the_new_short_id(
    resource: QATechResource, emulator: QATechEmulator, no_token_in_events: list[Any]
) -> None:
    emulator.script_outcome("FAILED")
    from qatech_orchestration import QATechClient

    client = QATechClient(TOKEN, base_url=emulator.base_url)
    first = client.start_run()
    client.wait_for_run(first.short_id, poll_interval=0.01)

    @dg.job
    def rerun_job() -> None:
        qatech_rerun_op()

    result = rerun_job.execute_in_process(
        resources={"qatech": resource}, input_values={}, raise_on_error=False,
        run_config={"ops": {"qatech_rerun_op": {"inputs": {"run_short_id": first.short_id}}}},
    )  # fmt: skip
    no_token_in_events.append(result)
    assert result.success
    new = result.output_for_node("qatech_rerun_op")
    assert new != first.short_id and emulator.project.runs[new].rerun_of == first.short_id
    assert emulator.requests_to("rerun")[0].body == {"failedOnly": True}


def test_op_factory_takes_another_resource_key_and_name(emulator: QATechEmulator, token_env: dg.EnvVar) -> None:
    start_other = build_qatech_start_run_op(name="start_staging", resource_key="qatech_staging")

    @dg.job
    def job() -> None:
        start_other()

    result = job.execute_in_process(
        resources={"qatech_staging": QATechResource(api_token=token_env, base_url=emulator.base_url)}
    )
    assert result.output_for_node("start_staging") == next(iter(emulator.project.runs))


def test_ops_carry_the_qatech_kind() -> None:
    assert qatech_start_run_op.tags.get("dagster/kind/qatech") == ""
    assert {"start_after"} <= set(qatech_start_run_op.ins)


def test_importing_the_integration_stays_light() -> None:
    """A code location pays for requests and the emulator only when a client is built."""
    import json
    import sys

    from tests.subprocesses import run

    code = "import sys, json, dagster_resource; print('MODULES=' + json.dumps(sorted(sys.modules)))"
    out = run([sys.executable, "-c", code], check=True, timeout=120).stdout
    modules = set(json.loads(next(x for x in out.splitlines() if x.startswith("MODULES="))[len("MODULES=") :]))
    for heavy in ("requests", "urllib3", "qatech_orchestration.client", "qatech_orchestration.emulator", "airflow"):
        assert heavy not in modules, f"importing dagster_resource loads {heavy}"
