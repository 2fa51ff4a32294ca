"""QATechHook: the QA.tech client built from an Airflow connection of type ``qatech``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider.version_compat import AirflowNotFoundException, BaseHook, aget_connection
from qatech_orchestration.defaults import DEFAULT_BASE_URL
from qatech_orchestration.settings import HTTP_SETTING_NAMES, HttpSettings
from qatech_orchestration.validation import check_keys

if TYPE_CHECKING:
    from qatech_orchestration.async_client import AsyncQATechClient
    from qatech_orchestration.client import QATechClient

#: Keys the connection's extra may carry, passed on to :class:`~qatech_orchestration.QATechClient`: the
#: project, and the HTTP settings under the names the client and the Dagster resource use.
EXTRA_KEYS = ("project_short_id", *HTTP_SETTING_NAMES)
#: A run short ID that never exists: reading it tells a good token (404) from a bad one (401/403).
_PROBE_RUN = "qatech-connection-test"


def _extra(conn: Any) -> dict[str, Any]:
    extra = conn.extra_dejson if hasattr(conn, "extra_dejson") else json.loads(conn.extra or "{}")
    return dict(extra or {})


def base_url_from_connection(conn: Any) -> str:
    """The API base URL: the connection's host when set (with scheme, port and path as given)."""
    host = (conn.host or "").strip()
    if not host:
        return DEFAULT_BASE_URL
    if "://" not in host:  # URI-style connections split the URL into host, port and schema
        scheme = _extra(conn).get("protocol", "https")
        port = f":{conn.port}" if conn.port else ""
        path = (conn.schema or "v1").strip("/")
        host = f"{scheme}://{host}{port}/{path}"
    return host.rstrip("/")


def client_kwargs_from_connection(
    conn: Any, project_short_id: str | None = None, *, extra_name: str | None = None
) -> dict[str, Any]:
    """Keyword arguments of :class:`~qatech_orchestration.QATechClient` for an Airflow connection.

    Shared by the hook (in tasks) and the trigger (in the triggerer), which fetch the connection
    differently. ``project_short_id`` given here wins over the connection's extra. ``extra_name`` is how
    errors name the extra (``extra of connection '<id>'`` by default).
    """
    extra_name = extra_name or f"extra of connection {conn.conn_id!r}"
    # The UI's typed fields may store keys as extra__qatech__<name>; the same settings either way.
    extra = {key.removeprefix(f"extra__{QATechHook.conn_type}__"): value for key, value in _extra(conn).items()}
    check_keys(extra, extra_name, (*EXTRA_KEYS, "protocol"))
    extra.pop("protocol", None)  # part of the base URL (URI-style connections)
    project = extra.pop("project_short_id", None) or None
    settings = HttpSettings.from_mapping(extra, extra_name)
    return {
        "api_token": conn.password or "",
        "base_url": base_url_from_connection(conn),
        "project_short_id": project_short_id or project,
        **settings.as_dict(),
    }


def _not_found_in_the_triggerer(conn_id: str, exc: Exception) -> Exception:
    """The trigger's error event for a connection the triggerer cannot see, naming the form that works.

    Airflow 3.3's ``airflow dags test`` runs a deferred wait in-process, where Airflow's async connection
    lookup reads only the environment (its in-process supervisor has no async channel to the metadata DB):
    a connection saved with ``airflow connections add`` serves the start, and the wait then finds nothing.
    """
    from qatech_orchestration.errors import QATechValidationError

    variable = f"AIRFLOW_CONN_{conn_id.upper()}"
    return QATechValidationError(
        f"the triggerer found no connection {conn_id!r} ({exc}). Define it where the triggerer runs; under "
        f"`airflow dags test` on Airflow 3, a deferred wait sees only connections from the environment: "
        f"""{variable}='{{"conn_type": "qatech", "password": "..."}}'""",
        field="qatech_conn_id",
    )


