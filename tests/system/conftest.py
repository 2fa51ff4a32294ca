"""One Airflow 3.3 deployment shared by the Airflow system tests: starting its four components costs about a
minute, so the example DAGs and the 100-wait DAG run in the same one, against one emulator."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from qatech_orchestration.emulator import QATechEmulator
from tests.conftest import TOKEN
from tests.system.airflow_deployment import Deployment, airflow_deployment

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_DAGS = Path(__file__).parent / "dags"


@pytest.fixture(scope="session")
def system_emulator() -> Iterator[QATechEmulator]:
    # Runs last six polls (about 15 s in the triggerer at a 3 s poll): a trigger that fires while the executor
    # has not yet reported the deferring process's exit hits an Airflow scheduler race (the resumed task is
    # marked failed). 0.2 s per answer: a real API is far away.
    with QATechEmulator(token=TOKEN, polls_to_finish=6, latency=0.2) as emulator:
        yield emulator


@pytest.fixture(scope="session")
def airflow(tmp_path_factory: pytest.TempPathFactory, system_emulator: QATechEmulator) -> Iterator[Deployment]:
    """The example DAGs (as users copy them) and the system DAGs, with the ``qatech_default`` connection
    created over REST as the UI's form does, so its token is stored (encrypted) in the database."""
    tmp = tmp_path_factory.mktemp("airflow")
    dags = tmp / "dags"
    shutil.copytree(SYSTEM_DAGS, dags)
    for example in (ROOT / "example_dags").glob("qatech_*.py"):
        shutil.copy(example, dags / example.name)
    env = {"QATECH_EXAMPLE_POLL_INTERVAL": "3", "AIRFLOW__CORE__TEST_CONNECTION": "Enabled"}
    with airflow_deployment(tmp / "home", dags, env) as deployment:
        connection = {
            "connection_id": "qatech_default",
            "conn_type": "qatech",
            "host": system_emulator.base_url,
            "password": TOKEN,
        }
        deployment.http.post(f"{deployment.api}/connections", json=connection, timeout=30).raise_for_status()
        yield deployment
