"""What the ``[airflow]`` extra brings, and the check that a deferred wait can run before a run is started.

A deferred wait reads in the triggerer with aiohttp. Whether aiohttp is importable *in the triggerer* is not
knowable from a worker: the worker checks its own environment, which is the same image in most deployments,
and the docs say that the triggerer needs the extra too. The trigger, should it still lack aiohttp, ends with
an error event that names the extra (a deferred task then fails with that message).
"""

from __future__ import annotations

import importlib.util

#: What installs the provider's dependencies (Airflow and aiohttp).
AIRFLOW_EXTRA_INSTALL = 'pip install "qatech-orchestration[airflow]"'


def missing_async_transport() -> str | None:
    """Why a deferrable wait cannot run in this environment (aiohttp is not importable), or ``None``."""
    try:
        found = importlib.util.find_spec("aiohttp") is not None
    except (ImportError, ValueError):  # a parent package broken, or sys.modules["aiohttp"] set to None
        found = False
    if found:
        return None
    return (
        "deferrable=True waits in the triggerer with aiohttp, which is not installed: "
        f"{AIRFLOW_EXTRA_INSTALL} where the workers and the triggerer run, or set deferrable=False"
    )


def fail_unless_deferrable_here() -> None:
    """Fail the task (no retry: another try would find the same environment) when it could not wait deferred."""
    problem = missing_async_transport()
    if problem is not None:
        from airflow_provider.version_compat import AirflowFailException

        raise AirflowFailException(problem)


__all__ = ["AIRFLOW_EXTRA_INSTALL", "fail_unless_deferrable_here", "missing_async_transport"]
