"""OpenLineage events of QA tasks (#23), as ``apache-airflow-providers-openlineage`` emits them.

``airflow dags test`` runs a DAG in a process of its own with the provider's file transport configured (as
users configure a transport: ``[openlineage] transport``), against the emulator. Each task's COMPLETE or FAIL
event is read back from the file and validated against the OpenLineage JSON schema (``tests/fixtures/
openlineage``: the spec's ``OpenLineage.json`` and facet schemas, and this package's ``QATechRunFacet.json``):
the event as a ``RunEvent``, and each facet against the schema its ``_schemaURL`` names.

Runs where the provider is installed (the newest and oldest legs: Airflow 3.3 and 2.11); where it is not,
importing the operators must not import any of it (tests/airflow/test_provider.py measures that on every leg).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("airflow.providers.openlineage", reason="apache-airflow-providers-openlineage is not installed")

from qatech_orchestration.testing import QATechMock
from tests.airflow.conftest import AIRFLOW_3, connection_json
from tests.conftest import TOKEN

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "tests" / "fixtures" / "openlineage"
RUN_FACET_SCHEMA = ROOT / "airflow_provider" / "facets" / "QATechRunFacet.json"
DAG_ID = "qatech_lineage"
APP = "qatech://proj_tests/app_dashboard_1"

DAG_FILE = f"""
import pendulum
from airflow_provider.operators.qatech import QATechStartRunOperator
from airflow_provider.sensors.qatech import QATechRunSensor
from airflow_provider.version_compat import asset_class

Asset = asset_class()
try:
    from airflow.sdk import DAG
except ImportError:
    from airflow import DAG

with DAG({DAG_ID!r}, schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
    QATechStartRunOperator(
        task_id="qa_pass", test_plan_short_id="pln_pass_1", wait_for_completion=True, poll_interval=0.05,
        inlets=[Asset({APP!r})], outlets=[Asset("qatech://proj_tests/pln_pass_1")],
    )
    QATechStartRunOperator(
        task_id="qa_fail", test_plan_short_id="pln_fail_1", wait_for_completion=True, poll_interval=0.05,
        inlets=[Asset({APP!r})], retries=0,
    )
    start = QATechStartRunOperator(task_id="start", test_plan_short_id="pln_deferred_1")
    start >> QATechRunSensor(
        task_id="wait_deferred", run_short_id="{{{{ ti.xcom_pull(task_ids='start') }}}}", deferrable=True,
        poke_interval=0.05, inlets=[Asset("https://dashboards.example.com/sales")],
    )
    QATechStartRunOperator(task_id="qa_no_inlets", test_plan_short_id="pln_pass_1", wait_for_completion=True,
                           poll_interval=0.05)
"""


def registry() -> Any:
    """The OpenLineage spec and facet schemas, and this package's run facet schema, by their ``$id``."""
    from referencing import Registry, Resource

    files = [SPEC / "OpenLineage.json", *sorted((SPEC / "facets").glob("*.json")), RUN_FACET_SCHEMA]
    resources = [Resource.from_contents(json.loads(path.read_text())) for path in files]
    return Registry().with_resources((resource.id(), resource) for resource in resources)


def validate(event: dict[str, Any]) -> list[str]:
    """Validate the event as a RunEvent, and every facet in it against the schema its ``_schemaURL`` names;
    returns the facet schema URLs validated (an unknown one fails)."""
    from jsonschema import Draft202012Validator

    schemas = registry()

    def check(instance: Any, ref: str) -> None:
        Draft202012Validator({"$ref": ref}, registry=schemas).validate(instance)

    check(event, "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent")
    facets = [*event["run"].get("facets", {}).values(), *event["job"].get("facets", {}).values()]
    for dataset in [*event.get("inputs", []), *event.get("outputs", [])]:
        for key in ("facets", "inputFacets", "outputFacets"):
            facets += dataset.get(key, {}).values()
    validated = []
    for facet in facets:
        url = facet["_schemaURL"]
        check(facet, url)
        validated.append(url)
    return validated


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Run the DAG once with the file transport; each task's last event (COMPLETE or FAIL), by task id."""
    from qatech_orchestration.emulator import QATechEmulator

    tmp = tmp_path_factory.mktemp("lineage")
    dags, events_file = tmp / "dags", tmp / "openlineage.jsonl"
    dags.mkdir()
    (dags / "lineage_dag.py").write_text(DAG_FILE)
    with QATechEmulator(token=TOKEN, polls_to_finish=1) as emulator:
        mock = QATechMock(emulator)
        mock.script("FAILED", failing={"Checkout": "Pay button missing"}, test_plan_short_id="pln_fail_1")
        env = {
            **os.environ,
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW_CONN_QATECH_DEFAULT": connection_json(emulator.base_url),
            "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
                {"type": "file", "log_file_path": str(events_file), "append": True}
            ),
            "AIRFLOW__OPENLINEAGE__NAMESPACE": "qatech-tests",
            "AIRFLOW__OPENLINEAGE__DISABLED": "False",
        }
        args = [str(Path(sys.executable).with_name("airflow")), "dags", "test", DAG_ID]
        if not AIRFLOW_3:
            args.append("2026-01-02")
        result = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600, cwd=tmp)
        output = (result.stdout + result.stderr).replace(TOKEN, "***")
        assert events_file.exists(), f"no OpenLineage event written; airflow dags test said:\n{output[-4000:]}"
        starts = len(mock.starts)
    assert starts == 4, f"{starts} QA.tech runs started, 4 expected (one per start task)\n{output[-3000:]}"
    found: dict[str, dict[str, Any]] = {}
    for line in events_file.read_text().splitlines():
        event = json.loads(line)
        job = event["job"]["name"]
        if job.startswith(f"{DAG_ID}.") and event["eventType"] in ("COMPLETE", "FAIL"):
            found[job.removeprefix(f"{DAG_ID}.")] = event
    assert TOKEN not in events_file.read_text()
    return found


