"""A client whose urllib3 cannot read answers (older than 2.2) sends nothing: no run is started blind.

With a real old urllib3 (the floors leg of ./scripts/test.sh installs 2.1.0 for this file) the tests run
as they are; otherwise ``HTTPResponse.read1`` is removed for the test, which is all the check looks at.
"""

from __future__ import annotations

from importlib.metadata import version

import pytest
from urllib3.response import HTTPResponse

from qatech_orchestration import QATechClient
from qatech_orchestration.cli import EXIT_USAGE, main
from qatech_orchestration.emulator import QATechEmulator
from qatech_orchestration.errors import QATechValidationError
from tests.conftest import TOKEN

REAL_OLD_URLLIB3 = not hasattr(HTTPResponse, "read1")


@pytest.fixture
def old_urllib3(monkeypatch: pytest.MonkeyPatch) -> None:
    if not REAL_OLD_URLLIB3:
        for cls in HTTPResponse.__mro__:  # HTTPResponse's own, and its base class's placeholder
            if "read1" in vars(cls):
                monkeypatch.delattr(cls, "read1")


def test_the_client_refuses_to_exist(old_urllib3: None, emulator: QATechEmulator) -> None:
    with pytest.raises(QATechValidationError) as info:
        QATechClient(TOKEN, base_url=emulator.base_url)
    message = str(info.value)
    assert message.startswith(f"urllib3 {version('urllib3')} cannot read QA.tech's answers")
    assert 'pip install "urllib3>=2.2"' in message and "nothing was sent" in message
    assert emulator.requests == []


def test_the_command_line_exits_2_and_starts_nothing(
    old_urllib3: None, emulator: QATechEmulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QATECH_API_TOKEN", TOKEN)
    monkeypatch.setenv("QATECH_BASE_URL", emulator.base_url)
    assert main(["start", "--wait", "--poll-interval", "0.01"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and 'pip install "urllib3>=2.2"' in err
    assert emulator.requests == [] and emulator.project.runs == {}


@pytest.mark.skipif(REAL_OLD_URLLIB3, reason="this urllib3 cannot stream answers")
def test_a_usable_urllib3_passes_the_check(emulator: QATechEmulator) -> None:
    with QATechClient(TOKEN, base_url=emulator.base_url) as client:
        assert client.start_run().short_id == "r00001"
