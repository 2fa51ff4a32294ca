"""Dagster example: a blocking QA.tech check between a data refresh and publishing, and a nightly job.

    QATECH_API_TOKEN=... dagster dev -f example_dags/dagster_defs.py
    dagster definitions validate -f example_dags/dagster_defs.py

``QATECH_BASE_URL`` points it at another API root (the emulator in the demo and the tests).
"""

import os

import dagster as dg

from dagster_resource import (
    QATechResource,
    build_qatech_asset_check,
    qatech_start_run_op,
    qatech_wait_for_run_op,
    require_checked_assets,
)

POLL = float(os.environ.get("QATECH_EXAMPLE_POLL_INTERVAL", "30"))

# A step that failed on API trouble (an outage longer than its wait, a 5xx) is retried inside the run, and the
# retry re-attaches to the QA.tech run the failed attempt started: no second run. A check that failed on
# QA.tech's verdict is a result, not an error: it is not retried. A crashed run worker is the instance's
# run_retries' job (example_dags/dagster_home/dagster.yaml, docs/deploying.md).
RETRY = dg.RetryPolicy(max_retries=2, delay=60, backoff=dg.Backoff.EXPONENTIAL)


@dg.asset(kinds={"python"})
def dashboard_data() -> dict[str, int]:
    """Refreshes the numbers the sales dashboard shows (stands in for the ETL)."""
    return {"orders": 1280, "refunds": 12}


@dg.asset(deps=[dashboard_data], kinds={"python"})
def published_dashboard() -> str:
    """Publishes the dashboard. It never runs while the QA.tech check on dashboard_data fails."""
    return "published"


dashboard_e2e = build_qatech_asset_check(
    dashboard_data,
    test_plan_short_id="pln_dashboard-checks_7fQ2",
    applications=[
        {
            "applicationShortId": "app_gXeBl2",
            "environment": {"url": "https://dashboards.example.com", "name": "Production dashboards"},
        }
    ],
    blocking=True,
    poll_interval=POLL,
    timeout=3600,
    retry_policy=RETRY,
)


@dg.job(tags={"dagster/kind/qatech": ""}, op_retry_policy=RETRY)
def qatech_nightly_regression() -> None:
    """Start the nightly regression plan, then wait for it (fails unless it passed)."""
    qatech_wait_for_run_op(qatech_start_run_op())


NIGHTLY_RUN_CONFIG = {
    "ops": {
        "qatech_start_run_op": {"config": {"test_plan_short_id": "pln_nightly-regression_k2P9"}},
        "qatech_wait_for_run_op": {"config": {"poll_interval": POLL, "timeout": 7200}},
    }
}
nightly_schedule = dg.ScheduleDefinition(
    job=qatech_nightly_regression, cron_schedule="0 3 * * *", run_config=NIGHTLY_RUN_CONFIG
)

defs = require_checked_assets(  # a check on a misspelled asset key fails at load
    dg.Definitions(
        assets=[dashboard_data, published_dashboard],
        asset_checks=[dashboard_e2e],
        jobs=[qatech_nightly_regression],
        schedules=[nightly_schedule],
        resources={
            "qatech": QATechResource(
                api_token=dg.EnvVar("QATECH_API_TOKEN"),
                base_url=os.environ.get("QATECH_BASE_URL", "https://api.qa.tech/v1"),
            )
        },
    )
)
