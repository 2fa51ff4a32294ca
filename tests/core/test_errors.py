"""Errors cross process boundaries (Celery, multiprocess executors, Dagster run workers) intact, and their
text is built once."""

from __future__ import annotations

import copy
import pickle

import pytest

from qatech_orchestration import errors
from qatech_orchestration.models import RunStatus

STATUS = RunStatus(id="u", short_id="abc123", status="COMPLETED", result="FAILED", url="https://app.qa.tech/r/abc123")

CASES = [
    errors.QATechValidationError("must not be empty", field="applications[0].environment.url"),
    errors.QATechValidationError("Invalid body", status_code=400, method="POST", path="/run"),
    errors.QATechAuthError("Missing or invalid API key", status_code=401, method="GET", path="/run/abc123"),
    errors.QATechServerError("upstream 504", status_code=504, method="POST", path="/run", run_may_exist=True),
    errors.QATechConnectionError("no answer", method="GET", path="/run/abc123", run_short_id="abc123"),
    errors.QATechBadResponseError("not JSON", status_code=200, method="POST", path="/run", run_may_exist=True),
    errors.QATechWaitTimeout("did not finish", run_short_id="abc123", run_url="https://app.qa.tech/r/abc123"),
    errors.QATechWaitTimeout("did not finish", run_short_id="abc123", last_status=STATUS),
    errors.QATechRunFailed("did not pass", status=STATUS, run_short_id="abc123", run_url=STATUS.url),
]


@pytest.mark.parametrize("error", CASES, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("clone", [lambda e: pickle.loads(pickle.dumps(e)), copy.copy, copy.deepcopy])
def test_errors_pickle_and_copy_with_their_text_and_attributes(error: errors.QATechError, clone: object) -> None:
    again = clone(error)  # type: ignore[operator]
    assert type(again) is type(error)
    assert str(again) == str(error) and repr(again) == repr(error)
    assert vars(again) == vars(error)
    assert again.args == error.args


def test_the_text_is_built_once_and_evolve_gives_a_new_error() -> None:
    error = errors.QATechServerError("upstream 503", status_code=503, method="GET", path="/run/abc123")
    text = str(error)
    with_url = error.evolve(run_url="https://app.qa.tech/r/abc123")
    assert str(error) == text  # unchanged
    assert str(with_url) == f"{text} (run: https://app.qa.tech/r/abc123)"
    assert with_url.retryable is error.retryable is True


def test_a_start_whose_outcome_is_unknown_says_so_and_is_not_retryable() -> None:
    error = errors.QATechServerError("upstream 504", status_code=504, method="POST", path="/run", run_may_exist=True)
    assert error.retryable is False
    assert error.message == "upstream 504"  # the server's own message stays intact
    assert str(error) == f"POST /run -> HTTP 504: upstream 504; {errors.MAY_HAVE_STARTED}"
