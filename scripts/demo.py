"""The main job: against the bundled QA.tech emulator, start a run with the command line, wait for it,
and print its short ID, URL and result. No QA.tech account is needed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from qatech_orchestration.emulator import QATechEmulator

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "qatech-demo-token-0123456789"


def cli_demo(emulator: QATechEmulator) -> None:
    print("== 1. Command line: start a run, wait for it ==", flush=True)
    cli = Path(sys.executable).with_name("qatech-orchestration")
    env = {**os.environ, "QATECH_API_TOKEN": TOKEN, "QATECH_BASE_URL": emulator.base_url}
    result = subprocess.run(
        [str(cli), "--json", "start", "--test-plan", "pln_nightly-smoke_a1B2c3",
         "--application", "app_gXeBl2=https://pr-123.example.app", "--wait", "--poll-interval", "0.2"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    doc = json.loads(result.stdout)
    print(f"run short ID: {doc['run']['short_id']}")
    print(f"run URL:      {doc['run']['url']}")
    print(f"result:       {doc['status']['status']}/{doc['status']['result']} (exit code {result.returncode})")
    if result.returncode != 0:
        raise SystemExit(f"the command line run did not pass: {doc.get('message')}")


def main() -> None:
    with QATechEmulator(token=TOKEN, polls_to_finish=2) as emulator:
        print(f"QA.tech emulator on {emulator.base_url}")
        cli_demo(emulator)
    print("Demo finished.")


if __name__ == "__main__":
    main()
