"""QATechRunSensor: wait for a QA.tech run started elsewhere or earlier (poke or deferrable)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider.outcomes import check_rendered_run_short_id, finish, finish_from_event, to_airflow_exception
from airflow_provider.version_compat import BaseSensorOperator, Context, default_deferrable
from qatech_orchestration.errors import QATechError

if TYPE_CHECKING:
    from airflow_provider.hooks.qatech import QATechHook


class QATechRunSensor(BaseSensorOperator):
    """Succeeds when the run passed; fails when it ended FAILED, ERROR or CANCELLED (naming the failing test
    cases and their ``resultTitle``); a SKIPPED run succeeds with a warning unless ``fail_on_skipped``.

    Pushes XComs ``run_status`` and ``run_result``. ``poke_interval`` and ``timeout`` are the sensor's own;
    with ``deferrable=True`` the waiting happens in the triggerer and holds no worker slot.

    :param run_short_id: the run to watch (templated, e.g. ``"{{ ti.xcom_pull(task_ids='start') }}"``).
    :param qatech_conn_id: the ``qatech`` connection (default ``qatech_default``).
    :param project_short_id: overrides the connection's ``project_short_id``.
    :param fail_on_skipped: fail when every test case was skipped.
    :param deferrable: wait in the triggerer (``[operators] default_deferrable``).
    """

    # No "QA.tech run" link here: reading a run does not return its URL (the start operator has it).
    template_fields: Sequence[str] = ("run_short_id", "project_short_id", "qatech_conn_id")
    ui_color = "#e8f0fe"

    def __init__(
        self,
        *,
        run_short_id: str,
        qatech_conn_id: str = "qatech_default",
        project_short_id: str | None = None,
        fail_on_skipped: bool = False,
        deferrable: bool = default_deferrable(),
        poke_interval: float = 30,
        timeout: float = 3600,
        **kwargs: Any,
    ) -> None:
        super().__init__(poke_interval=poke_interval, timeout=timeout, **kwargs)
        self.run_short_id = run_short_id
        self.qatech_conn_id = qatech_conn_id
        self.project_short_id = project_short_id
        self.fail_on_skipped = fail_on_skipped
        self.deferrable = deferrable

    @cached_property
    def hook(self) -> QATechHook:
        from airflow_provider.hooks.qatech import QATechHook

        return QATechHook(self.qatech_conn_id, project_short_id=self.project_short_id or None)

    def poke(self, context: Context) -> bool:
        try:
            status = self.hook.client.get_run(check_rendered_run_short_id(self.run_short_id), test_cases="all")
        except QATechError as exc:
            raise to_airflow_exception(exc) from None
        self.log.info("QA.tech run %s: %s", self.run_short_id, status.state_label)
        if not status.is_terminal:
            return False
        finish(context, status, fail_on_skipped=self.fail_on_skipped, task_log=self.log)
        return True

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        if self.poke(context):  # checked once before deferring: it may already be over
            return None
        from airflow_provider.triggers.qatech import QATechRunTrigger

        self.defer(
            trigger=QATechRunTrigger(
                run_short_id=self.run_short_id,
                conn_id=self.qatech_conn_id,
                end_time=time.time() + float(self.timeout),
                poll_interval=float(self.poke_interval),
                project_short_id=self.project_short_id or None,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=float(self.timeout) + 5 * float(self.poke_interval) + 300),
        )
        return None

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> None:
        finish_from_event(
            context,
            event,
            fail_on_skipped=self.fail_on_skipped,
            task_log=self.log,
            reread=lambda short_id: self.hook.client.get_run(short_id, test_cases="all"),
        )


__all__ = ["QATechRunSensor"]
