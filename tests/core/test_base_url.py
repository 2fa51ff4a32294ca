"""A base URL the checks accept is one every HTTP library of the package can send to (no traceback later)."""

from __future__ import annotations

import pytest
import requests
import urllib3.util
from hypothesis import given, settings
from hypothesis import strategies as st

from qatech_orchestration.defaults import DEFAULT_BASE_URL
from qatech_orchestration.errors import QATechValidationError
from qatech_orchestration.validation import check_base_url, check_url

HOST_CHARS = st.sampled_from([*"ab-_.%[]:@#|\\^<>é1", "xn--", "..", "🙂", "\x7f", "::1", "[::1]"])


def _connectable(url: str) -> None:
    """What would go wrong only when the request is sent: urllib3's and requests' own parsing."""
    parts = urllib3.util.parse_url(url)
    assert parts.host
    (parts.host.strip("[]") if parts.host.startswith("[") else parts.host).encode("idna")
    requests.Request("GET", url).prepare()
    try:
        import yarl
    except ImportError:
        return
    assert yarl.URL(url).host


@settings(max_examples=500)
@given(host=st.lists(HOST_CHARS, min_size=1, max_size=8).map("".join))
def test_an_accepted_base_url_can_be_sent_to(host: str) -> None:
    url = f"https://{host}/v1"
    try:
        accepted = check_base_url(url, allow_insecure_http=False, default=DEFAULT_BASE_URL)
    except QATechValidationError as exc:
        assert exc.field == "base_url"  # refused, naming the field: never another exception
        return
    _connectable(accepted)


@pytest.mark.parametrize("url", ["https://api.qa.tech/v1", "https://bücher.example/v1", "http://[::1]:8765/v1",
                                 "http://qatech_emulator:8765/v1", "https://api.qa.tech./v1"])  # fmt: skip
def test_real_base_urls_are_accepted(url: str) -> None:
    assert check_base_url(url, allow_insecure_http=True, default=DEFAULT_BASE_URL) == url


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://[::1/v1", "is not a valid URL (Invalid IPv6 URL)"),
        ("https://a..b/v1", "has an invalid host name 'a..b'"),
        ("https://" + "a" * 64 + ".com/v1", "has an invalid host name"),
        ("https://a%41/v1", "has an invalid host name"),
    ],
)
def test_malformed_base_urls_name_the_field(url: str, says: str) -> None:
    with pytest.raises(QATechValidationError, match=r"^base_url: ") as info:
        check_base_url(url, allow_insecure_http=False, default=DEFAULT_BASE_URL)
    assert says in str(info.value)


@pytest.mark.parametrize("url", ["localhost:3000", "pr-123.example.app", "https://pr-123.example.app/x?y#z", "/path"])
def test_environment_urls_the_schema_allows_are_kept(url: str) -> None:
    assert check_url(url, "url") == url


@pytest.mark.parametrize("url", ["https://", "http://", "https:///path", "http://[::1", "ftp://"])
def test_environment_urls_with_a_scheme_need_a_host(url: str) -> None:
    with pytest.raises(QATechValidationError, match=r"^url: "):
        check_url(url, "url")
