"""OpenLineage facets of a QA task, for ``apache-airflow-providers-openlineage``.

Imported only by the QA tasks' ``get_openlineage_facets_on_complete`` / ``on_failure``, which only the
OpenLineage provider's listener calls: a DAG file never imports it, and without the provider nothing does.

What the task's COMPLETE (or FAIL) event carries:

- run facet ``qatech_run`` (:class:`QATechRunFacet`, schema ``airflow_provider/facets/QATechRunFacet.json``):
  the QA.tech run's short ID, URL, status, result, verdict (``ok``) and test case counts;
- **inputs**: the app under test is the task's ``inlets``: each asset (``Dataset`` on 2.11) becomes an input
  dataset (through Airflow's converter for its scheme, e.g. ``qatech://``, ``postgres://``, ``s3://``; any other
  URI as namespace ``scheme://host``, name its path) whose ``dataQualityAssertions`` facet has one assertion
  per test case: ``assertion`` the test case's name, ``success`` whether it passed, ``expected`` ``PASSED``,
  ``actual`` its result (or status), ``description`` its ``resultTitle``. Without inlets there is no dataset
  to attach the assertions to: the event has the run facet only;
- **outputs**: the task's ``outlets`` (e.g. its ``qatech://`` asset), converted the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from attrs import define
from openlineage.client.event_v2 import Dataset, InputDataset
from openlineage.client.facet_v2 import RunFacet, data_quality_assertions_dataset

from qatech_orchestration.models import CASE_PASSED, PASSED
from qatech_orchestration.report import MAX_TEXT, RunReport, shorten

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

#: The facet's key in the event's ``run.facets``.
RUN_FACET = "qatech_run"
SCHEMA_URL = (
    "https://raw.githubusercontent.com/qatech-orchestration/qatech-orchestration/main/"
    "airflow_provider/facets/QATechRunFacet.json#/$defs/QATechRunFacet"
)


@define
class QATechRunFacet(RunFacet):
    """The QA.tech run a task judged (fields: :meth:`~qatech_orchestration.report.RunReport.signal`)."""

    run_short_id: str
    ok: bool | None = None
    run_url: str | None = None
    status: str | None = None
    result: str | None = None
    test_cases_total: int | None = None
    test_cases_passed: int | None = None
    test_cases_failed: int | None = None
    test_cases_skipped: int | None = None
    test_cases_errored: int | None = None
    test_cases_not_finished: int | None = None
    test_plan: str | None = None
    test_plan_short_id: str | None = None

    # Short IDs and URLs are no secrets: never masked by Airflow's redaction of events.
    _additional_skip_redact = ["run_short_id", "run_url", "test_plan_short_id"]

    @staticmethod
    def _get_schema() -> str:
        return SCHEMA_URL


def run_facet(report: RunReport | None, known_run: tuple[str, str | None] | None) -> QATechRunFacet | None:
    """The run facet: the whole signal when the run was judged, else the run alone, without a verdict (a task
    that only started it, a wait that ended first)."""
    if report is not None:
        return QATechRunFacet(**{key: value for key, value in report.signal().items() if value is not None})
    if known_run is not None:
        short_id, url = known_run
        return QATechRunFacet(run_short_id=short_id, run_url=url)
    return None


def assertions_facet(report: RunReport) -> data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet:
    """One assertion per test case of the run."""
    assertion = data_quality_assertions_dataset.Assertion
    return data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
        assertions=[
            assertion(
                assertion=case.name,
                success=case.kind == CASE_PASSED,
                expected=PASSED,
                actual=case.result or case.status,
                description=shorten(case.title, MAX_TEXT),
            )
            for case in report.cases
        ]
    )


def to_dataset(asset: Any) -> Dataset | None:
    """An Airflow asset (dataset) as an OpenLineage dataset: Airflow's converter for its scheme when there is
    one, else ``scheme://host`` and the path; ``None`` for what has no URI (an alias, a name-only asset)."""
    from airflow_provider.version_compat import asset_class

    if not isinstance(asset, asset_class()):
        return None
    try:
        from airflow.providers.common.compat.openlineage.utils.utils import translate_airflow_asset

        converted = translate_airflow_asset(asset, None)
    except ImportError:
        converted = None
    if converted is not None:
        return Dataset(namespace=converted.namespace, name=converted.name, facets=converted.facets)
    parts = urlsplit(asset.uri)
    if not parts.scheme:
        return None
    return Dataset(namespace=f"{parts.scheme}://{parts.netloc}", name=parts.path.lstrip("/") or "/")


def operator_lineage(
    inlets: list[Any], outlets: list[Any], report: RunReport | None, known_run: tuple[str, str | None] | None
) -> OperatorLineage[Dataset, RunFacet]:
    """What the task's OpenLineage event carries (see the module's docstring)."""
    from airflow.providers.openlineage.extractors import OperatorLineage

    facet = run_facet(report, known_run)
    input_facets = {"dataQualityAssertions": assertions_facet(report)} if report is not None else {}
    inputs: list[Dataset] = [
        InputDataset(namespace=d.namespace, name=d.name, facets=d.facets, inputFacets=dict(input_facets))
        for d in filter(None, map(to_dataset, inlets))
    ]
    outputs = [d for d in map(to_dataset, outlets) if d is not None]
    return OperatorLineage(inputs=inputs, outputs=outputs, run_facets={RUN_FACET: facet} if facet else {})
