#!/usr/bin/env bash
# Run the whole test suite: lint, types, then pytest on every leg of the version matrix.
source "$(dirname "$0")/_venv.sh"
cd "$ROOT"
ensure_venv "$ROOT/.venv" requirements/latest.txt
echo "==> ruff and mypy"
.venv/bin/ruff check --output-format concise .
.venv/bin/ruff format --check --quiet .
.venv/bin/mypy
echo "==> pytest (newest Airflow and Dagster)"
.venv/bin/python -m pytest "$@"
