"""RunWait: what a wait does after each read, on a clock the test moves (the HTTP faces: tests/reliability)."""

from __future__ import annotations

import pytest

from qatech_orchestration import (
    QATechAuthError,
    QATechBadResponseError,
    QATechConnectionError,
    QATechError,
    QATechNotFoundError,
    QATechPermissionError,
    QATechRateLimitError,
    QATechServerError,
    QATechValidationError,
    QATechWaitTimeout,
)
from qatech_orchestration.models import RunStatus
from qatech_orchestration.retry import RetryPolicy
from qatech_orchestration.waiting import RunWait, is_transient

URL = "https://app.qa.tech/runs/r00042"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Lines:
    """A WaitLog that keeps (level, line)."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def debug(self, msg: str, /) -> None:
        self.lines.append(("DEBUG", msg))

    def info(self, msg: str, /) -> None:
        self.lines.append(("INFO", msg))

    def warning(self, msg: str, /) -> None:
        self.lines.append(("WARNING", msg))

    def at(self, *levels: str) -> list[str]:
        return [line for level, line in self.lines if level in levels]


def _wait(clock: Clock, log: Lines, **kwargs: object) -> RunWait:
    settings = {"poll_interval": 30.0, "timeout": 3600.0, "run_url": URL, "log": log, "clock": clock}
    return RunWait("r00042", **{**settings, **kwargs})  # type: ignore[arg-type]


def _running() -> RunStatus:
    return RunStatus.from_api({"id": "x", "shortId": "r00042", "status": "RUNNING", "result": None, "runTestCases": []})


def _refused() -> QATechConnectionError:
    return QATechConnectionError("no answer from QA.tech (Connection refused)", method="GET", path="/run/r00042")


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (_refused(), True),
        (QATechServerError("upstream", status_code=502), True),
        (QATechRateLimitError("slow down", status_code=429), True),
        (QATechBadResponseError("a proxy's page", unreadable=True), True),
        (QATechBadResponseError("JSON without 'status'"), False),
        (QATechAuthError("revoked", status_code=401), False),
        (QATechPermissionError("forbidden", status_code=403), False),
        (QATechValidationError("bad", status_code=400), False),
        (QATechError("redirected", status_code=302), False),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v),
)
def test_what_a_wait_outlives(error: QATechError, transient: bool) -> None:
    assert is_transient(error) is transient


def test_an_outage_logs_one_warning_then_one_info_with_its_length() -> None:
    clock, log = Clock(), Lines()
    wait = _wait(clock, log, poll_interval=5.0)
    wait.answered(_running())
    for _ in range(12):  # QA.tech away for a minute
        delay = wait.failed(_refused())
        assert 0 < delay <= 5.0  # capped at the poll interval
        clock.now += 5
    wait.answered(_running())
    (away,) = log.at("WARNING")
    assert away.startswith(f"QA.tech is not answering while waiting for QA.tech run r00042 ({URL}): ")
    assert "Connection refused" in away
    (back,) = [line for line in log.at("INFO") if "answers again" in line]
    assert "after 60 s without an answer (12 failed read(s))" in back and "RUNNING" in back
    assert len(log.at("DEBUG")) == 11  # the attempts in between, below INFO


def test_backoff_grows_with_jitter_and_is_capped_at_the_poll_interval() -> None:
    clock, log = Clock(), Lines()
    wait = _wait(clock, log, poll_interval=10.0, policy=RetryPolicy(backoff_factor=1.0, backoff_max=30.0))
    delays = [wait.failed(_refused()) for _ in range(8)]
    ceilings = [1, 2, 4, 8, 10, 10, 10, 10]
    assert all(ceiling / 2 <= delay <= ceiling for delay, ceiling in zip(delays, ceilings, strict=True)), delays


def test_retry_after_is_honoured_and_never_passes_the_deadline() -> None:
    clock, log = Clock(), Lines()
    wait = _wait(clock, log, timeout=100.0, policy=RetryPolicy(retry_after_max=120.0))
    assert wait.failed(QATechRateLimitError("slow", status_code=429, retry_after=40.0)) == 40.0
    clock.now += 70
    with pytest.raises(QATechWaitTimeout) as caught:  # 40 s more would pass the deadline: time out now
        wait.failed(QATechServerError("maintenance", status_code=503, retry_after=40.0))
    assert "no usable answer from QA.tech for 70 s (2 failed read(s); last error: HTTP 503: maintenance)" in str(
        caught.value
    )


@pytest.mark.parametrize(
    "error",
    [
        QATechAuthError("Invalid API key", status_code=401),
        QATechPermissionError("Forbidden", status_code=403),
        QATechBadResponseError("answer without 'status'"),
    ],
)
def test_definite_answers_end_the_wait_at_once_naming_the_run(error: QATechError) -> None:
    wait = _wait(Clock(), Lines())
    with pytest.raises(type(error)) as caught:
        wait.failed(error)
    assert caught.value.run_url == URL and URL in str(caught.value)


def test_a_404_is_read_again_once_and_fails_when_it_lasts_a_poll_interval() -> None:
    clock, log = Clock(), Lines()
    wait = _wait(clock, log, poll_interval=30.0)
    not_found = QATechNotFoundError("Run not found", status_code=404)
    assert wait.failed(not_found) == 30.0  # a run read right after its start may not be listed yet
    clock.now += 10
    assert wait.failed(not_found) == 20.0  # the next read comes a whole poll interval after the first 404
    clock.now += 20
    with pytest.raises(QATechNotFoundError, match=r"still not found 30 s after the first 404"):
        wait.failed(not_found)
    assert log.at("WARNING") == []  # a 404 is an answer, not an outage


def test_a_404_then_a_status_starts_the_count_afresh() -> None:
    clock = Clock()
    wait = _wait(clock, Lines(), poll_interval=30.0)
    wait.failed(QATechNotFoundError("Run not found", status_code=404))
    clock.now += 30
    wait.answered(_running())
    assert wait.failed(QATechNotFoundError("Run not found", status_code=404)) == 30.0


def test_the_deadline_in_an_outage_says_how_long_and_what_failed() -> None:
    clock, log = Clock(), Lines()
    wait = _wait(clock, log, timeout=600.0, poll_interval=30.0)
    wait.answered(_running())
    clock.now += 500
    wait.failed(_refused())
    clock.now += 100
    with pytest.raises(QATechWaitTimeout) as caught:
        wait.pause(30)
    text = str(caught.value)
    assert text.startswith("QA.tech run r00042 did not finish within 600 s (no usable answer from QA.tech for 100 s")
    assert "last error: no answer from QA.tech (Connection refused)" in text
    assert "the run goes on in QA.tech" in text and URL in text


def test_a_pause_is_cut_at_the_deadline() -> None:
    clock = Clock()
    wait = _wait(clock, Lines(), timeout=50.0)
    assert wait.pause(30.0) == 30.0
    clock.now += 40
    assert wait.pause(30.0) == 10.0
    clock.now += 10
    with pytest.raises(QATechWaitTimeout, match=r"\(last status RUNNING\)|\(no status read yet\)"):
        wait.pause(30.0)


def test_an_unknown_status_is_warned_about_once() -> None:
    log = Lines()
    wait = _wait(Clock(), log)
    paused = RunStatus.from_api(
        {"id": "x", "shortId": "r00042", "status": "PAUSED", "result": None, "runTestCases": []}
    )
    wait.answered(paused)
    wait.answered(paused)
    assert log.at("WARNING") == [
        "QA.tech run r00042 reports an unknown status 'PAUSED'; waiting on as if it were running."
    ]


def test_a_long_outage_of_many_failed_reads_keeps_backing_off() -> None:
    clock = Clock()
    wait = _wait(clock, Lines(), poll_interval=5.0, timeout=86400.0)
    for read in range(5000):  # hours of an outage at a 5 s poll: 2.0**4999 would overflow a float
        delay = wait.failed(_refused())
        assert 0 < delay <= 5.0 and (read < 3 or delay >= 2.5)
        clock.now += delay
