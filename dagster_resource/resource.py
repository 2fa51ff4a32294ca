"""QATechResource: QA.tech settings as a Dagster resource, handing out the core client."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from dagster import ConfigurableResource, EnvVar
from pydantic import ConfigDict, Field, PrivateAttr, model_validator

from qatech_orchestration.client_core import normalize_base_url
from qatech_orchestration.defaults import DEFAULT_BASE_URL
from qatech_orchestration.settings import DEFAULT_HTTP_SETTINGS as _D
from qatech_orchestration.settings import HTTP_SETTING_NAMES
from qatech_orchestration.settings import HTTP_SETTINGS as _DOC

if TYPE_CHECKING:
    from qatech_orchestration.client import QATechClient


#: Set while Dagster builds the resource for a step from its resolved config (an ``EnvVar`` already read).
_BUILDING_FOR_A_STEP: ContextVar[bool] = ContextVar("qatech_building_for_a_step", default=False)


def _user_code_stacklevel() -> int:
    """The stack level of the first frame outside pydantic, Dagster and this module: the line that built it."""
    frame, level = sys._getframe(2), 2  # the caller of the validator's caller
    while frame.f_back is not None and str(frame.f_globals.get("__name__", "")).startswith(_LIBRARIES):
        frame, level = frame.f_back, level + 1
    return level


_LIBRARIES = ("pydantic", "dagster.", "dagster_resource.resource")


class PlainTokenWarning(UserWarning):
    """A resource was given its API token as a plain string: Dagster will show and store it."""


class QATechResource(ConfigurableResource):  # type: ignore[type-arg]
    """Connection settings for QA.tech's API; :meth:`get_client` hands out the core client.

    The HTTP settings have the names of ``QATechClient``'s arguments and of the Airflow connection's extra.
    The token is never logged, shown in reprs, or put into Dagster events or metadata.

    Examples:
        .. code-block:: python

            import dagster as dg
            from dagster_resource import QATechResource

            defs = dg.Definitions(
                resources={"qatech": QATechResource(api_token=dg.EnvVar("QATECH_API_TOKEN"), read_timeout=60)},
            )
    """

    api_token: str = Field(
        description="QA.tech API token (Settings -> Integrations -> API) or organization key. "
        'Use dg.EnvVar("QATECH_API_TOKEN").',
        repr=False,
    )
    base_url: str = Field(default=DEFAULT_BASE_URL, description="API root; the emulator's base_url in tests.")
    project_short_id: str | None = Field(
        default=None, description="proj_...; required with organization-scoped API keys."
    )
    connect_timeout: float = Field(default=_D.connect_timeout, description=_DOC["connect_timeout"])
    read_timeout: float = Field(default=_D.read_timeout, description=_DOC["read_timeout"])
    total_timeout: float = Field(default=_D.total_timeout, description=_DOC["total_timeout"])
    max_retries: int = Field(default=_D.max_retries, description=_DOC["max_retries"])
    backoff_factor: float = Field(default=_D.backoff_factor, description=_DOC["backoff_factor"])
    backoff_max: float = Field(default=_D.backoff_max, description=_DOC["backoff_max"])
    retry_after_max: float = Field(default=_D.retry_after_max, description=_DOC["retry_after_max"])
    max_response_bytes: int = Field(default=_D.max_response_bytes, description=_DOC["max_response_bytes"])
    pool_size: int = Field(default=_D.pool_size, description=_DOC["pool_size"])
    allow_insecure_http: bool = Field(default=_D.allow_insecure_http, description=_DOC["allow_insecure_http"])
    proxy: str = Field(default=_D.proxy, description=_DOC["proxy"])
    ca_bundle: str = Field(default=_D.ca_bundle, description=_DOC["ca_bundle"])

    # pydantic's errors would show the input, token included (when it is a plain string).
    model_config = ConfigDict(hide_input_in_errors=True)

    # requests is imported when the first client is built, not when the code location loads.
    _client: QATechClient | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _warn_on_a_plain_token(cls, data: Any) -> Any:
        token = data.get("api_token") if isinstance(data, Mapping) else None
        if isinstance(token, str) and not isinstance(token, EnvVar) and not _BUILDING_FOR_A_STEP.get():
            warnings.warn(
                "QATechResource(api_token=...) was given the token as a plain string: Dagster shows resource "
                'config in its UI and stores it with every run. Use api_token=dg.EnvVar("QATECH_API_TOKEN").',
                PlainTokenWarning,
                stacklevel=_user_code_stacklevel(),
            )
        return data

    @model_validator(mode="after")
    def _check_base_url(self) -> QATechResource:
        # Checked when the definitions load, not when a step first calls the API (an EnvVar is read later).
        if not isinstance(self.base_url, EnvVar):
            normalize_base_url(self.base_url, allow_insecure_http=self.allow_insecure_http)
        return self

    def _with_updated_values(self, values: Mapping[str, Any] | None) -> Any:
        # Dagster rebuilds the resource for each step from its config, with EnvVars read: no warning then.
        reset = _BUILDING_FOR_A_STEP.set(True)
        try:
            return super()._with_updated_values(values)
        finally:
            _BUILDING_FOR_A_STEP.reset(reset)

    def get_client(self) -> QATechClient:
        """The core :class:`~qatech_orchestration.QATechClient`, built once per resource instance."""
        if self._client is None:
            from qatech_orchestration.client import QATechClient

            self._client = QATechClient(
                self.api_token,
                base_url=self.base_url,
                project_short_id=self.project_short_id,
                **{name: getattr(self, name) for name in HTTP_SETTING_NAMES},
            )
        return self._client

    def __repr__(self) -> str:
        project = f", project_short_id={self.project_short_id!r}" if self.project_short_id else ""
        return f"QATechResource(base_url={self.base_url!r}{project})"

    def __str__(self) -> str:
        return self.__repr__()

    def teardown_after_execution(self, context: Any) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
