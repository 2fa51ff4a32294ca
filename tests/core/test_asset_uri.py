"""``qatech://`` URIs (#23) without any orchestrator: what is accepted, and what each bad one is told."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from qatech_orchestration.asset_uri import QATechURI, is_qatech_uri, parse_qatech_uri, qatech_uri
from qatech_orchestration.errors import QATechValidationError
from qatech_orchestration.models import RunStatus, TestCaseResult, TestPlan
from qatech_orchestration.report import build_report

FORM = "write qatech://<project short ID>/<test plan or application short ID>, e.g. 'qatech://proj_abc123/pln_abc123'"


@pytest.mark.parametrize(
    ("uri", "project", "target", "kind"),
    [
        ("qatech://proj_abc123/pln_abc123", "proj_abc123", "pln_abc123", "test plan"),
        ("qatech://proj-acme-analytics_9xW2/pln-dashboard-checks_7fQ2", "proj-acme-analytics_9xW2",
         "pln-dashboard-checks_7fQ2", "test plan"),
        ("QATECH://proj_abc123/app_gXeBl2/", "proj_abc123", "app_gXeBl2", "application"),  # as Airflow hands it
    ],
)  # fmt: skip
def test_valid_uris_parse(uri: str, project: str, target: str, kind: str) -> None:
    parsed = parse_qatech_uri(uri)
    assert parsed == QATechURI(project, target) and parsed.kind == kind
    assert (parsed.namespace, parsed.name) == (f"qatech://{project}", target)
    assert str(parsed) == f"qatech://{project}/{target}" and is_qatech_uri(uri)
    assert parse_qatech_uri(urlsplit(uri)) == parsed  # Airflow's normalizer gets a SplitResult


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("s3://proj_a1/pln_x1", "'s3://proj_a1/pln_x1' is not a qatech:// URI"),
        ("qatech:///pln_x1", "names no project"),
        ("qatech://pln_x1/app_y1", "the project: 'pln_x1' is not a proj short ID"),
        ("qatech://proj_a1", "names no test plan or application after the project"),
        ("qatech://proj_a1/pln_x1/runs", "has 2 parts after the project ('pln_x1/runs')"),
        ("qatech://proj_a1/env_x1", "'env_x1' is neither a test plan short ID ('pln_<id>') nor an application"),
        ("qatech://proj_a1/app_", "the application: 'app_' is not a app short ID"),
        ("qatech://user@proj_a1/pln_x1", "no user, password or port"),
        ("qatech://proj_a1:443/pln_x1", "no user, password or port"),
        ("qatech://proj_a1/pln_x1#latest", "has '#latest', which a qatech:// URI does not take"),
    ],
)
def test_bad_uris_name_the_part_and_the_form(uri: str, says: str) -> None:
    with pytest.raises(QATechValidationError) as raised:
        parse_qatech_uri(uri, field="outlets")
    message = str(raised.value)
    assert message.startswith("outlets") and says in message and FORM in message, message
    assert isinstance(raised.value, ValueError)  # what Airflow's URI normalizers raise


def test_a_non_string_is_refused() -> None:
    with pytest.raises(QATechValidationError, match="expected a qatech:// URI string, got int 7"):
        parse_qatech_uri(7)  # type: ignore[arg-type]
    assert not is_qatech_uri(7) and not is_qatech_uri("https://qa.tech")


def test_qatech_uri_builds_a_checked_uri() -> None:
    assert qatech_uri("proj_a1", "app_b2") == "qatech://proj_a1/app_b2"
    with pytest.raises(QATechValidationError, match="not a proj short ID"):
        qatech_uri("a1", "app_b2")


def test_the_signal_is_the_verdict_without_test_case_texts() -> None:
    status = RunStatus(
        id="u1", short_id="r1", status="COMPLETED", result="FAILED", url="https://app.qa.tech/runs/r1",
        test_cases=(
            TestCaseResult(id="c1", short_id="t1", name="Checkout", status="COMPLETED", result="FAILED",
                           result_title="Pay button missing"),
            TestCaseResult(id="c2", short_id="t2", name="Sign in", status="COMPLETED", result="PASSED"),
        ),
    )  # fmt: skip
    signal = build_report(status, test_plan=TestPlan(name="Nightly", short_id="pln_n1")).signal()
    assert signal == {
        "run_short_id": "r1", "run_url": "https://app.qa.tech/runs/r1", "status": "COMPLETED", "result": "FAILED",
        "ok": False, "test_cases_total": 2, "test_cases_passed": 1, "test_cases_failed": 1, "test_cases_skipped": 0,
        "test_cases_errored": 0, "test_cases_not_finished": 0, "test_plan": "Nightly", "test_plan_short_id": "pln_n1",
    }  # fmt: skip
