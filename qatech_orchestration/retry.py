"""When and how long to wait before retrying a request to QA.tech.

Only reads (``GET``) are retried on timeouts, connection errors, 429 and 500/502/503/504. Starting a run
and rerunning spend the customer's quota and have no idempotency key, so they are retried only when the
connection was never established: then the request provably did not leave this machine.
"""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with jitter.

    Attributes:
        max_retries: retries after the first attempt (so ``max_retries + 1`` attempts in all).
        backoff_factor: the first delay in seconds; each retry doubles it.
        backoff_max: the longest delay between two attempts, in seconds.
        retry_after_max: the longest ``Retry-After`` honoured, in seconds (a longer one is capped).
    """

    max_retries: int = 4
    backoff_factor: float = 1.0
    backoff_max: float = 30.0
    retry_after_max: float = 120.0

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if self.backoff_factor < 0 or self.backoff_max < 0 or self.retry_after_max < 0:
            raise ValueError("backoff_factor, backoff_max and retry_after_max must be >= 0")

    def delay(self, retry_number: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry ``retry_number`` (1-based).

        A server's ``Retry-After`` wins (capped at :attr:`retry_after_max`); otherwise the delay is
        ``backoff_factor * 2**(retry_number-1)`` capped at :attr:`backoff_max`, of which the upper half is
        random so that many clients retrying at once spread out.
        """
        if retry_after is not None:
            return min(max(float(retry_after), 0.0), float(self.retry_after_max))
        ceiling: float = min(self.backoff_factor * 2.0 ** (retry_number - 1), self.backoff_max)
        return ceiling / 2 + random.uniform(0, ceiling / 2)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date); ``None`` if absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    current = time.time() if now is None else now
    return max(when.timestamp() - current, 0.0)
