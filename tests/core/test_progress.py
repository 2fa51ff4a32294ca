"""ProgressLog: a status change is said at once, an unchanged status every few minutes, nothing else."""

from __future__ import annotations

from qatech_orchestration.models import RunStatus, TestCaseResult
from qatech_orchestration.progress import ProgressLog


def _status(state: str, results: list[str | None]) -> RunStatus:
    cases = tuple(
        TestCaseResult(
            id=f"c{i}", short_id=f"c{i}", name=f"case {i}", status="COMPLETED" if result else "RUNNING", result=result
        )
        for i, result in enumerate(results)
    )
    return RunStatus(id="r", short_id="r00001", status=state, result=None, test_cases=cases)


def test_changes_at_once_and_a_steady_state_every_interval() -> None:
    now = [0.0]
    said: list[str] = []
    progress = ProgressLog(said.append, every=180, clock=lambda: now[0])
    progress(_status("INITIATED", []))
    progress(_status("INITIATED", []))  # unchanged, too soon: nothing
    now[0] = 30
    progress(_status("RUNNING", [None, None, None]))
    now[0] = 150
    progress(_status("RUNNING", ["PASSED", None, None]))  # unchanged state, 120 s since the last line
    now[0] = 215
    progress(_status("RUNNING", ["PASSED", "FAILED", None]))  # 185 s since the last line
    assert said == [
        "QA.tech run r00001: INITIATED",
        "QA.tech run r00001: RUNNING (0/3 test cases finished, 0 failed)",
        "QA.tech run r00001: still RUNNING after 4 min (2/3 test cases finished, 1 failed)",
    ]
