"""Where requests go and whom they trust: one decision for both transports.

``requests`` and ``aiohttp`` disagree by default: requests sends through ``HTTPS_PROXY`` and verifies against
certifi (or ``REQUESTS_CA_BUNDLE``); aiohttp ignores proxy variables and verifies against the system store
(``SSL_CERT_FILE``). Behind a company proxy with TLS inspection, the start would then work from a worker
and every deferred wait fail in the triggerer. So each client asks this module once, when it is built, and
tells its library exactly what to do (environment lookups of the libraries themselves are turned off):

- **proxy**: the ``proxy`` setting; else the standard variables for the base URL's scheme (``HTTPS_PROXY``
  / ``HTTP_PROXY``, ``ALL_PROXY``, lower or upper case), unless ``NO_PROXY`` lists its host;
- **trust**: the ``ca_bundle`` setting; else ``QATECH_CA_BUNDLE``, ``REQUESTS_CA_BUNDLE`` or
  ``SSL_CERT_FILE``; else certifi's bundle (what requests uses). Verification is never turned off.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

from qatech_orchestration.validation import fail

#: Variables naming a CA bundle, in the order they are honoured (after the ``ca_bundle`` setting).
CA_BUNDLE_ENV = ("QATECH_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")
#: What every TLS failure tells the user to do.
CA_BUNDLE_HINT = (
    "set ca_bundle to the PEM file of the CA that signs the certificate (the connection extra's or the Dagster "
    "resource's ca_bundle, --ca-bundle or QATECH_CA_BUNDLE), e.g. a company's TLS-inspection CA"
)


@dataclass(frozen=True)
class Route:
    """How a client reaches the API: through ``proxy`` (``None``: directly), trusting ``ca_file``.

    ``proxy`` may hold credentials (``http://user:password@host:port``); :attr:`bare_proxy` and
    :attr:`proxy_authorization` split them for transports that take a header. Its repr never shows them.
    """

    proxy: str | None
    ca_file: str

    @property
    def bare_proxy(self) -> str | None:
        """The proxy URL without credentials."""
        return _split_credentials(self.proxy)[0] if self.proxy else None

    @property
    def proxy_authorization(self) -> str | None:
        """A ``Proxy-Authorization`` header value for the proxy's credentials, if it has any."""
        return _split_credentials(self.proxy)[1] if self.proxy else None

    def __repr__(self) -> str:  # never the proxy's password
        return f"Route(proxy={self.bare_proxy!r}, ca_file={self.ca_file!r})"


def route(base_url: str, *, proxy: str = "", ca_bundle: str = "") -> Route:
    """The route to ``base_url`` for the ``proxy`` and ``ca_bundle`` settings (empty: the environment's)."""
    chosen = proxy.strip() or _proxy_from_environment(base_url)
    if chosen:
        # Checked now: a bad proxy URL fails before anything is sent, naming where it came from.
        where = "proxy" if proxy.strip() else f"{urlsplit(base_url).scheme.upper()}_PROXY (or ALL_PROXY)"
        _split_credentials(chosen, where)
    return Route(chosen or None, ca_file(ca_bundle))


def ca_file(ca_bundle: str = "") -> str:
    """The CA bundle both transports verify against (see the module docstring); it must exist."""
    if ca_bundle.strip():
        return _existing(ca_bundle.strip(), "ca_bundle")
    for name in CA_BUNDLE_ENV:
        value = os.environ.get(name, "").strip()
        if value:
            return _existing(value, name)
    import certifi  # a dependency of requests

    return str(certifi.where())


def _existing(path: str, name: str) -> str:
    if not os.path.isfile(path):
        raise fail(name, f"no CA bundle file at {path!r}: give the path of a PEM file of CA certificates")
    return path


def _proxy_from_environment(base_url: str) -> str:
    import urllib.request  # here, when a client is made: not at the import of every DAG file or code location

    parts = urlsplit(base_url)
    proxies = urllib.request.getproxies_environment()
    host = parts.hostname or ""
    # NO_PROXY as urllib reads it (also what requests does); not in typeshed, in CPython since 3.0.
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    if not host or bypass(host, proxies):
        return ""
    return proxies.get(parts.scheme) or proxies.get("all") or ""


def _split_credentials(proxy: str, where: str = "proxy") -> tuple[str, str | None]:
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    try:
        parts.port  # noqa: B018 (parsed lazily: a bad port raises here)
    except ValueError:
        raise fail(where, "expected a proxy URL such as http://proxy.example.com:3128") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise fail(where, "expected a proxy URL such as http://proxy.example.com:3128")
    netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if parts.port:
        netloc += f":{parts.port}"
    bare = urlunsplit((parts.scheme, netloc, "", "", ""))
    if parts.username is None:
        return bare, None
    credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
    return bare, "Basic " + base64.b64encode(credentials).decode("ascii")
