"""Real Airflow in tests: a throwaway AIRFLOW_HOME and metadata DB, DAGs run with ``dag.test()``."""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from collections.abc import Callable
from typing import Any

import pytest

# Before anything imports Airflow (importorskip included): never touch ~/airflow, no example DAGs.
_HOME = tempfile.mkdtemp(prefix="qatech-airflow-home-")
os.environ["AIRFLOW_HOME"] = _HOME
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
# A fixed key, so that connections stored by one `airflow` command can be read by the next.
os.environ["AIRFLOW__CORE__FERNET_KEY"] = "cWF0ZWNoLW9yY2hlc3RyYXRpb24tdGVzdHMta2V5ISE="
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = os.path.join(_HOME, "dags")
os.makedirs(os.environ["AIRFLOW__CORE__DAGS_FOLDER"], exist_ok=True)
try:
    from importlib.metadata import version

    _airflow_minor = tuple(int(part) for part in version("apache-airflow").split(".")[:2])
    if _airflow_minor < (3, 0):
        # Airflow 2's unit-test config names LocalExecutor, which refuses SQLite.
        os.environ["AIRFLOW__CORE__EXECUTOR"] = "SequentialExecutor"
    elif _airflow_minor < (3, 1):
        # Airflow 3.0's in-process supervisor of dag.test() logs each MaskSecret message at DEBUG, the
        # connection's password in it, through structlog left unconfigured (all levels printed): its own
        # bug, gone in 3.1, and real deployments run the supervisor at INFO. Test 3.0 at INFO.
        import logging

        import structlog

        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
except Exception:  # not installed: importorskip below says so
    pass

pytest.importorskip("airflow", reason="the airflow extra is not installed")

from airflow import __version__ as AIRFLOW_VERSION  # noqa: E402

from qatech_orchestration.emulator import QATechEmulator  # noqa: E402
from tests.conftest import TOKEN  # noqa: E402

AIRFLOW_VERSION_INFO = tuple(int(part) for part in AIRFLOW_VERSION.split(".")[:2])
AIRFLOW_3 = AIRFLOW_VERSION_INFO >= (3, 0)

#: Values a "capture" task pulled from XCom, by DAG id (dag.test() runs tasks in this process).
CAPTURED: dict[str, dict[str, Any]] = {}


@pytest.fixture(scope="session", autouse=True)
def airflow_db() -> None:
    from airflow.utils import db

    if AIRFLOW_3:
        db.initdb()
    else:
        db.resetdb()


def connection_json(base_url: str, token: str = TOKEN, **extra: Any) -> str:
    conn: dict[str, Any] = {"conn_type": "qatech", "password": token, "host": base_url}
    if extra:
        conn["extra"] = extra
    return json.dumps(conn)


@pytest.fixture(autouse=True)
def _emulator_is_qatech_default(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where a test uses the (one, shared) ``emulator`` fixture, it is connection ``qatech_default``."""
    if "emulator" in request.fixturenames:
        emulator: QATechEmulator = request.getfixturevalue("emulator")
        monkeypatch.setenv("AIRFLOW_CONN_QATECH_DEFAULT", connection_json(emulator.base_url))


@pytest.fixture
def task_output(capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> Callable[[], str]:
    """What the tasks logged since the last call: Airflow 3 prints task logs, Airflow 2 logs them."""

    def read() -> str:
        out, err = capfd.readouterr()
        text = out + err + caplog.text
        caplog.clear()
        return text

    return read


def new_dag_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def run_dag(dag: Any, run_conf: dict[str, Any] | None = None) -> Any:
    """``dag.test()`` for a DAG built inside a test: the plugin's helper (``qatech_run_dag``), as users run it."""
    from airflow_provider.testing import run_dag as run

    return run(dag, conf=run_conf)


def dagbag_class() -> Any:
    from airflow_provider.testing import dagbag_module

    return dagbag_module().DagBag


def task_states(dagrun: Any) -> dict[str, str]:
    from airflow_provider.testing import task_states as states

    return states(dagrun)


def capture_task(dag_id: str, task_id: str, keys: tuple[str, ...] = ("return_value", "run_short_id", "run_id",
                 "run_url", "run_status", "run_result")) -> Callable[..., None]:  # fmt: skip
    """A python callable that stores what ``task_id`` pushed to XCom in :data:`CAPTURED`."""

    def capture(ti: Any, **_: Any) -> None:
        CAPTURED[dag_id] = {key: ti.xcom_pull(task_ids=task_id, key=key) for key in keys}

    return capture


def python_operator() -> Any:
    if AIRFLOW_3:
        from airflow.providers.standard.operators.python import PythonOperator
    else:
        from airflow.operators.python import PythonOperator
    return PythonOperator


def dag_class() -> Any:
    if AIRFLOW_3:
        from airflow.sdk import DAG
    else:
        from airflow import DAG
    return DAG
