"""The one retry policy: which failed requests are tried again, and how long to wait first.

Reads (``GET``) are retried on timeouts, connection errors, 429 and 500/502/503/504. Starting a run and
rerunning spend the customer's quota and have no idempotency key, so they are retried only when the
connection was never established: then the request provably did not leave this machine.

Why not urllib3's ``Retry``: it expresses the method and status rules, but it sleeps inside the connection
pool, where neither a caller's deadline (a wait's time left) nor an async transport can reach it, and it
honours any ``Retry-After`` uncapped. This policy only decides; each transport does its own waiting, so the
sync client and any async one share the same decisions.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from dataclasses import dataclass

from qatech_orchestration.settings import DEFAULT_HTTP_SETTINGS, HttpSettings

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
READ_METHODS = frozenset({"GET"})


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with jitter.

    Attributes:
        max_retries: retries after the first attempt (so ``max_retries + 1`` attempts in all).
        backoff_factor: the first delay in seconds; each retry doubles it.
        backoff_max: the longest delay between two attempts, in seconds.
        retry_after_max: the longest ``Retry-After`` honoured, in seconds (a longer one is capped).
    """

    max_retries: int = DEFAULT_HTTP_SETTINGS.max_retries
    backoff_factor: float = DEFAULT_HTTP_SETTINGS.backoff_factor
    backoff_max: float = DEFAULT_HTTP_SETTINGS.backoff_max
    retry_after_max: float = DEFAULT_HTTP_SETTINGS.retry_after_max

    @classmethod
    def from_settings(cls, settings: HttpSettings) -> RetryPolicy:
        return cls(settings.max_retries, settings.backoff_factor, settings.backoff_max, settings.retry_after_max)

    def should_retry(
        self, method: str, attempt: int, *, status_code: int | None = None, connection_opened: bool = True
    ) -> bool:
        """Whether attempt number ``attempt`` (1-based) of a ``method`` request may be sent again.

        ``status_code`` is the HTTP answer's, or ``None`` when there was no answer; ``connection_opened``
        is False when the connection was never established (the request cannot have arrived).
        """
        if attempt > self.max_retries:
            return False
        if not connection_opened:
            return True
        if method not in READ_METHODS:
            return False  # it may have started a run: never re-sent
        return status_code is None or status_code in RETRYABLE_STATUS

    def delay(self, retry_number: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry ``retry_number`` (1-based).

        A server's ``Retry-After`` wins (capped at :attr:`retry_after_max`); otherwise the delay is
        ``backoff_factor * 2**(retry_number-1)`` capped at :attr:`backoff_max`, of which the upper half is
        random so that many clients retrying at once spread out.
        """
        if retry_after is not None:
            return min(max(float(retry_after), 0.0), float(self.retry_after_max))
        # The exponent is capped: a wait through a long outage counts thousands of failed reads, and 2.0**1024
        # overflows a float; 2**60 s is far beyond any backoff_max anyway.
        ceiling: float = min(self.backoff_factor * 2.0 ** min(retry_number - 1, 60), self.backoff_max)
        return ceiling / 2 + random.uniform(0, ceiling / 2)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date); ``None`` if absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    current = time.time() if now is None else now
    return max(when.timestamp() - current, 0.0)
