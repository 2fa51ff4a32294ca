"""Everything the sync and async clients share but the I/O.

Settings and their validation, the default headers, what a status request looks like, reading answers
(the size cap lives in :mod:`qatech_orchestration.answers`), parsing and checking them, mapping errors,
redaction, and the one retry policy. ``QATechClient`` (requests) and ``AsyncQATechClient`` (aiohttp) add
only sending bytes and waiting. Importing this module imports no HTTP library.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict
from urllib.parse import urlsplit

from qatech_orchestration._version import __version__
from qatech_orchestration.answers import (
    ACCEPT_ENCODING,
    MAX_ERROR_TEXT,
    AnswerTooLarge,
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
    QATechTLSError,
    QATechValidationError,
    error_for_status,
)
from qatech_orchestration.models import RunStatus, StartedRun
from qatech_orchestration.network import CA_BUNDLE_HINT, route
from qatech_orchestration.request_builder import check_test_cases_filter
from qatech_orchestration.retry import RetryPolicy, parse_retry_after
from qatech_orchestration.settings import HTTP_SETTING_NAMES, HttpSettings
from qatech_orchestration.validation import (
    check_api_token,
    check_base_url,
    check_keys,
    check_run_short_id,
    check_short_id,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack

log = logging.getLogger("qatech_orchestration.client")

USER_AGENT = f"qatech-orchestration/{__version__}"
#: Environment variable that allows a plain http:// base URL to another machine (a docker-compose emulator).
ALLOW_INSECURE_HTTP_ENV = "QATECH_ALLOW_INSECURE_HTTP"
#: Same-origin redirects a read follows at most.
MAX_REDIRECTS = 5


def normalize_base_url(base_url: Any, *, allow_insecure_http: bool = False) -> str:
    """The API root without a trailing slash; see :func:`~qatech_orchestration.validation.check_base_url`."""
    allowed = allow_insecure_http or os.environ.get(ALLOW_INSECURE_HTTP_ENV, "").lower() in ("1", "true", "yes")
    return check_base_url(base_url, allow_insecure_http=allowed, default=DEFAULT_BASE_URL)


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port): a redirect is followed only within the base URL's origin."""
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


@dataclass(frozen=True)
class Answer:
    """An HTTP answer as a transport received it (body decompressed and capped; headers case-insensitive)."""

    status: int
    reason: str
    headers: Mapping[str, str]
    body: bytes


class DeadlineReached(Exception):
    """A wait's deadline would pass before the next attempt: the wait times out instead."""