class QATechHook(BaseHook):
    """Talks to QA.tech with the token of an Airflow connection.

    The connection (type ``qatech``, default id ``qatech_default``):

    - **password** — the API token (QA.tech → Settings → Integrations → API, or an organization key);
    - **host** — the API base URL, ``https://api.qa.tech/v1`` when empty;
    - **extra** — optional JSON: ``project_short_id`` (needed with organization keys), and the client's
      HTTP settings ``connect_timeout``, ``read_timeout``, ``max_retries``, ``backoff_factor``,
      ``backoff_max``, ``retry_after_max`` (see ``qatech_orchestration.HttpSettings``).

    From the environment: ``AIRFLOW_CONN_QATECH_DEFAULT='{"conn_type": "qatech", "password": "..."}'``.

    :param qatech_conn_id: the connection id.
    :param project_short_id: overrides the connection's ``project_short_id``.
    """

    conn_name_attr = "qatech_conn_id"
    default_conn_name = "qatech_default"
    conn_type = "qatech"
    hook_name = "QA.tech"

    def __init__(self, qatech_conn_id: str = default_conn_name, project_short_id: str | None = None) -> None:
        super().__init__()
        self.qatech_conn_id = qatech_conn_id
        self.project_short_id = project_short_id

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """The form's behaviour where Airflow reads it from the hook (2.11; 3.x with flask_appbuilder)."""
        from airflow_provider.connection_form import HIDDEN_FIELDS, PLACEHOLDERS, RELABELING

        return {"hidden_fields": HIDDEN_FIELDS, "relabeling": RELABELING, "placeholders": PLACEHOLDERS}

    @cached_property
    def client(self) -> QATechClient:
        """The core client, built once per hook (``requests`` is imported here, not at DAG parse)."""
        from qatech_orchestration.client import QATechClient

        conn = self.get_connection(self.qatech_conn_id)
        return QATechClient(**client_kwargs_from_connection(conn, self.project_short_id))

    def get_conn(self) -> QATechClient:
        return self.client

    @asynccontextmanager
    async def ashared_client(self) -> AsyncIterator[AsyncQATechClient]:
        """The async client shared by every trigger of this connection in the running event loop.

        The connection is fetched without blocking the loop (Airflow 3's async connection API); the client's
        pool holds the connection's ``pool_size`` sockets; see :mod:`airflow_provider.hooks.async_clients`.
        """
        from airflow_provider.hooks.async_clients import shared_client

        async def client_kwargs() -> dict[str, Any]:
            try:
                conn = await aget_connection(self.qatech_conn_id)
            except AirflowNotFoundException as exc:
                raise _not_found_in_the_triggerer(self.qatech_conn_id, exc) from None
            return client_kwargs_from_connection(conn, self.project_short_id)

        async with shared_client(self.qatech_conn_id, self.project_short_id, client_kwargs) as client:
            yield client

    def test_connection(self) -> tuple[bool, str]:
        """Check the token by reading a run that does not exist: 404 means QA.tech accepted the token.

        No run is started, so no quota is spent; one attempt with short timeouts, so an unreachable host
        answers within seconds instead of after the full retry backoff.
        """
        from qatech_orchestration import QATechAuthError, QATechError, QATechNotFoundError, QATechPermissionError
        from qatech_orchestration.client import QATechClient

        try:
            conn = self.get_connection(self.qatech_conn_id)
            # Airflow tests a form under a random connection id: name what the user sees, the form's extra.
            kwargs = client_kwargs_from_connection(conn, self.project_short_id, extra_name="the connection's extra")
            kwargs.update(max_retries=0, connect_timeout=5.0, read_timeout=10.0, total_timeout=10.0)
            with QATechClient(**kwargs) as client:
                client.get_run(_PROBE_RUN)
        except QATechNotFoundError:
            return True, f"Connection successful: QA.tech accepted the API token ({kwargs['base_url']})"
        except (QATechAuthError, QATechPermissionError) as exc:
            return False, f"QA.tech rejected the API token: {exc}"
        except QATechError as exc:
            return False, str(exc)
        return True, "Connection successful"
