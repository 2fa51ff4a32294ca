"""The README's "Testing your pipelines" block, run as the user's test file it says it is."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.readme import block

pytest.importorskip("airflow", reason="the airflow extra is not installed")
pytestmark = pytest.mark.timeout(600)

EXAMPLES = Path(__file__).resolve().parents[2] / "example_dags"


def test_the_readme_test_file_runs(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in [n for n in os.environ if n.startswith(("AIRFLOW", "QATECH"))]:
        monkeypatch.delenv(name)  # "nothing else set up": no Airflow home, no ~/airflow
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    code = block("Testing your pipelines", "python").text
    assert 'load_dags("dags")' in code  # "your dags folder": here, the example DAGs
    pytester.makepyfile(test_post_etl=code.replace('load_dags("dags")', f"load_dags({str(EXAMPLES)!r})"))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert not (tmp_path / "home" / "airflow").exists()