class Unusable(Exception):
    """An answer arrived but cannot be used (too large, too slow, corrupt, redirected in circles)."""

    def __init__(self, message: str, status: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class ClientOptions(TypedDict, total=False):
    """What every client takes besides the token: the API root, the project, and the HTTP settings
    (:class:`~qatech_orchestration.settings.HttpSettings`: names, defaults and meaning)."""

    base_url: str
    project_short_id: str | None
    connect_timeout: float
    read_timeout: float
    total_timeout: float
    max_retries: int
    backoff_factor: float
    backoff_max: float
    retry_after_max: float
    max_response_bytes: int
    pool_size: int
    allow_insecure_http: bool
    proxy: str
    ca_bundle: str


CLIENT_OPTION_NAMES = ("base_url", "project_short_id", *HTTP_SETTING_NAMES)


class ClientCore:
    """Settings, parsing, checks, errors and redaction of a QA.tech client; the subclass does the I/O."""

    def __init__(self, api_token: str, **options: Unpack[ClientOptions]) -> None:
        self._api_token = check_api_token(api_token)
        self._redact = Redactor(self._api_token)
        unknown = sorted(set(options) - set(CLIENT_OPTION_NAMES))
        if unknown:
            check_keys({unknown[0]: None}, "client options", CLIENT_OPTION_NAMES)
        given: dict[str, Any] = {k: v for k, v in options.items() if k in HTTP_SETTING_NAMES}
        self.settings = HttpSettings(**given)
        self.base_url = normalize_base_url(
            options.get("base_url", DEFAULT_BASE_URL), allow_insecure_http=self.settings.allow_insecure_http
        )
        self.origin = origin(self.base_url)
        project = options.get("project_short_id")
        self.project_short_id = check_short_id(project, "project_short_id", prefix="proj") if project else None
        self.retry = RetryPolicy.from_settings(self.settings)
        self.route = route(self.base_url, proxy=self.settings.proxy, ca_bundle=self.settings.ca_bundle)

    def __repr__(self) -> str:
        project = f", project_short_id={self.project_short_id!r}" if self.project_short_id else ""
        return f"{type(self).__name__}(base_url={self.base_url!r}{project})"

    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._api_token}",
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            "Accept-Encoding": ACCEPT_ENCODING,
        }

    # --- requests ------------------------------------------------------------------------------

    def status_request(self, short_id: str, test_cases: str | None) -> tuple[str, dict[str, str]]:
        """Path and query of ``GET /run/{shortId}``, validated before anything is sent."""
        check_run_short_id(short_id)
        params: dict[str, str] = {}
        if check_test_cases_filter(test_cases):
            params["testCases"] = str(test_cases)
        if self.project_short_id:
            params["projectShortId"] = self.project_short_id
        return f"/run/{short_id}", params

    # --- answers -------------------------------------------------------------------------------

    def decode(self, answer: Answer, method: str, path: str, run_short_id: str | None) -> Any:
        """The JSON of a 2xx answer; ``success: false`` or unusable JSON is a bad response."""
        try:
            payload = parse_json(answer.body)
        except UnreadableAnswer as exc:
            snippet = self._redact(answer.body.decode("utf-8", "replace"), 200)
            raise self.bad_response(
                f"QA.tech answered HTTP {answer.status} with a body that is not usable JSON ({exc}): {snippet!r}",
                method,
                path,
                run_short_id,
                status_code=answer.status,
                unreadable=True,
            ) from None
        if isinstance(payload, dict) and payload.get("success") is False:
            detail = payload.get("message") if isinstance(payload.get("message"), str) else "no message"
            raise self.bad_response(
                f"QA.tech answered HTTP {answer.status} with success: false ({detail})",
                method,
                path,
                run_short_id,
                status_code=answer.status,
            )
        return payload

    def run_status(self, payload: Any, short_id: str, path: str) -> RunStatus:
        """A status answer, which must be for the run asked."""
        try:
            status = RunStatus.from_api(payload)
        except QATechBadResponseError as exc:
            raise self.bad_response(exc.message, "GET", path, short_id) from None
        if status.short_id != short_id:
            raise self.bad_response(
                f"QA.tech answered with the status of run {status.short_id!r} when asked for {short_id!r}",
                "GET",
                path,
                short_id,
            )
        return status

    def parse_started(self, payload: Any, method: str, path: str, rerun_of: str | None) -> StartedRun:
        """A start or rerun answer, whose run short ID must look like one."""
        try:
            started = StartedRun.from_api(payload)
            check_run_short_id(started.short_id, "run.shortId")
        except (QATechBadResponseError, QATechValidationError) as exc:
            raise self.bad_response(exc.message, method, path, rerun_of) from None
        if rerun_of:
            log.debug("Rerun of QA.tech run %s started as %s: %s", rerun_of, started.short_id, started.url)
        else:
            log.debug("Started QA.tech run %s: %s", started.short_id, started.url)
        return started

    @staticmethod
    def retry_after(answer: Answer) -> float | None:
        return parse_retry_after(answer.headers.get("Retry-After"))

    @staticmethod
    def reraise_unreadable(exc: BaseException, status: int) -> None:
        """A body that broke the size cap or cannot be decoded is an unusable answer, not a network error."""
        if isinstance(exc, AnswerTooLarge | UnreadableAnswer):
            raise Unusable(str(exc), status) from None

    # --- errors --------------------------------------------------------------------------------

    def no_answer(
        self,
        exc: BaseException,
        method: str,
        path: str,
        run_short_id: str | None,
        *,
        may_have_arrived: bool,
        limit: str | None = None,
    ) -> QATechConnectionError:
        """No HTTP answer; ``limit`` names the timeout setting that ran out (``connect_timeout``,
        ``read_timeout``), so that the message says which limit was really reached."""
        if limit is not None:
            what = "the connection to open" if limit == "connect_timeout" else "the next byte of the answer"
            seconds = getattr(self.settings, limit)
            message = f"no answer from QA.tech: {limit}={seconds:g} s passed waiting for {what} ({type(exc).__name__})"
        else:
            message = f"no answer from QA.tech ({type(exc).__name__}: {exc})"
        sent_a_run = method != "GET" and may_have_arrived
        if sent_a_run:
            message += f"; the request may have reached QA.tech, so it was not re-sent: {MAY_HAVE_STARTED}"
        return QATechConnectionError(
            self._redact(message), method=method, path=path, run_short_id=run_short_id, run_may_exist=sent_a_run
        )

    def tls_error(self, exc: BaseException, method: str, path: str, run_short_id: str | None) -> QATechTLSError:
        """TLS verification failed: nothing was sent; the message names the setting that fixes it."""
        through = f" through the proxy {self.route.bare_proxy}" if self.route.proxy else ""
        message = (
            f"TLS verification of {self.origin[1]}{through} failed ({type(exc).__name__}: {exc}), checked against "
            f"{self.route.ca_file}: {CA_BUNDLE_HINT}"
        )
        return QATechTLSError(self._redact(message), method=method, path=path, run_short_id=run_short_id)

    def redirect_error(self, answer: Answer, method: str, path: str, run_short_id: str | None) -> QATechError:
        location = self._redact(answer.headers.get("Location") or "(no Location)", MAX_ERROR_TEXT)
        why = "a POST is never re-sent elsewhere" if method != "GET" else "it leaves the base URL's origin"
        message = (
            f"QA.tech answered with a redirect to {location}, which was not followed ({why}); check base_url "
            f"({self.base_url})"
        )
        processed = answer.status == 303 and method != "GET"
        if processed:
            message += "; See Other means the request was processed"
        return QATechError(
            message,
            status_code=answer.status,
            method=method,
            path=path,
            run_short_id=run_short_id,
            retryable=False,
            run_may_exist=processed,
        )

    def http_error(self, answer: Answer, method: str, path: str, run_short_id: str | None) -> QATechError:
        content_type = answer.headers.get("Content-Type", "")
        text = self._redact(error_text(answer.body, content_type, answer.reason), MAX_ERROR_TEXT)
        # A 5xx on a start or rerun (a gateway that lost the answer, a crash after the insert) may have created
        # a run (the error's text says so); a 429 or 4xx was refused before any processing.
        unknown = method != "GET" and answer.status >= 500
        if answer.status == 404 and not urlsplit(self.base_url).path.rstrip("/").endswith("/v1"):
            # QA.tech answers a bare 404 for every path outside /v1: the usual cause is a base URL without it.
            text += f" (base_url {self.base_url} has no /v1 path; QA.tech's API root is {DEFAULT_BASE_URL})"
        return error_for_status(answer.status)(
            text,
            status_code=answer.status,
            method=method,
            path=path,
            run_short_id=run_short_id,
            run_may_exist=unknown,
            retry_after=self.retry_after(answer),
        )

    def bad_response(
        self,
        message: str,
        method: str,
        path: str,
        short_id: str | None,
        status_code: int | None = 200,
        *,
        unreadable: bool = False,
    ) -> QATechBadResponseError:
        """An answer that is not the documented JSON (``unreadable``: not JSON at all). After a POST, QA.tech
        accepted the request."""
        started = method != "GET"
        if started:
            message += "; QA.tech accepted the request"
        return QATechBadResponseError(
            self._redact(message),
            status_code=status_code,
            method=method,
            path=path,
            run_short_id=short_id,
            run_may_exist=started,
            unreadable=unreadable,
        )

    def unusable(self, exc: Unusable, method: str, path: str, short_id: str | None) -> QATechBadResponseError:
        """An answer that arrived but cannot be read (too large, too slow, corrupt, redirected in circles)."""
        return self.bad_response(exc.message, method, path, short_id, status_code=exc.status, unreadable=True)

    def delay_before_retry(
        self,
        method: str,
        path: str,
        error: QATechError,
        attempt: int,
        retry: bool,
        deadline: float | None,
        policy: RetryPolicy,
    ) -> float:
        """After a failed attempt: raise ``error`` when it is not retried, :class:`DeadlineReached` when the
        delay would pass the caller's deadline, else log and return the seconds to wait (the transport waits)."""
        if not retry:
            raise error
        delay = policy.delay(attempt, error.retry_after)
        if deadline is not None and time.monotonic() + delay >= deadline:
            raise DeadlineReached()
        log.warning(
            "%s %s failed (%s); retry %d of %d in %.1f s",
            method,
            path,
            error.message if error.status_code is None else f"HTTP {error.status_code}",
            attempt,
            policy.max_retries,
            delay,
        )
        return delay
