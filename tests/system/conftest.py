"""One Airflow 3.3 deployment shared by the Airflow system tests: starting its four components costs about a
minute, so the example DAGs and the 100-wait DAG run in the same one, against one emulator. One PostgreSQL
cluster and one Redis server shared by the production-like tests (#18), a database per deployment."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from qatech_orchestration.emulator import QATechEmulator
from tests.conftest import TOKEN
from tests.system.airflow_deployment import Deployment, airflow_deployment
from tests.system.servers import SKIP_VARIABLE, Postgres, Redis, servers, skip_requested

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
        deployment.add_qatech_connection(system_emulator.base_url, TOKEN)
        yield deployment


@pytest.fixture(scope="session")
def production_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Postgres, Redis]]:
    """One PostgreSQL cluster and one Redis server for every production-like test (#18); each deployment
    gets a database of its own. Fails naming what is missing (skips with QATECH_SKIP_SERVER_TESTS=1)."""
    with servers(tmp_path_factory.mktemp("servers")) as found:
        yield found


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say it in the summary when the production-like tests were skipped on purpose: a green run must not
    pass for one that started PostgreSQL, Redis and Celery."""
    if skip_requested() and any(
        "production-like" in str(r.longrepr) for r in terminalreporter.stats.get("skipped", [])
    ):
        terminalreporter.write_line(
            f"production-like system tests SKIPPED ({SKIP_VARIABLE}=1): PostgreSQL, Redis and Celery not tested",
            yellow=True,
            bold=True,
        )
