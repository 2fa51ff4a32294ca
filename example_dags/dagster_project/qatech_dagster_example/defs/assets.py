"""The data app's assets: the QA.tech check on ``dashboard_data`` is declared in qatech_checks/defs.yaml."""

import dagster as dg


@dg.asset(kinds={"python"})
def dashboard_data() -> dict[str, int]:
    """Refreshes the numbers the dashboard shows (stands in for the ETL)."""
    return {"orders": 1280, "refunds": 12}


@dg.asset(deps=[dashboard_data], kinds={"python"})
def published_dashboard() -> str:
    """Publishes the dashboard: only runs when the blocking QA.tech check on dashboard_data passed."""
    return "published"
