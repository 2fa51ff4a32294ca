"""The Airflow faces of the one request model: operator arguments, template fields, docstring, connection."""

from __future__ import annotations

import inspect
import json

import pytest
import responses

from airflow_provider.hooks.qatech import EXTRA_KEYS, QATechHook, client_kwargs_from_connection
from airflow_provider.operators.qatech import QATechRerunOperator, QATechStartRunOperator
from qatech_orchestration import QATechClient
from qatech_orchestration.request_model import RERUN, START_RUN
from qatech_orchestration.settings import DEFAULT_HTTP_SETTINGS, HTTP_SETTING_NAMES
from tests.conftest import TOKEN
from tests.request_samples import START_RUN_SAMPLE, START_RUN_SAMPLE_BODY

STARTED = {"success": True, "run": {"id": "u", "shortId": "abc123", "url": "https://app.qa.tech/r/abc123",
                                    "testCount": 1, "testPlan": None}}  # fmt: skip


def _accepted_arguments(cls: type) -> set[str]:
    return {name for klass in cls.__mro__ if "__init__" in vars(klass)
            for name in inspect.signature(klass.__init__).parameters}  # fmt: skip


def test_start_operator_takes_templates_and_documents_every_field() -> None:
    assert set(START_RUN.names) <= _accepted_arguments(QATechStartRunOperator)
    assert set(START_RUN.names) <= set(QATechStartRunOperator.template_fields)
    doc = QATechStartRunOperator.__doc__ or ""
    for field in START_RUN:
        assert f":param {field.name}: {field.doc}" in doc
    structured = {f.name for f in START_RUN if f.structured}
    assert set(QATechStartRunOperator.template_fields_renderers) == structured


def test_rerun_operator_takes_every_rerun_field() -> None:
    assert set(RERUN.names) <= _accepted_arguments(QATechRerunOperator)
    doc = QATechRerunOperator.__doc__ or ""
    assert ":param failed_only:" in doc and ":param project_test_case_ids:" in doc


@pytest.mark.parametrize("failed_only", [None, True, False])
def test_rerun_operator_default_is_the_core_default(failed_only: bool | None) -> None:
    operator = QATechRerunOperator(task_id="rerun", run_short_id="abc123", failed_only=failed_only)
    with responses.RequestsMock() as mock:
        mock.post("https://api.qa.tech/v1/run/abc123", json=STARTED)
        operator._start(QATechClient(TOKEN))
        (call,) = mock.calls
    expected = {} if failed_only is False else {"failedOnly": True}
    assert json.loads(call.request.body or b"{}") == expected


def test_start_operator_sends_every_field() -> None:
    operator = QATechStartRunOperator(task_id="faces", **START_RUN_SAMPLE)
    with responses.RequestsMock() as mock:
        mock.post("https://api.qa.tech/v1/run", json=STARTED)
        operator._start(QATechClient(TOKEN))
        (call,) = mock.calls
    assert json.loads(call.request.body or b"{}") == START_RUN_SAMPLE_BODY


def test_connection_extra_takes_every_http_setting() -> None:
    assert set(HTTP_SETTING_NAMES) <= set(EXTRA_KEYS)

    import certifi

    # Every setting set to a non-default value, as text (what a connection form stores).
    texts = {"proxy": "http://proxy.example.com:3128", "ca_bundle": certifi.where()}
    values = {name: texts.get(name) or ("true" if isinstance(getattr(DEFAULT_HTTP_SETTINGS, name), bool) else "7")
              for name in HTTP_SETTING_NAMES}  # fmt: skip

    class _Conn:
        conn_id, host, port, schema, password = "qatech_default", "", None, None, TOKEN
        extra_dejson = values

    client = QATechClient(**client_kwargs_from_connection(_Conn()))
    for name in HTTP_SETTING_NAMES:
        expected = texts.get(name) or (True if values[name] == "true" else 7)
        assert getattr(client.settings, name) == expected, name
    assert client.route.proxy == texts["proxy"] and client.route.ca_file == texts["ca_bundle"]


def test_hook_placeholder_names_settings_that_exist() -> None:
    placeholder = json.loads(QATechHook.get_ui_field_behaviour()["placeholders"]["extra"])
    assert set(placeholder) <= set(EXTRA_KEYS)
