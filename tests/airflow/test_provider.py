"""Registration, connection, hook, extra link, and what importing the operator costs."""

from __future__ import annotations

import json
import os
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pendulum
import pytest

from airflow_provider.get_provider_info import get_provider_info
from airflow_provider.hooks.qatech import QATechHook, base_url_from_connection, client_kwargs_from_connection
from airflow_provider.operators.qatech import QATechStartRunOperator
from qatech_orchestration import QATechValidationError, __version__
from qatech_orchestration.emulator import QATechEmulator
from tests.airflow.conftest import AIRFLOW_3, connection_json, dag_class, new_dag_id, run_dag, task_states
from tests.conftest import TOKEN
from tests.subprocesses import run

ROOT = Path(__file__).resolve().parents[2]
START = pendulum.datetime(2026, 1, 1, tz="UTC")


def _airflow(*args: str) -> str:
    airflow = Path(sys.executable).with_name("airflow")
    result = run([str(airflow), *args], env=os.environ.copy(), timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_provider_info_is_well_formed_and_matches_the_hook() -> None:
    info = get_provider_info()
    assert info["package-name"] == "qatech-orchestration" and info["name"] and info["description"]
    assert info["versions"] == [__version__]
    (conn_type,) = info["connection-types"]
    assert conn_type["connection-type"] == QATechHook.conn_type == "qatech"
    module, _, cls = conn_type["hook-class-name"].rpartition(".")
    assert getattr(__import__(module, fromlist=[cls]), cls) is QATechHook
    for link in info["extra-links"]:
        module, _, cls = link.rpartition(".")
        assert getattr(__import__(module, fromlist=[cls]), cls)().name == "QA.tech run"
    for kind in ("hooks", "operators", "sensors", "triggers"):
        for entry in info[kind]:
            for module in entry["python-modules"]:
                __import__(module)
    (ep,) = [e for e in entry_points(group="apache_airflow_provider") if e.value.startswith("airflow_provider")]
    assert ep.load() is get_provider_info


def test_airflow_lists_the_provider_its_hook_and_link() -> None:
    assert "qatech-orchestration" in _airflow("providers", "list")
    hooks = _airflow("providers", "hooks")
    assert "qatech" in hooks and "airflow_provider.hooks.qatech.QATechHook" in hooks
    assert "Error when importing hook" not in hooks
    assert "airflow_provider.links.qatech.QATechRunLink" in _airflow("providers", "links")


def test_connection_form() -> None:
    form = QATechHook.get_ui_field_behaviour()
    assert set(form["hidden_fields"]) == {"login", "schema", "port"}
    assert form["relabeling"] == {"password": "API token", "host": "Base URL"}
    assert form["placeholders"]["host"] == "https://api.qa.tech/v1"
    json.loads(form["placeholders"]["extra"])


class _Conn:
    def __init__(self, **kw: Any) -> None:
        self.conn_id = kw.pop("conn_id", "qatech_default")
        self.host, self.port, self.schema = kw.get("host"), kw.get("port"), kw.get("schema")
        self.password = kw.get("password", TOKEN)
        self.extra_dejson = kw.get("extra", {})


@pytest.mark.parametrize(
    ("conn", "expected"),
    [
        (_Conn(), "https://api.qa.tech/v1"),
        (_Conn(host="http://127.0.0.1:8765/v1/"), "http://127.0.0.1:8765/v1"),
        (_Conn(host="127.0.0.1", port=8765, schema="v1", extra={"protocol": "http"}), "http://127.0.0.1:8765/v1"),
        (_Conn(host="api.qa.tech"), "https://api.qa.tech/v1"),
    ],
)
def test_base_url_from_connection(conn: _Conn, expected: str) -> None:
    assert base_url_from_connection(conn) == expected


def test_connection_extra_is_validated_and_passed_on() -> None:
    kwargs = client_kwargs_from_connection(_Conn(extra={"project_short_id": "proj_a", "read_timeout": 20}))
    assert kwargs["project_short_id"] == "proj_a" and kwargs["read_timeout"] == 20
    with pytest.raises(QATechValidationError, match="unknown key 'timeout'; did you mean 'read_timeout'"):
        client_kwargs_from_connection(_Conn(extra={"timeout": 30}))
    with pytest.raises(QATechValidationError, match="read_timeout: must be a finite number of seconds > 0"):
        client_kwargs_from_connection(_Conn(extra={"read_timeout": -1}))
    assert client_kwargs_from_connection(_Conn(extra={"project_short_id": "proj_a"}), "proj_b")["project_short_id"] == (
        "proj_b"
    )
    with pytest.raises(QATechValidationError, match="projectShortId"):
        client_kwargs_from_connection(_Conn(extra={"projectShortId": "proj_a"}))


def test_test_connection_tells_good_from_bad_token_without_starting_a_run(
    emulator: QATechEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok, message = QATechHook().test_connection()
    assert ok, message
    monkeypatch.setenv("AIRFLOW_CONN_QATECH_BAD", connection_json(emulator.base_url, token="qtk_live_notvalid0000000"))
    ok, message = QATechHook("qatech_bad").test_connection()
    assert not ok and "401" in message
    assert "qtk_live_notvalid0000000" not in message
    assert emulator.project.runs == {} and emulator.requests_to("start_run") == []


def test_test_connection_names_the_form_not_airflows_random_test_id(
    emulator: QATechEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Airflow tests an unsaved form as a connection with a random id, e.g. "KFyq3Lw2": never show that.
    monkeypatch.setenv("AIRFLOW_CONN_KFYQ3LW2", connection_json(emulator.base_url, read_timout=5))
    ok, message = QATechHook("KFYQ3LW2").test_connection()
    assert not ok and "the connection's extra" in message and "read_timeout" in message  # did-you-mean
    assert "KFYQ3LW2" not in message.upper()
    assert emulator.requests == []


def test_uri_connection_from_environment(emulator: QATechEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    from urllib.parse import quote

    uri = f"qatech://:{quote(TOKEN)}@127.0.0.1:{emulator.port}/v1?protocol=http&project_short_id=proj_emulator"
    monkeypatch.setenv("AIRFLOW_CONN_QATECH_URI", uri)
    hook = QATechHook("qatech_uri")
    assert hook.client.base_url == emulator.base_url
    assert hook.client.project_short_id == "proj_emulator"
    assert hook.client.start_run().short_id
    assert TOKEN not in repr(hook.client)


def test_connection_from_the_cli(emulator: QATechEmulator) -> None:
    """Connections added with ``airflow connections add`` work too (stored in the metadata DB)."""
    env_conn = os.environ.pop("AIRFLOW_CONN_QATECH_DEFAULT")
    try:
        _airflow("connections", "add", "qatech_cli", "--conn-type", "qatech", "--conn-host", emulator.base_url,
                 "--conn-password", TOKEN, "--conn-extra", json.dumps({"max_retries": 1}))  # fmt: skip
        listed = _airflow("connections", "get", "qatech_cli", "-o", "json")
        assert "qatech" in listed
        # A task reads it (on Airflow 3 through the execution API): start a run with it.
        with dag_class()(dag_id=new_dag_id("cliconn"), schedule=None, start_date=START) as dag:
            QATechStartRunOperator(task_id="start", qatech_conn_id="qatech_cli")
        assert task_states(run_dag(dag)) == {"start": "success"}
        assert len(emulator.requests_to("start_run")) == 1
    finally:
        os.environ["AIRFLOW_CONN_QATECH_DEFAULT"] = env_conn


def test_importing_the_operator_stays_light() -> None:
    """What a DAG file pays at each parse: no requests, Dagster, emulator, trigger or async HTTP stack."""
    code = (
        "import sys, airflow_provider.operators.qatech, airflow_provider.sensors.qatech; "
        "import json; print('MODULES=' + json.dumps(sorted(sys.modules)))"
    )
    result = run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=120)
    line = next(x for x in result.stdout.splitlines() if x.startswith("MODULES="))
    modules = set(json.loads(line.removeprefix("MODULES=")))
    for heavy in ("requests", "dagster", "qatech_orchestration.emulator", "qatech_orchestration.client",
                  "airflow_provider.triggers.qatech", "aiohttp", "httpx", "asyncio", "openlineage",
                  "airflow.providers.openlineage", "airflow_provider.lineage"):  # fmt: skip
        loaded = heavy in modules
        if heavy in ("httpx", "asyncio", "requests", "airflow.providers.openlineage") and loaded:
            # Airflow itself may load these; what matters is that our modules do not add them.
            baseline = "airflow.sdk" if AIRFLOW_3 else "airflow"
            code = f"import sys, {baseline}; print('LOADED=', {heavy!r} in sys.modules)"
            base = run([sys.executable, "-c", code], check=True, timeout=120)
            assert "LOADED= True" in base.stdout, f"importing the operator loads {heavy}"
        else:
            assert not loaded, f"importing the operator loads {heavy}"
