"""The QA verdict as a signal in Dagster: an asset the daemon materializes once the blocking QA.tech check
on ``dashboard_data`` passed, with no job tying the two (another team's asset can do this).

Declarative automation: ``eager()`` requests ``dashboard_release`` after ``dashboard_data`` updates, and
``all_deps_blocking_checks_passed()`` holds it back until the blocking checks on its dependencies passed for
that update (the QA.tech check of qatech_checks/defs.yaml). A failed check, or one still running, requests
nothing. The automation sensor below evaluates it in ``dagster-daemon``; it is on by default.
"""

import os

import dagster as dg

from .assets import dashboard_data

# Seconds between the daemon's evaluations (Dagster's default: 30); the system test shortens it.
AUTOMATION_INTERVAL = int(os.environ.get("QATECH_EXAMPLE_AUTOMATION_INTERVAL", "30"))


@dg.asset(
    deps=[dashboard_data],
    kinds={"python"},
    automation_condition=dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed(),
)
def dashboard_release() -> str:
    """Releases the dashboard to its readers: materialized by the daemon only after the QA.tech check passed."""
    return "released"


release_automation = dg.AutomationConditionSensorDefinition(
    "qatech_release_automation",
    target=dg.AssetSelection.assets(dashboard_release),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=AUTOMATION_INTERVAL,
)
