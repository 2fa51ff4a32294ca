"""Operators that start and rerun QA.tech test runs, and optionally wait for them.

Importing this module (what every DAG file using it pays at each parse) pulls in neither ``requests``
nor the trigger machinery: both are imported when a task runs.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider.extras import fail_unless_deferrable_here
from airflow_provider.links.qatech import QATechRunLink
from airflow_provider.outcomes import (
    XCOM_RUN_ID,
    XCOM_RUN_SHORT_ID,
    XCOM_RUN_URL,
    check_rendered_run_short_id,
    finish,
    finish_from_event,
    first_look,
    interrupted,
    to_airflow_exception,
)
from airflow_provider.run_store import TaskRunStore
from airflow_provider.signals import QATechSignals
from airflow_provider.version_compat import BaseOperator, Context, default_deferrable
from qatech_orchestration.errors import QATechError
from qatech_orchestration.progress import ProgressLog
from qatech_orchestration.request_model import RERUN, START_RUN

if TYPE_CHECKING:
    from airflow_provider.hooks.qatech import QATechHook
    from qatech_orchestration.client import QATechClient
    from qatech_orchestration.models import ApplicationOverride, RunStatus, SlackNotification, StartedRun, TestPlan


class _QATechRunOperator(QATechSignals, BaseOperator):
    """What starting and rerunning share: durable runs, XComs right after the start, waiting (sync or
    deferred), the verdict as a signal (outlet asset events, OpenLineage: :mod:`airflow_provider.signals`)."""

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
        durable: bool = True,
        retry_from_failure: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.durable = durable
        self.retry_from_failure = retry_from_failure
        self.qatech_conn_id = qatech_conn_id
        self.project_short_id = project_short_id
        self.wait_for_completion = wait_for_completion
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.fail_on_skipped = fail_on_skipped
        self.deferrable = deferrable
        # At DAG parse: qatech:// inlets and outlets are valid, and only a task that waits updates a qatech:// outlet.
        self._check_assets(waits=wait_for_completion)

    @cached_property
    def hook(self) -> QATechHook:
        """Built once per task try, after templates are rendered (the connection id may be templated)."""
        from airflow_provider.hooks.qatech import QATechHook

        return QATechHook(self.qatech_conn_id, project_short_id=self.project_short_id or None)

    def _start(self, client: QATechClient) -> StartedRun:
        raise NotImplementedError

    def execute(self, context: Context) -> str:
        from qatech_orchestration.durable import Resume, resume_or_start

        if self.wait_for_completion and self.deferrable:
            fail_unless_deferrable_here()  # nothing is started that could not be waited for
        store = TaskRunStore(context, durable=self.durable)
        try:
            client = self.hook.client
            resumed = resume_or_start(
                client,
                store.load(),
                lambda: self._start(client),
                record=store.record,  # right after the start, before anything that can fail
                retry_from_failure=self.retry_from_failure,
                fail_on_skipped=self.fail_on_skipped,
            )
        except QATechError as exc:
            raise to_airflow_exception(exc) from None
        run = resumed.run
        self.qatech_run = (run.short_id, run.url)
        ti = context["ti"]
        ti.xcom_push(key=XCOM_RUN_SHORT_ID, value=run.short_id)
        ti.xcom_push(key=XCOM_RUN_ID, value=run.id)
        ti.xcom_push(key=XCOM_RUN_URL, value=run.url)
        if resumed.action is Resume.STARTED:
            self.log.info("QA.tech run %s started (%d test case(s)): %s", run.short_id, run.test_count, run.url)
        elif resumed.action is Resume.RERUN_FAILED:
            self.log.info("QA.tech rerun %s of the earlier try's failed test cases: %s", run.short_id, run.url)
        if resumed.action is Resume.ALREADY_PASSED and resumed.status is not None:
            self._finish(context, resumed.status, run.url, run.test_plan)
        elif self.wait_for_completion:
            self._wait(context, client, run, resumed.status)
        store.clear()
        return run.short_id

    def _wait(self, context: Context, client: QATechClient, run: StartedRun, known: RunStatus | None = None) -> None:
        short_id, url = run.short_id, run.url
        progress = ProgressLog(self.log.info)
        try:
            if self.deferrable:
                status = known or first_look(client, short_id, url, self.log)
                if status is None or not status.is_terminal:
                    self._defer(short_id, url)
                    return
            else:
                status = client.wait_for_run(
                    short_id, poll_interval=self.poll_interval, timeout=self.timeout, run_url=url,
                    on_poll=progress, log=self.log,
                )  # fmt: skip
        except QATechError as exc:
            raise interrupted(context, exc, short_id=short_id, run_url=url, last=progress.last or known,
                              task_log=self.log, test_plan=run.test_plan) from None  # fmt: skip
        self._finish(context, status, url, run.test_plan)

    def _read_all(self, short_id: str) -> RunStatus:
        return self.hook.client.get_run(short_id, test_cases="all")

    def _finish(self, context: Context, status: RunStatus, url: str, test_plan: TestPlan | None = None) -> None:
        if not status.url:
            status = replace(status, url=url)
        finish(
            context,
            status,
            fail_on_skipped=self.fail_on_skipped,
            task_log=self.log,
            test_plan=test_plan,
            record=self._record_verdict,
        )

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
        if event:
            self.qatech_run = (str(event.get("run_short_id")), event.get("run_url"))
        short_id = finish_from_event(
            context,
            event,
            fail_on_skipped=self.fail_on_skipped,
            task_log=self.log,
            reread=self._read_all,
            record=self._record_verdict,
        )
        TaskRunStore(context, durable=self.durable).clear()
        return short_id


class QATechStartRunOperator(_QATechRunOperator):
    """Start a QA.tech test run; optionally wait for it and fail the task unless it passes.

    The run short ID is the task's return value (XCom ``return_value``). Right after the run starts, before
    anything that can fail, the task also pushes XComs ``run_short_id``, ``run_id`` and ``run_url`` and logs
    the URL; when waiting, it pushes ``run_status`` and ``run_result`` too.

    The request fields are those of :func:`qatech_orchestration.build_start_run_body`, all templated
    (strings inside lists and dicts too, e.g. ``"{{ ti.xcom_pull(task_ids='deploy') }}"`` for a preview
    URL); a field that renders to ``""`` counts as not given. ``project_short_id`` overrides the
    connection's.

    {start_run_params}
    :param qatech_conn_id: the ``qatech`` connection (default ``qatech_default``).
    :param wait_for_completion: wait for the run (default False, like QA.tech's GitHub Action).
    :param poll_interval: seconds between status reads while waiting (30).
    :param timeout: seconds to wait at most (3600); the QA.tech run goes on after a timeout.
    :param fail_on_skipped: fail when every test case was skipped (default: succeed with a warning).
    :param deferrable: wait in the triggerer instead of a worker slot (``[operators] default_deferrable``).
    :param durable: on Airflow 3.3+, a retry re-attaches to the run an earlier try started (still running:
        wait for it; passed: succeed) instead of starting another (default True). Older Airflow: a retry
        starts a new run.
    :param retry_from_failure: when the earlier try's run failed, rerun only its failed test cases instead
        of starting a whole new run (default False).

    With ``wait_for_completion=True``, a pass updates the task's ``outlets`` with the run in each asset event's
    ``extra`` (e.g. ``outlets=[Asset("qatech://proj_.../pln_...")]``, for DAGs scheduled on it), and with
    the OpenLineage provider installed its event carries the run and one assertion per test case on the
    ``inlets`` (:mod:`airflow_provider.signals`). A ``qatech://`` outlet on a task that does not wait is
    refused when the DAG file is parsed: it would signal a run that was only started.
    """

    template_fields: Sequence[str] = (*START_RUN.names, "qatech_conn_id")
    template_fields_renderers = {field.name: "json" for field in START_RUN if field.structured}

    def __init__(
        self,
        *,
        test_plan_short_id: str | None = None,
        applications: Sequence[ApplicationOverride | Mapping[str, Any]] | str | None = None,
        notifications: Sequence[SlackNotification | Mapping[str, Any]] | str | None = None,
        trigger: str | None = None,
        actor: str | None = None,
        branch: str | None = None,
        commit_hash: str | None = None,
        commit_message: str | None = None,
        repository: str | None = None,
        test_case_ids: Sequence[str] | str | None = None,
        parameters: Mapping[str, Any] | str | None = None,
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
        fields = {name: (None if getattr(self, name) == "" else getattr(self, name)) for name in START_RUN.names}
        return client.start_run(**fields)


QATechStartRunOperator.__doc__ = (QATechStartRunOperator.__doc__ or "").replace(
    "{start_run_params}", START_RUN.param_docs().replace("\n", "\n    ")
)


class QATechRerunOperator(_QATechRunOperator):
    """Rerun a QA.tech run (by default only its failed test cases); returns the *new* run's short ID.

    Typical use is deflaking: after a failed wait, rerun the failures once before failing the pipeline.
    The XComs and waiting options are those of :class:`QATechStartRunOperator`.

    :param run_short_id: the run to rerun (templated, e.g. ``"{{ ti.xcom_pull(task_ids='start') }}"``).
    {rerun_params}
    """

    template_fields: Sequence[str] = ("run_short_id", "project_test_case_ids", "project_short_id", "qatech_conn_id")
    template_fields_renderers = {"project_test_case_ids": "json"}

    def __init__(
        self,
        *,
        run_short_id: str,
        failed_only: bool | None = None,
        project_test_case_ids: Sequence[str] | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.run_short_id = run_short_id
        self.failed_only = failed_only  # None: the core's default (failed only, unless test cases are chosen)
        self.project_test_case_ids = project_test_case_ids

    def _start(self, client: QATechClient) -> StartedRun:
        return client.rerun(
            check_rendered_run_short_id(self.run_short_id),
            failed_only=self.failed_only,
            project_test_case_ids=self.project_test_case_ids or None,
        )


QATechRerunOperator.__doc__ = (QATechRerunOperator.__doc__ or "").replace(
    "{rerun_params}", "\n    ".join(f":param {f.name}: {f.doc}" for f in RERUN if f.name != "project_short_id")
)
