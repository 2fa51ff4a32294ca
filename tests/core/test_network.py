"""One network behaviour for both transports: proxies and the CA bundle, through a real forward proxy on
loopback and an emulator served over TLS with a throwaway CA (the Airflow faces: tests/airflow/test_network.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from qatech_orchestration import QATechClient, QATechTLSError, QATechValidationError
from qatech_orchestration.emulator import QATechEmulator
from tests.conftest import TOKEN, needs_aiohttp
from tests.forward_proxy import ForwardProxy

pytestmark = pytest.mark.usefixtures("clean_network_env")


def _async_wait(short_id: str, **options: Any) -> str:
    from qatech_orchestration.async_client import AsyncQATechClient

    async def wait() -> str:
        async with AsyncQATechClient(TOKEN, **options) as client:
            return (await client.wait_for_run(short_id, poll_interval=0.01, timeout=10)).status

    return asyncio.run(wait())


def _tunnels(proxy: ForwardProxy, emulator: QATechEmulator) -> list[str]:
    return [s.target for s in proxy.seen if s.method == "CONNECT" and s.target == f"127.0.0.1:{emulator.port}"]


@needs_aiohttp
def test_both_transports_tunnel_through_the_proxy_setting_and_trust_the_ca_bundle(
    tls_emulator: QATechEmulator, proxy: ForwardProxy, ca_pem: str
) -> None:
    options = {"base_url": tls_emulator.base_url, "proxy": proxy.url, "ca_bundle": ca_pem}
    with QATechClient(TOKEN, **options) as client:  # type: ignore[arg-type]
        run = client.start_run()
        tunnels_of_the_sync_client = len(_tunnels(proxy, tls_emulator))
        assert tunnels_of_the_sync_client >= 1  # the start went through the proxy, TLS end to end
    assert _async_wait(run.short_id, **options) == "COMPLETED"
    assert len(_tunnels(proxy, tls_emulator)) > tunnels_of_the_sync_client  # and so did the triggerer's reads
    assert len(tls_emulator.requests_to("start_run")) == 1 and tls_emulator.requests_to("get_run")
    assert all(s.method == "CONNECT" for s in proxy.seen)  # nothing in clear
    assert not [s for s in proxy.seen if TOKEN in str(s.headers)]  # the token is for QA.tech, not the proxy


@needs_aiohttp
def test_both_transports_take_the_proxy_and_the_ca_from_the_environment(
    tls_emulator: QATechEmulator, proxy: ForwardProxy, ca_pem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("QATECH_CA_BUNDLE", ca_pem)
    with QATechClient(TOKEN, base_url=tls_emulator.base_url) as client:
        run = client.start_run()
    sync_tunnels = len(_tunnels(proxy, tls_emulator))
    assert sync_tunnels >= 1
    assert _async_wait(run.short_id, base_url=tls_emulator.base_url) == "COMPLETED"
    assert len(_tunnels(proxy, tls_emulator)) > sync_tunnels


@needs_aiohttp
def test_plain_http_goes_through_the_proxy_in_absolute_form_and_no_proxy_bypasses_it(
    emulator: QATechEmulator, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    with QATechClient(TOKEN, base_url=emulator.base_url) as client:
        run = client.start_run()
    assert _async_wait(run.short_id, base_url=emulator.base_url) == "COMPLETED"
    targets = [(s.method, s.target.split("?")[0]) for s in proxy.seen]
    assert targets[0] == ("POST", f"{emulator.base_url}/run")
    assert ("GET", f"{emulator.base_url}/run/{run.short_id}") in targets[1:]  # the async client's reads

    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    before = len(proxy.seen)
    with QATechClient(TOKEN, base_url=emulator.base_url) as client:
        bypassing = client.start_run()
    assert _async_wait(bypassing.short_id, base_url=emulator.base_url) == "COMPLETED"
    assert len(proxy.seen) == before  # neither transport used it


@needs_aiohttp
def test_proxy_credentials_reach_the_proxy_from_both_transports_and_nowhere_else(
    tls_emulator: QATechEmulator, ca_pem: str
) -> None:
    with ForwardProxy(credentials=("egress", "pr0xy-s3cret")) as proxy:
        options = {"base_url": tls_emulator.base_url, "proxy": proxy.url, "ca_bundle": ca_pem}
        with QATechClient(TOKEN, **options) as client:  # type: ignore[arg-type]
            run = client.start_run()
            assert "pr0xy-s3cret" not in repr(client) + repr(client.route)
        assert _async_wait(run.short_id, **options) == "COMPLETED"
        assert len(_tunnels(proxy, tls_emulator)) >= 2
        assert {s.proxy_authorization for s in proxy.seen} == {"Basic ZWdyZXNzOnByMHh5LXMzY3JldA=="}
        assert not [s for s in proxy.seen if TOKEN in str(s.headers)]


@needs_aiohttp
def test_a_certificate_the_ca_bundle_does_not_sign_fails_at_once_naming_the_setting(
    tls_emulator: QATechEmulator,
) -> None:
    with QATechClient(TOKEN, base_url=tls_emulator.base_url, max_retries=3) as client:  # certifi: not our CA
        with pytest.raises(QATechTLSError) as start:
            client.start_run()
        with pytest.raises(QATechTLSError) as wait:  # a wait does not wait a misconfiguration out
            client.wait_for_run("r00001", poll_interval=0.01, timeout=30)
    with pytest.raises(QATechTLSError) as read:
        _async_wait("r00001", base_url=tls_emulator.base_url)
    for error in (start.value, wait.value, read.value):
        assert "ca_bundle" in str(error) and "certificate" in str(error).lower(), str(error)
        assert not error.retryable and not error.run_may_exist
    assert tls_emulator.requests == []  # nothing was sent: the handshake failed first


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ({"ca_bundle": "/nonexistent/ca.pem"}, "ca_bundle: no CA bundle file at '/nonexistent/ca.pem'"),
        ({"proxy": "ftp://proxy:21"}, "proxy: expected a proxy URL such as http://proxy.example.com:3128"),
        ({"proxy": "http://proxy:99999"}, "proxy: expected a proxy URL"),
    ],
)
def test_bad_network_settings_are_refused_before_sending(
    settings: dict[str, str], says: str, emulator: QATechEmulator
) -> None:
    with pytest.raises(QATechValidationError, match=says.replace("(", r"\(").replace(".", r"\.")):
        QATechClient(TOKEN, base_url=emulator.base_url, **settings)  # type: ignore[arg-type]
    assert emulator.requests == []


def test_a_missing_ca_bundle_from_the_environment_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/corp.pem")
    with pytest.raises(QATechValidationError, match="REQUESTS_CA_BUNDLE: no CA bundle file"):
        QATechClient(TOKEN)


def test_the_command_line_takes_the_proxy_and_the_ca_bundle_as_flags(
    tls_emulator: QATechEmulator, proxy: ForwardProxy, ca_pem: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    from qatech_orchestration.cli import EXIT_OK, main

    monkeypatch.setenv("QATECH_API_TOKEN", TOKEN)
    argv = ["--base-url", tls_emulator.base_url, "start", "--wait", "--poll-interval", "0.01",
            "--proxy", proxy.url, "--ca-bundle", ca_pem]  # fmt: skip
    assert main(argv) == EXIT_OK, capsys.readouterr()
    assert len(_tunnels(proxy, tls_emulator)) >= 1 and all(s.method == "CONNECT" for s in proxy.seen)
    assert len(tls_emulator.requests_to("start_run")) == 1 and tls_emulator.requests_to("get_run")
    assert not [s for s in proxy.seen if TOKEN in str(s.headers)]


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--ca-bundle", "/nonexistent/ca.pem"], "--ca-bundle: no CA bundle file at '/nonexistent/ca.pem'"),
        (["--proxy", "ftp://proxy:21"], "--proxy: expected a proxy URL such as http://proxy.example.com:3128"),
    ],
)
def test_the_command_line_refuses_bad_network_flags_with_exit_2_naming_the_flag(
    flags: list[str], says: str, emulator: QATechEmulator, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    from qatech_orchestration.cli import EXIT_USAGE, main

    monkeypatch.setenv("QATECH_API_TOKEN", TOKEN)
    assert main(["--base-url", emulator.base_url, "start", *flags]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1, err
    assert emulator.requests == []


def test_the_command_line_names_the_ca_bundle_flag_when_the_certificate_is_not_trusted(
    tls_emulator: QATechEmulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from qatech_orchestration.cli import EXIT_API, main

    monkeypatch.setenv("QATECH_API_TOKEN", TOKEN)
    assert main(["--base-url", tls_emulator.base_url, "start"]) == EXIT_API  # certifi does not trust our CA
    err = capsys.readouterr().err
    assert "--ca-bundle" in err and "certificate" in err.lower(), err
    assert tls_emulator.requests == []


def test_a_bad_proxy_from_the_environment_names_the_variable(
    emulator: QATechEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "ftp://proxy:21")
    with pytest.raises(QATechValidationError, match=r"HTTP_PROXY \(or ALL_PROXY\): expected a proxy URL"):
        QATechClient(TOKEN, base_url=emulator.base_url)
    assert emulator.requests == []
