"""A code location for the re-execution test: reconstructable, in-process, emulator from the environment."""

from __future__ import annotations

import os

import dagster as dg

from dagster_resource import QATechResource, build_qatech_asset_check


@dg.asset
def app_data() -> int:
    return 1


@dg.asset(deps=[app_data])
def downstream_report() -> int:
    return 2


app_data_e2e = build_qatech_asset_check(app_data, test_plan_short_id="pln_durable_1", poll_interval=0.01, timeout=10)

durable_job = dg.define_asset_job(
    "durable_job",
    selection=dg.AssetSelection.assets(app_data, downstream_report),
    executor_def=dg.in_process_executor,
)

defs = dg.Definitions(
    assets=[app_data, downstream_report],
    asset_checks=[app_data_e2e],
    jobs=[durable_job],
    resources={
        "qatech": QATechResource(
            api_token=dg.EnvVar("QATECH_API_TOKEN"),
            base_url=os.environ.get("QATECH_DURABLE_BASE_URL", "http://127.0.0.1:9/v1"),
            max_retries=1,
            backoff_factor=0.01,
        )
    },
)


def get_durable_job() -> dg.JobDefinition:
    return defs.resolve_job_def("durable_job")
