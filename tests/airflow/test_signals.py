"""The QA verdict as an Airflow asset signal (#23): the ``qatech://`` URI scheme, outlet events whose ``extra``
has the run, none on a failure, and a DAG scheduled on the asset reading the run from its triggering event.

Runs on every leg (Airflow 3: ``Asset``, 2.11: ``Dataset``), through ``dag.test()``.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pendulum
import pytest

from airflow_provider.get_provider_info import get_provider_info
from airflow_provider.operators.qatech import QATechRerunOperator, QATechStartRunOperator
from airflow_provider.sensors.qatech import QATechRunSensor
from airflow_provider.testing import load_dags, task_states
from airflow_provider.version_compat import asset_class
from qatech_orchestration.testing import QATechMock
from tests.airflow.conftest import AIRFLOW_3, dag_class, new_dag_id

EXAMPLES = Path(__file__).resolve().parents[2] / "example_dags"
START = pendulum.datetime(2026, 1, 1, tz="UTC")
SIGNAL_KEYS = {
    "run_short_id", "run_url", "status", "result", "ok", "test_cases_total", "test_cases_passed",
    "test_cases_failed", "test_cases_skipped", "test_cases_errored", "test_cases_not_finished", "test_plan",
    "test_plan_short_id",
}  # fmt: skip


def _asset(target: str | None = None) -> Any:
    """A ``qatech://`` asset of its own per test: events are read back by URI from the shared database."""
    return asset_class()(f"qatech://proj_tests/{target or 'pln_' + uuid.uuid4().hex[:10]}")


def asset_events(uri: str) -> list[dict[str, Any]]:
    """Every event of the asset in the metadata database, oldest first: its ``extra`` and source task."""
    from airflow.utils.session import create_session
    from sqlalchemy import select

    if AIRFLOW_3:
        from airflow.models.asset import AssetEvent as Event
        from airflow.models.asset import AssetModel as Model

        key = Event.asset_id
    else:
        from airflow.models.dataset import DatasetEvent as Event  # type: ignore[no-redef]
        from airflow.models.dataset import DatasetModel as Model  # type: ignore[no-redef]

        key = Event.dataset_id
    with create_session() as session:
        rows = session.scalars(select(Event).join(Model, Model.id == key).where(Model.uri == uri).order_by(Event.id))
        return [{"extra": dict(e.extra or {}), "task_id": e.source_task_id, "dag_id": e.source_dag_id} for e in rows]


@pytest.fixture
def run_on_events(monkeypatch: pytest.MonkeyPatch) -> Callable[[Any, list[str]], Any]:
    """``dag.test()`` of a DAG scheduled on assets, its DagRun consuming the stored events of ``uris`` as the
    scheduler's asset-triggered run would (``dag.test()`` always makes a manual run, with no events)."""

    def run(dag: Any, uris: list[str]) -> Any:
        import airflow.models.dag
        import airflow.models.dagrun
        from sqlalchemy import select

        # Where dag.test() gets its DagRun: airflow.models.dagrun since 3.1, airflow.models.dag before.
        module: Any = airflow.models.dagrun
        name = "get_or_create_dagrun"
        if not hasattr(module, name):
            module, name = airflow.models.dag, "_get_or_create_dagrun"
        if AIRFLOW_3:
            from airflow.models.asset import AssetEvent as Event
            from airflow.models.asset import AssetModel as Model

            key, consumed = Event.asset_id, "consumed_asset_events"
        else:
            from airflow.models.dataset import DatasetEvent as Event  # type: ignore[no-redef]
            from airflow.models.dataset import DatasetModel as Model  # type: ignore[no-redef]

            key, consumed = Event.dataset_id, "consumed_dataset_events"
        create = getattr(module, name)

        def create_consuming(*args: Any, **kwargs: Any) -> Any:
            dagrun = create(*args, **kwargs)
            session = kwargs["session"]  # dag.test() passes it by name on 2.11 and 3.x
            events = session.scalars(select(Event).join(Model, Model.id == key).where(Model.uri.in_(uris))).all()
            getattr(dagrun, consumed).extend(events)
            session.commit()
            return dagrun

        monkeypatch.setattr(module, name, create_consuming)
        from airflow_provider.testing import run_dag

        return run_dag(dag)

    return run


# --- the URI scheme -----------------------------------------------------------------------------------------


def test_the_provider_registers_the_qatech_scheme_for_assets_and_datasets() -> None:
    info = get_provider_info()
    for key in ("asset-uris", "dataset-uris"):
        (entry,) = info[key]
        assert entry["schemes"] == ["qatech"]
        for role in ("handler", "factory", "to_openlineage_converter"):
            module, _, name = entry[role].rpartition(".")
            assert callable(getattr(__import__(module, fromlist=[name]), name)), entry[role]


