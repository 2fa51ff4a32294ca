"""The client's HTTP settings: one name, one default and one doc for each, wherever they are set.

``QATechClient``'s keyword arguments, the Airflow connection's extra and the Dagster resource's fields all
use these names (a test ties each face to :data:`HTTP_SETTINGS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from qatech_orchestration.validation import (
    check_keys,
    check_non_negative_int,
    check_non_negative_number,
    check_positive_number,
)


@dataclass(frozen=True)
class HttpSettings:
    """How the client talks to QA.tech: timeouts and the retry policy of reads.

    Starting a run and rerunning are never retried once the request may have reached QA.tech; these retries
    apply to reads, and to any request whose connection was never established.
    """

    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    max_retries: int = 4
    backoff_factor: float = 1.0
    backoff_max: float = 30.0
    retry_after_max: float = 120.0

    def __post_init__(self) -> None:
        check_positive_number(self.connect_timeout, "connect_timeout")
        check_positive_number(self.read_timeout, "read_timeout")
        check_non_negative_int(self.max_retries, "max_retries")
        check_non_negative_number(self.backoff_factor, "backoff_factor")
        check_non_negative_number(self.backoff_max, "backoff_max")
        check_non_negative_number(self.retry_after_max, "retry_after_max")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], where: str) -> HttpSettings:
        """Settings from a mapping (a connection's extra); unknown keys are refused naming the closest one."""
        check_keys(values, where, HTTP_SETTING_NAMES)
        return cls(**{k: v for k, v in values.items() if v not in (None, "")})

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in HTTP_SETTING_NAMES}


#: One line per setting, for docstrings, Dagster descriptions and the Airflow connection form.
HTTP_SETTINGS: dict[str, str] = {
    "connect_timeout": "Seconds to wait for a connection to QA.tech.",
    "read_timeout": "Seconds to wait for each read of an answer.",
    "max_retries": "Retries of a read (and of a request whose connection never opened); runs are never re-sent.",
    "backoff_factor": "First retry delay in seconds, doubled on each retry (with jitter).",
    "backoff_max": "Longest delay between two retries, in seconds.",
    "retry_after_max": "Longest Retry-After honoured, in seconds (a longer one is capped).",
}
HTTP_SETTING_NAMES = tuple(f.name for f in fields(HttpSettings))
DEFAULT_HTTP_SETTINGS = HttpSettings()
