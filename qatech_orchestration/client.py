"""The HTTP client of QA.tech's v1 API (``requests``).

All but the I/O is shared with the async client, in :mod:`qatech_orchestration.client_core`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, NewConnectionError, ReadTimeoutError

from qatech_orchestration.answers import BodyReader
from qatech_orchestration.client_core import (
    ALLOW_INSECURE_HTTP_ENV,
    MAX_REDIRECTS,
    USER_AGENT,
    Answer,
    ClientCore,
    ClientOptions,
    DeadlineReached,
    Unusable,
    normalize_base_url,
    origin,
)
from qatech_orchestration.errors import QATechError
from qatech_orchestration.models import RunStatus, StartedRun
from qatech_orchestration.request_builder import build_rerun_body, build_start_run_body
from qatech_orchestration.retry import RetryPolicy
from qatech_orchestration.transport_check import check_sync_transport
from qatech_orchestration.validation import check_run_short_id
from qatech_orchestration.waiting import ONE_ATTEMPT, RunWait, WaitLog

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from qatech_orchestration.request_model import StartRunFields

__all__ = ["ALLOW_INSECURE_HTTP_ENV", "USER_AGENT", "QATechClient", "connection_opened", "normalize_base_url"]

_CHUNK = 64 * 1024
#: A socket timeout fires a little before or after the deadline it was cut to.
_CLOCK_SLACK = 0.05


def timeout_limit(exc: requests.RequestException) -> str | None:
    """The setting whose time ran out: ``connect_timeout`` or ``read_timeout`` (``None``: not a timeout)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connect_timeout"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return "read_timeout"
    return None


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


