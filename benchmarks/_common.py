"""Shared helpers: an emulator in its own process (so it does not share the GIL with what is measured)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests

TOKEN = "qatech-bench-token-0123456789"


@contextmanager
def emulator_process(polls_to_finish: int = 2, latency: float = 0.0) -> Iterator[str]:
    """Start ``python -m qatech_orchestration.emulator`` on a free port; yield its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "qatech_orchestration.emulator", "--port", "0", "--token", TOKEN,
         "--polls-to-finish", str(polls_to_finish), "--latency", str(latency)],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first: list[str] = []  # read on a thread: a readline() on an emulator that hangs would block forever
        reader = threading.Thread(target=lambda: first.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(60)
        if not first or "serving " not in first[0]:
            raise RuntimeError(f"the emulator did not start within 60 s: {first}")
        yield first[0].split("serving ", 1)[1].split()[0]
    finally:
        proc.terminate()  # SIGTERM: the emulator stops cleanly; killed if it has not after a bounded wait
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


def seed_runs(base_url: str, count: int) -> list[str]:
    """Create ``count`` runs at once through the emulator's own endpoint (no API latency)."""
    answer = requests.post(base_url.replace("/v1", "/_emulator/seed"), params={"count": count}, timeout=300)
    return list(answer.json()["short_ids"])


def stats(base_url: str) -> dict[str, Any]:
    return dict(requests.get(base_url.replace("/v1", "/_emulator/stats"), timeout=30).json())


def airflow_env() -> dict[str, str]:
    home = tempfile.mkdtemp(prefix="qatech-bench-airflow-")
    return {**os.environ, "AIRFLOW_HOME": home, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}


def median(values: list[float]) -> float:
    return statistics.median(values)
