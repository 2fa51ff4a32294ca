"""Without its extra, importing the Airflow provider or the Dagster integration says what to install.

The extras' distributions are hidden from a subprocess by a meta path finder (tests/blocked_imports.py):
the same ``ModuleNotFoundError`` as a virtual environment without them gives, on every leg, without building
such an environment. (The floors leg, ./scripts/test.sh, installs no Dagster at all: there the Dagster case
runs against a distribution that is really absent too.)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.blocked_imports import ROOT, env_without


def _python(tmp_path: Path, code: str, *blocked: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env_without(tmp_path, *blocked),
        timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("module", "blocked", "extra"),
    [
        ("airflow_provider", "airflow", "airflow"),
        ("airflow_provider.operators.qatech", "airflow", "airflow"),
        ("airflow_provider.triggers.qatech", "airflow", "airflow"),
        ("dagster_resource", "dagster", "dagster"),
        ("dagster_resource.resource", "dagster", "dagster"),
    ],
)
def test_importing_without_the_extra_names_the_install_command(
    module: str, blocked: str, extra: str, tmp_path: Path
) -> None:
    result = _python(
        tmp_path,
        f"""
try:
    import {module}
except ImportError as exc:
    print(type(exc).__name__, "|", exc)
else:
    print("imported")
""",
        blocked,
    )
    assert result.returncode == 0, result.stderr
    kind, _, message = result.stdout.strip().partition(" | ")
    assert kind == "ImportError", result.stdout
    assert f'pip install "qatech-orchestration[{extra}]"' in message
    assert f"No module named '{blocked}'" in message  # and why


def test_the_core_and_its_command_line_need_neither_extra(tmp_path: Path) -> None:
    result = _python(
        tmp_path,
        """
from qatech_orchestration import QATechClient
from qatech_orchestration.cli import main
from qatech_orchestration.emulator import QATechEmulator
import os
with QATechEmulator(token="qtk-extras-123456") as emu:
    os.environ.update(QATECH_API_TOKEN="qtk-extras-123456", QATECH_BASE_URL=emu.base_url)
    code = main(["start", "--wait", "--poll-interval", "0.01"])
    print("exit", code, "runs", len(emu.project.runs))
""",
        "airflow",
        "dagster",
        "aiohttp",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "exit 0 runs 1"
