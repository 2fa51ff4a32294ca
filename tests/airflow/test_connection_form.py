"""The connection form as Airflow builds it (provider info on 3.2+, the hook on 2.11 and 3.0/3.1), the extra's
keys as the form stores them, and run IDs that rendered to nothing (#12)."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

import pendulum

from airflow_provider.get_provider_info import get_provider_info
from airflow_provider.hooks.qatech import EXTRA_KEYS, QATechHook, client_kwargs_from_connection
from airflow_provider.operators.qatech import QATechRerunOperator
from qatech_orchestration.emulator import QATechEmulator
from qatech_orchestration.settings import DEFAULT_HTTP_SETTINGS
from tests.airflow.conftest import AIRFLOW_VERSION_INFO, dag_class, new_dag_id, python_operator, run_dag, task_states
from tests.conftest import TOKEN


def _connection_type() -> dict[str, object]:
    (entry,) = get_provider_info()["connection-types"]
    return dict(entry)


def test_the_provider_info_declares_a_typed_field_per_extra_key() -> None:
    entry = _connection_type()
    assert entry["hook-name"] == "QA.tech" and entry["connection-type"] == QATechHook.conn_type
    fields = entry["conn-fields"]
    assert isinstance(fields, dict) and list(fields) == list(EXTRA_KEYS)
    assert fields["read_timeout"]["schema"] == {
        "type": ["number", "null"],
        "default": DEFAULT_HTTP_SETTINGS.read_timeout,
    }
    assert fields["max_retries"]["schema"]["type"] == ["integer", "null"]
    assert fields["allow_insecure_http"]["schema"]["type"] == ["boolean", "null"]
    behaviour = entry["ui-field-behaviour"]
    assert isinstance(behaviour, dict) and behaviour["relabeling"] == {"password": "API token", "host": "Base URL"}
    legacy = QATechHook.get_ui_field_behaviour()
    assert legacy["hidden_fields"] == behaviour["hidden-fields"] and legacy["placeholders"] == behaviour["placeholders"]


def test_airflow_builds_the_form_from_it() -> None:
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    behaviours = manager.field_behaviours
    try:  # where task code finds hooks from Airflow 3.2 on (ProvidersManager.hooks is deprecated there)
        from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

        hooks = ProvidersManagerTaskRuntime().hooks
    except ImportError:
        hooks = manager.hooks
    hook_info = hooks[QATechHook.conn_type]
    assert hook_info is not None and hook_info.hook_name == "QA.tech" and hook_info.connection_testable
    if AIRFLOW_VERSION_INFO < (3, 2) and not _has_flask_appbuilder():
        # Airflow 3.0/3.1 read a form only from hooks, and only with flask_appbuilder: every provider's form
        # is the generic one there, and Airflow logs so for ours (README: install the FAB provider).
        assert "qatech" not in behaviours
        return
    assert behaviours["qatech"]["hidden_fields"] == ["login", "schema", "port"]
    assert behaviours["qatech"]["relabeling"]["password"] == "API token"
    if AIRFLOW_VERSION_INFO >= (3, 2):  # the typed extra fields come from conn-fields
        widgets = manager.connection_form_widgets
        assert {f"extra__qatech__{key}" for key in EXTRA_KEYS} <= set(widgets)


def _has_flask_appbuilder() -> bool:
    return importlib.util.find_spec("flask_appbuilder") is not None


def test_extra_keys_stored_with_the_form_prefix_are_read() -> None:
    class _Conn:
        conn_id, host, port, schema, password = "qatech_default", "", None, None, TOKEN
        extra_dejson = {"extra__qatech__read_timeout": "12", "extra__qatech__project_short_id": "proj_a"}

    kwargs = client_kwargs_from_connection(_Conn())
    assert kwargs["read_timeout"] == 12.0 and kwargs["project_short_id"] == "proj_a"


def test_a_run_id_that_rendered_to_none_is_refused_before_any_request(
    emulator: QATechEmulator, task_output: Callable[[], str]
) -> None:
    start = pendulum.datetime(2026, 1, 1, tz="UTC")
    with dag_class()(dag_id=new_dag_id("none_id"), schedule=None, start_date=start, catchup=False) as dag:
        nothing = python_operator()(task_id="start", python_callable=lambda: None)
        rerun = QATechRerunOperator(task_id="rerun", run_short_id="{{ ti.xcom_pull(task_ids='start') }}")
        nothing >> rerun
    states = task_states(run_dag(dag))
    assert states["rerun"] == "failed"
    assert "run_short_id: rendered to 'None'" in task_output()
    assert emulator.requests == []  # before: POST /run/None
