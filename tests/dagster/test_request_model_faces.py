"""The Dagster faces of the one request model: op config, asset check builder, component, resource."""

from __future__ import annotations

import dataclasses
import inspect

import dagster as dg
import pytest

from dagster_resource import (
    QATechCheck,
    QATechRerunConfig,
    QATechResource,
    QATechStartRunConfig,
    build_qatech_asset_check,
    qatech_rerun_op,
    qatech_start_run_op,
    qatech_wait_for_run_op,
)
from qatech_orchestration.client import QATechClient
from qatech_orchestration.emulator import QATechEmulator
from qatech_orchestration.request_model import RERUN, START_RUN
from qatech_orchestration.settings import DEFAULT_HTTP_SETTINGS, HTTP_SETTING_NAMES, HTTP_SETTINGS
from tests.request_samples import START_RUN_SAMPLE, START_RUN_SAMPLE_BODY


def test_op_names_are_the_exported_names() -> None:
    assert qatech_start_run_op.name == "qatech_start_run_op"
    assert qatech_wait_for_run_op.name == "qatech_wait_for_run_op"
    assert qatech_rerun_op.name == "qatech_rerun_op"


def test_start_config_has_every_field_with_the_model_doc() -> None:
    fields = QATechStartRunConfig.model_fields
    assert tuple(fields) == START_RUN.names
    for field in START_RUN:
        assert fields[field.name].description == field.doc


def test_rerun_config_has_the_rerun_fields_and_the_core_default() -> None:
    fields = QATechRerunConfig.model_fields
    assert set(fields) == set(RERUN.names) - {"project_short_id"}  # the resource's project applies
    assert fields["failed_only"].default is None


def test_component_check_and_builder_take_every_field() -> None:
    check_fields = [f.name for f in dataclasses.fields(QATechCheck)]
    assert check_fields[1 : 1 + len(START_RUN.names)] == list(START_RUN.names)
    build_qatech_asset_check("dashboard_data", **START_RUN_SAMPLE)  # accepted, validated at definition time


def test_resource_has_every_http_setting_with_the_core_default() -> None:
    fields = QATechResource.model_fields
    for name in HTTP_SETTING_NAMES:
        assert fields[name].default == getattr(DEFAULT_HTTP_SETTINGS, name)
        assert fields[name].description == HTTP_SETTINGS[name]
    assert inspect.signature(QATechResource.get_client).return_annotation == "QATechClient"


def test_start_op_sends_every_field(emulator: QATechEmulator, resource: QATechResource) -> None:
    @dg.job
    def start_job() -> None:
        qatech_start_run_op()

    config = {k: v for k, v in START_RUN_SAMPLE.items()}
    result = start_job.execute_in_process(
        resources={"qatech": resource}, run_config={"ops": {"qatech_start_run_op": {"config": config}}}
    )
    assert result.success
    (request,) = emulator.requests_to("start_run")
    assert request.body == START_RUN_SAMPLE_BODY


@pytest.mark.parametrize("failed_only", [None, False])
def test_rerun_op_default_is_the_core_default(
    failed_only: bool | None, emulator: QATechEmulator, resource: QATechResource, client: QATechClient
) -> None:
    emulator.script_outcome("FAILED")
    first = client.start_run()
    client.wait_for_run(first.short_id, poll_interval=0.01, timeout=5)

    @dg.job
    def rerun_job() -> None:
        qatech_rerun_op()

    ops: dict[str, object] = {"inputs": {"run_short_id": first.short_id}}
    if failed_only is not None:
        ops["config"] = {"failed_only": failed_only}
    result = rerun_job.execute_in_process(resources={"qatech": resource}, run_config={"ops": {"qatech_rerun_op": ops}})
    assert result.success
    (request,) = emulator.requests_to("rerun")
    assert request.body == ({} if failed_only is False else {"failedOnly": True})
