"""The TCP proxy that makes the API outages of the production-like tests: each mode does what it says."""

from __future__ import annotations

import socket

import pytest
import requests

from qatech_orchestration.emulator import QATechEmulator
from tests.conftest import TOKEN
from tests.system.proxy import TCPProxy

pytestmark = pytest.mark.timeout(60)


def _status(session: requests.Session, proxy: TCPProxy, timeout: float = 5) -> int:
    answer = session.get(f"{proxy.base_url}/run/r404", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=timeout)
    return answer.status_code


def test_the_proxy_forwards_refuses_hangs_and_cuts_open_connections() -> None:
    with QATechEmulator(token=TOKEN) as emulator, TCPProxy(emulator.port) as proxy:
        session = requests.Session()  # keep-alive: the same connection is reused while it is open
        assert _status(session, proxy) == 404  # forwarded: the emulator's answer for an unknown run
        assert len(emulator.requests_to("get_run")) == 1

        proxy.refuse()
        with pytest.raises(requests.ConnectionError):  # the open keep-alive connection was closed
            _status(session, proxy)
        with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", proxy.port), timeout=5):
            pass

        proxy.hang()
        with pytest.raises(requests.ReadTimeout):  # accepted, never answered
            _status(requests.Session(), proxy, timeout=1)
        assert proxy.accepted["hang"] == 1

        proxy.restore()
        assert _status(requests.Session(), proxy) == 404
        assert len(emulator.requests_to("get_run")) == 2  # nothing reached the emulator during the outage
