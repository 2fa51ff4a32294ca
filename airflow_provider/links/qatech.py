"""QATechRunLink: the "QA.tech run" button on a task, opening the run's page in QA.tech."""

from __future__ import annotations

from typing import Any

from airflow_provider.version_compat import BaseOperatorLink, get_xcom_value

XCOM_RUN_URL = "run_url"


class QATechRunLink(BaseOperatorLink):
    """Opens the run URL that the task pushed to XCom (``run_url``) as soon as the run started."""

    name = "QA.tech run"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        url = get_xcom_value(ti_key=ti_key, key=XCOM_RUN_URL)
        return str(url) if url else ""
