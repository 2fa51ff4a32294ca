"""Exceptions raised by qatech-orchestration.

Every exception derives from :class:`QATechError` and carries what a user needs to act on it: the HTTP
status, the server's ``message``, the method and path of the request, and the run short ID and URL where
they are known. None of them ever holds the API token.
"""

from __future__ import annotations

from typing import Any


class QATechError(Exception):
    """Base class of every error this package raises.

    Attributes:
        message: the human-readable explanation (the server's ``message`` for HTTP errors).
        status_code: the HTTP status, or ``None`` when no response was received.
        method: HTTP method of the failed request, if any.
        path: path of the failed request relative to the base URL, if any.
        run_short_id: the QA.tech run concerned, where known.
        run_url: the dashboard URL of that run, where known.
    """

    #: Whether retrying the same operation later may succeed (used by the orchestrator adapters).
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        method: str | None = None,
        path: str | None = None,
        run_short_id: str | None = None,
        run_url: str | None = None,
    ) -> None:
        self.message = message
        self.status_code = status_code
        self.method = method
        self.path = path
        self.run_short_id = run_short_id
        self.run_url = run_url
        super().__init__(message)

    def __str__(self) -> str:
        parts = []
        if self.method and self.path:
            where = f"{self.method} {self.path}"
            parts.append(f"{where} -> HTTP {self.status_code}" if self.status_code else where)
        elif self.status_code:
            parts.append(f"HTTP {self.status_code}")
        text = self.message
        if parts:
            text = f"{parts[0]}: {text}"
        if self.run_url:
            if self.run_url not in text:
                text = f"{text} (run: {self.run_url})"
        elif self.run_short_id and self.run_short_id not in text:
            text = f"{text} (run: {self.run_short_id})"
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class QATechValidationError(QATechError, ValueError):
    """Bad input: rejected by this package before sending (``field`` set) or by QA.tech with HTTP 400."""

    def __init__(self, message: str, *, field: str | None = None, **kwargs: Any) -> None:
        self.field = field
        if field and not message.startswith(field):
            message = f"{field}: {message}"
        super().__init__(message, **kwargs)


class QATechAuthError(QATechError):
    """HTTP 401: the API token is missing or invalid."""


class QATechPermissionError(QATechError):
    """HTTP 403: the token is not allowed here (invalid token, suspended organization, other project)."""


class QATechQuotaError(QATechError):
    """HTTP 402: the organization has reached its QA.tech usage limit."""


class QATechNotFoundError(QATechError):
    """HTTP 404: the run, project, test plan or a referenced entity does not exist."""


class QATechRateLimitError(QATechError):
    """HTTP 429 after the client's retries were used up."""

    retryable = True


class QATechServerError(QATechError):
    """HTTP 5xx, or no usable answer at all (connection failure, timeout) after the client's retries."""

    retryable = True


class QATechConnectionError(QATechServerError):
    """The request got no HTTP answer (connection refused or reset, timeout)."""


class QATechBadResponseError(QATechError):
    """A 2xx answer that is not the documented JSON (HTML page, truncated body, missing keys)."""

    retryable = True


class QATechWaitTimeout(QATechError):
    """The run did not reach a terminal status before the wait's deadline. The QA.tech run goes on."""

    retryable = True


class QATechRunFailed(QATechError):
    """The run ended without passing (FAILED, ERROR, CANCELLED, or SKIPPED when skips count as failure).

    Attributes:
        status: the final :class:`~qatech_orchestration.models.RunStatus`.
    """

    def __init__(self, message: str, *, status: Any, **kwargs: Any) -> None:
        self.status = status
        super().__init__(message, **kwargs)


def error_for_status(status_code: int) -> type[QATechError]:
    """The exception class for an HTTP error status (4xx/5xx)."""
    if status_code == 400:
        return QATechValidationError
    if status_code == 401:
        return QATechAuthError
    if status_code == 402:
        return QATechQuotaError
    if status_code == 403:
        return QATechPermissionError
    if status_code == 404:
        return QATechNotFoundError
    if status_code == 429:
        return QATechRateLimitError
    if status_code >= 500:
        return QATechServerError
    return QATechError
