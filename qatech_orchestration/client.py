"""The HTTP client of QA.tech's v1 API (``requests``)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

from qatech_orchestration._version import __version__
from qatech_orchestration.defaults import DEFAULT_BASE_URL
from qatech_orchestration.errors import (
    QATechBadResponseError,
    QATechConnectionError,
    QATechError,
    QATechValidationError,
    QATechWaitTimeout,
    error_for_status,
)
from qatech_orchestration.models import RunStatus, StartedRun
from qatech_orchestration.request_builder import build_rerun_body, build_start_run_body, check_test_cases_filter
from qatech_orchestration.retry import RetryPolicy, parse_retry_after
from qatech_orchestration.settings import DEFAULT_HTTP_SETTINGS, HttpSettings
from qatech_orchestration.validation import (
    check_non_negative_number,
    check_positive_number,
    check_run_short_id,
    check_short_id,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from qatech_orchestration.request_model import StartRunFields

log = logging.getLogger(__name__)

USER_AGENT = f"qatech-orchestration/{__version__}"
_MAY_HAVE_STARTED = "a run may have started: check the dashboard before starting again"


def check_api_token(api_token: Any) -> str:
    """Validate an API token without ever echoing it."""
    if not isinstance(api_token, str) or not api_token.strip():
        raise QATechValidationError(
            "is missing: pass the token from QA.tech's Settings -> Integrations -> API (or an organization API key)",
            field="api_token",
        )
    if any(ch.isspace() or ord(ch) < 32 for ch in api_token):
        raise QATechValidationError(
            "contains whitespace or a line break; check the secret for a trailing newline",
            field="api_token",
        )
    return api_token


def normalize_base_url(base_url: Any) -> str:
    """``https://api.qa.tech/v1`` style base URL without a trailing slash."""
    if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
        raise QATechValidationError(
            f"{base_url!r} is not an http(s) URL; the default is {DEFAULT_BASE_URL!r}", field="base_url"
        )
    return base_url.rstrip("/")


def connection_opened(exc: requests.RequestException) -> bool:
    """False when the connection was never established, so the request cannot have reached QA.tech.

    requests has a class of its own only for a connect timeout; a refused connection is a ``ConnectionError``
    carrying urllib3's ``NewConnectionError``, urllib3's own name for "the connection never opened".
    """
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return False
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return not isinstance(reason, NewConnectionError)