def _run_facet(event: dict[str, Any]) -> dict[str, Any]:
    facet = dict(event["run"]["facets"]["qatech_run"])
    assert facet.pop("_schemaURL").endswith("QATechRunFacet.json#/$defs/QATechRunFacet")
    facet.pop("_producer")
    return facet


def test_a_passing_task_emits_complete_with_the_run_and_one_assertion_per_test_case(
    events: dict[str, dict[str, Any]],
) -> None:
    event = events["qa_pass"]
    assert event["eventType"] == "COMPLETE"
    validated = validate(event)
    facet = _run_facet(event)
    assert facet == {
        **facet, "status": "COMPLETED", "result": "PASSED", "ok": True, "test_cases_failed": 0,
        "test_plan_short_id": "pln_pass_1",
    }  # fmt: skip
    assert facet["run_url"].endswith(f"/runs/{facet['run_short_id']}")
    (app,) = event["inputs"]
    assert (app["namespace"], app["name"]) == ("qatech://proj_tests", "app_dashboard_1")
    assertions = app["inputFacets"]["dataQualityAssertions"]["assertions"]
    assert len(assertions) == facet["test_cases_total"] == facet["test_cases_passed"] >= 1
    assert all(a["success"] is True and a["expected"] == a["actual"] == "PASSED" for a in assertions)
    assert len({a["assertion"] for a in assertions}) == len(assertions)  # named after each test case
    assert [(o["namespace"], o["name"]) for o in event["outputs"]] == [("qatech://proj_tests", "pln_pass_1")]
    assert any(url.endswith("QATechRunFacet.json#/$defs/QATechRunFacet") for url in validated)
    assert any("DataQualityAssertionsDatasetFacet.json" in url for url in validated)


def test_a_failing_task_emits_fail_with_the_failed_assertion(events: dict[str, dict[str, Any]]) -> None:
    event = events["qa_fail"]
    assert event["eventType"] == "FAIL"
    validate(event)
    facet = _run_facet(event)
    assert (facet["result"], facet["ok"], facet["test_cases_failed"]) == ("FAILED", False, 1)
    (app,) = event["inputs"]
    assertions = {a["assertion"]: a for a in app["inputFacets"]["dataQualityAssertions"]["assertions"]}
    assert len(assertions) == facet["test_cases_total"]
    failed = assertions.pop("Checkout")
    assert failed == {**failed, "success": False, "actual": "FAILED", "description": "Pay button missing"}
    assert all(a["success"] for a in assertions.values())


def test_a_deferred_wait_lists_every_test_case_and_maps_any_uri_inlet(events: dict[str, dict[str, Any]]) -> None:
    """The trigger's event lists only the test cases that did not pass: the facets read the run once more."""
    event = events["wait_deferred"]
    assert event["eventType"] == "COMPLETE"
    validate(event)
    facet = _run_facet(event)
    (app,) = event["inputs"]
    assert (app["namespace"], app["name"]) == ("https://dashboards.example.com", "sales")
    assertions = app["inputFacets"]["dataQualityAssertions"]["assertions"]
    assert len(assertions) == facet["test_cases_total"] >= 1 and all(a["success"] for a in assertions)


def test_without_inlets_the_event_has_the_run_facet_only(events: dict[str, dict[str, Any]]) -> None:
    event = events["qa_no_inlets"]
    validate(event)
    assert _run_facet(event)["ok"] is True
    assert event.get("inputs", []) == []


def test_a_task_that_only_starts_a_run_names_it(events: dict[str, dict[str, Any]]) -> None:
    """Not judged, no verdict: the run facet names the run (no ``ok``) and there are no assertions."""
    event = events["start"]
    validate(event)
    assert set(_run_facet(event)) == {"run_short_id", "run_url"}
    assert event.get("inputs", []) == []
