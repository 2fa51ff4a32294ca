"""The ``qatech://`` asset URI scheme in Airflow, and what QA tasks give their outlet assets.

Registered in the provider info (``asset-uris`` on Airflow 3, ``dataset-uris`` on 2.11): Airflow calls
:func:`sanitize_uri` for every ``Asset("qatech://...")`` (``Dataset`` on 2.11), so a malformed one fails the
DAG file's import with a message naming the part that is wrong. Airflow 2.11 only warns unless
``[core] strict_dataset_uri_validation`` is set; the QA operators and the sensor check their own ``qatech://``
inlets and outlets in any case (:func:`check_task_assets`).

Imported by Airflow whenever it normalizes any asset URI: it imports nothing beyond the standard library
and the core's validation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult

from qatech_orchestration.asset_uri import is_qatech_uri, parse_qatech_uri, qatech_uri

if TYPE_CHECKING:
    from openlineage.client.event_v2 import Dataset as OpenLineageDataset


def sanitize_uri(uri: SplitResult) -> SplitResult:
    """Airflow's URI handler for ``qatech``: the URI unchanged when it is valid, else a ``ValueError`` that
    says what is wrong (Airflow has already lower-cased the scheme and dropped a trailing slash)."""
    parse_qatech_uri(uri, field="qatech asset URI")
    return uri


def create_asset(*, project_short_id: str, target_short_id: str, extra: dict[str, Any] | None = None) -> Any:
    """The asset (``Dataset`` on Airflow 2.11) of ``qatech://<project_short_id>/<target_short_id>``."""
    from airflow_provider.version_compat import asset_class

    return asset_class()(uri=qatech_uri(project_short_id, target_short_id), extra=extra)


def convert_asset_to_openlineage(asset: Any, lineage_context: Any) -> OpenLineageDataset:
    """The OpenLineage dataset of a ``qatech://`` asset: namespace ``qatech://<project>``, name the test plan's
    or application's short ID (called by the OpenLineage provider, which is installed when it calls)."""
    from openlineage.client.event_v2 import Dataset

    parsed = parse_qatech_uri(asset.uri)
    return Dataset(namespace=parsed.namespace, name=parsed.name)


def asset_uris(items: Iterable[Any]) -> list[str]:
    """The URIs of the assets (datasets) among a task's inlets or outlets; aliases and other objects left out."""
    from airflow_provider.version_compat import asset_class

    kind = asset_class()
    return [item.uri for item in items if isinstance(item, kind)]


def check_task_assets(task_id: str, inlets: Iterable[Any], outlets: Iterable[Any], *, waits: bool) -> None:
    """When a DAG file is parsed: each ``qatech://`` inlet and outlet is a valid URI (also on Airflow 2.11,
    which only warns), and a task that does not wait for its run has no ``qatech://`` outlet.

    A ``qatech://`` asset means "QA passed": a task that only starts a run succeeds at once, so its outlet
    event would schedule downstream DAGs on a run that has not been judged.
    """
    for where, items in (("inlets", inlets), ("outlets", outlets)):
        for uri in asset_uris(items):
            if is_qatech_uri(uri):
                parse_qatech_uri(uri, field=f"{task_id}: {where}")
    if not waits:
        qatech_outlets = [uri for uri in asset_uris(outlets) if is_qatech_uri(uri)]
        if qatech_outlets:
            from qatech_orchestration.validation import fail

            raise fail(
                f"{task_id}: outlets",
                f"{', '.join(qatech_outlets)} would be updated when the run merely started, and DAGs scheduled on "
                "it would run before QA.tech's verdict: set wait_for_completion=True, or put the outlet on the "
                "task that waits (QATechRunSensor)",
            )


def set_outlet_extra(context: Mapping[str, Any], outlets: Iterable[Any], extra: Mapping[str, Any]) -> list[str]:
    """Put ``extra`` into the event each outlet asset gets when the task succeeds (Airflow's outlet events
    accessor); returns the URIs. Keys the task set itself are kept unless ``extra`` has them too."""
    from airflow_provider.version_compat import asset_class

    accessors = context.get("outlet_events") if hasattr(context, "get") else None
    if accessors is None:
        return []
    kind = asset_class()
    updated = []
    for item in outlets:
        if isinstance(item, kind):
            accessors[item].extra.update(extra)
            updated.append(item.uri)
    return updated
