"""Where the production-like tests' servers cannot be had, the run fails naming what is missing; an explicit
opt-out skips them instead. (The servers themselves are started by the production-like tests.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.system import servers


def test_a_missing_server_fails_naming_it_and_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(servers.SKIP_VARIABLE, raising=False)
    monkeypatch.setattr(servers.shutil, "which", lambda name: None)
    monkeypatch.setattr(servers, "postgres_bin_dir", lambda: Path("/usr/lib/postgresql/15/bin"))
    with pytest.raises(pytest.fail.Exception) as failed:
        servers.require_servers()
    message = str(failed.value)
    assert "Redis server (redis-server; Debian package redis-server)" in message
    assert "PostgreSQL" not in message.split(".")[0]  # only what is missing is named
    assert "./scripts/system_servers.sh" in message and "QATECH_SKIP_SERVER_TESTS=1" in message


def test_the_opt_out_skips_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(servers.SKIP_VARIABLE, "1")
    with pytest.raises(pytest.skip.Exception, match="production-like system tests skipped"):
        servers.require_servers()
