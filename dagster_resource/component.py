"""QATechAssetChecksComponent: declare QA.tech checks for assets in a ``defs.yaml``.

.. code-block:: yaml

    type: dagster_resource.QATechAssetChecksComponent
    attributes:
      api_token_env_var: QATECH_API_TOKEN
      checks:
        - asset: dashboard_data
          test_plan_short_id: pln_dashboard-checks_7fQ2
          applications:
            - applicationShortId: app_gXeBl2
              environment: {url: "https://dashboards.example.com"}
          blocking: true
          severity: ERROR
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from dagster import (
    AssetCheckSeverity,
    Component,
    ComponentLoadContext,
    Definitions,
    EnvVar,
    Resolvable,
    ResolvedAssetKey,
    Scaffolder,
    ScaffoldRequest,
    scaffold_with,
)
from dagster.components.component_scaffolding import scaffold_component

from dagster_resource.asset_checks import build_qatech_asset_check
from dagster_resource.resource import QATechResource
from qatech_orchestration.defaults import DEFAULT_BASE_URL
from qatech_orchestration.request_model import START_RUN


@dataclass
class QATechCheck(Resolvable):
    """One asset's QA.tech check; the fields are those of ``build_qatech_asset_check``: the core request
    model's start-run fields (in the API's JSON shape), then the check's own settings."""

    asset: ResolvedAssetKey
    test_plan_short_id: str | None = None
    applications: list[dict[str, Any]] | None = None
    notifications: list[dict[str, Any]] | None = None
    trigger: str | None = None
    actor: str | None = None
    branch: str | None = None
    commit_hash: str | None = None
    commit_message: str | None = None
    repository: str | None = None
    project_short_id: str | None = None
    test_case_ids: list[str] | None = None
    parameters: dict[str, Any] | None = None
    name: str = "qatech_e2e"
    description: str | None = None
    blocking: bool = True
    severity: str = "ERROR"
    poll_interval: float = 30.0
    timeout: float = 3600.0
    fail_on_skipped: bool = False
    rerun_failed_once: bool = False

    def __post_init__(self) -> None:
        if self.severity.upper() not in ("ERROR", "WARN"):
            raise ValueError(
                f"checks[{self.asset.to_user_string()}].severity: {self.severity!r} is not allowed; use ERROR or WARN"
            )


class QATechAssetChecksScaffolder(Scaffolder):
    """``dg scaffold defs dagster_resource.QATechAssetChecksComponent NAME`` writes a working template."""

    def scaffold(self, request: ScaffoldRequest) -> None:
        scaffold_component(
            request,
            {
                "api_token_env_var": "QATECH_API_TOKEN",
                "checks": [
                    {
                        "asset": "my_asset",
                        "test_plan_short_id": "pln_replace-me_abc123",
                        "blocking": True,
                        "severity": "ERROR",
                    }
                ],
            },
        )


@lru_cache(maxsize=32)
def _shared_resource(
    api_token: str | None, api_token_env_var: str | None, base_url: str, project_short_id: str | None
) -> QATechResource:
    """One resource object per settings: Dagster merges component definitions only when resources under
    the same key are the same object, and several ``defs.yaml`` files may declare QA.tech checks."""
    token: Any = EnvVar(api_token_env_var) if api_token_env_var else api_token
    return QATechResource(api_token=token, base_url=base_url, project_short_id=project_short_id)


#: QATechCheck fields passed on to build_qatech_asset_check as they are (besides the start-run fields).
_CHECK_SETTINGS = (
    "name",
    "description",
    "blocking",
    "poll_interval",
    "timeout",
    "fail_on_skipped",
    "rerun_failed_once",
)


@scaffold_with(QATechAssetChecksScaffolder)
@dataclass
class QATechAssetChecksComponent(Component, Resolvable):
    """QA.tech end-to-end checks for assets, plus the ``qatech`` resource they use.

    Give the token as ``api_token_env_var: QATECH_API_TOKEN`` (the resource then holds a ``dg.EnvVar``, so
    Dagster's UI shows the variable's name, never its value) or as ``api_token: "{{ env.QATECH_API_TOKEN }}"``
    (resolved when the definitions load). ``base_url`` and ``project_short_id`` as for
    :class:`~dagster_resource.QATechResource`.
    """

    api_token: str | None = None
    api_token_env_var: str | None = None
    checks: Sequence[QATechCheck] = field(default_factory=list)
    base_url: str = DEFAULT_BASE_URL
    project_short_id: str | None = None
    resource_key: str = "qatech"

    def build_defs(self, context: ComponentLoadContext) -> Definitions:
        asset_checks = []
        # (not named `check`: with that loop variable, Dagster 1.11 failed to build Definitions under `dg check defs`)
        for item in self.checks:
            severity = AssetCheckSeverity(item.severity.upper())
            settings = {name: getattr(item, name) for name in (*START_RUN.names, *_CHECK_SETTINGS)}
            asset_checks.append(
                build_qatech_asset_check(item.asset, severity=severity, resource_key=self.resource_key, **settings)
            )
        if (self.api_token is None) == (self.api_token_env_var is None):
            raise ValueError(
                "QATechAssetChecksComponent: give exactly one of api_token_env_var (e.g. QATECH_API_TOKEN) "
                'or api_token (e.g. "{{ env.QATECH_API_TOKEN }}")'
            )
        resource = _shared_resource(self.api_token, self.api_token_env_var, self.base_url, self.project_short_id)
        return Definitions(asset_checks=asset_checks, resources={self.resource_key: resource})

    def __repr__(self) -> str:  # the dataclass repr would show the token
        return f"QATechAssetChecksComponent(checks={len(self.checks)}, base_url={self.base_url!r})"
