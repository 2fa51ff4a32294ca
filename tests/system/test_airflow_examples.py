"""System test: the example DAGs on a real Airflow 3.3 deployment, as a user runs them (#12).

Each example DAG is triggered over REST with no logical date (what the UI's trigger button does on Airflow 3),
its waits go deferred and finish in the separate triggerer process, and what the user then reads comes from
the REST API: XComs, the "QA.tech run" links, a failed wait's message in the task log. The token, saved
through the connections API as the UI's form saves it, must be in no log file and nowhere in the database.
``qatech_publish_on_pass`` is scheduled on the asset ``qatech_post_etl`` updates when its QA passes (#23): the
scheduler runs it after each pass, never after a failure.
Run alone: ``./scripts/test.sh tests/system``.
"""

from __future__ import annotations

from typing import Any

import pytest

from qatech_orchestration.emulator import QATechEmulator
from tests.conftest import TOKEN

pytestmark = [pytest.mark.system, pytest.mark.timeout(900)]

airflow_version = pytest.importorskip("airflow").__version__
if tuple(int(p) for p in airflow_version.split(".")[:2]) < (3, 3):
    pytest.skip("the system test runs the Airflow 3.3 components", allow_module_level=True)

from tests.system.airflow_deployment import Deployment  # noqa: E402

CI_CONF = {
    "branch": "feature/totals",
    "commit_hash": "9fceb02",
    "commit_message": "Fix the totals",
    "repository": "acme/dashboards",
    "actor": "octocat",
    "preview_url": "https://pr-482.dashboards.example.com",
}
RUN_LINK = "QA.tech run"
PUBLISH = "qatech_publish_on_pass"
DASHBOARD_QA = "qatech://proj_acme-analytics_9xW2/pln_dashboard-checks_7fQ2"


class ExampleRuns:
    """The three example DAGs, triggered at once; then ``qatech_post_etl`` again with its first QA run failing."""

    def __init__(self, airflow: Deployment, emulator: QATechEmulator) -> None:
        first = len(emulator.requests_to("start_run"))
        airflow.unpause(PUBLISH)  # before any QA pass: the scheduler runs it on each pass from now on
        self.run_ids = {
            "qatech_nightly": airflow.trigger("qatech_nightly"),
            "qatech_ci_triggered": airflow.trigger("qatech_ci_triggered", CI_CONF),
            "qatech_post_etl": airflow.trigger("qatech_post_etl"),
        }
        self.seen: dict[str, set[str]] = {}
        self.states = airflow.wait_for_runs(self.run_ids, timeout=300, seen=self.seen)
        # Unpausing the scheduled examples also started the run of their latest interval: wait for those too.
        self.all_runs = {dag_id: airflow.finished_runs(dag_id, timeout=300) for dag_id in self.run_ids}
        self.starts = emulator.requests_to("start_run")[first:]
        # The deflaking path: the first run fails one test case, the rerun of the failed cases passes.
        emulator.script_outcome("FAILED", failing={"Export report as CSV": "Timed out waiting for download"})
        self.flaky_run_id = airflow.trigger("qatech_post_etl")
        self.flaky_state = airflow.wait_for_run("qatech_post_etl", self.flaky_run_id, timeout=300)
        self.flaky_starts = emulator.requests_to("start_run")[first + len(self.starts) :]
        self.reruns = emulator.requests_to("rerun")


@pytest.fixture(scope="module")
def runs(airflow: Deployment, system_emulator: QATechEmulator) -> ExampleRuns:
    return ExampleRuns(airflow, system_emulator)


