"""docs/reliability.md's "Retries and duplicate runs" table is this module's, and each row has its test."""

from __future__ import annotations

from pathlib import Path

from tests.reliability.duplicate_runs import ROWS, markdown_table

ROOT = Path(__file__).resolve().parents[2]


def test_docs_show_exactly_this_table() -> None:
    text = (ROOT / "docs" / "reliability.md").read_text()
    assert markdown_table() in text, "docs/reliability.md is stale: paste `python -m tests.reliability.duplicate_runs`"


def test_every_row_names_a_test_that_exists() -> None:
    for _, _, where in ROWS:
        path, name = where.split("::")
        assert f"def {name}(" in (ROOT / path).read_text(), where
