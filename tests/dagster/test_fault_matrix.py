"""The fault matrix (tests/reliability/fault_matrix.py) through Dagster ops."""

from __future__ import annotations

from typing import Any

import pytest

from qatech_orchestration.emulator import QATechEmulator
from tests.conftest import TOKEN
from tests.reliability.fault_matrix import (
    ROWS,
    Row,
    arrange,
    check_reads,
    wait_timeout,
)

# ------------------------------------------------------------------------------------------------
# Dagster
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
def test_dagster(row: Row, emulator: QATechEmulator, down_url: str, token_env: Any) -> None:
    dg = pytest.importorskip("dagster")
    from dagster_resource import QATechResource, qatech_rerun_op, qatech_start_run_op, qatech_wait_for_run_op

    previous = arrange(row, emulator) if row.endpoint == "rerun" else None
    base_url = down_url if row.special == "refused" else emulator.base_url
    resource = QATechResource(
        api_token=token_env, base_url=base_url, connect_timeout=2, read_timeout=1.0, max_retries=2, backoff_factor=0.01
    )
    ops: dict[str, Any] = {}
    if row.endpoint == "start_run":

        @dg.job
        def job() -> None:
            qatech_start_run_op()

        step = "qatech_start_run_op"
    elif row.endpoint == "rerun":

        @dg.job
        def job() -> None:
            qatech_rerun_op()

        step = "qatech_rerun_op"
        ops["qatech_rerun_op"] = {"inputs": {"run_short_id": previous}}
    elif row.special == "refused":  # nothing to start against: wait for a run started elsewhere

        @dg.job
        def job() -> None:
            qatech_wait_for_run_op()

        step = "qatech_wait_for_run_op"
        ops["qatech_wait_for_run_op"] = {
            "config": {"poll_interval": row.poll_interval, "timeout": wait_timeout(row)},
            "inputs": {"run_short_id": "r00001"},
        }
    else:

        @dg.job
        def job() -> None:
            qatech_wait_for_run_op(qatech_start_run_op())

        step = "qatech_wait_for_run_op"
        ops["qatech_wait_for_run_op"] = {"config": {"poll_interval": row.poll_interval, "timeout": wait_timeout(row)}}
    if row.endpoint != "rerun" and row.special != "refused":
        arrange(row, emulator)
    result = job.execute_in_process(resources={"qatech": resource}, run_config={"ops": ops}, raise_on_error=False)
    texts = "\n".join(repr(e) + str(e.message) for e in result.all_events)
    assert TOKEN not in texts
    if row.dagster == "success":
        assert result.success, texts[-3000:]
        return
    assert not result.success
    (failure,) = [e for e in result.all_node_events if e.is_step_failure]
    assert failure.step_key == step
    description = failure.step_failure_data.user_failure_data.description
    if row.endpoint == "get_run" and row.special != "refused":
        (start_output,) = [
            e for e in result.all_node_events if e.is_successful_output and e.step_key == "qatech_start_run_op"
        ]
        short_id = start_output.step_output_data.metadata["run_short_id"].value
        url = start_output.step_output_data.metadata["run_url"].value
        assert short_id in emulator.project.runs  # the short ID survives in the start op's metadata
        assert failure.step_failure_data.user_failure_data.metadata["run_url"].value == url
        check_reads(row, description, url)
    else:
        check_reads(row, description, None)
    sent = (
        len(emulator.requests_to(row.endpoint)) if row.endpoint != "get_run" else len(emulator.requests_to("start_run"))
    )
    assert sent == (0 if row.special == "refused" else 1), "a POST was sent twice (or not at all)"
