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

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from dagster import (
    AssetCheckSeverity,
    Backoff,
    BetaWarning,
    Component,
    ComponentLoadContext,
    Definitions,
    EnvVar,
    ResolutionContext,
    Resolvable,
    ResolvedAssetKey,
    Resolver,
    RetryPolicy,
    Scaffolder,
    ScaffoldRequest,
    scaffold_with,
)
from dagster.components.component_scaffolding import scaffold_component

from dagster_resource.asset_checks import build_qatech_asset_check
from dagster_resource.resource import QATechResource
from qatech_orchestration.defaults import DEFAULT_BASE_URL
from qatech_orchestration.request_model import START_RUN

# Dagster adds metadata to every YAML component's asset checks with AssetsDefinition.with_attributes, which
# returns a plain AssetsDefinition; loading the repository converts it back by passing all its attributes,
# execution_type included, and that beta parameter warns in every process that loads the code location
# (webserver, daemon, run workers). Not our parameter and nothing a user can act on: hidden for that one
# call site only, so a user's own use of execution_type still warns.
warnings.filterwarnings(
    "ignore",
    message=r"Parameter `execution_type` of function `AssetsDefinition.__init__`",
    category=BetaWarning,
    module=r"dagster\._core\.definitions\.repository_definition\.repository_data",
)


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
    #: The check step's retry policy (exponential backoff from ``retry_delay`` seconds): a step that failed on
    #: API trouble is retried and re-attaches to its QA.tech run. A failed verdict is a result: never retried.
    retries: int = 0
    retry_delay: float = 60.0

    def __post_init__(self) -> None:
        where = f"checks[{self.asset.to_user_string()}]"
        if self.severity.upper() not in ("ERROR", "WARN"):
            raise ValueError(f"{where}.severity: {self.severity!r} is not allowed; use ERROR or WARN")
        if self.retries < 0 or self.retry_delay < 0:
            raise ValueError(
                f"{where}.retries, retry_delay: must be 0 or more (got {self.retries}, {self.retry_delay})"
            )

    @property
    def retry_policy(self) -> RetryPolicy | None:
        if not self.retries:
            return None
        return RetryPolicy(max_retries=self.retries, delay=self.retry_delay, backoff=Backoff.EXPONENTIAL)


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


#: ``{{ env.NAME }}``, ``{{ env('NAME') }}`` or ``{{ env("NAME") }}``, the forms Dagster's templates read a variable in.
_ENV_TEMPLATE = re.compile(r"""^\{\{\s*env(?:\.(\w+)|\(\s*(['"])(\w+)\2\s*\))\s*\}\}$""")


def _token_env_var(context: ResolutionContext, value: str | None) -> str | None:
    """``api_token`` as written (not rendered): the name of the variable it reads, never its value.

    Rendering ``{{ env.QATECH_API_TOKEN }}`` would put the token itself into the resource's config, which
    Dagster shows on the Resources page and the launchpad and stores in every run's job snapshot.
    """
    if value is None:
        return None
    match = _ENV_TEMPLATE.match(value.strip())
    if match is None:
        raise ValueError(
            "api_token: a token written into defs.yaml would be shown by Dagster's UI and stored in every run; "
            "name the environment variable instead: api_token_env_var: QATECH_API_TOKEN"
        )
    return match.group(1) or match.group(3)


@lru_cache(maxsize=32)
def _shared_resource(api_token_env_var: str, base_url: str, project_short_id: str | None) -> QATechResource:
    """One resource object per settings: Dagster merges component definitions only when resources under
    the same key are the same object, and several ``defs.yaml`` files may declare QA.tech checks."""
    return QATechResource(api_token=EnvVar(api_token_env_var), base_url=base_url, project_short_id=project_short_id)


#: The settings a component gives its resource: the token variable's name, base_url and project_short_id.
_Settings = tuple[str, str, "str | None"]
#: (project, defs module) -> resource key -> the settings it was given and the component that gave them.
_CLAIMS: dict[tuple[str, str], dict[str, tuple[_Settings, str]]] = {}


def _place(context: ComponentLoadContext) -> str:
    """Where a component is declared, as the user sees it (``defs/qatech_checks``)."""
    path = Path(context.path)
    for root in (Path(context.defs_module_path).parent, Path(context.project_root)):
        if path.is_relative_to(root):
            return str(path.relative_to(root))
    return str(path)


def _claim(context: ComponentLoadContext, resource_key: str, settings: _Settings) -> None:
    """Refuse, naming ``resource_key``, a second component that wants the same key with other settings.

    Without this, Dagster refuses the merged definitions with "different resources with same key", which
    says neither which components nor which setting to change.
    """
    claims = _CLAIMS.setdefault((str(context.project_root), str(context.defs_module_path)), {})
    here = _place(context)
    earlier = claims.get(resource_key)
    if earlier is not None and earlier[1] != here and earlier[0] != settings:
        names = ("api_token_env_var", "base_url", "project_short_id")
        pairs = zip(names, settings, earlier[0], strict=True)
        differ = ", ".join(f"{name} {mine!r} here, {theirs!r} there" for name, mine, theirs in pairs if mine != theirs)
        name = re.sub(r"\W+", "_", Path(here).name).strip("_")
        suggestion = name if name.startswith("qatech") else f"qatech_{name}"
        raise ValueError(
            f"QATechAssetChecksComponent at {here}: resource_key {resource_key!r} is already the QA.tech resource "
            f"of the component at {earlier[1]}, with other settings ({differ}). Give this component a resource "
            f"key of its own (resource_key: {suggestion}); components with the same settings share one resource."
        )
    claims[resource_key] = (settings, here)  # a reloaded component takes its key again, with its new settings


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
    """QA.tech end-to-end checks for assets, and the QA.tech resource they use.

    Name the token's environment variable: ``api_token_env_var: QATECH_API_TOKEN``. The resource then holds a
    ``dg.EnvVar``, so Dagster shows and stores the variable's name, never its value. ``api_token:
    "{{ env.QATECH_API_TOKEN }}"`` is read the same way (as the variable's name, not rendered); any other
    ``api_token`` is refused. ``base_url`` and ``project_short_id`` as for :class:`~dagster_resource.QATechResource`.

    The resource is registered under ``resource_key`` (``qatech``). Several components with the same token
    variable, ``base_url`` and ``project_short_id`` share it; one with other settings needs a ``resource_key``
    of its own, and ``dg check defs`` fails naming ``resource_key`` until it has one.
    """

    api_token: Annotated[
        str | None,
        Resolver(
            _token_env_var,
            model_field_type=str,
            inject_before_resolve=False,
            description='Same as api_token_env_var, written "{{ env.QATECH_API_TOKEN }}"; never a token.',
        ),
    ] = None
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
                build_qatech_asset_check(
                    item.asset, severity=severity, resource_key=self.resource_key, retry_policy=item.retry_policy,
                    **settings,
                )
            )  # fmt: skip
        env_var = self.api_token_env_var or self.api_token  # api_token holds a variable's name (see above)
        if env_var is None or (self.api_token and self.api_token_env_var):
            raise ValueError(
                "QATechAssetChecksComponent: set api_token_env_var to the environment variable that holds the "
                "token, e.g. api_token_env_var: QATECH_API_TOKEN"
            )
        _claim(context, self.resource_key, (env_var, self.base_url, self.project_short_id))
        resource = _shared_resource(env_var, self.base_url, self.project_short_id)
        return Definitions(asset_checks=asset_checks, resources={self.resource_key: resource})

    def __repr__(self) -> str:
        return f"QATechAssetChecksComponent(checks={len(self.checks)}, base_url={self.base_url!r})"
