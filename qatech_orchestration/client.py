"""The HTTP client of QA.tech's v1 API (``requests``)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, NewConnectionError

from qatech_orchestration._version import __version__
from qatech_orchestration.answers import (
    ACCEPT_ENCODING,
    MAX_ERROR_TEXT,
    AnswerTooLarge,
    BodyReader,
    Redactor,
    UnreadableAnswer,
    error_text,
    parse_json,
)
from qatech_orchestration.defaults import DEFAULT_BASE_URL
from qatech_orchestration.errors import (
    MAY_HAVE_STARTED,
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
    check_api_token,
    check_base_url,
    check_positive_number,
    check_run_short_id,
    check_short_id,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from qatech_orchestration.request_model import StartRunFields

log = logging.getLogger(__name__)

USER_AGENT = f"qatech-orchestration/{__version__}"
_MAY_HAVE_STARTED = MAY_HAVE_STARTED


#: Environment variable that allows a plain http:// base URL to another machine (a docker-compose emulator).
ALLOW_INSECURE_HTTP_ENV = "QATECH_ALLOW_INSECURE_HTTP"
#: Same-origin redirects a read follows at most.
MAX_REDIRECTS = 5
_CHUNK = 64 * 1024


def normalize_base_url(base_url: Any, *, allow_insecure_http: bool = False) -> str:
    """The API root without a trailing slash; see :func:`~qatech_orchestration.validation.check_base_url`."""
    allowed = allow_insecure_http or os.environ.get(ALLOW_INSECURE_HTTP_ENV, "").lower() in ("1", "true", "yes")
    return check_base_url(base_url, allow_insecure_http=allowed, default=DEFAULT_BASE_URL)


@dataclass(frozen=True)
class _Answer:
    """An HTTP answer as the transport received it (body decompressed and capped)."""

    status: int
    reason: str
    headers: Mapping[str, str]
    body: bytes


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
        base_url: str = DEFAULT_BASE_URL,
        project_short_id: str | None = None,
        connect_timeout: float = DEFAULT_HTTP_SETTINGS.connect_timeout,
        read_timeout: float = DEFAULT_HTTP_SETTINGS.read_timeout,
        total_timeout: float = DEFAULT_HTTP_SETTINGS.total_timeout,
        max_retries: int = DEFAULT_HTTP_SETTINGS.max_retries,
        backoff_factor: float = DEFAULT_HTTP_SETTINGS.backoff_factor,
        backoff_max: float = DEFAULT_HTTP_SETTINGS.backoff_max,
        retry_after_max: float = DEFAULT_HTTP_SETTINGS.retry_after_max,
        max_response_bytes: int = DEFAULT_HTTP_SETTINGS.max_response_bytes,
        pool_size: int = DEFAULT_HTTP_SETTINGS.pool_size,
        allow_insecure_http: bool = DEFAULT_HTTP_SETTINGS.allow_insecure_http,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._api_token = check_api_token(api_token)
        self._redact = Redactor(self._api_token)
        self.settings = HttpSettings(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            total_timeout=total_timeout,
            max_retries=max_retries,
            backoff_factor=backoff_factor,
            backoff_max=backoff_max,
            retry_after_max=retry_after_max,
            max_response_bytes=max_response_bytes,
            pool_size=pool_size,
            allow_insecure_http=allow_insecure_http,
        )
        self.base_url = normalize_base_url(base_url, allow_insecure_http=allow_insecure_http)
        self._origin = _origin(self.base_url)
        self.project_short_id = (
            check_short_id(project_short_id, "project_short_id", prefix="proj") if project_short_id else None
        )
        self.retry = RetryPolicy.from_settings(self.settings)
        self._sleep = sleep
        self._session = session or requests.Session()
        if session is None:
            adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
            self._session.mount("https://", adapter)
            self._session.mount("http://", adapter)
        self._session.headers.update(
            {
                "Authorization": f"Bearer {self._api_token}",
                "User-Agent": USER_AGENT,
                "Accept": "application/json",
                "Accept-Encoding": ACCEPT_ENCODING,
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
        return self._get_run(short_id, test_cases, deadline=None)

    def _get_run(self, short_id: str, test_cases: str | None, *, deadline: float | None) -> RunStatus:
        check_run_short_id(short_id)
        params: dict[str, str] = {}
        if check_test_cases_filter(test_cases):
            params["testCases"] = str(test_cases)
        if self.project_short_id:
            params["projectShortId"] = self.project_short_id
        path = f"/run/{short_id}"
        payload = self._request("GET", path, params=params, run_short_id=short_id, deadline=deadline)
        try:
            status = RunStatus.from_api(payload)
        except QATechBadResponseError as exc:
            raise self._bad_response(exc.message, "GET", path, short_id) from None
        if status.short_id != short_id:
            raise self._bad_response(
                f"QA.tech answered with the status of run {status.short_id!r} when asked for {short_id!r}",
                "GET",
                path,
                short_id,
            )
        return status

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
        unknown status is logged and polled on like a running one: it is never taken for success. No sleep,
        retry delay or ``Retry-After`` reaches past the deadline.

        Raises:
            QATechWaitTimeout: no terminal status within ``timeout`` seconds (the QA.tech run goes on).
        """
        check_run_short_id(short_id)
        check_positive_number(poll_interval, "poll_interval")
        check_positive_number(timeout, "timeout")
        deadline = time.monotonic() + timeout
        warned: set[str] = set()
        last = "no status read yet"
        while True:
            try:
                status = self._get_run(short_id, test_cases, deadline=deadline)
            except _DeadlineReached:
                break
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
            last = f"last status {status.state_label}"
            if not status.is_known and status.status not in warned:
                warned.add(status.status)
                log.warning(
                    "QA.tech run %s reports an unknown status %r; waiting on as if it were running.",
                    short_id,
                    status.status,
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._sleep(min(poll_interval, remaining))
        raise QATechWaitTimeout(
            f"QA.tech run {short_id} did not finish within {timeout:g} s ({last}); the run goes on in QA.tech, "
            "which has no cancel endpoint",
            run_short_id=short_id,
            run_url=run_url,
        )

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
    ) -> Any:
        """Send with the retry policy; return the answer's JSON or raise a typed error.

        ``deadline`` (``time.monotonic()``) bounds the whole call, retries and their delays included: a
        wait's time left. When it would be passed, :class:`_DeadlineReached` is raised instead of sleeping.
        """
        attempt = 0
        while True:
            attempt += 1
            retry_after: float | None = None
            try:
                answer = self._send(method, path, json_body, params, deadline)
            except requests.RequestException as exc:
                opened = connection_opened(exc)
                retry = self.retry.should_retry(method, attempt, connection_opened=opened)
                error: QATechError = self._no_answer(exc, method, path, run_short_id, may_have_arrived=opened)
            except _Unusable as exc:
                raise self._bad_response(exc.message, method, path, run_short_id, status_code=exc.status) from None
            else:
                if 200 <= answer.status < 300:
                    return self._decode(answer, method, path, run_short_id)
                if 300 <= answer.status < 400:
                    raise self._redirect_error(answer, method, path, run_short_id)
                error = self._http_error(answer, method, path, run_short_id)
                retry = self.retry.should_retry(method, attempt, status_code=answer.status)
                retry_after = parse_retry_after(answer.headers.get("Retry-After"))
            if not retry:
                raise error
            delay = self.retry.delay(attempt, retry_after)
            if deadline is not None and time.monotonic() + delay >= deadline:
                raise _DeadlineReached()
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

    def _send(
        self,
        method: str,
        path: str,
        json_body: Any,
        params: Mapping[str, str] | None,
        deadline: float | None,
    ) -> _Answer:
        """One attempt: follow same-origin redirects of a GET, read the body within the total deadline."""
        call_deadline = time.monotonic() + self.settings.total_timeout
        if deadline is not None:
            call_deadline = min(call_deadline, deadline)
        url = f"{self.base_url}{path}"
        for _ in range(MAX_REDIRECTS + 1):
            left = _left(call_deadline)
            timeout = (min(self.settings.connect_timeout, left), min(self.settings.read_timeout, left))
            response = self._session.request(
                method,
                url,
                json=json_body,
                params=params or None,
                timeout=timeout,
                allow_redirects=False,
                stream=True,
            )
            with response:
                location = response.headers.get("Location")
                if method == "GET" and response.status_code in (301, 302, 303, 307, 308) and location:
                    target = urljoin(url, location)
                    if _origin(target) == self._origin:
                        url, params = target, None  # the Location carries its own query
                        continue
                return self._read(response, call_deadline, wait_deadline=deadline)
        raise _Unusable(f"QA.tech redirected more than {MAX_REDIRECTS} times", None)

    def _read(self, response: requests.Response, call_deadline: float, *, wait_deadline: float | None) -> _Answer:
        reader = BodyReader(response.headers.get("Content-Encoding"), self.settings.max_response_bytes)
        while True:
            if time.monotonic() > call_deadline:
                if wait_deadline is not None and call_deadline >= wait_deadline:
                    raise _DeadlineReached()
                raise _Unusable(
                    f"QA.tech's answer did not arrive within total_timeout={self.settings.total_timeout:g} s",
                    response.status_code,
                )
            try:
                chunk = response.raw.read1(_CHUNK, decode_content=False)  # returns once some bytes arrived
            except Exception as exc:  # urllib3 errors while streaming (reset, read timeout): no full answer
                raise requests.exceptions.ConnectionError(exc) from exc
            try:
                if not chunk:
                    body = reader.finish()
                    break
                reader.feed(chunk)
            except (AnswerTooLarge, UnreadableAnswer) as exc:
                raise _Unusable(str(exc), response.status_code) from None
        return _Answer(response.status_code, response.reason or "", response.headers, body)

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
            run_may_exist=sent_a_run,
        )

    def _decode(self, answer: _Answer, method: str, path: str, run_short_id: str | None) -> Any:
        try:
            payload = parse_json(answer.body)
        except UnreadableAnswer as exc:
            snippet = self._redact(answer.body.decode("utf-8", "replace"), 200)
            raise self._bad_response(
                f"QA.tech answered HTTP {answer.status} with a body that is not usable JSON ({exc}): {snippet!r}",
                method,
                path,
                run_short_id,
                status_code=answer.status,
            ) from None
        if isinstance(payload, dict) and payload.get("success") is False:
            detail = payload.get("message") if isinstance(payload.get("message"), str) else "no message"
            raise self._bad_response(
                f"QA.tech answered HTTP {answer.status} with success: false ({detail})",
                method,
                path,
                run_short_id,
                status_code=answer.status,
            )
        return payload

    def _redirect_error(self, answer: _Answer, method: str, path: str, run_short_id: str | None) -> QATechError:
        location = self._redact(answer.headers.get("Location") or "(no Location)", MAX_ERROR_TEXT)
        why = "a POST is never re-sent elsewhere" if method != "GET" else "it leaves the base URL's origin"
        message = (
            f"QA.tech answered with a redirect to {location}, which was not followed ({why}); check base_url "
            f"({self.base_url})"
        )
        processed = answer.status == 303 and method != "GET"
        if processed:
            message += f"; See Other means the request was processed: {_MAY_HAVE_STARTED}"
        return QATechError(
            message,
            status_code=answer.status,
            method=method,
            path=path,
            run_short_id=run_short_id,
            retryable=False,
            run_may_exist=processed,
        )

    def _http_error(self, answer: _Answer, method: str, path: str, run_short_id: str | None) -> QATechError:
        text = self._redact(
            error_text(answer.body, answer.headers.get("Content-Type", ""), answer.reason), MAX_ERROR_TEXT
        )
        # A 5xx on a start or rerun (a gateway that lost the answer, a crash after the insert) may have created
        # a run (the error's text says so); a 429 or 4xx was refused before any processing.
        unknown = method != "GET" and answer.status >= 500
        cls = error_for_status(answer.status)
        return cls(
            text,
            status_code=answer.status,
            method=method,
            path=path,
            run_short_id=run_short_id,
            run_may_exist=unknown,
        )

    def _parse_started(self, payload: Any, method: str, path: str, rerun_of: str | None) -> StartedRun:
        try:
            started = StartedRun.from_api(payload)
            check_run_short_id(started.short_id, "run.shortId")
        except (QATechBadResponseError, QATechValidationError) as exc:
            raise self._bad_response(exc.message, method, path, rerun_of) from None
        if rerun_of:
            log.debug("Rerun of QA.tech run %s started as %s: %s", rerun_of, started.short_id, started.url)
        else:
            log.debug("Started QA.tech run %s: %s", started.short_id, started.url)
        return started

    def _bad_response(
        self, message: str, method: str, path: str, short_id: str | None, status_code: int | None = 200
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
            run_may_exist=started,
        )


class _DeadlineReached(Exception):
    """A wait's deadline would pass before the next attempt: the wait times out instead."""


class _Unusable(Exception):
    """An answer arrived but cannot be used (too large, too slow, corrupt, redirected in circles)."""

    def __init__(self, message: str, status: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def _left(deadline: float) -> float:
    return max(deadline - time.monotonic(), 0.001)
