"""QATechRunSensor: wait for a QA.tech run started elsewhere or earlier (poke or deferrable)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider.extras import fail_unless_deferrable_here
from airflow_provider.links.qatech import XCOM_RUN_URL, QATechRunLink
from airflow_provider.outcomes import (
    check_rendered_run_short_id,
    finish,
    finish_from_event,
    first_look,
    interrupted,
    rendered_optional,
)
from airflow_provider.signals import QATechSignals
from airflow_provider.version_compat import AirflowSensorTimeout, BaseSensorOperator, Context, default_deferrable
from qatech_orchestration.errors import QATechError
from qatech_orchestration.models import RunStatus

if TYPE_CHECKING:
    from airflow_provider.hooks.qatech import QATechHook
    from qatech_orchestration.waiting import RunWait


class QATechRunSensor(QATechSignals, BaseSensorOperator):
    """Succeeds when the run passed; fails when it ended FAILED, ERROR or CANCELLED (naming the failing test
    cases and their ``resultTitle``); a SKIPPED run succeeds with a warning unless ``fail_on_skipped``.

    Pushes XComs ``run_status`` and ``run_result``, and ``run_url`` when given. ``poke_interval`` and
    ``timeout`` are the sensor's own; with ``deferrable=True`` the waiting happens in the triggerer and holds
    no worker slot.

    :param run_short_id: the run to watch (templated, e.g. ``"{{ ti.xcom_pull(task_ids='start') }}"``).
    :param run_url: the run's page (templated, e.g. ``"{{ ti.xcom_pull(task_ids='start', key='run_url') }}"``):
        QA.tech's status answer has no URL, so give it for the "QA.tech run" link and the failure message.
    :param qatech_conn_id: the ``qatech`` connection (default ``qatech_default``).
    :param project_short_id: overrides the connection's ``project_short_id``.
    :param fail_on_skipped: fail when every test case was skipped.
    :param deferrable: wait in the triggerer (``[operators] default_deferrable``).

    A pass updates the sensor's ``outlets`` with the run in each asset event's ``extra`` (e.g.
    ``outlets=[Asset("qatech://proj_.../pln_...")]``), and with the OpenLineage provider installed its event
    carries the run and one assertion per test case on the ``inlets`` (:mod:`airflow_provider.signals`).
    """

    template_fields: Sequence[str] = ("run_short_id", "run_url", "project_short_id", "qatech_conn_id")
    operator_extra_links = (QATechRunLink(),)
    ui_color = "#e8f0fe"

    def __init__(
        self,
        *,
        run_short_id: str,
        run_url: str | None = None,
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
        self.run_url = run_url
        self.qatech_conn_id = qatech_conn_id
        self.project_short_id = project_short_id
        self.fail_on_skipped = fail_on_skipped
        self.deferrable = deferrable
        self._check_assets(waits=True)

    @cached_property
    def hook(self) -> QATechHook:
        from airflow_provider.hooks.qatech import QATechHook

        return QATechHook(self.qatech_conn_id, project_short_id=self.project_short_id or None)

    @property
    def _url(self) -> str | None:
        return rendered_optional(self.run_url)

    def _with_url(self, status: RunStatus) -> RunStatus:
        return status if status.url or not self._url else replace(status, url=self._url)

    @cached_property
    def _wait(self) -> RunWait:
        """What the pokes of this try know of QA.tech's trouble (an outage, a 404), so that they outlive it."""
        from qatech_orchestration.waiting import RunWait

        return RunWait(
            check_rendered_run_short_id(self.run_short_id),
            poll_interval=float(self.poke_interval),
            timeout=float(self.timeout),
            run_url=self._url,
            log=self.log,
        )

    def poke(self, context: Context) -> bool:
        wait = self._wait
        try:
            status = self.hook.client.get_run(wait.short_id, test_cases="all", retry=False)
        except QATechError as exc:
            try:
                wait.failed(exc)  # QA.tech not answering: poke again; what waiting cannot help raises
            except QATechError as final:
                raise interrupted(context, final, short_id=wait.short_id, run_url=self._url, last=wait.last_status,
                                  task_log=self.log) from None  # fmt: skip
            return False
        status = wait.with_url(status)
        wait.answered(status)
        self.qatech_run = (status.short_id, status.url)
        self.log.info("QA.tech run %s: %s", self.run_short_id, status.state_label)
        if not status.is_terminal:
            return False
        finish(context, status, fail_on_skipped=self.fail_on_skipped, task_log=self.log, record=self._record_verdict)
        return True

    def execute(self, context: Context) -> Any:
        if self._url:  # the link works from the first poke on
            context["ti"].xcom_push(key=XCOM_RUN_URL, value=self._url)
        if not self.deferrable:
            try:
                return super().execute(context)
            except AirflowSensorTimeout as exc:
                if "_wait" not in self.__dict__:
                    raise
                wait = self._wait
                timeout = wait.timed_out()
                interrupted(context, timeout, short_id=wait.short_id, run_url=self._url, last=wait.last_status,
                            task_log=self.log)  # fmt: skip
                if wait.outage_since is not None:
                    raise AirflowSensorTimeout(str(timeout)) from exc  # say QA.tech was down
                raise
        fail_unless_deferrable_here()
        short_id = check_rendered_run_short_id(self.run_short_id)
        self.qatech_run = (short_id, self._url)
        try:  # checked once before deferring: it may already be over
            status = first_look(self.hook.client, short_id, self._url, self.log)
        except QATechError as exc:
            raise interrupted(context, exc, short_id=short_id, run_url=self._url, task_log=self.log) from None
        if status is not None and status.is_terminal:
            finish(
                context, status, fail_on_skipped=self.fail_on_skipped, task_log=self.log, record=self._record_verdict
            )
            return None
        from airflow_provider.triggers.qatech import QATechRunTrigger

        self.defer(
            trigger=QATechRunTrigger(
                run_short_id=self.run_short_id,
                conn_id=self.qatech_conn_id,
                end_time=time.time() + float(self.timeout),
                poll_interval=float(self.poke_interval),
                run_url=self._url,
                project_short_id=self.project_short_id or None,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=float(self.timeout) + 5 * float(self.poke_interval) + 300),
        )
        return None

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> None:
        if event:
            self.qatech_run = (str(event.get("run_short_id")), event.get("run_url") or self._url)
        finish_from_event(
            context,
            event,
            fail_on_skipped=self.fail_on_skipped,
            task_log=self.log,
            reread=lambda short_id: self._with_url(self.hook.client.get_run(short_id, test_cases="all")),
            record=self._record_verdict,
        )


__all__ = ["QATechRunSensor"]
