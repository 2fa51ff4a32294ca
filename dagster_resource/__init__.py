"""The QA.tech integration for Dagster: a resource, ops, asset checks that gate downstream assets, and a
YAML component. Without Dagster, importing it raises an ``ImportError`` that names the extra to install."""

try:
    import dagster as _dagster  # noqa: F401
except ImportError as _missing:  # the package installed without its extra: say which command fixes it
    raise ImportError(
        f"The QA.tech Dagster integration (dagster_resource) needs Dagster, which is not installed ({_missing}): "
        'pip install "qatech-orchestration[dagster]"',
        name=_missing.name,
    ) from _missing

from dagster_resource.asset_checks import build_qatech_asset_check, build_qatech_asset_checks
from dagster_resource.component import QATechAssetChecksComponent, QATechCheck
from dagster_resource.ops import (
    QATechRerunConfig,
    QATechStartRunConfig,
    QATechWaitConfig,
    build_qatech_rerun_op,
    build_qatech_start_run_op,
    build_qatech_wait_for_run_op,
    qatech_rerun_op,
    qatech_start_run_op,
    qatech_wait_for_run_op,
)
from dagster_resource.resource import QATechResource
from dagster_resource.targets import require_checked_assets

__all__ = [
    "QATechAssetChecksComponent",
    "QATechCheck",
    "QATechRerunConfig",
    "QATechResource",
    "QATechStartRunConfig",
    "QATechWaitConfig",
    "build_qatech_asset_check",
    "build_qatech_asset_checks",
    "build_qatech_rerun_op",
    "build_qatech_start_run_op",
    "build_qatech_wait_for_run_op",
    "qatech_rerun_op",
    "qatech_start_run_op",
    "qatech_wait_for_run_op",
    "require_checked_assets",
]
