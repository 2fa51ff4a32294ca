"""Exceptions raised by qatech-orchestration.

Every exception derives from :class:`QATechError` and carries what a user needs to act on it: the HTTP
status, the server's ``message``, the method and path of the request, and the run short ID and URL where
they are known. None of them ever holds the API token.

An error's text is built once, in ``__init__``; to add context (a run URL), :meth:`QATechError.evolve`
returns a new error. Errors pickle and copy with every attribute intact, so they survive Celery workers,
multiprocess executors and Dagster's run workers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from qatech_orchestration.models import RunStatus

_E = TypeVar("_E", bound="QATechError")

#: What every error of a start or rerun whose outcome is unknown tells the user.
MAY_HAVE_STARTED = "a run may have started: check the dashboard before starting again"


def _restore(cls: type[QATechError], state: dict[str, Any]) -> QATechError:
    """Unpickle without running ``__init__`` again (it would prefix the field name twice)."""
    error = cls.__new__(cls)
    error.__dict__.update(state)
    Exception.__init__(error, state["text"])
    return error


class QATechError(Exception):
    """Base class of every error this package raises.

    Attributes:
        message: the human-readable explanation (the server's ``message`` for HTTP errors).
        status_code: the HTTP status, or ``None`` when no response was received.
        method: HTTP method of the failed request, if any.
        path: path of the failed request relative to the base URL, if any.
        run_short_id: the QA.tech run concerned, where known.
        run_url: the dashboard URL of that run, where known.
        retryable: whether retrying the same operation later may succeed (the orchestrator adapters map it
            to Airflow retries and Dagster's ``Failure(allow_retries=...)``). Defaults per class.
        run_may_exist: a start or rerun whose outcome is unknown (5xx, answer lost after sending, unreadable
            2xx): QA.tech may have created a run. Never retryable: a retry could start a second one.
        retry_after: the seconds the server asked to wait before trying again (``Retry-After`` of a 429 or
            503), where it said.
    """

    #: The class's default for :attr:`retryable`.
    default_retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        method: str | None = None,
        path: str | None = None,
        run_short_id: str | None = None,
        run_url: str | None = None,
        retryable: bool | None = None,
        run_may_exist: bool = False,
        retry_after: float | None = None,
    ) -> None:
        self.message = message
        self.retry_after = retry_after
        self.status_code = status_code
        self.method = method
        self.path = path
        self.run_short_id = run_short_id
        self.run_url = run_url
        self.run_may_exist = run_may_exist
        if retryable is None:
            retryable = False if run_may_exist else self.default_retryable
        self.retryable = retryable
        self.text = self._format()
        super().__init__(self.text)

    def _init_kwargs(self) -> dict[str, Any]:
        """The keyword arguments that rebuild this error (subclasses add theirs)."""
        return {
            "status_code": self.status_code,
            "method": self.method,
            "path": self.path,
            "run_short_id": self.run_short_id,
            "run_url": self.run_url,
            "retryable": self.retryable,
            "run_may_exist": self.run_may_exist,
            "retry_after": self.retry_after,
        }

    def evolve(self: _E, **changes: Any) -> _E:
        """A copy of this error with some attributes changed (``message`` included), its text rebuilt."""
        kwargs = {**self._init_kwargs(), **changes}
        message = kwargs.pop("message", self.message)
        new = type(self)(message, **kwargs)
        new.__cause__, new.__traceback__ = self.__cause__, self.__traceback__
        return new

    def _format(self) -> str:
        text = self.message
        if self.run_may_exist and MAY_HAVE_STARTED not in text:
            text = f"{text}; {MAY_HAVE_STARTED}"
        if self.method and self.path:
            where = f"{self.method} {self.path}"
            text = f"{where} -> HTTP {self.status_code}: {text}" if self.status_code else f"{where}: {text}"
        elif self.status_code:
            text = f"HTTP {self.status_code}: {text}"
        if self.run_url:
            if self.run_url not in text:
                text = f"{text} (run: {self.run_url})"
        elif self.run_short_id and self.run_short_id not in text:
            text = f"{text} (run: {self.run_short_id})"
        return text

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.text!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (type(self), dict(self.__dict__)))


class QATechValidationError(QATechError, ValueError):
    """Bad input: rejected by this package before sending (``field`` set) or by QA.tech with HTTP 400."""

    def __init__(self, message: str, *, field: str | None = None, **kwargs: Any) -> None:
        self.field = field
        if field and not message.startswith(field):
            message = f"{field}: {message}"
        super().__init__(message, **kwargs)

    def _init_kwargs(self) -> dict[str, Any]:
        return {**super()._init_kwargs(), "field": self.field}


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

    default_retryable = True


class QATechServerError(QATechError):
    """HTTP 5xx, or no usable answer at all (connection failure, timeout) after the client's retries."""

    default_retryable = True


class QATechConnectionError(QATechServerError):
    """The request got no HTTP answer (connection refused or reset, timeout)."""


class QATechTLSError(QATechError):
    """TLS verification of QA.tech's certificate failed: the CA that signed it is not trusted (``ca_bundle``),
    e.g. behind a proxy that inspects TLS. Nothing was sent; retrying cannot help until the setting changes."""


class QATechBadResponseError(QATechError):
    """A 2xx answer that is not the documented JSON (HTML page, truncated body, missing keys).

    Attributes:
        unreadable: the body could not be read as JSON at all (a proxy's page, a truncated, corrupt, oversized
            or too slow answer), as opposed to JSON that is not the documented shape. A wait outlives the
            first kind; the second is QA.tech's own answer and ends it.
    """

    default_retryable = True

    def __init__(self, message: str, *, unreadable: bool = False, **kwargs: Any) -> None:
        self.unreadable = unreadable
        super().__init__(message, **kwargs)

    def _init_kwargs(self) -> dict[str, Any]:
        return {**super()._init_kwargs(), "unreadable": self.unreadable}


class QATechWaitTimeout(QATechError):
    """The run did not reach a terminal status before the wait's deadline. The QA.tech run goes on.

    Attributes:
        last_status: the last :class:`~qatech_orchestration.models.RunStatus` the wait read, if any: the test
            cases a report of the timed-out wait lists.
    """

    default_retryable = True

    def __init__(self, message: str, *, last_status: RunStatus | None = None, **kwargs: Any) -> None:
        self.last_status = last_status
        super().__init__(message, **kwargs)

    def _init_kwargs(self) -> dict[str, Any]:
        return {**super()._init_kwargs(), "last_status": self.last_status}


class QATechRunFailed(QATechError):
    """The run ended without passing (FAILED, ERROR, CANCELLED, or SKIPPED when skips count as failure).

    Attributes:
        status: the final :class:`~qatech_orchestration.models.RunStatus`.
    """

    def __init__(self, message: str, *, status: RunStatus, **kwargs: Any) -> None:
        self.status = status
        super().__init__(message, **kwargs)

    def _init_kwargs(self) -> dict[str, Any]:
        return {**super()._init_kwargs(), "status": self.status}


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