def test_a_valid_uri_is_normalized_by_airflow_with_the_providers_handler() -> None:
    asset = asset_class()("qatech://proj_acme-analytics_9xW2/pln_dashboard-checks_7fQ2/")
    assert asset.uri == "qatech://proj_acme-analytics_9xW2/pln_dashboard-checks_7fQ2"  # trailing slash gone
    if AIRFLOW_3:
        from airflow.sdk.definitions.asset import _get_uri_normalizer
    else:
        from airflow.datasets import _get_uri_normalizer  # type: ignore[attr-defined,no-redef]
    from airflow_provider.assets import sanitize_uri

    assert _get_uri_normalizer("qatech") is sanitize_uri


BAD_URIS = [
    ("qatech://pln_dash_1/app_x1", "the project: 'pln_dash_1' is not a proj short ID"),
    ("qatech://proj_a1", "names no test plan or application after the project"),
    ("qatech://proj_a1/pln_x1/extra", "has 2 parts after the project"),
    ("qatech://proj_a1/dashboard", "'dashboard' is neither a test plan short ID ('pln_<id>') nor an application"),
    ("qatech://proj_a1:8080/pln_x1", "no user, password or port"),
    ("qatech://proj_a1/pln_x1?env=prod", "has '?env=prod', which a qatech:// URI does not take"),
]


