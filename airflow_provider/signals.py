"""The QA verdict as a signal for what is downstream of a QA task: asset events and OpenLineage facets.

Mixed into :class:`~airflow_provider.operators.qatech.QATechStartRunOperator`,
:class:`~airflow_provider.operators.qatech.QATechRerunOperator` and
:class:`~airflow_provider.sensors.qatech.QATechRunSensor`:

- **Outlet assets.** When the task succeeds on a verdict, the event of each asset in its ``outlets`` carries
  :meth:`~qatech_orchestration.report.RunReport.signal` as ``extra`` (run short ID, URL, status, result,
  counts). A failed task emits no asset event (Airflow's rule), so a DAG scheduled on a ``qatech://`` asset
  runs only after a pass. A run whose test cases were all skipped succeeds with a warning, and so emits an
  event (``result`` ``SKIPPED``), unless ``fail_on_skipped=True``.
- **OpenLineage.** With ``apache-airflow-providers-openlineage`` installed and configured, its listener calls
  ``get_openlineage_facets_on_complete`` / ``on_failure``: see :mod:`airflow_provider.lineage`. Without it
  nothing calls them and nothing of OpenLineage is imported.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from airflow_provider.assets import check_task_assets, set_outlet_extra
from airflow_provider.version_compat import Context
from qatech_orchestration.report import RunReport, build_report

log = logging.getLogger(__name__)


class QATechSignals:
    """What the QA tasks give downstream (see the module's docstring)."""

    #: The report of the run this task judged (set just before it succeeds or fails on the verdict).
    qatech_report: RunReport | None = None
    #: The run this task started or watches, when known before a verdict: ``(short ID, URL)``.
    qatech_run: tuple[str, str | None] | None = None

    def _check_assets(self, *, waits: bool) -> None:
        check_task_assets(
            str(getattr(self, "task_id", "")),
            _as_list(getattr(self, "inlets", ())),
            _as_list(getattr(self, "outlets", ())),
            waits=waits,
        )

    def _record_verdict(self, context: Context, report: RunReport) -> None:
        self.qatech_report = report
        if report.ok:
            set_outlet_extra(context, _as_list(getattr(self, "outlets", ())), report.signal())

    def _read_every_test_case(self) -> Callable[[str], Any] | None:
        """A status read listing every test case (the operators' and the sensor's hook), if the task has one."""
        hook = getattr(self, "hook", None)
        if hook is None:
            return None
        return lambda short_id: hook.client.get_run(short_id, test_cases="all")

    def _report_for_lineage(self) -> RunReport | None:
        """The report, with every test case: after a deferred wait it lists only those that did not pass (the
        trigger event's), so the run is read once more here, when OpenLineage asks and only then."""
        report = self.qatech_report
        if report is None or report.listed_all:
            return report
        read = self._read_every_test_case()
        if read is None:
            return report
        try:
            status = read(report.run_short_id)
        except Exception as exc:  # lineage must never fail the task, nor hide its verdict
            log.warning("QA.tech run %s: could not read every test case for OpenLineage (%s)", report.run_short_id, exc)
            return report
        full = build_report(status, test_plan=report.test_plan)
        # The verdict stays the task's: only the test cases are taken from the new read.
        return replace(report, cases=full.cases, listed_all=full.listed_all, counts=full.counts)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """The OpenLineage facets of the finished task (:func:`airflow_provider.lineage.operator_lineage`)."""
        from airflow_provider.lineage import operator_lineage

        return operator_lineage(
            _as_list(getattr(self, "inlets", ())),
            _as_list(getattr(self, "outlets", ())),
            self._report_for_lineage(),
            self.qatech_run,
        )

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        """As on completion: the run facet (with ``ok`` false) and, when the run was judged, its assertions."""
        return self.get_openlineage_facets_on_complete(task_instance)


def _as_list(items: Any) -> list[Any]:
    if items is None:
        return []
    if isinstance(items, Sequence) and not isinstance(items, str):
        return list(items)
    return [items]
