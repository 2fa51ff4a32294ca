"""What single values must look like: strings, prefixed short IDs, run short IDs, URLs, lists, object keys.

Each check takes ``(value, field)`` — the value first, then the field path used in the error — and returns
the value to send, or raises :class:`~qatech_orchestration.errors.QATechValidationError` naming the field and
the fix. No request is ever sent with a value that failed here. Importing this module costs nothing.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from qatech_orchestration.errors import QATechValidationError

# Short ID patterns from QA.tech's OpenAPI file: "<prefix>_<id>" or "<prefix>-<slug>_<id>".
SHORT_ID_EXAMPLES = {
    "pln": "pln_abc123",
    "app": "app_gXeBl2",
    "env": "env_aB3xY9",
    "preset": "preset_abc123",
    "proj": "proj_abc123",
}
RUN_SHORT_ID_MAX_LENGTH = 128
_RUN_SHORT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
#: "scheme://": RFC 3986's scheme followed by an authority.
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
#: One label of a host name once IDNA-encoded: what every HTTP library here (urllib3, yarl) can connect to.
_HOST_LABEL = re.compile(r"[A-Za-z0-9_-]{1,63}")
_PORT = re.compile(r"(:[0-9]*)?")


def fail(field: str, message: str) -> QATechValidationError:
    return QATechValidationError(message, field=field)


def describe(value: Any) -> str:
    """A short repr of a bad value for an error message."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def has_space_or_control(text: str) -> bool:
    return any(ch.isspace() or ord(ch) < 32 for ch in text)


def check_str(value: Any, field: str, *, allow_empty: bool = True) -> str:
    if not isinstance(value, str):
        raise fail(field, f"expected a string, got {type(value).__name__} {describe(value)}")
    if not allow_empty and not value.strip():
        raise fail(field, "must not be empty")
    return value


def check_bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise fail(field, f"expected True or False, got {describe(value)}")
    return value


def check_short_id(value: Any, field: str, *, prefix: str) -> str:
    """A prefixed QA.tech short ID such as ``pln_abc123`` or ``pln-smoke-tests_abc123``."""
    text = check_str(value, field, allow_empty=False)
    if not re.fullmatch(rf"{re.escape(prefix)}(-.+_.+|_.+)", text, flags=re.DOTALL) or has_space_or_control(text):
        raise fail(
            field,
            f"{describe(text)} is not a {prefix} short ID; expected '{prefix}_<id>' or "
            f"'{prefix}-<slug>_<id>' (e.g. {SHORT_ID_EXAMPLES[prefix]!r}), as shown in QA.tech's dashboard",
        )
    return text


def check_run_short_id(value: Any, field: str = "run_short_id") -> str:
    """A run short ID, before it is put in a URL path: letters, digits, ``-`` and ``_``, bounded length."""
    text = check_str(value, field, allow_empty=False)
    if not _RUN_SHORT_ID.fullmatch(text) or len(text) > RUN_SHORT_ID_MAX_LENGTH:
        raise fail(
            field,
            f"{describe(text)} is not a QA.tech run short ID (letters, digits, '-' and '_' only, "
            "as returned by start_run, e.g. 'abc123')",
        )
    return text


def check_url(value: Any, field: str) -> str:
    """A non-empty URL without whitespace. The scheme is not required: QA.tech's schema types it as a
    plain string, so ``localhost:3000`` or ``pr-123.example.app`` is sent as given. A URL that names a scheme
    (``https://``) must name a host too: no browser can open ``https://`` or ``http://[::1``."""
    text = check_str(value, field, allow_empty=False)
    if has_space_or_control(text):
        raise fail(field, f"{describe(text)} contains whitespace or control characters")
    if _SCHEME.match(text):
        try:
            host = urlsplit(text).hostname
        except ValueError as exc:  # "Invalid IPv6 URL", a bad bracketed host
            raise fail(field, f"{describe(text)} is not a URL ({exc}); e.g. 'https://pr-123.example.app'") from None
        if not host:
            raise fail(field, f"{describe(text)} has a scheme but no host; e.g. 'https://pr-123.example.app'")
    return text


def check_uuid(value: Any, field: str) -> str:
    text = check_str(value, field, allow_empty=False)
    try:
        uuid.UUID(text)
    except ValueError:
        raise fail(
            field,
            f"{describe(text)} is not a UUID; project test case IDs look like '3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b'",
        ) from None
    if len(text) != 36:
        raise fail(field, f"{describe(text)} is not a UUID in its 36-character form")
    return text


def check_list(value: Any, field: str, what: str, *, allow_empty: bool, empty_hint: str = "") -> Sequence[Any]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        extra = (
            " (it looks like JSON text: pass the parsed list, e.g. json.loads(...))"
            if isinstance(value, str) and value.lstrip().startswith(("[", "{"))
            else ""
        )
        raise fail(field, f"expected a list of {what}, got {type(value).__name__}{extra}")
    if not allow_empty and not value:
        raise fail(field, f"must not be empty{empty_hint}")
    return value


