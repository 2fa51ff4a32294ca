"""The main job, against the bundled QA.tech emulator (no QA.tech account needed):

1. the command line starts a run, waits for it, and prints its short ID, URL and result;
2. Airflow (`airflow dags test`) runs example_dags/qatech_post_etl.py: ETL -> QA.tech run -> sensor ->
   publish, and prints the short ID the publish task received through XCom;
3. Dagster materializes example_dags/dagster_defs.py: the blocking QA.tech check on dashboard_data
   gates published_dashboard; it prints the check's result and run URL.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from qatech_orchestration.emulator import QATechEmulator

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TOKEN = "qatech-demo-token-0123456789"


def _env(emulator: QATechEmulator, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "QATECH_API_TOKEN": TOKEN,
        "QATECH_BASE_URL": emulator.base_url,
        "QATECH_EXAMPLE_POLL_INTERVAL": "0.5",
        **extra,
    }


def cli_demo(emulator: QATechEmulator) -> None:
    print("\n== 1. Command line: start a run, wait for it ==", flush=True)
    result = subprocess.run(
        [str(BIN / "qatech-orchestration"), "--json", "start", "--test-plan", "pln_nightly-smoke_a1B2c3",
         "--application", "app_gXeBl2=https://pr-123.example.app", "--wait", "--poll-interval", "0.5"],
        env=_env(emulator), capture_output=True, text=True, check=False,
    )  # fmt: skip
    doc = json.loads(result.stdout)
    print(f"run short ID: {doc['run']['short_id']}")
    print(f"run URL:      {doc['run']['url']}")
    print(f"result:       {doc['status']['status']}/{doc['status']['result']} (exit code {result.returncode})")
    if result.returncode != 0:
        raise SystemExit(f"the command line run did not pass: {doc.get('message')}")


def airflow_demo(emulator: QATechEmulator) -> None:
    print("\n== 2. Airflow: `airflow dags test qatech_post_etl` (example_dags/qatech_post_etl.py) ==", flush=True)
    home = tempfile.mkdtemp(prefix="qatech-demo-airflow-")
    env = _env(
        emulator,
        AIRFLOW_HOME=home,
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "example_dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW_CONN_QATECH_DEFAULT=json.dumps({"conn_type": "qatech", "password": TOKEN, "host": emulator.base_url}),
    )
    airflow = str(BIN / "airflow")
    subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True, check=True)
    result = subprocess.run(
        [airflow, "dags", "test", "qatech_post_etl"], env=env, capture_output=True, text=True, check=False
    )
    output = result.stdout + result.stderr
    published = re.search(r"Publishing: QA\.tech run (\S+) passed", output)
    (first,) = [r for r in emulator.project.runs.values() if r.request_body.get("testPlanShortId", "").startswith(
        "pln_dashboard-checks")]  # fmt: skip
    if result.returncode != 0 or not published:
        print(output[-4000:])
        raise SystemExit("the Airflow example did not succeed")
    print(f"start_qa started run:        {first.short_id} ({first.url})")
    print(f"preview URL sent to QA.tech: {first.request_body['applications'][0]['environment']['url']}")
    print(f"publish received via XCom:   {published.group(1)}")


def dagster_demo(emulator: QATechEmulator) -> None:
    print("\n== 3. Dagster: materialize example_dags/dagster_defs.py (blocking QA.tech check) ==", flush=True)
    code = (
        "import importlib.util, json, sys\n"
        "spec = importlib.util.spec_from_file_location('dagster_defs', sys.argv[1])\n"
        "mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)\n"
        "job = mod.defs.resolve_implicit_global_asset_job_def()\n"
        "result = job.execute_in_process(raise_on_error=False)\n"
        "(ev,) = result.get_asset_check_evaluations()\n"
        "print('RESULT=' + json.dumps({'passed': ev.passed, 'check': ev.check_name,"
        " 'url': ev.metadata['run_url'].value, 'short_id': ev.metadata['run_short_id'].value,"
        " 'materialized': sorted(m.asset_key.to_user_string() for m in result.get_asset_materialization_events())}))\n"
    )
    env = _env(emulator, DAGSTER_HOME=tempfile.mkdtemp(prefix="qatech-demo-dagster-"))
    result = subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "example_dags" / "dagster_defs.py")],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    line = next((x for x in result.stdout.splitlines() if x.startswith("RESULT=")), None)
    if result.returncode != 0 or line is None:
        print((result.stdout + result.stderr)[-4000:])
        raise SystemExit("the Dagster example did not run")
    doc = json.loads(line.removeprefix("RESULT="))
    print(f"check {doc['check']} on dashboard_data: {'PASSED' if doc['passed'] else 'FAILED'}")
    print(f"run short ID: {doc['short_id']}")
    print(f"run URL:      {doc['url']}")
    print(f"materialized: {', '.join(doc['materialized'])}")
    if not doc["passed"]:
        raise SystemExit("the Dagster check did not pass")


def main() -> None:
    with QATechEmulator(token=TOKEN, polls_to_finish=2) as emulator:
        print(f"QA.tech emulator on {emulator.base_url} (no account needed)")
        cli_demo(emulator)
        airflow_demo(emulator)
        dagster_demo(emulator)
    print("\nDemo finished: command line, Airflow and Dagster all ran against the emulator.")


if __name__ == "__main__":
    main()