def _links(airflow: Deployment, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
    answer = airflow.get(f"{airflow.run_path(dag_id, run_id, task_id)}/links")
    return dict(answer["extra_links"])


def _environment_name(body: dict[str, Any]) -> str | None:
    applications = body.get("applications") or [{}]
    return applications[0].get("environment", {}).get("name")


def test_every_example_dag_succeeds_when_triggered_with_no_logical_date(airflow: Deployment, runs: ExampleRuns) -> None:
    assert runs.states == dict.fromkeys(runs.run_ids, "success"), runs.seen
    for dag_id, run_id in runs.run_ids.items():
        assert airflow.get(airflow.run_path(dag_id, run_id))["logical_date"] is None
    assert airflow.task_states("qatech_post_etl", runs.run_ids["qatech_post_etl"]) == {
        "refresh_dashboard_data": "success",
        "start_qa": "success",
        "wait_for_qa": "success",
        "rerun_failed_once": "skipped",
        "publish": "success",
        "report_qa_results": "success",
    }
    every_run = [run for runs_of_dag in runs.all_runs.values() for run in runs_of_dag.values()]
    assert {run["run_type"] for run in every_run} <= {"manual", "scheduled"}
    assert all(run["state"] == "success" for run in every_run), every_run
    assert len(runs.starts) == len(every_run)  # one QA.tech run per DAG run: no duplicate


def test_the_waits_went_deferred_and_finished_in_the_triggerer(airflow: Deployment, runs: ExampleRuns) -> None:
    assert "deferred" in runs.seen["nightly_regression"] and "deferred" in runs.seen["wait_for_qa"], runs.seen
    nightly = runs.run_ids["qatech_nightly"]
    log = airflow.task_log("qatech_nightly", nightly, "nightly_regression")
    short_id = airflow.xcom("qatech_nightly", nightly, "nightly_regression")
    url = airflow.xcom("qatech_nightly", nightly, "nightly_regression", "run_url")
    # The verdict, logged when the task resumed from the trigger's event.
    assert f"QA.tech run {short_id} COMPLETED/PASSED ({url}): passed" in log, log[-2000:]
    # The triggerer process wrote the trigger's own log beside the task's: our trigger polled, then fired.
    (trigger_log,) = [
        text
        for name, text in airflow.logs().items()
        if f"run_id={nightly}/task_id=nightly_regression/" in name and ".log.trigger." in name
    ]
    assert "airflow_provider.triggers.qatech.QATechRunTrigger" in trigger_log and "Trigger fired event" in trigger_log


def test_xcoms_and_run_links_read_over_rest(airflow: Deployment, runs: ExampleRuns) -> None:
    run_id = runs.run_ids["qatech_post_etl"]
    short_id = airflow.xcom("qatech_post_etl", run_id, "start_qa")
    # The templates rendered without ds: the environment is named after the run ID.
    (start,) = [s for s in runs.starts if _environment_name(s.body) == f"ETL {run_id}"]
    url = airflow.xcom("qatech_post_etl", run_id, "start_qa", "run_url")
    assert isinstance(short_id, str) and short_id.startswith("r") and url.endswith(f"/runs/{short_id}")
    assert start.body["testPlanShortId"] == "pln_dashboard-checks_7fQ2"
    assert airflow.xcom("qatech_post_etl", run_id, "wait_for_qa", "run_status") == "COMPLETED"
    assert airflow.xcom("qatech_post_etl", run_id, "wait_for_qa", "run_result") == "PASSED"
    assert _links(airflow, "qatech_post_etl", run_id, "start_qa") == {RUN_LINK: url}
    assert _links(airflow, "qatech_post_etl", run_id, "wait_for_qa") == {RUN_LINK: url}
    nightly = runs.run_ids["qatech_nightly"]
    nightly_id = airflow.xcom("qatech_nightly", nightly, "nightly_regression")
    assert _links(airflow, "qatech_nightly", nightly, "nightly_regression")[RUN_LINK].endswith(f"/runs/{nightly_id}")
    # dag_run.conf reached the request: QA.tech shows the branch and commit.
    (ci,) = [s for s in runs.starts if s.body.get("trigger") == "GITHUB"]
    assert {k: ci.body[k] for k in ("branch", "commitHash", "actor")} == {
        "branch": "feature/totals",
        "commitHash": "9fceb02",
        "actor": "octocat",
    }
    assert ci.body["applications"][0]["environment"]["url"] == CI_CONF["preview_url"]


def test_a_failed_run_says_why_with_its_url_and_the_rerun_deflakes(airflow: Deployment, runs: ExampleRuns) -> None:
    run_id = runs.flaky_run_id
    assert runs.flaky_state == "success"
    states = airflow.task_states("qatech_post_etl", run_id)
    assert states["wait_for_qa"] == "failed" and states["rerun_failed_once"] == "success"
    assert states["publish"] == "success"
    assert len(runs.flaky_starts) == 1 and len(runs.reruns) == 1
    short_id = airflow.xcom("qatech_post_etl", run_id, "start_qa")
    url = airflow.xcom("qatech_post_etl", run_id, "start_qa", "run_url")
    assert runs.reruns[0].path.endswith(f"/run/{short_id}") and runs.reruns[0].body.get("failedOnly") is True
    log = airflow.task_log("qatech_post_etl", run_id, "wait_for_qa")
    assert f"QA.tech run {short_id} COMPLETED/FAILED ({url}): did not pass" in log, log[-3000:]
    assert "Export report as CSV" in log and "Timed out waiting for download" in log
    publish = airflow.task_log("qatech_post_etl", run_id, "publish")
    assert f"passed (first run {short_id})" in publish


def test_the_connection_form_and_its_test_over_rest(airflow: Deployment, system_emulator: QATechEmulator) -> None:
    answer = airflow.http.get(f"http://127.0.0.1:{airflow.port}/ui/connections/hook_meta", timeout=30)
    answer.raise_for_status()
    (meta,) = [m for m in answer.json() if m["connection_type"] == "qatech"]
    assert meta["hook_name"] == "QA.tech", meta
    fields = meta["standard_fields"]
    assert fields["password"]["title"] == "API token" and fields["host"]["title"] == "Base URL", fields
    assert fields["host"]["placeholder"] == "https://api.qa.tech/v1" and not fields["password"]["hidden"]
    assert fields["login"]["hidden"] and fields["port"]["hidden"], fields
    extras = meta["extra_fields"]
    assert extras["project_short_id"]["schema"]["title"] == "Project short ID", extras
    assert extras["max_retries"]["schema"]["type"] == ["integer", "null"] and extras["max_retries"]["value"] == 4

    form = {"connection_id": "qatech_form", "conn_type": "qatech", "host": system_emulator.base_url}
    tested = airflow.http.post(f"{airflow.api}/connections/test", json={**form, "password": TOKEN}, timeout=60)
    assert tested.ok and tested.json()["status"] is True, tested.text
    wrong = airflow.http.post(f"{airflow.api}/connections/test", json={**form, "password": "wrong"}, timeout=60)
    assert wrong.ok and wrong.json()["status"] is False and "401" in wrong.json()["message"], wrong.text
    stored = airflow.get("/connections/qatech_default")
    assert stored["host"] == system_emulator.base_url and stored["password"] != TOKEN


def test_the_token_is_in_no_log_and_nowhere_in_the_database(airflow: Deployment, runs: ExampleRuns) -> None:
    logs = airflow.logs()
    task_logs = [name for name in logs if name.startswith("logs/dag_id=qatech_post_etl")]
    assert task_logs, sorted(logs)  # the search below covers the task logs, not only the components'
    assert [name for name, text in logs.items() if TOKEN in text] == []
    database = b"".join(p.read_bytes() for p in airflow.home.glob("airflow.db*"))
    # The search can find what is there: the run URLs and rendered templates are stored in plain text.
    assert runs.flaky_run_id.encode() in database and b"pln_dashboard-checks_7fQ2" in database
    assert TOKEN.encode() not in database


def _events(airflow: Deployment) -> list[dict[str, Any]]:
    """Every event of the dashboard's QA asset, oldest first."""
    (asset,) = airflow.get("/assets", uri_pattern="qatech://")["assets"]
    assert asset["uri"] == DASHBOARD_QA, asset
    return list(airflow.get("/assets/events", asset_id=asset["id"], order_by="timestamp", limit=100)["asset_events"])


def _consumed(airflow: Deployment, run_id: str) -> list[dict[str, Any]]:
    return list(airflow.get(f"{airflow.run_path(PUBLISH, run_id)}/upstreamAssetEvents")["asset_events"])


def test_each_qa_pass_triggers_the_publish_dag_and_a_failure_does_not(
    airflow: Deployment, runs: ExampleRuns, system_emulator: QATechEmulator
) -> None:
    # So far: passes in the manual and the scheduled post_etl runs (wait_for_qa), and in the flaky run (its rerun).
    published = airflow.finished_runs(PUBLISH, timeout=300)
    events = _events(airflow)
    assert {(e["source_dag_id"], e["source_task_id"]) for e in events} == {
        ("qatech_post_etl", "wait_for_qa"),
        ("qatech_post_etl", "rerun_failed_once"),
    }, events
    flaky = [e for e in events if e["source_run_id"] == runs.flaky_run_id]
    (rerun_event,) = flaky  # the failed wait_for_qa of that run updated nothing; its rerun's pass did
    assert rerun_event["source_task_id"] == "rerun_failed_once" and rerun_event["extra"]["result"] == "PASSED"
    assert rerun_event["extra"]["run_short_id"] == airflow.xcom(
        "qatech_post_etl", runs.flaky_run_id, "rerun_failed_once"
    )
    assert published and all(r["state"] == "success" and r["run_type"] == "asset_triggered" for r in published.values())
    # Every pass was consumed by a publish run (several passes before a run starts: one run, all of them).
    consumed = {e["id"] for run_id in published for e in _consumed(airflow, run_id)}
    assert consumed == {e["id"] for e in events}

    # A QA failure (the run and its rerun of the failed test case): no event, so nothing to publish.
    system_emulator.script_outcome(
        "FAILED", failing={"Export report as CSV": "Export button returned HTTP 500"}, times=2
    )
    failing = airflow.trigger("qatech_post_etl")
    assert airflow.wait_for_run("qatech_post_etl", failing, timeout=300) == "failed"
    states = airflow.task_states("qatech_post_etl", failing)
    assert states["wait_for_qa"] == states["rerun_failed_once"] == "failed" and states["publish"] == "upstream_failed"
    assert len(_events(airflow)) == len(events)

    # The next pass publishes once, with that pass's run alone: the failure queued nothing.
    passing = airflow.trigger("qatech_post_etl")
    assert airflow.wait_for_run("qatech_post_etl", passing, timeout=300) == "success"
    short_id = airflow.xcom("qatech_post_etl", passing, "start_qa")

    def new_publish_run() -> dict[str, dict[str, Any]] | None:
        finished = airflow.finished_runs(PUBLISH, timeout=60)
        return {k: v for k, v in finished.items() if k not in published} or None

    (publish_run,) = airflow.wait_for("the publish DAG's run after the pass", new_publish_run, 180)
    assert airflow.get(airflow.run_path(PUBLISH, publish_run))["state"] == "success"
    (event,) = _consumed(airflow, publish_run)
    assert event["source_run_id"] == passing and event["extra"]["run_short_id"] == short_id
    url = airflow.xcom("qatech_post_etl", passing, "start_qa", "run_url")
    assert event["extra"] == {**event["extra"], "status": "COMPLETED", "result": "PASSED", "ok": True, "run_url": url}
    log = airflow.task_log(PUBLISH, publish_run, "publish_verified_release")
    assert f"Publishing the dashboard verified by QA.tech run {short_id} (" in log and url in log, log[-2000:]
    assert airflow.xcom(PUBLISH, publish_run, "publish_verified_release") == short_id
    started = airflow.get(airflow.run_path(PUBLISH, publish_run))["start_date"]
    print(f"QA pass event {event['timestamp']} -> publish run started {started}; {len(published)} earlier run(s)")
