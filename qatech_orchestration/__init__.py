"""qatech-orchestration: start, watch and gate on QA.tech test runs.

The core knows nothing of Airflow or Dagster. ``QATechClient`` (which imports ``requests``) and the
emulator are loaded on first use, so that importing the request builder or the models stays cheap for
DAG files that Airflow parses again and again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qatech_orchestration._version import __version__
from qatech_orchestration.defaults import DEFAULT_BASE_URL
from qatech_orchestration.errors import (
    QATechAuthError,
    QATechBadResponseError,
    QATechConnectionError,
    QATechError,
    QATechNotFoundError,
    QATechPermissionError,
    QATechQuotaError,
    QATechRateLimitError,
    QATechRunFailed,
    QATechServerError,
    QATechTLSError,
    QATechValidationError,
    QATechWaitTimeout,
)
from qatech_orchestration.models import (
    ApplicationOverride,
    ExistingEnvironment,
    PreviewEnvironment,
    RunStatus,
    SlackNotification,
    StartedRun,
    TestCaseResult,
    TestPlan,
)
from qatech_orchestration.outcome import RunOutcome, judge_run, raise_for_outcome, run_summary
from qatech_orchestration.request_builder import START_RUN_FIELDS, build_rerun_body, build_start_run_body
from qatech_orchestration.request_model import RERUN_FAILED_ONLY_DEFAULT, StartRunFields
from qatech_orchestration.settings import HttpSettings

if TYPE_CHECKING:
    from qatech_orchestration.async_client import AsyncQATechClient
    from qatech_orchestration.client import QATechClient
    from qatech_orchestration.emulator import QATechEmulator

_LAZY = {
    "AsyncQATechClient": "qatech_orchestration.async_client",
    "QATechClient": "qatech_orchestration.client",
    "QATechEmulator": "qatech_orchestration.emulator",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'qatech_orchestration' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "DEFAULT_BASE_URL",
    "RERUN_FAILED_ONLY_DEFAULT",
    "START_RUN_FIELDS",
    "ApplicationOverride",
    "AsyncQATechClient",
    "ExistingEnvironment",
    "HttpSettings",
    "PreviewEnvironment",
    "QATechAuthError",
    "QATechBadResponseError",
    "QATechClient",
    "QATechConnectionError",
    "QATechEmulator",
    "QATechError",
    "QATechNotFoundError",
    "QATechPermissionError",
    "QATechQuotaError",
    "QATechRateLimitError",
    "QATechRunFailed",
    "QATechServerError",
    "QATechTLSError",
    "QATechValidationError",
    "QATechWaitTimeout",
    "RunOutcome",
    "RunStatus",
    "SlackNotification",
    "StartRunFields",
    "StartedRun",
    "TestCaseResult",
    "TestPlan",
    "__version__",
    "build_rerun_body",
    "build_start_run_body",
    "judge_run",
    "raise_for_outcome",
    "run_summary",
]