@pytest.mark.parametrize(("uri", "message"), BAD_URIS)
def test_a_bad_uri_fails_naming_the_part_and_the_form(uri: str, message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    form = "write qatech://<project short ID>/<test plan or application short ID>"
    if AIRFLOW_3:
        with pytest.raises(ValueError) as raised:
            asset_class()(uri)
    else:  # Airflow 2.11 warns unless [core] strict_dataset_uri_validation; the message is the same
        with pytest.warns(UserWarning) as warned:
            asset_class()(uri)
        assert any(message in str(w.message) for w in warned), [str(w.message) for w in warned]
        monkeypatch.setenv("AIRFLOW__CORE__STRICT_DATASET_URI_VALIDATION", "True")
        with pytest.raises(ValueError) as raised:
            asset_class()(uri)
    assert message in str(raised.value)
    assert form in str(raised.value)


def _dag_file(tmp_path: Path, body: str) -> Path:
    (tmp_path / "dag.py").write_text(
        "import pendulum\n"
        "from airflow_provider.operators.qatech import QATechStartRunOperator\n"
        "from airflow_provider.version_compat import asset_class\n"
        "Asset = asset_class()\n"
        "try:\n    from airflow.sdk import DAG\nexcept ImportError:\n    from airflow import DAG\n"
        "with DAG('signal_parse', schedule=None, start_date=pendulum.datetime(2026, 1, 1)) as dag:\n"
        f"    {body}\n"
    )
    return tmp_path


def _import_error(folder: Path) -> str:
    """The one import error Airflow records for the DAG file in ``folder`` (what the UI shows)."""
    from tests.airflow.conftest import dagbag_class

    options = {} if AIRFLOW_3 else {"include_examples": False}
    (error,) = dagbag_class()(dag_folder=str(folder), **options).import_errors.values()
    return str(error)


def test_a_dag_file_with_a_bad_qatech_outlet_fails_to_parse_on_every_airflow(tmp_path: Path) -> None:
    """Also on Airflow 2.11, which only warns about the URI itself: the operator checks its own outlets."""
    folder = _dag_file(
        tmp_path,
        "QATechStartRunOperator(task_id='qa', wait_for_completion=True, outlets=[Asset('qatech://proj_a1/dash')])",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        error = _import_error(folder)
    assert "'dash' is neither a test plan short ID ('pln_<id>') nor an application short ID" in error


def test_a_start_that_does_not_wait_cannot_signal_a_verdict(tmp_path: Path) -> None:
    folder = _dag_file(tmp_path, "QATechStartRunOperator(task_id='qa', outlets=[Asset('qatech://proj_a1/pln_dash_1')])")
    message = _import_error(folder)
    assert "qa: outlets: qatech://proj_a1/pln_dash_1 would be updated when the run merely started" in message
    assert "set wait_for_completion=True" in message


def test_a_start_that_does_not_wait_may_update_other_assets(tmp_path: Path) -> None:
    folder = _dag_file(tmp_path, "QATechStartRunOperator(task_id='qa', outlets=[Asset('s3://qa/started')])")
    assert set(load_dags(folder)) == {"signal_parse"}


# --- outlet events ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("deferrable", [False, True], ids=["in the worker", "deferred"])
def test_a_pass_updates_the_outlet_with_the_run_in_extra(
    qatech_emulator: QATechMock, qatech_run_dag: Callable[..., Any], deferrable: bool
) -> None:
    signal, plain = _asset(), asset_class()(f"s3://dashboards/verified-{uuid.uuid4().hex[:8]}")
    with dag_class()(new_dag_id("signal_pass"), schedule=None, start_date=START) as dag:
        QATechStartRunOperator(
            task_id="qa", test_plan_short_id="pln_dash_1", wait_for_completion=True, deferrable=deferrable,
            poll_interval=0.05, outlets=[signal, plain],
        )  # fmt: skip
    assert task_states(qatech_run_dag(dag)) == {"qa": "success"}
    qatech_emulator.assert_started(1)
    (short_id,) = qatech_emulator.runs
    (event,) = asset_events(signal.uri)
    assert event["task_id"] == "qa" and set(event["extra"]) == SIGNAL_KEYS
    run = qatech_emulator.emulator.project.runs[short_id]
    assert event["extra"] == {
        **event["extra"],
        "run_short_id": short_id, "run_url": run.url, "status": "COMPLETED", "result": "PASSED", "ok": True,
        "test_cases_failed": 0,
    }  # fmt: skip
    assert event["extra"]["test_cases_total"] == event["extra"]["test_cases_passed"] >= 1
    if not deferrable:  # the start's answer names the test plan; a resumed deferred task no longer has it
        assert event["extra"]["test_plan_short_id"] == "pln_dash_1"
    assert [e["extra"] for e in asset_events(plain.uri)] == [event["extra"]]  # every outlet asset carries it


@pytest.mark.qatech(outcome="FAILED", failing={"Totals": "Revenue shows 0"})
@pytest.mark.parametrize("deferrable", [False, True], ids=["in the worker", "deferred"])
def test_a_failure_updates_no_outlet(
    qatech_emulator: QATechMock, qatech_run_dag: Callable[..., Any], deferrable: bool
) -> None:
    signal = _asset()
    with dag_class()(new_dag_id("signal_fail"), schedule=None, start_date=START) as dag:
        QATechStartRunOperator(
            task_id="qa", wait_for_completion=True, deferrable=deferrable, poll_interval=0.05, outlets=[signal]
        )
    assert task_states(qatech_run_dag(dag)) == {"qa": "failed"}
    qatech_emulator.assert_started(1)
    assert asset_events(signal.uri) == []


def test_the_sensor_and_the_rerun_signal_their_own_pass(
    qatech_emulator: QATechMock, qatech_run_dag: Callable[..., Any]
) -> None:
    """The post-ETL shape: the sensor's failure updates nothing, the rerun's pass does (with the new run)."""
    signal = _asset()
    qatech_emulator.script("FAILED", failing={"Totals": "Revenue shows 0"})
    with dag_class()(new_dag_id("signal_rerun"), schedule=None, start_date=START) as dag:
        start = QATechStartRunOperator(task_id="start")
        wait = QATechRunSensor(
            task_id="wait", run_short_id="{{ ti.xcom_pull(task_ids='start') }}", poke_interval=0.05,
            outlets=[signal],
        )  # fmt: skip
        rerun = QATechRerunOperator(
            task_id="rerun", run_short_id="{{ ti.xcom_pull(task_ids='start') }}", wait_for_completion=True,
            poll_interval=0.05, trigger_rule="all_failed", outlets=[signal],
        )  # fmt: skip
        start >> wait >> rerun
    assert task_states(qatech_run_dag(dag)) == {"start": "success", "wait": "failed", "rerun": "success"}
    qatech_emulator.assert_started(1)
    assert len(qatech_emulator.reruns) == 1
    first, rerun_id = qatech_emulator.runs
    (event,) = asset_events(signal.uri)
    assert event["task_id"] == "rerun"
    assert event["extra"]["run_short_id"] == rerun_id != first and event["extra"]["result"] == "PASSED"


def test_the_sensor_signals_a_pass(qatech_emulator: QATechMock, qatech_run_dag: Callable[..., Any]) -> None:
    signal = _asset()
    with dag_class()(new_dag_id("signal_sensor"), schedule=None, start_date=START) as dag:
        start = QATechStartRunOperator(task_id="start")
        start >> QATechRunSensor(
            task_id="wait", run_short_id="{{ ti.xcom_pull(task_ids='start') }}",
            run_url="{{ ti.xcom_pull(task_ids='start', key='run_url') }}", poke_interval=0.05, outlets=[signal],
        )  # fmt: skip
    assert task_states(qatech_run_dag(dag)) == {"start": "success", "wait": "success"}
    (short_id,) = qatech_emulator.runs
    (event,) = asset_events(signal.uri)
    assert event["task_id"] == "wait" and event["extra"]["run_short_id"] == short_id
    assert event["extra"]["run_url"] == qatech_emulator.emulator.project.runs[short_id].url


# --- the examples: qatech_post_etl signals, qatech_publish_on_pass reads it ------------------------------------


@pytest.fixture
def examples(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("QATECH_EXAMPLE_POLL_INTERVAL", "0.05")
    yield load_dags(EXAMPLES)


def _clear_events(uri: str) -> None:
    """The examples' asset is shared by tests in one database: start each from none."""
    from airflow.utils.session import create_session
    from sqlalchemy import delete, select

    if AIRFLOW_3:
        from airflow.models.asset import AssetEvent as Event
        from airflow.models.asset import AssetModel as Model

        key = Event.asset_id
    else:
        from airflow.models.dataset import DatasetEvent as Event  # type: ignore[no-redef]
        from airflow.models.dataset import DatasetModel as Model  # type: ignore[no-redef]

        key = Event.dataset_id
    with create_session() as session:
        ids = select(Model.id).where(Model.uri == uri).scalar_subquery()
        session.execute(delete(Event).where(key == ids).execution_options(synchronize_session=False))


def test_the_publish_dag_is_scheduled_on_the_post_etl_asset(examples: dict[str, Any]) -> None:
    post_etl, publish = examples["qatech_post_etl"], examples["qatech_publish_on_pass"]
    (uri,) = {a.uri for t in ("wait_for_qa", "rerun_failed_once") for a in post_etl.task_dict[t].outlets}
    assert uri == "qatech://proj_acme-analytics_9xW2/pln_dashboard-checks_7fQ2"
    if AIRFLOW_3:
        scheduled_on = {asset.uri for asset in publish.timetable.asset_condition.objects}
    else:
        scheduled_on = {uri for uri, _ in publish.timetable.dataset_condition.iter_datasets()}
    assert scheduled_on == {uri}


def test_a_qa_pass_in_post_etl_publishes_with_the_run_from_the_event(
    examples: dict[str, Any],
    qatech_emulator: QATechMock,
    qatech_run_dag: Callable[..., Any],
    run_on_events: Callable[[Any, list[str]], Any],
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    uri = "qatech://proj_acme-analytics_9xW2/pln_dashboard-checks_7fQ2"
    _clear_events(uri)
    states = task_states(qatech_run_dag(examples["qatech_post_etl"]))
    assert states["wait_for_qa"] == "success" and states["rerun_failed_once"] == "skipped"
    (short_id,) = qatech_emulator.runs
    (event,) = asset_events(uri)
    assert event["task_id"] == "wait_for_qa" and event["extra"]["run_short_id"] == short_id
    capfd.readouterr()
    publish = run_on_events(examples["qatech_publish_on_pass"], [uri])
    assert task_states(publish) == {"publish_verified_release": "success"}
    out, err = capfd.readouterr()
    run = qatech_emulator.emulator.project.runs[short_id]
    total = event["extra"]["test_cases_total"]
    assert f"verified by QA.tech run {short_id} ({total} of {total} test cases passed): {run.url}" in (
        out + err + caplog.text
    )
    qatech_emulator.assert_started(1)  # publishing starts no QA.tech run of its own


def test_a_qa_failure_in_post_etl_signals_nothing_and_the_publish_dag_refuses_to_run_without_a_pass(
    examples: dict[str, Any],
    qatech_emulator: QATechMock,
    qatech_run_dag: Callable[..., Any],
    run_on_events: Callable[[Any, list[str]], Any],
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    uri = "qatech://proj_acme-analytics_9xW2/pln_dashboard-checks_7fQ2"
    _clear_events(uri)
    qatech_emulator.script("FAILED", failing={"Export report as CSV": "Export button returned HTTP 500"}, times=2)
    states = task_states(qatech_run_dag(examples["qatech_post_etl"]))
    assert states["wait_for_qa"] == "failed" and states["rerun_failed_once"] == "failed"
    assert asset_events(uri) == []
    # Run by hand (no triggering event), the publish DAG says why it does not publish.
    publish = run_on_events(examples["qatech_publish_on_pass"], [uri])
    assert task_states(publish) == {"publish_verified_release": "failed"}
    out, err = capfd.readouterr()
    assert f"No {uri} event triggered this run: the DAG publishes only after a QA pass" in out + err + caplog.text
