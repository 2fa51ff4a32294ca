"""Behind a company proxy with a private CA, an Airflow task reaches QA.tech the same way from the worker
(the start, the connection test) and from the triggerer (the deferred wait): both from the connection extra.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pendulum
import pytest

from airflow_provider.hooks.qatech import QATechHook
from airflow_provider.operators.qatech import QATechStartRunOperator
from qatech_orchestration.emulator import QATechEmulator
from tests.airflow.conftest import connection_json, dag_class, new_dag_id, run_dag, task_states
from tests.conftest import TOKEN
from tests.forward_proxy import ForwardProxy

pytestmark = pytest.mark.usefixtures("clean_network_env")


def test_start_connection_test_and_deferred_wait_all_go_through_the_proxy_and_trust_the_ca(
    tls_emulator: QATechEmulator,
    proxy: ForwardProxy,
    ca_pem: str,
    monkeypatch: pytest.MonkeyPatch,
    task_output: Callable[[], str],
) -> None:
    conn = connection_json(tls_emulator.base_url, proxy=proxy.url, ca_bundle=ca_pem)
    monkeypatch.setenv("AIRFLOW_CONN_QATECH_DEFAULT", conn)
    tunnel = f"127.0.0.1:{tls_emulator.port}"

    ok, message = QATechHook().test_connection()
    assert ok, message
    tested = len(proxy.seen)
    assert tested >= 1 and {s.target for s in proxy.seen} == {tunnel}

    with dag_class()(dag_id=new_dag_id("proxy"), schedule=None, start_date=pendulum.datetime(2026, 1, 1)) as dag:
        QATechStartRunOperator(task_id="qa", wait_for_completion=True, deferrable=True, poll_interval=0.05)
    tls_emulator.project.polls_to_finish = 4  # still running at the look before deferring
    dagrun = run_dag(dag)
    output = task_output()
    assert task_states(dagrun) == {"qa": "success"}, output[-3000:]
    assert "running trigger in line" in output or "Trigger" in output  # the wait ran in the trigger
    assert len(tls_emulator.requests_to("start_run")) == 1
    # The worker's start and look, then the triggerer's reads: every connection was a tunnel through the proxy.
    assert len(proxy.seen) >= tested + 2 and {s.method for s in proxy.seen} == {"CONNECT"}
    assert len(tls_emulator.requests_to("get_run")) >= 3
    assert not [s for s in proxy.seen if TOKEN in json.dumps(s.headers)]


def test_a_wrong_ca_fails_the_connection_test_and_the_task_naming_ca_bundle(
    tls_emulator: QATechEmulator, monkeypatch: pytest.MonkeyPatch, task_output: Callable[[], str]
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_QATECH_DEFAULT", connection_json(tls_emulator.base_url))  # certifi's CAs
    ok, message = QATechHook().test_connection()
    assert not ok and "ca_bundle" in message
    with dag_class()(dag_id=new_dag_id("tls"), schedule=None, start_date=pendulum.datetime(2026, 1, 1)) as dag:
        QATechStartRunOperator(task_id="qa", retries=2, retry_delay=0)
    dagrun = run_dag(dag)
    output = task_output()
    assert task_states(dagrun) == {"qa": "failed"}
    assert "set ca_bundle to the PEM file of the CA" in output
    assert tls_emulator.requests == []  # nothing sent
    assert dagrun.get_task_instance("qa").try_number == 1  # a configuration error: Airflow's retries are not spent
