"""pytest fixtures for testing pipelines that gate on QA.tech, against the emulator: no account, no network.

Loaded by pytest through the ``pytest11`` entry point (``qatech``) when the package is installed; importing
``qatech_orchestration`` never imports it (nor pytest). The fixtures, marker and options are a stable API
(semantic versioning applies to them):

- ``qatech_emulator`` (:class:`~qatech_orchestration.testing.QATechMock`): QA.tech on loopback, reset for each
  test; script it (``.script("FAILED", failing={...})``, ``.fail(status=503)``, ``.outage(60)``), read what it
  received (``.starts``, ``.reruns``, ``.reads``) and assert (``.assert_started_once(test_plan_short_id=...)``).
- ``qatech_airflow_connection``: connection ``qatech_default`` (and any other id: call the fixture's value
  with it) pointed at the emulator for ``dag.test()``, deferred waits included.
- ``qatech_run_dag``: runs a DAG built in the test with ``dag.test()`` on every supported Airflow; returns the
  DagRun.
- ``qatech_dagster_resource``: a ``QATechResource`` pointed at the emulator, for ``materialize()`` and
  ``execute_in_process``.
- ``qatech_environment``: ``QATECH_API_TOKEN`` and ``QATECH_BASE_URL`` set to the emulator's, for code that
  reads them (Dagster definitions built from the environment, the YAML component, the ``qatech`` command).
- ``@pytest.mark.qatech(outcome="FAILED", failing={"Checkout": "Pay button missing"}, reads=2, ...)``: how the
  test's runs end, without code (the arguments of ``QATechMock.script``).

Against the emulator, waits do not sleep their poll interval: each pause is cut to ``qatech_wait_pause``
seconds (ini option, 0.05 by default; ``@pytest.mark.qatech(real_time=True)`` keeps real pauses), so a DAG
polling every 30 s is tested in a second. Timeouts and outages still take the time they say.

ini options: ``qatech_emulator_scope`` (``function``: one emulator per test; ``session``: one per session or
xdist worker, reset between tests), ``qatech_wait_pause``, ``qatech_airflow_home`` (``auto``: a throwaway
``AIRFLOW_HOME`` with its own metadata DB when ``AIRFLOW_HOME`` is unset and ``~/airflow`` does not exist;
``tmp``: whenever ``AIRFLOW_HOME`` is unset; ``keep``: never).
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from qatech_orchestration.emulator import QATechEmulator
from qatech_orchestration.testing import QATechMock

#: The marker's arguments besides those of QATechMock.script.
_MARKER_OPTIONS = ("real_time",)
#: Set when this plugin made the Airflow home (so its metadata DB is this plugin's to create).
_OWN_AIRFLOW_HOME = "_QATECH_PYTEST_AIRFLOW_HOME"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("qatech_emulator_scope", "function (default) or session: how long one QA.tech emulator lives")
    parser.addini("qatech_wait_pause", "longest pause of a wait against the emulator, in seconds (0.05)")
    parser.addini("qatech_airflow_home", "auto (default), tmp or keep: a throwaway AIRFLOW_HOME for dag.test()")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "qatech(outcome='PASSED', failing=None, test_plan_short_id=None, reads=None, seconds=None, times=1, "
        "real_time=False): how the test's QA.tech runs end (qatech_emulator)",
    )
    _airflow_home(str(config.getini("qatech_airflow_home") or "auto"))


def _airflow_home(mode: str) -> None:
    """A throwaway AIRFLOW_HOME, set before anything imports Airflow (its configuration is read then)."""
    if mode == "keep" or "AIRFLOW_HOME" in os.environ or "airflow" in sys.modules:
        return
    if importlib.util.find_spec("airflow") is None:
        return
    if mode == "auto" and (Path.home() / "airflow").exists():
        return  # the user has an Airflow home: theirs
    home = tempfile.mkdtemp(prefix="qatech-pytest-airflow-")
    os.makedirs(os.path.join(home, "dags"))
    os.environ.update(
        {
            "AIRFLOW_HOME": home,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": os.path.join(home, "dags"),
            _OWN_AIRFLOW_HOME: home,
        }
    )


def _server_scope(fixture_name: str, config: pytest.Config) -> str:
    scope = str(config.getini("qatech_emulator_scope") or "function")
    if scope not in ("function", "session"):
        raise pytest.UsageError(f"qatech_emulator_scope: expected function or session, got {scope!r}")
    return scope


@pytest.fixture(scope=_server_scope)  # type: ignore[arg-type]  # pytest accepts a callable scope
def _qatech_server() -> Iterator[QATechEmulator]:
    with QATechEmulator(token=f"qatech-test-{secrets.token_hex(12)}") as emulator:
        yield emulator


@pytest.fixture
def qatech_emulator(
    _qatech_server: QATechEmulator, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[QATechMock]:
    """QA.tech on loopback for this test (see :class:`~qatech_orchestration.testing.QATechMock`)."""
    _qatech_server.reset()
    mock = QATechMock(_qatech_server)
    marker = request.node.get_closest_marker("qatech")
    options = dict(marker.kwargs) if marker else {}
    real_time = bool(options.pop("real_time", False))
    if marker is not None:
        mock.script(*marker.args, **options)
    if not real_time:
        _cut_wait_pauses(monkeypatch, float(request.config.getini("qatech_wait_pause") or 0.05))
    yield mock
    _qatech_server.reset()  # nothing of this test is left for the next (a session's emulator)


def _cut_wait_pauses(monkeypatch: pytest.MonkeyPatch, longest: float) -> None:
    from qatech_orchestration.waiting import RunWait

    pause = RunWait.pause

    def cut(self: RunWait, seconds: float) -> float:
        return min(pause(self, seconds), longest)

    monkeypatch.setattr(RunWait, "pause", cut)


@pytest.fixture
def qatech_airflow_connection(
    qatech_emulator: QATechMock, monkeypatch: pytest.MonkeyPatch, _qatech_airflow_db: None
) -> Callable[..., str]:
    """Connection ``qatech_default`` points at the emulator (from the environment, as ``dag.test()`` and
    the in-process triggerer read it). Call the value for another id or extra settings:
    ``qatech_airflow_connection("qatech_staging", project_short_id="proj_x")``; it returns the id."""
    import json

    def connect(conn_id: str = "qatech_default", **extra: Any) -> str:
        conn: dict[str, Any] = {"conn_type": "qatech", "password": qatech_emulator.token,
                                "host": qatech_emulator.base_url}  # fmt: skip
        if extra:
            conn["extra"] = extra
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
        return conn_id

    connect()
    return connect


@pytest.fixture(scope="session")
def _qatech_airflow_db() -> None:
    from airflow_provider.testing import metadata_db_is_current, prepare_metadata_db

    if os.environ.get(_OWN_AIRFLOW_HOME) and os.environ.get("AIRFLOW_HOME") == os.environ[_OWN_AIRFLOW_HOME]:
        prepare_metadata_db()
    elif not metadata_db_is_current():
        raise pytest.UsageError(
            f"Airflow's metadata database (AIRFLOW_HOME={os.environ.get('AIRFLOW_HOME', '~/airflow')}) is not "
            "migrated: run `airflow db migrate`, or let the qatech plugin make a throwaway one "
            "(qatech_airflow_home = tmp in your pytest configuration)"
        )


@pytest.fixture
def qatech_run_dag(qatech_airflow_connection: Callable[..., str]) -> Callable[..., Any]:
    """``qatech_run_dag(dag, conf=None)``: ``dag.test()`` for a DAG built in the test; returns the DagRun."""
    from airflow_provider.testing import run_dag

    return run_dag


@pytest.fixture
def qatech_environment(qatech_emulator: QATechMock, monkeypatch: pytest.MonkeyPatch) -> QATechMock:
    """``QATECH_API_TOKEN`` and ``QATECH_BASE_URL`` point at the emulator for this test: the variables the
    ``qatech`` command, the YAML component (``api_token_env_var``, ``{{ env('QATECH_BASE_URL') }}``) and
    definitions built from the environment read. Returns the emulator."""
    monkeypatch.setenv("QATECH_API_TOKEN", qatech_emulator.token)
    monkeypatch.setenv("QATECH_BASE_URL", qatech_emulator.base_url)
    return qatech_emulator


@pytest.fixture
def qatech_dagster_resource(qatech_environment: QATechMock) -> Any:
    """A ``QATechResource`` pointed at the emulator, its token read from ``QATECH_API_TOKEN`` (``EnvVar``)."""
    import dagster as dg

    from dagster_resource import QATechResource

    return QATechResource(api_token=dg.EnvVar("QATECH_API_TOKEN"), base_url=qatech_environment.base_url)