def check_keys(value: Mapping[Any, Any], field: str, allowed: Sequence[str]) -> None:
    """Unknown keys are refused with the closest allowed one (QA.tech would ignore them silently)."""
    for key in value:
        if key not in allowed:
            hint = difflib.get_close_matches(str(key), allowed, n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            raise fail(field, f"unknown key {str(key)!r}{suggestion} (allowed keys: {', '.join(allowed)})")


def check_mapping(value: Any, field: str, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        extra = (
            " (it looks like JSON text: pass the parsed object, e.g. json.loads(...))"
            if isinstance(value, str) and value.lstrip().startswith("{")
            else ""
        )
        raise fail(field, f"expected {what}, got {type(value).__name__}{extra}")
    return value


def check_json(value: Any, field: str) -> Any:
    """A value that JSON can carry as QA.tech reads it: no NaN or infinity, no objects JSON cannot encode."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise fail(field, f"is not plain JSON ({exc}); use strings, numbers, booleans, lists and objects") from None
    return value


def check_positive_number(value: Any, field: str) -> float:
    """A finite number > 0 (a timeout, an interval)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise fail(field, f"must be a finite number of seconds > 0, got {describe(value)}")
    return float(value)


def check_non_negative_number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise fail(field, f"must be a finite number >= 0, got {describe(value)}")
    return float(value)


def check_positive_int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise fail(field, f"must be a whole number > 0, got {describe(value)}")
    return value


def check_non_negative_int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise fail(field, f"must be a whole number >= 0, got {describe(value)}")
    return value


def is_loopback_host(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ::1: traffic that never leaves this machine."""
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_valid_host(netloc: str) -> bool:
    """``host[:port]`` as written in a URL: a bracketed IPv6 address, an IPv4 address, or a DNS name whose
    labels are 1-63 letters, digits, ``-`` or ``_`` once IDNA-encoded (``api.qa.tech``, ``qatech_emulator``,
    ``bücher.example``). ``a..b``, ``a%b`` or ``a[::1]`` are not: urllib3 or aiohttp would fail on them only
    when sending, with an error that names no setting."""
    if netloc.startswith("["):
        host, closed, port = netloc[1:].partition("]")
        if not closed or not _PORT.fullmatch(port):
            return False
        try:
            return ipaddress.ip_address(host).version == 6
        except ValueError:
            return False
    host, colon, port = netloc.partition(":")
    if not _PORT.fullmatch(colon + port):
        return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    name = host[:-1] if host.endswith(".") else host
    try:
        encoded = name if name.isascii() else _idna_encode(name)
        encoded.encode("ascii").decode("idna")  # an ASCII label such as "xn--" must decode too
    except (UnicodeError, ValueError):  # idna.IDNAError is a UnicodeError
        return False
    return len(encoded) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in encoded.split("."))


def _idna_encode(name: str) -> str:
    """A non-ASCII host name as urllib3 sends it: IDNA 2008 with the ``idna`` package (a dependency of
    requests), which refuses what the standard library's IDNA 2003 codec lets through (an emoji)."""
    try:
        import idna
    except ImportError:  # pragma: no cover - requests brings it
        return name.encode("idna").decode("ascii")
    return str(idna.encode(name.lower(), strict=True, std3_rules=True).decode("ascii"))


def check_base_url(value: Any, *, allow_insecure_http: bool, default: str) -> str:
    """An ``https://host[:port]/path`` API root, without a trailing slash.

    Plain ``http://`` is allowed to this machine (the emulator) and elsewhere only when the caller opts in:
    the bearer token would otherwise cross the network in clear.
    """
    text = check_str(value, "base_url", allow_empty=False).strip()
    example = f"expected an http(s) URL such as {default!r}"
    try:
        parts = urlsplit(text)
    except ValueError as exc:  # "Invalid IPv6 URL": an unclosed or bad bracketed host
        raise fail("base_url", f"{describe(text)} is not a valid URL ({exc}); {example}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or has_space_or_control(text):
        raise fail("base_url", f"{describe(text)} is not a valid API root; {example}")
    if parts.query or parts.fragment or parts.username or parts.password or "@" in parts.netloc:
        raise fail("base_url", f"{describe(text)} has a query, fragment or credentials; {example}")
    if not is_valid_host(parts.netloc):
        raise fail("base_url", f"{describe(text)} has an invalid host name {parts.hostname!r}; {example}")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise fail("base_url", f"{describe(text)} has an invalid port; {example}") from None
    if parts.scheme == "http" and not allow_insecure_http and not is_loopback_host(parts.hostname):
        raise fail(
            "base_url",
            f"{describe(text)} is plain http:// to another machine: the API token would cross the network in "
            "clear. Use https://, or allow it explicitly for a trusted network (allow_insecure_http=True, or "
            "QATECH_ALLOW_INSECURE_HTTP=1 in the environment)",
        )
    return text.rstrip("/")


def check_api_token(value: Any) -> str:
    """An API token that can go in an HTTP header; errors never echo it."""
    if not isinstance(value, str) or not value.strip():
        raise fail(
            "api_token",
            "is missing: pass the token from QA.tech's Settings -> Integrations -> API (or an organization API key)",
        )
    if any(ch.isspace() for ch in value):
        raise fail("api_token", "contains whitespace or a line break; check the secret for a trailing newline")
    if any(not (0x21 <= ord(ch) <= 0x7E) for ch in value):
        raise fail(
            "api_token",
            "contains characters that cannot go in an HTTP header (only printable ASCII); check that the secret "
            "was copied whole",
        )
    return value
