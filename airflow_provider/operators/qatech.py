"""Operators that start and rerun QA.tech test runs, and optionally wait for them.

Importing this module (what every DAG file using it pays at each parse) pulls in neither ``requests``
nor the trigger machinery: both are imported when a task runs.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow_provider.links.qatech import QATechRunLink
from airflow_provider.outcomes import (
    XCOM_RUN_ID,
    XCOM_RUN_SHORT_ID,
    XCOM_RUN_URL,
    finish,
    finish_from_event,
    to_airflow_exception,
)
from airflow_provider.version_compat import BaseOperator, Context, default_deferrable
from qatech_orchestration.errors import QATechError
from qatech_orchestration.request_builder import START_RUN_FIELDS

if TYPE_CHECKING:
    from airflow_provider.hooks.qatech import QATechHook
    from qatech_orchestration.client import QATechClient
    from qatech_orchestration.models import StartedRun


class _QATechRunOperator(BaseOperator):
    """What starting and rerunning share: XComs right after the start, then waiting (sync or deferred)."""

    operator_extra_links = (QATechRunLink(),)
    ui_color = "#e8f0fe"

    def __init__(
        self,
        *,
        qatech_conn_id: str = "qatech_default",
        project_short_id: str | None = None,
        wait_for_completion: bool = False,
        poll_interval: float = 30,
        timeout: float = 3600,
        fail_on_skipped: bool = False,
        deferrable: bool = default_deferrable(),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.qatech_conn_id = qatech_conn_id
        self.project_short_id = project_short_id
        self.wait_for_completion = wait_for_completion
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.fail_on_skipped = fail_on_skipped
        self.deferrable = deferrable

    @property
    def hook(self) -> QATechHook:
        from airflow_provider.hooks.qatech import QATechHook

        return QATechHook(self.qatech_conn_id, project_short_id=self.project_short_id or None)

    def _start(self, client: QATechClient) -> StartedRun:
        raise NotImplementedError

    def execute(self, context: Context) -> str:
        try:
            client = self.hook.client
            run = self._start(client)
        except QATechError as exc:
            raise to_airflow_exception(exc) from None
        # Recorded before anything that can fail, so a later failure never loses the run.
        ti = context["ti"]
        ti.xcom_push(key=XCOM_RUN_SHORT_ID, value=run.short_id)
        ti.xcom_push(key=XCOM_RUN_ID, value=run.id)
        ti.xcom_push(key=XCOM_RUN_URL, value=run.url)
        self.log.info("QA.tech run %s started (%d test cases): %s", run.short_id, run.test_count, run.url)
        if self.wait_for_completion:
            self._wait(context, client, run.short_id, run.url)
        return run.short_id

    def _wait(self, context: Context, client: QATechClient, short_id: str, url: str) -> None:
        try:
            if self.deferrable:
                status = client.get_run(short_id, test_cases="all")  # it may already be over
                if not status.is_terminal:
                    self._defer(short_id, url)
            else:
                status = client.wait_for_run(
                    short_id, poll_interval=self.poll_interval, timeout=self.timeout, run_url=url,
                    on_poll=lambda s: self.log.info("QA.tech run %s: %s", short_id, s.state_label),
                )  # fmt: skip
        except QATechError as exc:
            raise to_airflow_exception(exc) from None
        if not status.url:
            status = type(status).from_dict({**status.to_dict(), "url": url})
        finish(context, status, fail_on_skipped=self.fail_on_skipped, task_log=self.log)

    def _defer(self, short_id: str, url: str) -> None:
        from airflow_provider.triggers.qatech import QATechRunTrigger

        self.defer(
            trigger=QATechRunTrigger(
                run_short_id=short_id,
                conn_id=self.qatech_conn_id,
                end_time=time.time() + self.timeout,
                poll_interval=self.poll_interval,
                run_url=url,
                project_short_id=self.project_short_id or None,
            ),
            method_name="execute_complete",
            # The trigger stops itself at end_time; this is only a backstop if it cannot run at all.
            timeout=timedelta(seconds=self.timeout + 5 * self.poll_interval + 300),
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> str:
        return finish_from_event(context, event, fail_on_skipped=self.fail_on_skipped, task_log=self.log)


class QATechStartRunOperator(_QATechRunOperator):
    """Start a QA.tech test run; optionally wait for it and fail the task unless it passes.

    The run short ID is the task's return value (XCom ``return_value``). Right after the run starts, before
    anything that can fail, the task also pushes XComs ``run_short_id``, ``run_id`` and ``run_url`` and logs
    the URL; when waiting, it pushes ``run_status`` and ``run_result`` too.

    The request fields mirror :func:`qatech_orchestration.build_start_run_body` and are all templated:

    :param test_plan_short_id: ``pln_...``; the project's default plan when omitted.
    :param applications: per-run overrides, as the API's dicts (``{"applicationShortId": "app_...",
        "environment": {"url": "https://..."}}``) or ``ApplicationOverride`` objects. Strings inside are
        templated, e.g. ``"{{ ti.xcom_pull(task_ids='deploy') }}"`` for a preview URL.
    :param notifications: Slack overrides (``{"type": "slack", "channel": "C0...", "notifyOn": "failure"}``).
    :param trigger: ``"API"`` (QA.tech's default) or ``"GITHUB"``; the Git fields ``actor``, ``branch``,
        ``commit_hash``, ``commit_message`` and ``repository`` are sent only with ``"GITHUB"``.
    :param project_short_id: ``proj_...``; overrides the connection's (needed with organization keys).
    :param test_case_ids: run only these test cases.
    :param parameters: run-time config overrides (``{"configs": {...}, "configsByEnvironment": {...}}``).
    :param qatech_conn_id: the ``qatech`` connection (default ``qatech_default``).
    :param wait_for_completion: wait for the run (default False, like QA.tech's GitHub Action).
    :param poll_interval: seconds between status reads while waiting (30).
    :param timeout: seconds to wait at most (3600); the QA.tech run goes on after a timeout.
    :param fail_on_skipped: fail when every test case was skipped (default: succeed with a warning).
    :param deferrable: wait in the triggerer instead of a worker slot (``[operators] default_deferrable``).
    """

    template_fields: Sequence[str] = (*START_RUN_FIELDS, "qatech_conn_id")
    template_fields_renderers = {
        "applications": "json",
        "notifications": "json",
        "test_case_ids": "json",
        "parameters": "json",
    }

    def __init__(
        self,
        *,
        test_plan_short_id: str | None = None,
        applications: Any = None,
        notifications: Any = None,
        trigger: str | None = None,
        actor: str | None = None,
        branch: str | None = None,
        commit_hash: str | None = None,
        commit_message: str | None = None,
        repository: str | None = None,
        test_case_ids: Any = None,
        parameters: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.test_plan_short_id = test_plan_short_id
        self.applications = applications
        self.notifications = notifications
        self.trigger = trigger
        self.actor = actor
        self.branch = branch
        self.commit_hash = commit_hash
        self.commit_message = commit_message
        self.repository = repository
        self.test_case_ids = test_case_ids
        self.parameters = parameters

    def _start(self, client: QATechClient) -> StartedRun:
        # Templated fields that rendered to "" (e.g. an absent dag_run.conf key) mean "not given".
        fields = {name: (None if getattr(self, name) == "" else getattr(self, name)) for name in START_RUN_FIELDS}
        return client.start_run(**fields)


class QATechRerunOperator(_QATechRunOperator):
    """Rerun a QA.tech run (by default only its failed test cases); returns the *new* run's short ID.

    Typical use is deflaking: after a failed wait, rerun the failures once before failing the pipeline.
    The XComs and waiting options are those of :class:`QATechStartRunOperator`.

    :param run_short_id: the run to rerun (templated, e.g. ``"{{ ti.xcom_pull(task_ids='start') }}"``).
    :param failed_only: rerun only failed, skipped and errored test cases (default True).
    :param project_test_case_ids: rerun only these test cases (UUIDs); excludes ``failed_only``.
    """

    template_fields: Sequence[str] = ("run_short_id", "project_test_case_ids", "project_short_id", "qatech_conn_id")
    template_fields_renderers = {"project_test_case_ids": "json"}

    def __init__(
        self,
        *,
        run_short_id: str,
        failed_only: bool | None = None,
        project_test_case_ids: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.run_short_id = run_short_id
        # failed_only defaults to True unless specific test cases are chosen.
        self.failed_only = (project_test_case_ids is None) if failed_only is None else failed_only
        self.project_test_case_ids = project_test_case_ids

    def _start(self, client: QATechClient) -> StartedRun:
        return client.rerun(
            self.run_short_id,
            failed_only=self.failed_only,
            project_test_case_ids=self.project_test_case_ids or None,
        )
