"""Fixtures for tests of the network path: a throwaway CA, the emulator over TLS, a recording forward proxy.

A pytest plugin of the suite (``tests/conftest.py``), shared by the core's and the Airflow's network tests.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from qatech_orchestration.emulator import QATechEmulator
from tests.forward_proxy import ForwardProxy
from tests.token_guard import TOKEN

#: Every variable that could route or verify on its own, cleared so that each test says what it sets.
NETWORK_ENV = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY",
               "no_proxy", "QATECH_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE")  # fmt: skip


@pytest.fixture
def clean_network_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in NETWORK_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def ca() -> Any:
    return trustme.CA()


@pytest.fixture
def ca_pem(ca: Any, tmp_path: Path) -> str:
    path = tmp_path / "company-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def tls_emulator(ca: Any) -> Iterator[QATechEmulator]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with QATechEmulator(token=TOKEN, polls_to_finish=2, ssl_context=context) as emu:
        yield emu


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    with ForwardProxy() as p:
        yield p