class QATechClient(ClientCore):
    """A client of QA.tech's REST API v1.

    One client may be shared by threads: each request is independent, and the connection pool holds
    ``pool_size`` connections, so 20 threads polling at once neither wait for a socket nor log "connection
    pool is full".

    Every answer is distrusted: it is read streaming with a size cap (decompressed size included) and a
    total deadline, parsed with a depth limit, and checked (a run short ID that looks like one, a status for
    the run asked, no ``success: false``). Redirects are never followed on POST, and on GET only within the
    base URL's origin: the token never leaves it.

    Args:
        api_token: a project API token (Settings -> Integrations -> API) or an organization API key.
            It is sent as ``Authorization: Bearer ...`` and never appears in logs, reprs or exceptions.
        base_url: the API root, ``https://api.qa.tech/v1`` by default (the emulator's ``base_url`` in tests).
            Plain ``http://`` only to this machine, unless ``allow_insecure_http``.
        project_short_id: ``proj_...``; required with organization-scoped keys. Sent in the body of POSTs
            and as the ``projectShortId`` query parameter of GETs.
        connect_timeout, read_timeout, total_timeout, max_retries, backoff_factor, backoff_max,
            retry_after_max, max_response_bytes, pool_size, allow_insecure_http: see
            :class:`~qatech_orchestration.settings.HttpSettings` (the same names everywhere).
        session: a ``requests.Session`` to use (one is created otherwise).
        sleep: the function used to wait (tests pass a fake one).
    """

    def __init__(
        self,
        api_token: str,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        **options: Unpack[ClientOptions],
    ) -> None:
        check_sync_transport()  # before anything can be sent: a run started whose answer is unreadable is lost
        super().__init__(api_token, **options)
        self._sleep = sleep
        self._session = session or requests.Session()
        if session is None:
            adapter = HTTPAdapter(pool_connections=1, pool_maxsize=self.settings.pool_size, max_retries=0)
            self._session.mount("https://", adapter)
            self._session.mount("http://", adapter)
            # The proxy and the CA come from self.route (qatech_orchestration.network), the same decision the
            # async client takes: requests must not apply its own environment lookups on top.
            self._session.trust_env = False
        self._session.headers.update(self.headers())
        proxy = self.route.proxy
        self._proxies = {"http": proxy, "https": proxy} if proxy else {}

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
        return self.parse_started(payload, "POST", "/run", None)

    def get_run(self, short_id: str, test_cases: str | None = None, *, retry: bool = True) -> RunStatus:
        """Read a run's status (``GET /run/{shortId}``).

        ``test_cases``: ``None`` (no test cases), ``"failed"`` (failed, skipped and errored ones) or ``"all"``.
        ``retry=False`` makes one attempt, for callers that back off on their own (a sensor's pokes).
        """
        return self._get_run(short_id, test_cases, deadline=None, policy=None if retry else ONE_ATTEMPT)

    def _get_run(
        self, short_id: str, test_cases: str | None, *, deadline: float | None, policy: RetryPolicy | None = None
    ) -> RunStatus:
        path, params = self.status_request(short_id, test_cases)
        payload = self._request("GET", path, params=params, run_short_id=short_id, deadline=deadline, policy=policy)
        return self.run_status(payload, short_id, path)

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
        return self.parse_started(payload, "POST", path, short_id)

    def wait_for_run(
        self,
        short_id: str,
        *,
        poll_interval: float = 30.0,
        timeout: float = 3600.0,
        test_cases: str | None = "all",
        run_url: str | None = None,
        on_poll: Callable[[RunStatus], None] | None = None,
        log: WaitLog | None = None,
    ) -> RunStatus:
        """Poll ``GET /run/{shortId}`` until the run is COMPLETED, ERROR or CANCELLED, and return it.

        It does not judge the outcome (see :func:`qatech_orchestration.outcome.raise_for_outcome`). An
        unknown status is logged and polled on like a running one: it is never taken for success. QA.tech
        not answering (refused, hung, 5xx, 429, a proxy's page) does not end the wait before its deadline: it
        backs off and reads again (:mod:`qatech_orchestration.waiting`); 401, 403 and a 404 that lasts a poll
        interval end it at once. No sleep, retry delay or ``Retry-After`` reaches past the deadline.
        ``log`` receives the wait's own lines (QA.tech stopped / started answering; the core's logger by
        default).

        Raises:
            QATechWaitTimeout: no terminal status within ``timeout`` seconds (the QA.tech run goes on).
        """
        wait = RunWait(
            short_id, poll_interval=poll_interval, timeout=timeout, run_url=run_url, policy=self.retry, log=log
        )
        while True:
            read: RunStatus | QATechError
            try:
                read = self._get_run(short_id, test_cases, deadline=wait.deadline, policy=ONE_ATTEMPT)
            except DeadlineReached:
                raise wait.timed_out() from None
            except QATechError as exc:
                read = exc
            after = wait.after(read, on_poll)
            if isinstance(after, RunStatus):
                return after
            self._sleep(after)

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
        deadline: float | None = None,
        policy: RetryPolicy | None = None,
    ) -> Any:
        """Send with the retry policy (the client's unless ``policy``); return the answer's JSON or raise a
        typed error.

        ``deadline`` (``time.monotonic()``) bounds the whole call, retries and their delays included: a
        wait's time left. When it would be passed, ``DeadlineReached`` is raised instead of sleeping.
        """
        policy = policy or self.retry
        attempt = 0
        while True:
            attempt += 1
            try:
                answer = self._send(method, path, json_body, params, deadline)
            except requests.exceptions.SSLError as exc:
                raise self.tls_error(exc, method, path, run_short_id) from None
            except requests.RequestException as exc:
                opened = connection_opened(exc)
                retry = policy.should_retry(method, attempt, connection_opened=opened)
                error: QATechError = self.no_answer(
                    exc, method, path, run_short_id, may_have_arrived=opened, limit=timeout_limit(exc)
                )
            except Unusable as exc:
                raise self.unusable(exc, method, path, run_short_id) from None
            else:
                if 200 <= answer.status < 300:
                    return self.decode(answer, method, path, run_short_id)
                if 300 <= answer.status < 400:
                    raise self.redirect_error(answer, method, path, run_short_id)
                error = self.http_error(answer, method, path, run_short_id)
                retry = policy.should_retry(method, attempt, status_code=answer.status)
            self._sleep(self.delay_before_retry(method, path, error, attempt, retry, deadline, policy))

    def _send(
        self,
        method: str,
        path: str,
        json_body: Any,
        params: Mapping[str, str] | None,
        deadline: float | None,
    ) -> Answer:
        """One attempt: follow same-origin redirects of a GET, read the body within the total deadline."""
        call_deadline = time.monotonic() + self.settings.total_timeout
        if deadline is not None:
            call_deadline = min(call_deadline, deadline)
        url = f"{self.base_url}{path}"
        for _ in range(MAX_REDIRECTS + 1):
            left = max(call_deadline - time.monotonic(), 0.001)
            timeout = (min(self.settings.connect_timeout, left), min(self.settings.read_timeout, left))
            try:
                response = self._session.request(
                    method,
                    url,
                    json=json_body,
                    params=params or None,
                    timeout=timeout,
                    allow_redirects=False,
                    stream=True,
                    proxies=self._proxies,
                    verify=self.route.ca_file,
                )
            except requests.exceptions.Timeout:
                self._check_total(call_deadline, deadline, None)  # a socket timeout cut short by the total
                raise
            with response:
                location = response.headers.get("Location")
                if method == "GET" and response.status_code in (301, 302, 303, 307, 308) and location:
                    target = urljoin(url, location)
                    if origin(target) == self.origin:
                        url, params = target, None  # the Location carries its own query
                        continue
                return self._read(response, call_deadline, wait_deadline=deadline)
        raise Unusable(f"QA.tech redirected more than {MAX_REDIRECTS} times", None)

    def _check_total(self, call_deadline: float, wait_deadline: float | None, status: int | None) -> None:
        """Raise when the call's total deadline has passed: ``DeadlineReached`` when it was the wait's own,
        else the ``total_timeout`` error (which a socket timeout cut short by it must not pretend to be)."""
        if time.monotonic() < call_deadline - _CLOCK_SLACK:
            return
        if wait_deadline is not None and call_deadline >= wait_deadline:
            raise DeadlineReached()
        raise Unusable(
            f"QA.tech's answer did not arrive within total_timeout={self.settings.total_timeout:g} s", status
        )

    def _read(self, response: requests.Response, call_deadline: float, *, wait_deadline: float | None) -> Answer:
        reader = BodyReader(response.headers.get("Content-Encoding"), self.settings.max_response_bytes)
        while True:
            self._check_total(call_deadline, wait_deadline, response.status_code)
            try:
                chunk = response.raw.read1(_CHUNK, decode_content=False)  # returns once some bytes arrived
            except ReadTimeoutError as exc:
                self._check_total(call_deadline, wait_deadline, response.status_code)
                raise requests.exceptions.ReadTimeout(exc) from exc
            except Exception as exc:  # urllib3 errors while streaming (a reset): no full answer
                raise requests.exceptions.ConnectionError(exc) from exc
            try:
                if not chunk:
                    body = reader.finish()
                    break
                reader.feed(chunk)
            except Exception as exc:
                self.reraise_unreadable(exc, response.status_code)
                raise
        return Answer(response.status_code, response.reason or "", response.headers, body)
