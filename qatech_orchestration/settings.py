"""The client's HTTP settings: one name, one default and one doc for each, wherever they are set.

``QATechClient``'s keyword arguments, the Airflow connection's extra and the Dagster resource's fields all
use these names (a test ties each face to :data:`HTTP_SETTINGS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from qatech_orchestration.validation import (
    check_bool,
    check_keys,
    check_non_negative_int,
    check_non_negative_number,
    check_positive_int,
    check_positive_number,
    check_str,
    fail,
)


@dataclass(frozen=True)
class HttpSettings:
    """How the client talks to QA.tech: timeouts and the retry policy of reads.

    Starting a run and rerunning are never retried once the request may have reached QA.tech; these retries
    apply to reads, and to any request whose connection was never established.
    """

    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 60.0
    max_retries: int = 4
    backoff_factor: float = 1.0
    backoff_max: float = 30.0
    retry_after_max: float = 120.0
    max_response_bytes: int = 4 * 1024 * 1024
    pool_size: int = 100
    allow_insecure_http: bool = False
    proxy: str = ""
    ca_bundle: str = ""

    def __post_init__(self) -> None:
        check_positive_number(self.connect_timeout, "connect_timeout")
        check_positive_number(self.read_timeout, "read_timeout")
        check_positive_number(self.total_timeout, "total_timeout")
        check_non_negative_int(self.max_retries, "max_retries")
        check_non_negative_number(self.backoff_factor, "backoff_factor")
        check_non_negative_number(self.backoff_max, "backoff_max")
        check_non_negative_number(self.retry_after_max, "retry_after_max")
        check_positive_int(self.max_response_bytes, "max_response_bytes")
        check_positive_int(self.pool_size, "pool_size")
        check_bool(self.allow_insecure_http, "allow_insecure_http")
        check_str(self.proxy, "proxy")
        check_str(self.ca_bundle, "ca_bundle")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], where: str) -> HttpSettings:
        """Settings from a mapping (a connection's extra, where a form may give numbers as text).

        Unknown keys are refused naming the closest one; ``None`` and ``""`` mean "the default".
        """
        check_keys(values, where, HTTP_SETTING_NAMES)
        kinds = {f.name: type(f.default) for f in fields(cls)}
        given = {k: _from_text(v, kinds[k], k) for k, v in values.items() if v not in (None, "")}
        return cls(**given)

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in HTTP_SETTING_NAMES}


def _from_text(value: Any, kind: type, name: str) -> Any:
    """``"30"`` -> 30.0 for a number, ``"true"`` -> True for a flag; anything else is checked as it is."""
    if not isinstance(value, str):
        return value
    text = value.strip().lower()
    if kind is bool and text in ("true", "false", "1", "0", "yes", "no"):
        return text in ("true", "1", "yes")
    try:
        return int(text) if kind is int else float(text) if kind is float else value
    except ValueError:
        raise fail(name, f"expected a number, got {value!r}") from None


#: One line per setting, for docstrings, Dagster descriptions and the Airflow connection form.
HTTP_SETTINGS: dict[str, str] = {
    "connect_timeout": "Seconds to wait for a connection to QA.tech.",
    "read_timeout": "Seconds to wait for each read of an answer.",
    "total_timeout": "Seconds one request may take in all, however slowly the answer trickles in.",
    "max_retries": (
        "Retries of a single read (and of a request whose connection never opened); runs are never re-sent; "
        "a wait reads on until its timeout."
    ),
    "backoff_factor": "First retry delay in seconds, doubled on each retry (with jitter).",
    "backoff_max": "Longest delay between two retries, in seconds.",
    "retry_after_max": "Longest Retry-After honoured, in seconds (a longer one is capped).",
    "max_response_bytes": "Largest answer read, decompressed, in bytes; a larger one is an error.",
    "pool_size": "Connections kept open to QA.tech (threads sharing one client use up to this many).",
    "allow_insecure_http": "Allow a plain http:// base URL to a host that is not this machine (token in clear).",
    "proxy": (
        "HTTP proxy for every request, e.g. http://proxy.example.com:3128 (CONNECT for https); empty: HTTPS_PROXY, "
        "HTTP_PROXY and NO_PROXY from the environment, the same in workers and triggerers."
    ),
    "ca_bundle": (
        "PEM file of the CAs that verify QA.tech's certificate (a company's TLS-inspection CA); empty: "
        "QATECH_CA_BUNDLE, REQUESTS_CA_BUNDLE or SSL_CERT_FILE, else certifi's. Verification is never off."
    ),
}
HTTP_SETTING_NAMES = tuple(f.name for f in fields(HttpSettings))
DEFAULT_HTTP_SETTINGS = HttpSettings()
