"""The QA.tech run a step started, recorded in Dagster's event log the moment it starts, so that a retry
of that step re-attaches to it instead of starting another (durable runs).

A retry under a ``RetryPolicy`` is a new attempt in the same Dagster run; a re-execution is a new Dagster
run whose parent is the earlier one. Both find the earlier attempt's run here: the same step's engine event
holding the run, in this run, then in each parent run in which this step did not succeed (an attempt that
failed before its verdict). A step that succeeded gave its verdict: re-executing it tests anew.

This is how Dagster's own Pipes clients re-attach to what an earlier attempt launched (an engine event per
step, the same ancestry walk). The event is written to the instance at once: events logged through
``context.log_event`` are only stored when the step yields, and would be lost if it failed first.
"""

from __future__ import annotations

from typing import Any

from dagster import DagsterEventType, MetadataValue

from qatech_orchestration.models import StartedRun

#: Metadata key of the observation that holds the started run (JSON of ``StartedRun.to_dict()``).
RUN_METADATA_KEY = "qatech_run"
_MAX_ANCESTORS = 20


def record_started_run(context: Any, run: StartedRun) -> None:
    """Write an engine event of this step holding ``run`` (shown in the run's event log with its URL)."""
    from dagster._core.events import EngineEventData  # what Pipes uses for the same purpose

    context.instance.report_engine_event(
        f"QA.tech run {run.short_id} started: {run.url}",
        context.run,
        EngineEventData(
            metadata={
                RUN_METADATA_KEY: MetadataValue.json(run.to_dict()),
                "run_short_id": MetadataValue.text(run.short_id),
                "run_url": MetadataValue.url(run.url),
            }
        ),
        step_key=_step_key(context),
    )


def earlier_started_run(context: Any) -> StartedRun | None:
    """The run the latest earlier attempt of this step recorded, if any (see the module docstring)."""
    instance, step_key = context.instance, _step_key(context)
    current = context.run
    seen: set[str] = set()
    while current is not None and current.run_id not in seen and len(seen) < _MAX_ANCESTORS:
        seen.add(current.run_id)
        found = _latest_in_run(instance, current.run_id, step_key)
        if found is not None:
            return found
        parent = instance.get_run_by_id(current.parent_run_id) if current.parent_run_id else None
        if parent is None or _succeeded(instance, parent.run_id, step_key):
            return None
        current = parent
    return None


def _succeeded(instance: Any, run_id: str, step_key: str) -> bool:
    return any(e.step_key == step_key for e in instance.all_logs(run_id, of_type=DagsterEventType.STEP_SUCCESS))


def _step_key(context: Any) -> str:
    return str(context.get_step_execution_context().step.key)


def _latest_in_run(instance: Any, run_id: str, step_key: str) -> StartedRun | None:
    for entry in reversed(instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT)):
        if entry.step_key != step_key or entry.dagster_event is None:
            continue
        value = entry.dagster_event.engine_event_data.metadata.get(RUN_METADATA_KEY)
        if value is not None and isinstance(value.value, dict):
            try:
                return StartedRun.from_dict(value.value)
            except (KeyError, TypeError, ValueError):
                continue
    return None
