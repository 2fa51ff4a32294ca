"""QATechResource: QA.tech settings as a Dagster resource, handing out the core client."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dagster import ConfigurableResource
from pydantic import Field, PrivateAttr

from qatech_orchestration.defaults import DEFAULT_BASE_URL

if TYPE_CHECKING:
    from qatech_orchestration.client import QATechClient


class QATechResource(ConfigurableResource):  # type: ignore[type-arg]
    """Connection settings for QA.tech's API.

    Keep the token out of code and run config: ``QATechResource(api_token=dg.EnvVar("QATECH_API_TOKEN"))``.
    It is never logged, shown in reprs, or put into Dagster events or metadata.
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
    request_timeout: float = Field(default=30.0, description="Seconds to wait for each HTTP read.")
    connect_timeout: float = Field(default=10.0, description="Seconds to wait for a connection.")
    max_retries: int = Field(default=4, description="Retries of status reads (runs are never re-sent).")
    backoff_factor: float = Field(default=1.0, description="First retry delay in seconds, doubled each time.")
    backoff_max: float = Field(default=30.0, description="Longest delay between two retries, in seconds.")

    # Any, not QATechClient: requests is imported when the first client is built, not with the code location.
    _client: Any = PrivateAttr(default=None)

    def get_client(self) -> QATechClient:
        """The core :class:`~qatech_orchestration.QATechClient`, built once per resource instance."""
        if self._client is None:
            from qatech_orchestration.client import QATechClient

            self._client = QATechClient(
                self.api_token,
                base_url=self.base_url,
                project_short_id=self.project_short_id,
                timeout=(self.connect_timeout, self.request_timeout),
                max_retries=self.max_retries,
                backoff_factor=self.backoff_factor,
                backoff_max=self.backoff_max,
            )
        client: QATechClient = self._client
        return client

    def __repr__(self) -> str:
        project = f", project_short_id={self.project_short_id!r}" if self.project_short_id else ""
        return f"QATechResource(base_url={self.base_url!r}{project})"

    def __str__(self) -> str:
        return self.__repr__()

    def teardown_after_execution(self, context: Any) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