class QATechClient:
    """A client of QA.tech's REST API v1.

    One client may be shared by threads (``requests.Session`` is used for independent requests only).

    Args:
        api_token: a project API token (Settings -> Integrations -> API) or an organization API key.
            It is sent as ``Authorization: Bearer ...`` and never appears in logs, reprs or exceptions.
        base_url: the API root, ``https://api.qa.tech/v1`` by default (the emulator's ``base_url`` in tests).
        project_short_id: ``proj_...``; required with organization-scoped keys. Sent in the body of POSTs
            and as the ``projectShortId`` query parameter of GETs.
        connect_timeout, read_timeout, max_retries, backoff_factor, backoff_max, retry_after_max: see
            :class:`~qatech_orchestration.settings.HttpSettings` (the same names everywhere).
        session: a ``requests.Session`` to use (one is created otherwise).
        sleep: the function used to wait (tests pass a fake one).
    """

    def __init__(
        self,
        api_token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        project_short_id: str | None = None,
        connect_timeout: float = DEFAULT_HTTP_SETTINGS.connect_timeout,
        read_timeout: float = DEFAULT_HTTP_SETTINGS.read_timeout,
        max_retries: int = DEFAULT_HTTP_SETTINGS.max_retries,
        backoff_factor: float = DEFAULT_HTTP_SETTINGS.backoff_factor,
        backoff_max: float = DEFAULT_HTTP_SETTINGS.backoff_max,
        retry_after_max: float = DEFAULT_HTTP_SETTINGS.retry_after_max,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._api_token = check_api_token(api_token)
        self.base_url = normalize_base_url(base_url)
        self.project_short_id = (
            check_short_id(project_short_id, "project_short_id", prefix="proj") if project_short_id else None
        )
        self.settings = HttpSettings(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_retries=max_retries,
            backoff_factor=backoff_factor,
            backoff_max=backoff_max,
            retry_after_max=retry_after_max,
        )
        self.retry = RetryPolicy.from_settings(self.settings)
        self._sleep = sleep
        self._session = session or requests.Session()
        self._session.headers.update(
            {
                "Authorization": f"Bearer {self._api_token}",
                "User-Agent": USER_AGENT,
                "Accept": "application/json",
            }
        )

    def __repr__(self) -> str:
        project = f", project_short_id={self.project_short_id!r}" if self.project_short_id else ""
        return f"QATechClient(base_url={self.base_url!r}{project})"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> QATechClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------
    # Endpoints
    # ------------------------------------------------------------------------------------------

    def start_run(self, **fields: Unpack[StartRunFields]) -> StartedRun:
        """Start a run (``POST /run``). The fields are those of :func:`build_start_run_body`.

        ``project_short_id`` defaults to the client's. Never retried once the request may have reached
        QA.tech: each call spends the customer's quota.
        """
        if fields.get("project_short_id") is None and self.project_short_id:
            fields["project_short_id"] = self.project_short_id
        body = build_start_run_body(**fields)
        payload = self._request("POST", "/run", json_body=body)
        return self._parse_started(payload, "POST", "/run", None)

    def get_run(self, short_id: str, test_cases: str | None = None) -> RunStatus:
        """Read a run's status (``GET /run/{shortId}``).

        ``test_cases``: ``None`` (no test cases), ``"failed"`` (failed, skipped and errored ones) or ``"all"``.
        """
        check_run_short_id(short_id)
        params: dict[str, str] = {}
        if check_test_cases_filter(test_cases):
            params["testCases"] = str(test_cases)
        if self.project_short_id:
            params["projectShortId"] = self.project_short_id
        path = f"/run/{short_id}"
        payload = self._request("GET", path, params=params, run_short_id=short_id)
        try:
            return RunStatus.from_api(payload)
        except QATechBadResponseError as exc:
            raise self._bad_response(exc.message, "GET", path, short_id) from None

    def rerun(
        self,
        short_id: str,
        *,
        failed_only: bool | None = None,
        project_test_case_ids: Sequence[str] | None = None,
    ) -> StartedRun:
        """Rerun a run (``POST /run/{shortId}``); returns the *new* run. Not retried once sent.

        Only the failed, skipped and errored test cases by default (see :func:`build_rerun_body`).
        """
        check_run_short_id(short_id)
        body = build_rerun_body(
            failed_only=failed_only,
            project_test_case_ids=project_test_case_ids,
            project_short_id=self.project_short_id,
        )
        path = f"/run/{short_id}"
        payload = self._request("POST", path, json_body=body, run_short_id=short_id)
        return self._parse_started(payload, "POST", path, short_id)

    def wait_for_run(
        self,
        short_id: str,
        *,
        poll_interval: float = 30.0,
        timeout: float = 3600.0,
        test_cases: str | None = "all",
        run_url: str | None = None,
        on_poll: Callable[[RunStatus], None] | None = None,
    ) -> RunStatus:
        """Poll ``GET /run/{shortId}`` until the run is COMPLETED, ERROR or CANCELLED, and return it.

        It does not judge the outcome (see :func:`qatech_orchestration.outcome.raise_for_outcome`). An
        unknown status is logged and polled on like a running one: it is never taken for success.

        Raises:
            QATechWaitTimeout: no terminal status within ``timeout`` seconds (the QA.tech run goes on).
        """
        check_run_short_id(short_id)
        check_positive_number(poll_interval, "poll_interval")
        check_non_negative_number(timeout, "timeout")
        deadline = time.monotonic() + timeout
        warned: set[str] = set()
        while True:
            try:
                status = self.get_run(short_id, test_cases=test_cases)
            except QATechError as exc:
                if run_url and not exc.run_url:
                    raise exc.evolve(run_url=run_url) from None  # so the message names the run to look at
                raise
            if run_url and not status.url:
                status = replace(status, url=run_url)
            if on_poll is not None:
                on_poll(status)
            if status.is_terminal:
                return status
            if not status.is_known and status.status not in warned:
                warned.add(status.status)
                log.warning(
                    "QA.tech run %s reports an unknown status %r; waiting on as if it were running.",
                    short_id,
                    status.status,
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise QATechWaitTimeout(
                    f"QA.tech run {short_id} did not finish within {timeout:g} s (last status "
                    f"{status.state_label}); the run goes on in QA.tech, which has no cancel endpoint",
                    run_short_id=short_id,
                    run_url=run_url,
                )
            self._sleep(min(poll_interval, remaining))

    # ------------------------------------------------------------------------------------------
    # Transport
    # ------------------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
        run_short_id: str | None = None,
    ) -> Any:
        url = f"{self.base_url}{path}"
        timeout = (self.settings.connect_timeout, self.settings.read_timeout)
        attempt = 0
        while True:
            attempt += 1
            retry_after: float | None = None
            try:
                response = self._session.request(method, url, json=json_body, params=params or None, timeout=timeout)
            except requests.RequestException as exc:
                opened = connection_opened(exc)
                retry = self.retry.should_retry(method, attempt, connection_opened=opened)
                error: QATechError = self._no_answer(exc, method, path, run_short_id, may_have_arrived=opened)
            else:
                if 200 <= response.status_code < 300:
                    return self._decode(response, method, path, run_short_id)
                error = self._http_error(response, method, path, run_short_id)
                retry = self.retry.should_retry(method, attempt, status_code=response.status_code)
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if not retry:
                raise error
            delay = self.retry.delay(attempt, retry_after)
            log.warning(
                "%s %s failed (%s); retry %d of %d in %.1f s",
                method,
                path,
                error.message if error.status_code is None else f"HTTP {error.status_code}",
                attempt,
                self.retry.max_retries,
                delay,
            )
            self._sleep(delay)

    def _no_answer(
        self,
        exc: requests.RequestException,
        method: str,
        path: str,
        run_short_id: str | None,
        *,
        may_have_arrived: bool,
    ) -> QATechConnectionError:
        message = f"no answer from QA.tech ({type(exc).__name__}: {exc})"
        sent_a_run = method != "GET" and may_have_arrived
        if sent_a_run:
            message += f"; the request may have reached QA.tech, so it was not re-sent: {_MAY_HAVE_STARTED}"
        return QATechConnectionError(
            self._redact(message),
            method=method,
            path=path,
            run_short_id=run_short_id,
            retryable=False if sent_a_run else None,
        )

    def _decode(self, response: requests.Response, method: str, path: str, run_short_id: str | None) -> Any:
        try:
            return response.json()
        except ValueError:
            snippet = self._redact(response.text[:200])
            raise self._bad_response(
                f"QA.tech answered HTTP {response.status_code} with a body that is not JSON: {snippet!r}",
                method,
                path,
                run_short_id,
                status_code=response.status_code,
            ) from None

    def _http_error(self, response: requests.Response, method: str, path: str, run_short_id: str | None) -> QATechError:
        message = ""
        try:
            data = response.json()
        except ValueError:
            data = None
        if isinstance(data, dict):
            for key in ("message", "statusText", "error"):
                if isinstance(data.get(key), str):
                    message = data[key]
                    break
        if not message:
            text = response.text
            if "html" in response.headers.get("Content-Type", ""):
                text = re.sub(r"<[^>]+>", " ", text)  # an error page from a proxy: keep its words
            message = " ".join(text.split())[:300] or response.reason or "no message"
        cls = error_for_status(response.status_code)
        return cls(
            self._redact(message),
            status_code=response.status_code,
            method=method,
            path=path,
            run_short_id=run_short_id,
        )

    def _parse_started(self, payload: Any, method: str, path: str, rerun_of: str | None) -> StartedRun:
        try:
            started = StartedRun.from_api(payload)
        except QATechBadResponseError as exc:
            raise self._bad_response(exc.message, method, path, rerun_of) from None
        if rerun_of:
            log.debug("Rerun of QA.tech run %s started as %s: %s", rerun_of, started.short_id, started.url)
        else:
            log.debug("Started QA.tech run %s: %s", started.short_id, started.url)
        return started

    def _bad_response(
        self, message: str, method: str, path: str, short_id: str | None, status_code: int = 200
    ) -> QATechBadResponseError:
        """A 2xx answer that is not the documented JSON. After a POST, QA.tech accepted the request."""
        started = method != "GET"
        if started:
            message += f"; QA.tech accepted the request, so {_MAY_HAVE_STARTED}"
        return QATechBadResponseError(
            self._redact(message),
            status_code=status_code,
            method=method,
            path=path,
            run_short_id=short_id,
            retryable=False if started else None,
        )

    def _redact(self, text: str) -> str:
        return text.replace(self._api_token, "***")
