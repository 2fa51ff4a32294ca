"""The run a task's earlier try started, kept in Airflow 3.3's task state store ("durable execution").

Why not ``airflow.sdk.ResumableJobMixin``: its flow submits, then blocks in ``poll_until_complete``; our
operators also wait deferred (the wait goes on in the triggerer and finishes in ``execute_complete``),
rerun only the failed test cases of a failed earlier run (``retry_from_failure``, which needs that run in
the submit step), and clear the stored run when the task succeeds, so that a user who clears a successful
task gets a new QA.tech run rather than the old result. The store itself, through ``version_compat``,
expresses all of that; the decision is the core's :func:`qatech_orchestration.durable.resume_or_start`.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow_provider.version_compat import task_state_store
from qatech_orchestration.models import StartedRun

log = logging.getLogger(__name__)

#: The task state store key (renaming it would orphan the runs of tries in flight).
STATE_KEY = "qatech_run"
_warned_unsupported = False


class TaskRunStore:
    """Load, record and clear the QA.tech run of this task instance, across its tries.

    Without a task state store (Airflow 2.11, 3.0-3.2) or with ``durable=False`` it keeps nothing, and a
    retry starts a new run, as before; that is logged once per process.
    """

    def __init__(self, context: Any, *, durable: bool) -> None:
        global _warned_unsupported
        self._store = task_state_store(context) if durable else None
        if durable and self._store is None and not _warned_unsupported:
            _warned_unsupported = True
            log.warning(
                "Re-attaching a retried QA.tech task to the run its earlier try started needs Airflow 3.3+ "
                "(task_state_store); on this Airflow a retry starts a new run."
            )

    def load(self) -> StartedRun | None:
        if self._store is None:
            return None
        data = self._store.get(STATE_KEY)
        try:
            return StartedRun.from_dict(data) if isinstance(data, dict) else None
        except (KeyError, TypeError, ValueError):
            log.warning("Ignoring an unreadable QA.tech run in the task state store: %r", data)
            return None

    def record(self, run: StartedRun) -> None:
        if self._store is not None:
            self._store.set(STATE_KEY, run.to_dict())

    def clear(self) -> None:
        """On success: a later clear-and-rerun by a user must start a new QA.tech run."""
        if self._store is not None:
            self._store.delete(STATE_KEY)
